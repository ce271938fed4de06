//! The document as the server stands now, for the key that asks: the
//! static document from the handlers, tailored at request time.
//!
//! - Every loaded plugin's config schema becomes a component
//!   (`Config.<type>`, its `$defs` beside it), and the bodies that carry a
//!   config become a `oneOf` with one branch per plugin, discriminated by
//!   `type` (or `source_definition_id`): a client sees every probe's fields,
//!   and a plugin dropped in shows up as soon as it loads.
//! - An organization key's document names its own organization as the only
//!   one it may write or ask for; an admin key's requires one on create.
//! - Links from a created source to the routes that take its id, so a
//!   stateful client (or fuzzer) can reach them.

use serde_json::{Map, Value, json};

use crate::config::LimitsConfig;
use crate::runtime::Plugin;

/// Who the document is for.
#[derive(Debug, Clone, Copy)]
pub enum Audience<'a> {
    /// No key: the generic document.
    Anyone,
    Admin,
    Organization(&'a str),
}

/// An organization id, as the server checks it in paths and bodies.
const ORGANIZATION_PATTERN: &str = "^org_.+$";

fn schema_ref(name: &str) -> Value {
    json!({ "$ref": format!("#/components/schemas/{name}") })
}

/// `doc` (the static document) with `plugins`, `audience` and the policy
/// bounds in force applied.
pub fn tailor(mut doc: Value, plugins: &[Plugin], audience: Audience<'_>, limits: &LimitsConfig) -> Value {
    let types: Vec<String> = plugins
        .iter()
        .map(|p| {
            let name = format!("Config.{}", p.info.source_type);
            for (component, schema) in relocate(&p.info.config_schema, &name) {
                doc["components"]["schemas"][component] = schema;
            }
            p.info.source_type.clone()
        })
        .collect();
    policy_bounds(&mut doc, limits);
    source_bodies(&mut doc, &types, audience);
    silence_body(&mut doc, audience);
    test_body(&mut doc, &types);
    organization_params(&mut doc, audience);
    links(&mut doc);
    doc
}

/// A plugin's schema as components: the root under `name`, each of its
/// `$defs` under `name.<def>`, every `$ref` rewritten to match.
fn relocate(schema: &Value, name: &str) -> Vec<(String, Value)> {
    let mut root = schema.clone();
    let mut defs = Map::new();
    if let Some(obj) = root.as_object_mut() {
        obj.remove("$schema");
        obj.remove("$id");
        for key in ["$defs", "definitions"] {
            if let Some(Value::Object(d)) = obj.remove(key) {
                defs.extend(d);
            }
        }
    }
    let mut out = vec![(name.to_string(), root)];
    out.extend(defs.into_iter().map(|(def, s)| (format!("{name}.{}", component_safe(&def)), s)));
    for (_, s) in &mut out {
        rewrite_refs(s, name);
    }
    out
}

/// Component names may hold only `[A-Za-z0-9._-]`.
fn component_safe(name: &str) -> String {
    name.chars().map(|c| if c.is_ascii_alphanumeric() || "._-".contains(c) { c } else { '_' }).collect()
}

fn rewrite_refs(v: &mut Value, name: &str) {
    match v {
        Value::Object(obj) => {
            if let Some(Value::String(r)) = obj.get_mut("$ref")
                && let Some(pointer) = r.strip_prefix('#')
            {
                *r = local_ref(pointer, name);
            }
            obj.values_mut().for_each(|child| rewrite_refs(child, name));
        }
        Value::Array(items) => items.iter_mut().for_each(|child| rewrite_refs(child, name)),
        _ => {}
    }
}

/// `#/$defs/X/...` of the plugin's schema, as a pointer into the document.
fn local_ref(pointer: &str, name: &str) -> String {
    for prefix in ["/$defs/", "/definitions/"] {
        if let Some(rest) = pointer.strip_prefix(prefix) {
            let (def, tail) = rest.split_once('/').map_or((rest, ""), |(d, t)| (d, t));
            let def = def.replace("~1", "/").replace("~0", "~");
            let tail = if tail.is_empty() { String::new() } else { format!("/{tail}") };
            return format!("#/components/schemas/{name}.{}{tail}", component_safe(&def));
        }
    }
    format!("#/components/schemas/{name}{pointer}")
}

fn body_schema<'a>(doc: &'a mut Value, path: &str, method: &str) -> &'a mut Value {
    &mut doc["paths"][path][method]["requestBody"]["content"]["application/json"]["schema"]
}

/// The properties of the static component `name`.
fn properties(doc: &Value, name: &str) -> Map<String, Value> {
    doc["components"]["schemas"][name]["properties"].as_object().cloned().unwrap_or_default()
}

