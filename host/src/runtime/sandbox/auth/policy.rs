//! A source's `auth`, read by the host from its config (DESIGN §4): the
//! kind, its members, the target the credentials are bound to, and the
//! methods they may sign.
//!
//! The schema the config passed is the plugin's, so every member used here
//! is checked again; a bad value is a FAILED check before the guest runs.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::{Map, Value};

use crate::schema::auth::{AuthShape, SECRET_MEMBERS, TargetProperty, pointer_keys};

/// The kinds of DESIGN §4.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Bearer,
    Basic,
    Header,
    Query,
    OAuth2,
    JwtBearer,
    SignedJwt,
    AwsSigV4,
    AzureSharedKey,
}

impl Kind {
    fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "bearer" => Kind::Bearer,
            "basic" => Kind::Basic,
            "header" => Kind::Header,
            "query" => Kind::Query,
            "oauth2" => Kind::OAuth2,
            "jwt_bearer" => Kind::JwtBearer,
            "signed_jwt" => Kind::SignedJwt,
            "aws_sigv4" => Kind::AwsSigV4,
            "azure_shared_key" => Kind::AzureSharedKey,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Bearer => "bearer",
            Kind::Basic => "basic",
            Kind::Header => "header",
            Kind::Query => "query",
            Kind::OAuth2 => "oauth2",
            Kind::JwtBearer => "jwt_bearer",
            Kind::SignedJwt => "signed_jwt",
            Kind::AwsSigV4 => "aws_sigv4",
            Kind::AzureSharedKey => "azure_shared_key",
        }
    }

    /// Members that must be present, one of each group.
    fn required(self) -> &'static [&'static [&'static str]] {
        match self {
            Kind::Bearer => &[&["token"]],
            Kind::Basic => &[&["user"]],
            Kind::Header | Kind::Query => &[&["value"]],
            Kind::OAuth2 => {
                &[&["token_url"], &["client_id"], &["client_secret", "private_key", "refresh_token"]]
            }
            Kind::JwtBearer => &[&["private_key", "service_account", "box_app_config"]],
            Kind::SignedJwt => &[&["private_key"], &["issuer"]],
            Kind::AwsSigV4 => &[&["access_key_id"], &["secret_access_key"]],
            Kind::AzureSharedKey => &[&["account", "connection_string"], &["key", "connection_string"]],
        }
    }

    /// Whether the host fetches a token for this kind.
    pub fn fetches_token(self) -> bool {
        matches!(self, Kind::OAuth2 | Kind::JwtBearer)
    }
}

/// Scheme, host and port: what a credential is bound to.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Origin {
    pub https: bool,
    /// Lower case, without brackets.
    pub host: String,
    pub port: u16,
}

impl Origin {
    /// The origin of an absolute `http` or `https` URL.
    pub fn of_url(text: &str) -> Result<Self, String> {
        let url = url::Url::parse(text).map_err(|e| format!("{text:?} is not a URL: {e}"))?;
        let https = match url.scheme() {
            "https" => true,
            "http" => false,
            other => return Err(format!("{text:?}: scheme {other:?} is not http or https")),
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            None => return Err(format!("{text:?} has no host")),
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(format!("{text:?} carries credentials in the URL"));
        }
        let port = url.port_or_known_default().unwrap_or(if https { 443 } else { 80 });
        Ok(Self { https, host, port })
    }

    /// `host[:port]` (https), or a whole URL, from `auth.hosts`.
    fn of_host_entry(text: &str) -> Result<Self, String> {
        if text.contains("://") {
            return Self::of_url(text);
        }
        Self::of_url(&format!("https://{text}"))
    }

    /// Whether plain `http` to this origin stays on this machine.
    pub fn is_loopback(&self) -> bool {
        self.host == "localhost" || self.host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
    }

    pub fn url(&self) -> String {
        let scheme = if self.https { "https" } else { "http" };
        format!("{scheme}://{}:{}", self.bracketed_host(), self.port)
    }

    /// `host[:port]` as a `Host` header writes it: the port only when it is
    /// not the scheme's own.
    pub fn authority(&self) -> String {
        let default = if self.https { 443 } else { 80 };
        if self.port == default {
            self.bracketed_host()
        } else {
            format!("{}:{}", self.bracketed_host(), self.port)
        }
    }

    fn bracketed_host(&self) -> String {
        if self.host.contains(':') { format!("[{}]", self.host) } else { self.host.clone() }
    }
}

