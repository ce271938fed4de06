//! Runs the vendor cases of tests/e2e/saas/vendor_cases.rs natively: for
//! each case of a source type, a scripted loopback server
//! ([`sonde_sdk::testing::serve_http`]) answers the documented responses in
//! order, the probe's `check` runs as the host calls it, and the run must
//! send exactly the documented requests and report the case's outcome.
//! Native builds speak plain HTTP with no credentials (TLS and `auth` are
//! the host's), so this proves the probe's requests and its reading of the
//! vendor's answers, not the credentials.

use serde_json::Value;
use sonde_sdk::testing::{check, http_answer, serve_http};
use sonde_sdk::{CheckError, Probe};

#[path = "../../../tests/e2e/saas/vendor_cases.rs"]
pub mod table;

use table::{CASES, Case, Outcome};

/// Runs every case of `source_type` that has a `{base}` target; returns how
/// many ran. Panics, naming the case, on the first difference.
pub fn run_all<P: Probe>(source_type: &str) -> usize {
    let cases: Vec<&Case> =
        CASES.iter().filter(|c| c.source_type == source_type && c.config.contains("{base}")).collect();
    for case in &cases {
        if let Err(why) = run::<P>(case) {
            panic!("{} case {:?} ({}): {why}", case.source_type, case.name, case.docs);
        }
    }
    cases.len()
}

/// One case; `Err` says how the run differed from the table.
pub fn run<P: Probe>(case: &Case) -> Result<(), String> {
    let answers = case.exchanges.iter().map(|e| http_answer(e.status, e.headers, e.body)).collect();
    let (base, requests) = serve_http(answers);
    let config: Value = serde_json::from_str(&case.config.replace("{base}", &base))
        .map_err(|e| format!("the case's config is not JSON: {e}"))?;
    let result = check::<P>(config);
    let wait = std::time::Duration::from_secs(2);
    let sent: Vec<String> = (0..case.exchanges.len())
        .map_while(|_| requests.recv_timeout(wait).ok())
        .map(|r| r.lines().next().unwrap_or_default().to_string())
        .collect();
    let wanted: Vec<String> =
        case.exchanges.iter().map(|e| format!("{} {} HTTP/1.1", e.method, e.path)).collect();
    if sent != wanted {
        return Err(format!("sent {sent:?}, the table has {wanted:?} (result {result:?})"));
    }
    match (&case.outcome, result) {
        (Outcome::Healthy(items), Ok(report)) if report.items == *items => Ok(()),
        (Outcome::Unhealthy(message, stage), Err(CheckError::Unhealthy(p)))
            if p.message == *message && p.stage().as_deref() == Some(*stage) =>
        {
            Ok(())
        }
        (_, other) => Err(format!("reported {other:?}")),
    }
}

/// Auth members that are secrets (COMMON.md's list, plus the two members
/// these probes ask the host for: `refresh_token`, `box_app_config`).
const SECRET_MEMBERS: &[&str] = &[
    "token",
    "password",
    "value",
    "client_secret",
    "private_key",
    "passphrase",
    "service_account",
    "secret_access_key",
    "session_token",
    "key",
    "refresh_token",
    "box_app_config",
];

/// The auth contract in a probe's published schema: it is strict
/// (`additionalProperties: false`); it has an `auth` object property; every
/// pointer of its root mappings names a property, `writeOnly` when the member
/// is a secret; and it has one target, a marked property or a root template
/// whose pointers name properties.
pub fn schema_rules<P: Probe>() -> Result<(), String> {
    let schema = sonde_sdk::testing::config_schema::<P>();
    let properties = schema["properties"].as_object().ok_or("the schema has no properties")?;
    if schema["additionalProperties"] != false {
        return Err("the schema is not strict (additionalProperties)".into());
    }
    if properties.get("auth").and_then(|a| a.get("x-sonde-auth")) != Some(&Value::Bool(true)) {
        return Err("no `auth` property with the x-sonde-auth marker".into());
    }
    let property =
        |pointer: &str| properties.get(pointer.trim_start_matches('/').split('/').next().unwrap_or(""));
    let mappings = match &schema["x-sonde-auth"] {
        Value::Array(list) => list.clone(),
        Value::Null => Vec::new(),
        one => vec![one.clone()],
    };
    for mapping in &mappings {
        for (member, value) in mapping.as_object().into_iter().flatten() {
            for pointer in pointers(value.as_str().unwrap_or_default()) {
                let found =
                    property(pointer).ok_or(format!("{member} points at {pointer}, which is no property"))?;
                if SECRET_MEMBERS.contains(&member.as_str()) && found["writeOnly"] != true {
                    return Err(format!("{member} points at {pointer}, which is not writeOnly"));
                }
            }
        }
    }
    let marked = properties.iter().filter(|(_, p)| p["x-sonde-auth-target"] == true).count();
    match (&schema["x-sonde-auth-target"], marked) {
        (Value::String(template), 0) => pointers(template)
            .into_iter()
            .try_for_each(|p| property(p).map(drop).ok_or(format!("target {p} is no property"))),
        (Value::Null, 1) => Ok(()),
        _ => Err(format!("{marked} marked target properties beside a root template")),
    }
}

/// The JSON pointers of a mapping value: the value itself (`/key`), or the
/// `{/pointer}` parts of a template.
fn pointers(value: &str) -> Vec<&str> {
    if value.starts_with('/') {
        return vec![value];
    }
    value.split('{').skip(1).filter_map(|part| part.split_once('}').map(|(p, _)| p)).collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn pointers_come_from_values_and_templates() {
        assert_eq!(super::pointers("/token"), ["/token"]);
        assert_eq!(super::pointers("{/email}/token"), ["/email"]);
        assert_eq!(super::pointers("https://login.example/{/tenant}/x"), ["/tenant"]);
        assert!(super::pointers("https://graph.microsoft.com/.default").is_empty());
    }

    use super::table::CASES;

    #[test]
    fn every_type_has_the_five_kinds_of_case() {
        let types: std::collections::BTreeSet<&str> = CASES.iter().map(|c| c.source_type).collect();
        assert_eq!(types.len(), 17);
        for t in types {
            let cases: Vec<_> = CASES.iter().filter(|c| c.source_type == t).collect();
            assert!(cases.iter().any(|c| c.name == "ok"), "{t} has no ok case");
            assert!(cases.len() >= 4, "{t} has {} cases", cases.len());
            assert!(cases.iter().all(|c| c.docs.starts_with("https://")), "{t} has a case without docs");
        }
        for (t, name) in super::table::TEXT_NOT_FROM_DOCS {
            assert!(CASES.iter().any(|c| c.source_type == *t && c.name == *name), "no case {t} {name}");
        }
    }
}