fn object(props: Map<String, Value>, required: &[&str]) -> Value {
    json!({ "type": "object", "properties": props, "required": required, "additionalProperties": false })
}

/// The policy fields with the operator's `[limits]`: `retries` as a
/// maximum; the durations in words, since no pattern can bound a sum of
/// parts (a value outside them is a 422 at the field).
fn policy_bounds(doc: &mut Value, limits: &LimitsConfig) {
    let props = &mut doc["components"]["schemas"]["SourceBody"]["properties"];
    let words = |d: std::time::Duration| humantime::format_duration(d).to_string();
    props["retries"]["maximum"] = json!(limits.max_retries);
    for (field, what, min, max) in [
        ("interval", "How often the source is checked", limits.min_interval, limits.max_interval),
        ("timeout", "Deadline of one attempt", limits.min_timeout, limits.max_timeout),
        ("retry_interval", "Pause between attempts", std::time::Duration::ZERO, limits.max_retry_interval),
    ] {
        let bounds = if min.is_zero() {
            format!("at most {}", words(max))
        } else {
            format!("from {} to {}", words(min), words(max))
        };
        props[field]["description"] = json!(format!(
            "{what}: a duration such as `30s`, `5m` or `1h 30m` (units `ms`, `s`, `m`, `h`, `d`), {bounds} \
             (the operator's `[limits]`); outside them, a 422 at this field"
        ));
    }
}

/// `POST /api/v1/sources/` and `PUT /api/v1/sources/{source_id}`: a branch
/// per plugin; an update may also leave `type` out and keep the source's.
fn source_bodies(doc: &mut Value, types: &[String], audience: Audience<'_>) {
    let mut base = properties(doc, "SourceBody");
    let organization = base.entry("organization").or_insert(json!({}));
    match audience {
        Audience::Organization(own) => {
            *organization = json!({
                "type": ["string", "null"], "enum": [own, null],
                "description": "The key's own organization, the only one it may write to",
            });
        }
        Audience::Admin | Audience::Anyone => {
            *organization = json!({
                "type": "string", "pattern": ORGANIZATION_PATTERN, "maxLength": 200,
                "description": "Required with an admin key; an organization key may give only its own",
                "examples": ["org_acme"],
            });
        }
    }
    let create_required: &[&str] = match audience {
        Audience::Admin => &["name", "type", "config", "organization"],
        _ => &["name", "type", "config"],
    };
    let mut create = Vec::new();
    let mut update = Vec::new();
    let mut mapping = Map::new();
    for t in types {
        let mut props = base.clone();
        props.insert("type".into(), json!({ "type": "string", "const": t }));
        props.insert("config".into(), schema_ref(&format!("Config.{t}")));
        for (list, prefix, required) in [
            (&mut create, "SourceCreate", create_required),
            (&mut update, "SourceUpdate", &["type", "config"]),
        ] {
            let name = format!("{prefix}.{t}");
            let mut props = props.clone();
            if prefix == "SourceCreate" {
                // A new source needs a name: `null` keeps one only on update.
                props["name"]["type"] = json!("string");
            }
            doc["components"]["schemas"][&name] = object(props, required);
            list.push(schema_ref(&name));
            if prefix == "SourceCreate" {
                mapping.insert(t.clone(), json!(format!("#/components/schemas/{name}")));
            }
        }
    }
    // Without `type` (or with `null`, the same), the source keeps its type
    // and the config is checked against that type's schema, which this
    // document cannot know per source: a config for another type is a 422
    // at `body.config`.
    let mut untyped = base;
    untyped.insert(
        "type".into(),
        json!({ "type": "null", "description": "Left out or `null`: the source keeps its type" }),
    );
    untyped.insert(
        "config".into(),
        json!({
            "type": "object",
            "description": "Checked against the schema of the source's stored type (`GET /api/v1/sources/{source_id}` \
                            names it; `GET /v1/plugins` has its schema): a config that does not fit it is a 422 \
                            at `body.config`",
        }),
    );
    doc["components"]["schemas"]["SourceUpdate.config"] = object(untyped, &["config"]);
    update.push(schema_ref("SourceUpdate.config"));

    *body_schema(doc, "/api/v1/sources/", "post") =
        json!({ "oneOf": create, "discriminator": { "propertyName": "type", "mapping": mapping } });
    *body_schema(doc, "/api/v1/sources/{source_id}", "put") = json!({ "oneOf": update });
}