/// An `auth` that cannot work.
#[derive(Debug, Clone, thiserror::Error, PartialEq, Eq)]
pub enum AuthError {
    #[error("auth: {0}")]
    Invalid(String),
    /// The `auth` object and flat keys at once: refused when the source is
    /// written (DESIGN §4: a 422).
    #[error("auth: {0}")]
    Ambiguous(String),
}

fn invalid(text: impl Into<String>) -> AuthError {
    AuthError::Invalid(text.into())
}

/// One source's credentials, as the host applies them.
#[derive(Clone)]
pub struct AuthPolicy {
    pub kind: Kind,
    /// Every member given, by name (public and secret), as text; `claims`
    /// and a service account stay JSON.
    members: BTreeMap<String, Value>,
    pub target: Origin,
    /// The target and `hosts`.
    pub origins: Vec<Origin>,
    /// Upper case.
    pub methods: Vec<String>,
}

impl std::fmt::Debug for AuthPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthPolicy")
            .field("kind", &self.kind)
            .field("target", &self.target)
            .field("methods", &self.methods)
            .finish_non_exhaustive()
    }
}

impl AuthPolicy {
    /// The policy of `config` under `shape`; `None` when it asks for none.
    pub fn from_config(shape: &AuthShape, config: &Value) -> Result<Option<Self>, AuthError> {
        let object = shape.property.as_ref().and_then(|p| config.get(p)).filter(|v| !v.is_null());
        let mapped = choose_mapping(&shape.mappings, config)?;
        let members = match (object, mapped) {
            (None, None) => return Ok(None),
            (Some(_), Some(m)) => {
                return Err(AuthError::Ambiguous(format!(
                    "give either the `{}` object or the keys {}, not both",
                    shape.property.as_deref().unwrap_or("auth"),
                    m.keys.join(", ")
                )));
            }
            (Some(Value::Object(o)), None) => o.clone().into_iter().collect::<BTreeMap<_, _>>(),
            (Some(_), None) => return Err(invalid("must be an object")),
            (None, Some(m)) => m.members,
        };
        let kind_text =
            members.get("kind").and_then(Value::as_str).ok_or_else(|| invalid("`kind` is missing"))?;
        let kind = Kind::parse(kind_text).ok_or_else(|| {
            invalid(format!(
                "kind {kind_text:?} is not one of bearer, basic, header, query, oauth2, jwt_bearer, signed_jwt, \
                 aws_sigv4, azure_shared_key"
            ))
        })?;
        for (name, value) in &members {
            let structured = matches!(
                name.as_str(),
                "claims" | "hosts" | "methods" | "service_account" | "box_app_config"
            );
            if !structured && !value.is_string() && !value.is_null() {
                return Err(invalid(format!("`{name}` must be a string")));
            }
        }
        for group in kind.required() {
            if !group.iter().any(|m| members.get(*m).is_some_and(|v| !v.is_null())) {
                return Err(invalid(format!("kind {kind_text} needs `{}`", group.join("` or `"))));
            }
        }
        let target = target(shape, config)?;
        let mut origins = vec![target.clone()];
        for entry in members.get("hosts").map(list).transpose()?.into_iter().flatten() {
            let origin = Origin::of_host_entry(&entry).map_err(|e| invalid(format!("hosts: {e}")))?;
            if !origin.https && !origin.is_loopback() {
                return Err(invalid(format!("hosts: {entry:?} is plain http beyond this machine")));
            }
            origins.push(origin);
        }
        let methods = match members.get("methods") {
            Some(m) => list(m)?,
            None => shape.methods.clone().unwrap_or_else(|| vec!["GET".into(), "HEAD".into()]),
        };
        let methods = methods.into_iter().map(|m| m.to_ascii_uppercase()).collect();
        let policy = Self { kind, members, target, origins, methods };
        policy.check_members()?;
        Ok(Some(policy))
    }

