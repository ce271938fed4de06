//! Where a plugin's schema puts credentials for the host (DESIGN §4, "Auth
//! policy"): the `auth` property its marker names, the flat keys a root
//! mapping points at, and the target the credentials are bound to.
//!
//! Found once, when the plugin loads, by markers and never by names, so an
//! older plugin with a field of its own called `auth` is untouched:
//! - `"x-sonde-auth": true` on a top-level property (through `$ref` and
//!   `anyOf`/`oneOf`/`allOf`, as `Option<sonde_sdk::Auth>` is written);
//! - `"x-sonde-auth": {…}` or `[{…}, …]` at the root: flat keys mapped to
//!   the members of one kind, `"/pointer"` for a config value, any other
//!   value a literal;
//! - `"x-sonde-auth-target": true` on a top-level string property (a base
//!   URL), or a root template `"https://{/subdomain}.example.com"`;
//! - `"x-sonde-auth-methods": [...]` at the root, or a `default` on the
//!   `auth` object's `methods`: the methods signed when the config names
//!   none (default `GET`, `HEAD`).
//!
//! Every secret member is a secret whatever the schema says, so the paths
//! found here join the schema's `writeOnly` ones.

use std::collections::HashSet;

use serde_json::{Map, Value};

use super::refs::Refs;
use super::secrets::SecretPath;

/// Members of an `auth` object that are always secrets.
pub const SECRET_MEMBERS: [&str; 13] = [
    "token",
    "box_app_config",
    "connection_string",
    "refresh_token",
    "password",
    "value",
    "client_secret",
    "private_key",
    "passphrase",
    "service_account",
    "secret_access_key",
    "session_token",
    "key",
];

/// What the markers of one schema say.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct AuthShape {
    /// The top-level property that holds an `auth` object.
    pub property: Option<String>,
    /// Root mappings of flat keys, in the order they are tried.
    pub mappings: Vec<Map<String, Value>>,
    pub target: Option<TargetSpec>,
    /// The root's `x-sonde-auth-methods`.
    pub methods: Option<Vec<String>>,
}

/// Where the target comes from: the marked property when the config sets
/// it, else the root template, else the property's default.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct TargetSpec {
    /// A top-level property holding a URL, with the schema's default.
    pub property: Option<TargetProperty>,
    /// A URL with `{/pointer}` holes filled from the config.
    pub template: Option<String>,
}

/// The property marked `x-sonde-auth-target`.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetProperty {
    pub name: String,
    pub default: Option<String>,
}

impl AuthShape {
    /// Whether the plugin can take host-side credentials at all.
    pub fn is_empty(&self) -> bool {
        self.property.is_none() && self.mappings.is_empty()
    }

    /// The config paths that hold secret members: every secret member of
    /// the `auth` property, and every flat key a mapping puts in one.
    pub fn secret_paths(&self) -> Vec<SecretPath> {
        let mut out = Vec::new();
        if let Some(p) = &self.property {
            out.extend(SECRET_MEMBERS.iter().map(|m| SecretPath::keys(&[p, m])));
        }
        for mapping in &self.mappings {
            for (member, value) in mapping {
                if let Some(keys) = pointer_keys(value).filter(|_| SECRET_MEMBERS.contains(&member.as_str()))
                {
                    let keys: Vec<&str> = keys.iter().map(String::as_str).collect();
                    let path = SecretPath::keys(&keys);
                    if !out.contains(&path) {
                        out.push(path);
                    }
                }
            }
        }
        out
    }
}

/// The keys of a `"/a/b"` mapping value; `None` for a literal.
pub fn pointer_keys(value: &Value) -> Option<Vec<String>> {
    let text = value.as_str()?.strip_prefix('/')?;
    Some(text.split('/').map(|k| k.replace("~1", "/").replace("~0", "~")).collect())
}

/// Reads the markers of `root`; a marker of the wrong shape fails the load,
/// since a plugin author would rather hear it than have it ignored.
pub(super) fn discover(root: &Value, refs: &Refs<'_>) -> Result<AuthShape, String> {
    let mut shape = AuthShape::default();
    let props = root.get("properties").and_then(Value::as_object);
    for (name, node) in props.into_iter().flatten() {
        if marked(node, "x-sonde-auth", refs) {
            if let Some(first) = &shape.property {
                return Err(format!(
                    "config-schema: properties {first:?} and {name:?} both carry x-sonde-auth"
                ));
            }
            shape.property = Some(name.clone());
            // A probe may widen the object's default `methods` in its schema.
            // An empty default widens nothing: `sonde_sdk::Auth`'s
            // `#[serde(default)]` publishes `"default": []`, which would
            // otherwise allow no method at all.
            let widened = node.pointer("/properties/methods/default").and_then(Value::as_array);
            if let Some(list) = widened.filter(|l| !l.is_empty()) {
                shape.methods = list.iter().map(|m| m.as_str().map(str::to_string)).collect();
            }
        }
        if marked(node, "x-sonde-auth-target", refs) {
            let target = shape.target.get_or_insert_with(TargetSpec::default);
            if target.property.is_some() {
                return Err("config-schema: more than one property carries x-sonde-auth-target".into());
            }
            let default = node.get("default").and_then(Value::as_str).map(str::to_string);
            target.property = Some(TargetProperty { name: name.clone(), default });
        }
    }
    match root.get("x-sonde-auth") {
        None => {}
        Some(Value::Object(m)) => shape.mappings.push(mapping(m)?),
        Some(Value::Array(items)) => {
            for item in items {
                let m = item.as_object().ok_or("config-schema: x-sonde-auth items must be objects")?;
                shape.mappings.push(mapping(m)?);
            }
        }
        Some(_) => return Err("config-schema: a root x-sonde-auth must be an object or an array".into()),
    }
    match root.get("x-sonde-auth-target") {
        None => {}
        Some(Value::String(t)) => {
            shape.target.get_or_insert_with(TargetSpec::default).template = Some(t.clone())
        }
        Some(_) => return Err("config-schema: a root x-sonde-auth-target must be a URL template".into()),
    }
    if let Some(methods) = root.get("x-sonde-auth-methods") {
        let list =
            methods.as_array().and_then(|a| a.iter().map(|m| m.as_str().map(str::to_string)).collect());
        shape.methods = Some(list.ok_or("config-schema: x-sonde-auth-methods must be a list of methods")?);
    }
    Ok(shape)
}