/// `POST /v1/silences`: an organization key silences only its own
/// organization (another one is a 404, as if it did not exist).
fn silence_body(doc: &mut Value, audience: Audience<'_>) {
    if let Audience::Organization(own) = audience {
        doc["components"]["schemas"]["SilenceBody"]["properties"]["organization"] = json!({
            "type": ["string", "null"], "enum": [own, null],
            "description": "The key's own organization (implied when left out)",
        });
    }
}

/// The Aitronos test: a stored source by id, or a branch per plugin.
fn test_body(doc: &mut Value, types: &[String]) {
    let base = properties(doc, "TestRequest");
    let null = json!({ "type": "null" });
    let mut by_id = base.clone();
    by_id.insert("source_definition_id".into(), null.clone());
    by_id.insert("configuration".into(), null.clone());
    by_id.insert(
        "source_id".into(),
        json!({ "type": "string", "description": "Test an existing source by its ID" }),
    );
    doc["components"]["schemas"]["TestRequest.stored"] = object(by_id, &["source_id"]);
    let mut branches = vec![schema_ref("TestRequest.stored")];
    for t in types {
        let mut props = base.clone();
        props.insert("source_id".into(), null.clone());
        props.insert("source_definition_id".into(), json!({ "type": "string", "const": t }));
        props.insert("configuration".into(), schema_ref(&format!("Config.{t}")));
        let name = format!("TestRequest.{t}");
        doc["components"]["schemas"][&name] = object(props, &["source_definition_id", "configuration"]);
        branches.push(schema_ref(&name));
    }
    let path = "/v1/organizations/{organization_id}/knowledge/connectors/sources/test";
    *body_schema(doc, path, "post") = json!({ "oneOf": branches });
}

/// `{organization_id}` path parameters: an organization key may name only
/// its own organization; any other is a 404.
fn organization_params(doc: &mut Value, audience: Audience<'_>) {
    let schema = match audience {
        Audience::Organization(own) => json!({ "type": "string", "enum": [own] }),
        _ => json!({ "type": "string", "pattern": ORGANIZATION_PATTERN, "maxLength": 200 }),
    };
    let Some(paths) = doc["paths"].as_object_mut() else { return };
    for operation in paths.values_mut().filter_map(Value::as_object_mut).flat_map(|p| p.values_mut()) {
        let params = operation.get_mut("parameters").and_then(Value::as_array_mut);
        for param in params.into_iter().flatten() {
            if param["name"] == "organization_id" && param["in"] == "path" {
                param["schema"] = schema.clone();
            }
        }
    }
}

/// From a created source to every route that takes its id.
fn links(doc: &mut Value) {
    let id = json!({ "source_id": "$response.body#/id" });
    let mut links = Map::new();
    for (name, operation) in [
        ("GetSource", "get_source"),
        ("UpdateSource", "update_source"),
        ("DeleteSource", "delete_source"),
        ("CheckSource", "create_source_connection_check"),
        ("GetCheck", "get_source_connection_check"),
        ("ListChecks", "list_source_checks"),
    ] {
        links.insert(name.into(), json!({ "operationId": operation, "parameters": id }));
    }
    // The knowledge base is the source's workspace, which the answer does
    // not carry and the request may leave out: only the id is linked.
    links.insert("GetSyncStatus".into(), json!({ "operationId": "get_sync_status", "parameters": id }));
    links.insert(
        "TestSource".into(),
        json!({ "operationId": "test_source_connectivity", "requestBody": { "source_id": "$response.body#/id" } }),
    );
    doc["paths"]["/api/v1/sources/"]["post"]["responses"]["200"]["links"] = Value::Object(links);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plugin_defs_become_components_and_refs_follow() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema",
            "type": "object",
            "properties": { "tls": { "$ref": "#/$defs/Tls" }, "self": { "$ref": "#" } },
            "$defs": { "Tls": { "type": "object", "properties": { "ca": { "$ref": "#/$defs/Pem<x>" } } },
                       "Pem<x>": { "type": "string" } },
        });
        let out: Map<String, Value> = relocate(&schema, "Config.pg").into_iter().collect();
        assert_eq!(out.keys().collect::<Vec<_>>(), ["Config.pg", "Config.pg.Pem_x_", "Config.pg.Tls"]);
        let root = &out["Config.pg"];
        assert!(root.get("$schema").is_none() && root.get("$defs").is_none(), "{root}");
        assert_eq!(root["properties"]["tls"]["$ref"], "#/components/schemas/Config.pg.Tls");
        assert_eq!(root["properties"]["self"]["$ref"], "#/components/schemas/Config.pg");
        assert_eq!(out["Config.pg.Tls"]["properties"]["ca"]["$ref"], "#/components/schemas/Config.pg.Pem_x_");
    }
}
