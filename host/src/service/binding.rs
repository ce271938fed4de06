//! A secret is bound to its target (DESIGN §4): a replace may carry stored
//! secrets over only when it leaves where the source reaches, and how that
//! is verified, as they were. Otherwise the request gives the secrets again
//! or is refused, naming each one, so a key that may edit a source can never
//! send that source's stored password to an address of its own choosing.
//!
//! "Where it reaches" is the source's type, the endpoints its plugin
//! declares for the config (asked of the plugin for the old and the new
//! config), and the scheme, host and port of every URL in the config (an
//! `https` URL turned `http` keeps its endpoint but drops TLS). "How it is
//! verified" is the `tls` policy: a lower `mode`, or any change of `ca` or
//! `server_name`, is a weakening. For a plugin that takes host-side
//! credentials, it is also every non-secret member of `auth` (`kind`,
//! `token_url`, `hosts`, `methods`, `audience`, `scope`, …, in the object or
//! in the flat keys a mapping reads) and the target they are bound to.

use std::collections::BTreeSet;
use std::time::Duration;

use serde_json::Value;

use crate::runtime::sandbox::auth::policy;
use crate::runtime::{Plugin, Runtime};
use crate::schema::auth::{AuthShape, SECRET_MEMBERS};

/// How long the plugin may take to declare its endpoints for one config.
const ENDPOINTS_TIMEOUT: Duration = Duration::from_secs(5);

/// Stored secrets that a replace leaves out although it moves the source.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unbound {
    /// Each missing secret, as config keys (and array indices).
    pub missing: Vec<Vec<String>>,
    /// What the change moves, in words.
    pub reason: String,
}

/// What a replace may store as the source's secrets: the stored ones with
/// the given ones over them when the target stays or every stored secret is
/// given again, and [`Unbound`] otherwise. `plugin` is the new type's;
/// `old` and `new` are (type, public config, secrets).
pub(super) async fn carry_over(
    runtime: &Runtime,
    plugin: Option<&Plugin>,
    old: (&str, &Value, &Value),
    new: (&str, &Value, &Value),
) -> Result<Value, Unbound> {
    let (old_type, old_public, stored) = old;
    let (new_type, new_public, given) = new;
    // Secrets the new config has no use for are dropped, not carried.
    let kept;
    let stored = match plugin {
        Some(plugin) => {
            kept = plugin.schema().split_secrets(stored).1;
            &kept
        }
        None => stored,
    };
    let missing: Vec<Vec<String>> = leaves(stored).into_iter().filter(|path| !present(given, path)).collect();
    let kept = crate::schema::overlay_secrets(stored, given);
    if missing.is_empty() {
        return Ok(kept);
    }
    let moved = if old_type != new_type {
        Some(format!("the type changes from {old_type:?} to {new_type:?}"))
    } else if let Some(why) = tls_weakened(old_public.get("tls"), new_public.get("tls")) {
        Some(why)
    } else if let Some(why) = url_moved(old_public, new_public, &mut Vec::new()) {
        Some(why)
    } else if let Some(why) = plugin.and_then(|p| auth_moved(p.schema().auth(), old_public, new_public)) {
        Some(why)
    } else if let Some(plugin) = plugin {
        let before = crate::schema::merge_secrets(old_public, stored);
        let after = crate::schema::merge_secrets(new_public, &kept);
        endpoints_moved(runtime, plugin, &before, &after).await
    } else {
        Some("no plugin can say where the source reaches".into())
    };
    match moved {
        None => Ok(kept),
        Some(reason) => Err(Unbound { missing, reason }),
    }
}