fn mapping(m: &Map<String, Value>) -> Result<Map<String, Value>, String> {
    if !m.get("kind").is_some_and(Value::is_string) {
        return Err("config-schema: every x-sonde-auth mapping names its kind".into());
    }
    if !SECRET_MEMBERS.iter().any(|s| m.get(*s).and_then(pointer_keys).is_some()) {
        return Err("config-schema: an x-sonde-auth mapping points no secret member at a config key".into());
    }
    Ok(m.clone())
}

/// Whether `node`, or a schema it is made of, carries `marker: true`.
fn marked(node: &Value, marker: &str, refs: &Refs<'_>) -> bool {
    let mut seen: HashSet<*const Value> = HashSet::new();
    let mut todo = vec![node];
    while let Some(n) = todo.pop() {
        if !seen.insert(n as *const Value) || seen.len() > 64 {
            continue;
        }
        if n.get(marker) == Some(&Value::Bool(true)) {
            return true;
        }
        todo.extend(refs.targets(n).unwrap_or_default());
        for k in ["allOf", "anyOf", "oneOf"] {
            todo.extend(n.get(k).and_then(Value::as_array).into_iter().flatten());
        }
    }
    false
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn shape(schema: Value) -> Result<AuthShape, String> {
        discover(&schema, &Refs::new(&schema))
    }

    #[test]
    fn the_property_is_found_through_an_option_and_a_ref() {
        let s = shape(json!({
            "$defs": {"Auth": {"type": "object", "x-sonde-auth": true}},
            "properties": {
                "creds": {"anyOf": [{"$ref": "#/$defs/Auth"}, {"type": "null"}]},
                "base": {"type": "string", "default": "https://api.example.com", "x-sonde-auth-target": true}
            }
        }))
        .expect("shape");
        assert_eq!(s.property.as_deref(), Some("creds"));
        let property = s.target.clone().and_then(|t| t.property);
        assert_eq!(
            property,
            Some(TargetProperty { name: "base".into(), default: Some("https://api.example.com".into()) })
        );
        assert!(s.secret_paths().contains(&SecretPath::keys(&["creds", "client_secret"])));
    }

    #[test]
    fn a_mapping_makes_its_pointed_keys_secrets_and_not_its_literals() {
        let s = shape(json!({
            "x-sonde-auth": [{"kind": "aws_sigv4", "access_key_id": "/key", "secret_access_key": "/secret",
                              "session_token": "/token", "service": "s3"}],
            "x-sonde-auth-target": "https://{/account}.example.com"
        }))
        .expect("shape");
        let paths = s.secret_paths();
        assert!(
            paths.contains(&SecretPath::keys(&["secret"])) && paths.contains(&SecretPath::keys(&["token"]))
        );
        assert!(!paths.contains(&SecretPath::keys(&["key"])), "an access key id is not a secret");
        let template = s.target.and_then(|t| t.template);
        assert_eq!(template.as_deref(), Some("https://{/account}.example.com"));
    }

    #[test]
    fn an_empty_methods_default_widens_nothing() {
        let with = |default: Value| {
            shape(json!({"properties": {"auth": {"type": "object", "x-sonde-auth": true,
                "properties": {"methods": {"type": "array", "default": default}}}}}))
            .expect("shape")
            .methods
        };
        // sonde_sdk::Auth publishes `"default": []`: the host's GET and HEAD apply.
        assert_eq!(with(json!([])), None);
        assert_eq!(with(json!(["GET", "POST"])), Some(vec!["GET".to_string(), "POST".to_string()]));
    }

    #[test]
    fn a_malformed_marker_fails_the_load() {
        assert!(shape(json!({"x-sonde-auth": "yes"})).is_err());
        assert!(shape(json!({"x-sonde-auth": {"kind": "bearer", "token": "literal"}})).is_err());
        assert!(shape(json!({"x-sonde-auth": {"token": "/t"}})).is_err());
        assert!(shape(json!({"x-sonde-auth-methods": "POST"})).is_err());
    }
}