    /// The member `name` as text, if given.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.members.get(name).and_then(Value::as_str).filter(|s| !s.is_empty())
    }

    pub fn value(&self, name: &str) -> Option<&Value> {
        self.members.get(name).filter(|v| !v.is_null())
    }

    /// The members that are not secrets, as given: what identifies the
    /// policy in the token cache and in `details.auth`.
    pub fn public_members(&self) -> Map<String, Value> {
        self.members
            .iter()
            .filter(|(k, _)| !SECRET_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// The secret members, for the cache key's digest only.
    pub fn secret_members(&self) -> Map<String, Value> {
        self.members
            .iter()
            .filter(|(k, _)| SECRET_MEMBERS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect()
    }

    /// Whether credentials may go to `origin`.
    pub fn covers(&self, origin: &Origin) -> bool {
        self.origins.contains(origin)
    }

    pub fn allows_method(&self, method: &str) -> bool {
        self.methods.iter().any(|m| m.eq_ignore_ascii_case(method))
    }

    /// Kind-specific rules on member values.
    fn check_members(&self) -> Result<(), AuthError> {
        if self.kind == Kind::Header {
            let name = self.text("name").ok_or_else(|| invalid("kind header needs `name`"))?;
            super::apply::check_header_name(name).map_err(invalid)?;
        }
        for m in ["value", "token", "password", "user"] {
            if self.text(m).is_some_and(|v| v.contains(['\r', '\n'])) {
                return Err(invalid(format!("`{m}` must not contain a line break")));
            }
        }
        if self.kind == Kind::Basic && self.text("user").is_some_and(|u| u.contains(':')) {
            return Err(invalid("`user` must not contain ':' (basic authentication)"));
        }
        if let Some(url) = self.text("token_url") {
            let origin = Origin::of_url(url).map_err(|e| invalid(format!("token_url: {e}")))?;
            if !origin.https && !origin.is_loopback() {
                return Err(invalid("token_url must be https (plain http only to this machine)"));
            }
        }
        Ok(())
    }
}

/// The members one root mapping gives for a config, and the config keys
/// it read.
struct Mapped {
    members: BTreeMap<String, Value>,
    keys: Vec<String>,
    /// Templates that could not be filled from the config.
    unfilled: Vec<AuthError>,
}

/// What each root mapping reads from `config` that is not a secret, its
/// filled templates included (a `token_url` built from `tenant`): the
/// service compares these before and after a change ([`crate::service`]'s
/// binding), so moving where a token comes from needs the secrets again.
pub fn mapped_public(mappings: &[Map<String, Value>], config: &Value) -> Vec<BTreeMap<String, Value>> {
    mappings
        .iter()
        .map(|m| {
            let mut members = read_mapping(m, config).members;
            members.retain(|member, _| !SECRET_MEMBERS.contains(&member.as_str()));
            members
        })
        .collect()
}

/// What one mapping reads from `config`: pointed values that are present,
/// templates filled, literals as they are.
fn read_mapping(mapping: &Map<String, Value>, config: &Value) -> Mapped {
    let mut members = BTreeMap::new();
    let mut keys = Vec::new();
    let mut unfilled = Vec::new();
    for (member, spec) in mapping {
        if let Some(path) = pointer_keys(spec) {
            if let Some(v) = path.iter().try_fold(config, |v, k| v.get(k)).filter(|v| !v.is_null()) {
                members.insert(member.clone(), v.clone());
                keys.push(path.join("."));
            }
        } else if let Some(text) = spec.as_str().filter(|t| t.contains("{/")) {
            match fill(text, config, MEMBER_CHARS) {
                Ok(filled) => _ = members.insert(member.clone(), Value::String(filled)),
                Err(e) => unfilled.push(e),
            }
        } else {
            members.insert(member.clone(), spec.clone());
        }
    }
    Mapped { members, keys, unfilled }
}

/// The mapping that applies to `config`, if any. A mapping applies when the
/// keys it maps to its kind's required members are present; of those, the
/// one reading the most keys wins. Keys that would go to two different
/// credentials (`token` and `user` for the http probe), or a secret given
/// without the rest of its credential (`password` without `user`), are
/// refused rather than guessed at.
fn choose_mapping(mappings: &[Map<String, Value>], config: &Value) -> Result<Option<Mapped>, AuthError> {
    let applies = |m: &Mapped| {
        let kind = m.members.get("kind").and_then(Value::as_str).and_then(Kind::parse);
        kind.is_some_and(|k| {
            k.required().iter().all(|group| group.iter().any(|r| m.members.contains_key(*r)))
        })
    };
    let all: Vec<(Mapped, Vec<String>)> = mappings
        .iter()
        .map(|m| {
            let secrets = m
                .iter()
                .filter(|(member, _)| SECRET_MEMBERS.contains(&member.as_str()))
                .filter_map(|(_, spec)| pointer_keys(spec))
                .map(|p| p.join("."))
                .collect();
            (read_mapping(m, config), secrets)
        })
        .collect();
    let applicable: Vec<&Mapped> = all.iter().map(|(m, _)| m).filter(|m| applies(m)).collect();
    // The first of those reading the most keys.
    let most = applicable.iter().map(|m| m.keys.len()).max().unwrap_or(0);
    let chosen = applicable.iter().copied().find(|m| m.keys.len() == most);
    let given_secrets: Vec<&String> =
        all.iter().flat_map(|(m, secrets)| secrets.iter().filter(|s| m.keys.contains(s))).collect();
    let Some(chosen) = chosen else {
        // A template its own keys could not fill says why better than the
        // secret left without a credential does.
        let given = |m: &Mapped| m.keys.iter().any(|k| given_secrets.contains(&k));
        if let Some(e) = all.iter().map(|(m, _)| m).filter(|m| given(m)).find_map(|m| m.unfilled.first()) {
            return Err(e.clone());
        }
        return match given_secrets.first() {
            Some(key) => Err(invalid(format!("`{key}` is given without the rest of its credential"))),
            None => Ok(None),
        };
    };
    for other in &applicable {
        if other.keys.iter().any(|k| !chosen.keys.contains(k)) {
            return Err(invalid(format!(
                "the keys {} and {} are two different credentials: give one",
                chosen.keys.join(", "),
                other.keys.join(", ")
            )));
        }
    }
    if let Some(stray) = given_secrets.iter().find(|s| !chosen.keys.contains(s)) {
        return Err(invalid(format!("`{stray}` is not part of the credential {}", chosen.keys.join(", "))));
    }
    Ok(Some(Mapped { members: chosen.members.clone(), keys: chosen.keys.clone(), unfilled: Vec::new() }))
}

/// `hosts` or `methods` as a list. One method alone, as a mapping reads it
/// from a probe's own `method` key, allows that method and the reads a
/// redirect turns it into (`GET`, `HEAD`).
fn list(value: &Value) -> Result<Vec<String>, AuthError> {
    if let Some(method) = value.as_str() {
        return Ok(vec![method.to_string(), "GET".into(), "HEAD".into()]);
    }
    value
        .as_array()
        .and_then(|a| a.iter().map(|v| v.as_str().map(str::to_string)).collect())
        .ok_or_else(|| invalid("`hosts` and `methods` must be lists of strings"))
}

/// The target of `config`: its marked property (or that property's
/// default), or the root template filled from the config.
pub fn target(shape: &AuthShape, config: &Value) -> Result<Origin, AuthError> {
    let Some(spec) = &shape.target else {
        return Err(invalid(
            "the plugin marks no target for credentials (x-sonde-auth-target), so the host sends them nowhere",
        ));
    };
    let set = spec.property.as_ref().and_then(|p| config.get(&p.name)).and_then(Value::as_str);
    let text = match (set, &spec.template, &spec.property) {
        (Some(url), _, _) => url.to_string(),
        (None, Some(template), _) => fill(template, config, TARGET_CHARS)?,
        (None, None, Some(TargetProperty { default: Some(default), .. })) => default.clone(),
        (None, None, Some(p)) => {
            return Err(invalid(format!("`{}`, where credentials go, is not set", p.name)));
        }
        (None, None, None) => return Err(invalid("the plugin's auth target is empty")),
    };
    let origin = Origin::of_url(&text).map_err(|e| invalid(format!("target: {e}")))?;
    if !origin.https && !origin.is_loopback() {
        return Err(invalid(format!("target {text:?} is plain http beyond this machine")));
    }
    Ok(origin)
}

/// What a hole of a target template may hold: a value cannot move the host
/// by adding a `/`, `@`, `:` or `#`.
const TARGET_CHARS: &str = "._-";
/// What a hole of a mapped member may hold (`{/email}/token`, a tenant).
const MEMBER_CHARS: &str = "._-@+";

/// `template` with each `{/pointer}` replaced by the config's value there.
/// A hole that opens the template may hold a whole URL (`{/hosts/0}`,
/// `{/host}/oidc/v1/token`), which the caller parses as one; any other hole
/// holds letters, digits and `extra` only.
pub fn fill(template: &str, config: &Value, extra: &str) -> Result<String, AuthError> {
    let mut out = String::new();
    let mut rest = template;
    while let Some(start) = rest.find("{/") {
        out.push_str(&rest[..start]);
        let end = rest[start..].find('}').ok_or_else(|| invalid("a template has an open `{`"))?;
        let pointer = &rest[start + 1..start + end];
        let keys = pointer_keys(&Value::String(pointer.to_string())).unwrap_or_default();
        let name = keys.join(".");
        let value = keys
            .iter()
            .try_fold(config, |v, k| match v {
                Value::Array(items) => k.parse::<usize>().ok().and_then(|i| items.get(i)),
                other => other.get(k),
            })
            .and_then(Value::as_str)
            .ok_or_else(|| invalid(format!("`{name}`, part of where credentials go, is not set")))?;
        let whole_url = out.is_empty() && value.contains("://");
        let plain =
            !value.is_empty() && value.chars().all(|c| c.is_ascii_alphanumeric() || extra.contains(c));
        if whole_url {
            if value.contains(char::is_whitespace) {
                return Err(invalid(format!("`{name}` is not a URL")));
            }
            out.push_str(value.trim_end_matches('/'));
        } else if plain {
            out.push_str(value);
        } else {
            return Err(invalid(format!("`{name}` may hold only letters, digits and {extra:?}")));
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// `config` as the guest may see it: the `auth` object without its secret
/// members, and no flat key a mapping takes.
pub fn guest_config(shape: &AuthShape, config: &Value) -> Value {
    let mut out = config.clone();
    if let Some(Value::Object(auth)) = shape.property.as_ref().and_then(|p| out.get_mut(p)) {
        for m in SECRET_MEMBERS {
            auth.remove(m);
        }
    }
    for mapping in &shape.mappings {
        for (member, spec) in mapping {
            let Some(keys) = pointer_keys(spec).filter(|_| SECRET_MEMBERS.contains(&member.as_str())) else {
                continue;
            };
            let Some((last, parents)) = keys.split_last() else { continue };
            let parent = parents.iter().try_fold(&mut out, |v, k| v.get_mut(k));
            if let Some(Value::Object(map)) = parent {
                map.remove(last);
            }
        }
    }
    out
}

/// A policy from an `auth` object, with `url` (`target`) as its target:
/// the unit tests' source.
#[cfg(test)]
pub(crate) fn object_policy(target: &str, auth: Value) -> AuthPolicy {
    use crate::schema::auth::TargetSpec;
    let shape = AuthShape {
        property: Some("auth".into()),
        target: Some(TargetSpec {
            property: Some(TargetProperty { name: "url".into(), default: None }),
            template: None,
        }),
        ..AuthShape::default()
    };
    AuthPolicy::from_config(&shape, &serde_json::json!({"url": target, "auth": auth}))
        .expect("valid")
        .expect("some")
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::schema::auth::TargetSpec;

    fn shape() -> AuthShape {
        AuthShape {
            property: Some("auth".into()),
            mappings: vec![
                json!({"kind": "bearer", "token": "/token"}).as_object().cloned().unwrap_or_default(),
                json!({"kind": "basic", "user": "/user", "password": "/password"})
                    .as_object()
                    .cloned()
                    .unwrap_or_default(),
            ],
            target: Some(TargetSpec {
                property: Some(TargetProperty { name: "url".into(), default: None }),
                template: None,
            }),
            methods: None,
        }
    }

    #[test]
    fn object_and_mapped_forms() {
        let p = AuthPolicy::from_config(&shape(), &json!({"url": "https://api.example/x", "token": "t"}))
            .expect("valid")
            .expect("some");
        assert_eq!((p.kind, p.text("token")), (Kind::Bearer, Some("t")));
        assert_eq!(p.target, Origin { https: true, host: "api.example".into(), port: 443 });
        assert_eq!(p.methods, ["GET", "HEAD"]);
        let p = AuthPolicy::from_config(
            &shape(),
            &json!({"url": "http://127.0.0.1:9/", "user": "u", "password": "p"}),
        )
        .expect("valid")
        .expect("some");
        assert_eq!(p.kind, Kind::Basic);
        let none = AuthPolicy::from_config(&shape(), &json!({"url": "https://a/"})).expect("valid");
        assert!(none.is_none(), "no key, no credential");
        let user =
            AuthPolicy::from_config(&shape(), &json!({"url": "https://a/", "user": "u"})).expect("valid");
        assert_eq!(user.map(|p| p.kind), Some(Kind::Basic), "a user alone is basic with no password");
        for two in [
            json!({"token": "t", "user": "u"}),
            json!({"password": "p"}),
            json!({"token": "t", "password": "p"}),
        ] {
            let mut config = two.clone();
            config["url"] = "https://a/".into();
            assert!(AuthPolicy::from_config(&shape(), &config).is_err(), "{two}");
        }
        let both = json!({"url": "https://a/", "token": "t", "auth": {"kind": "bearer", "token": "u"}});
        assert!(AuthPolicy::from_config(&shape(), &both).is_err());
    }

    #[test]
    fn plain_http_only_to_loopback_and_headers_are_checked() {
        let s = shape();
        let far = json!({"url": "http://api.example/", "token": "t"});
        assert!(AuthPolicy::from_config(&s, &far).is_err());
        for bad in [
            json!({"kind": "header", "name": "Host", "value": "v"}),
            json!({"kind": "header", "name": "x-a", "value": "v\r\nx: y"}),
            json!({"kind": "oauth2", "token_url": "http://idp.example/t", "client_id": "c", "client_secret": "s"}),
            json!({"kind": "oauth2", "client_id": "c", "client_secret": "s"}),
            json!({"kind": "aws", "token": "t"}),
        ] {
            let config = json!({"url": "https://api.example/", "auth": bad});
            assert!(AuthPolicy::from_config(&s, &config).is_err(), "{config}");
        }
    }

    /// Microsoft's documented token endpoint is per tenant
    /// (`https://login.microsoftonline.com/{tenant}/oauth2/v2.0/token`,
    /// learn.microsoft.com/en-us/entra/identity-platform/v2-oauth2-client-creds-grant-flow):
    /// the Graph probes' mapping builds it from `tenant`, which cannot move
    /// it to another host or path.
    #[test]
    fn a_graph_token_url_is_built_from_the_tenant() {
        let shape = AuthShape {
            mappings: vec![
                json!({"kind": "oauth2", "token_url": "https://login.microsoftonline.com/{/tenant}/oauth2/v2.0/token",
                       "client_id": "/client_id", "client_secret": "/client_cred",
                       "scope": "https://graph.microsoft.com/.default"})
                .as_object()
                .cloned()
                .unwrap_or_default(),
            ],
            target: Some(TargetSpec {
                property: Some(TargetProperty { name: "graph_url".into(), default: Some("https://graph.microsoft.com".into()) }),
                template: None,
            }),
            ..AuthShape::default()
        };
        let config = |tenant: &str| json!({"tenant": tenant, "client_id": "app", "client_cred": "s"});
        let p = AuthPolicy::from_config(&shape, &config("contoso.onmicrosoft.com"))
            .expect("valid")
            .expect("some");
        assert_eq!(
            p.text("token_url"),
            Some("https://login.microsoftonline.com/contoso.onmicrosoft.com/oauth2/v2.0/token")
        );
        assert_eq!(p.target, Origin { https: true, host: "graph.microsoft.com".into(), port: 443 });
        // A tenant that tries to leave the path is not filled in, and says so.
        let moved = AuthPolicy::from_config(&shape, &config("x/../../evil")).expect_err("refused");
        assert!(moved.to_string().contains("tenant"), "{moved}");
    }

    #[test]
    fn a_template_takes_only_a_plain_label() {
        let config = json!({"sub": "acme"});
        let t = "https://{/sub}.zendesk.com";
        assert_eq!(fill(t, &config, TARGET_CHARS).expect("filled"), "https://acme.zendesk.com");
        for evil in ["evil.com#", "evil.com/x", "a@evil.com", "evil.com:1", "", "https://evil.com"] {
            assert!(fill(t, &json!({"sub": evil}), TARGET_CHARS).is_err(), "{evil}");
        }
        // A hole that opens a template may be a whole URL.
        let hosts = json!({"hosts": ["https://es.example:9200/"]});
        assert_eq!(fill("{/hosts/0}", &hosts, TARGET_CHARS).expect("url"), "https://es.example:9200");
        let user = fill("{/email}/token", &json!({"email": "a+b@x.io"}), MEMBER_CHARS).expect("user");
        assert_eq!(user, "a+b@x.io/token");
    }

    #[test]
    fn the_guest_sees_no_secret_member() {
        let config =
            json!({"url": "u", "token": "t", "auth": {"kind": "basic", "user": "u", "password": "p"}});
        let seen = guest_config(&shape(), &config);
        assert_eq!(seen, json!({"url": "u", "auth": {"kind": "basic", "user": "u"}}));
    }
}