async fn endpoints_moved(
    runtime: &Runtime,
    plugin: &Plugin,
    before: &Value,
    after: &Value,
) -> Option<String> {
    let declared = |config| async move {
        let endpoints = runtime.endpoints(plugin, config, ENDPOINTS_TIMEOUT).await?;
        Ok::<_, String>(
            endpoints
                .into_iter()
                .map(|e| {
                    let host = e.host.trim_start_matches('[').trim_end_matches(']').to_ascii_lowercase();
                    format!("{host}:{}", e.port)
                })
                .collect::<BTreeSet<String>>(),
        )
    };
    match (declared(before).await, declared(after).await) {
        (Ok(a), Ok(b)) if a == b => None,
        (Ok(a), Ok(b)) => Some(format!(
            "the endpoints change from {} to {}",
            a.into_iter().collect::<Vec<_>>().join(", "),
            b.into_iter().collect::<Vec<_>>().join(", ")
        )),
        // Unknown is not the same: the secrets must be given again.
        (Err(e), _) | (_, Err(e)) => Some(format!("the plugin did not declare its endpoints ({e})")),
    }
}

/// What of `auth` is not secret, as the host would use it: the object's
/// public members, the public flat keys a mapping reads, and the target.
fn auth_view(shape: &AuthShape, public: &Value) -> Value {
    let mut object = shape.property.as_ref().and_then(|p| public.get(p)).cloned().unwrap_or(Value::Null);
    if let Value::Object(map) = &mut object {
        map.retain(|k, _| !SECRET_MEMBERS.contains(&k.as_str()));
    }
    let mapped = policy::mapped_public(&shape.mappings, public);
    let target = match policy::target(shape, public) {
        Ok(origin) => origin.url(),
        Err(e) => e.to_string(),
    };
    serde_json::json!({"object": object, "mapped": mapped, "target": target})
}

/// Whether a change of `auth` (its kind, `token_url`, `hosts`, `methods`,
/// `audience`, `scope`, any public member) or of its target moves the
/// credentials.
fn auth_moved(shape: &AuthShape, old: &Value, new: &Value) -> Option<String> {
    if shape.is_empty() {
        return None;
    }
    let (before, after) = (auth_view(shape, old), auth_view(shape, new));
    if before["target"] != after["target"] {
        return Some(format!(
            "the target of the credentials moves from {} to {}",
            before["target"], after["target"]
        ));
    }
    (before != after).then(|| "the auth policy changes".to_string())
}

/// TLS `mode`s from weakest to strongest.
const MODES: [&str; 5] = ["disable", "prefer", "require", "verify-ca", "verify-full"];

fn tls_weakened(old: Option<&Value>, new: Option<&Value>) -> Option<String> {
    let member =
        |tls: Option<&Value>, key: &str| tls.and_then(|t| t.get(key)).filter(|v| !v.is_null()).cloned();
    let rank = |mode: &Option<Value>| {
        mode.as_ref().and_then(Value::as_str).and_then(|m| MODES.iter().position(|x| *x == m))
    };
    let (old_mode, new_mode) = (member(old, "mode"), member(new, "mode"));
    if old_mode != new_mode {
        // A mode left to the plugin's default cannot be ranked here; only
        // the strongest mode is never a weakening.
        let stronger = match (rank(&old_mode), rank(&new_mode)) {
            (Some(a), Some(b)) => b >= a,
            (_, Some(b)) => b == MODES.len() - 1,
            _ => false,
        };
        if !stronger {
            return Some("tls.mode is weakened".into());
        }
    }
    for key in ["ca", "server_name"] {
        if member(old, key) != member(new, key) {
            return Some(format!("tls.{key} changes"));
        }
    }
    None
}

/// The first URL in `old` whose scheme, host or port is not the same at the
/// same place in `new`.
fn url_moved(old: &Value, new: &Value, path: &mut Vec<String>) -> Option<String> {
    match old {
        Value::String(s) => {
            let before = target(s)?;
            let after = new.as_str().and_then(target);
            (after.as_ref() != Some(&before)).then(|| format!("the URL at {} moves", path.join(".")))
        }
        Value::Object(map) => map.iter().find_map(|(k, v)| {
            path.push(k.clone());
            let found = url_moved(v, new.get(k).unwrap_or(&Value::Null), path);
            path.pop();
            found
        }),
        Value::Array(items) => items.iter().enumerate().find_map(|(i, v)| {
            path.push(i.to_string());
            let found = url_moved(v, new.get(i).unwrap_or(&Value::Null), path);
            path.pop();
            found
        }),
        _ => None,
    }
}

/// `(scheme, host, port)` of an absolute URL with a host.
fn target(text: &str) -> Option<(String, String, Option<u16>)> {
    let url = url::Url::parse(text).ok()?;
    let host = url.host_str()?.to_ascii_lowercase();
    Some((url.scheme().to_string(), host, url.port_or_known_default()))
}

/// Paths of the values in `secrets` (an object shaped like a config).
fn leaves(secrets: &Value) -> Vec<Vec<String>> {
    fn walk(v: &Value, path: &mut Vec<String>, out: &mut Vec<Vec<String>>) {
        match v {
            Value::Object(map) => {
                for (k, v) in map {
                    path.push(k.clone());
                    walk(v, path, out);
                    path.pop();
                }
            }
            Value::Null => {}
            _ if path.is_empty() => {}
            _ => out.push(path.clone()),
        }
    }
    let mut out = Vec::new();
    walk(secrets, &mut Vec::new(), &mut out);
    out
}

fn present(given: &Value, path: &[String]) -> bool {
    path.iter().try_fold(given, |v, k| v.as_object()?.get(k)).is_some_and(|v| !v.is_null())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn stored_secret_leaves_are_listed_and_found() {
        let stored = json!({"password": "pw", "tls": {"client_key": "k"}, "gone": null});
        let mut l = leaves(&stored);
        l.sort();
        assert_eq!(l, vec![vec!["password".to_string()], vec!["tls".into(), "client_key".into()]]);
        assert!(present(&json!({"password": "x"}), &["password".into()]));
        assert!(!present(&json!({"password": null}), &["password".into()]));
    }

    #[test]
    fn a_lower_mode_or_another_ca_weakens_tls() {
        let t = |v: Value| Some(v);
        assert_eq!(
            tls_weakened(t(json!({"mode": "verify-full"})).as_ref(), None),
            Some("tls.mode is weakened".into())
        );
        assert!(
            tls_weakened(t(json!({"mode": "require"})).as_ref(), t(json!({"mode": "prefer"})).as_ref())
                .is_some()
        );
        assert!(
            tls_weakened(t(json!({"mode": "require"})).as_ref(), t(json!({"mode": "verify-ca"})).as_ref())
                .is_none()
        );
        assert!(tls_weakened(None, t(json!({"mode": "verify-full"})).as_ref()).is_none());
        assert!(tls_weakened(None, t(json!({"mode": "disable"})).as_ref()).is_some());
        assert!(tls_weakened(t(json!({"ca": "A"})).as_ref(), t(json!({"ca": "B"})).as_ref()).is_some());
        assert!(tls_weakened(t(json!({"server_name": "a"})).as_ref(), None).is_some());
        assert!(tls_weakened(t(json!({"min_validity": "1d"})).as_ref(), None).is_none());
    }

    #[test]
    fn a_url_moves_with_its_scheme_host_or_port() {
        let old = json!({"url": "https://api.example/v1", "n": 1});
        assert!(url_moved(&old, &json!({"url": "https://API.example/v2"}), &mut Vec::new()).is_none());
        assert!(url_moved(&old, &json!({"url": "https://api.example:443/x"}), &mut Vec::new()).is_none());
        for moved in ["http://api.example/v1", "https://evil.example/v1", "https://api.example:8443/v1"] {
            let why = url_moved(&old, &json!({ "url": moved }), &mut Vec::new());
            assert_eq!(why.as_deref(), Some("the URL at url moves"), "{moved}");
        }
        assert!(url_moved(&old, &json!({}), &mut Vec::new()).is_some());
        assert!(url_moved(&json!({"host": "db"}), &json!({"host": "other"}), &mut Vec::new()).is_none());
    }
}
