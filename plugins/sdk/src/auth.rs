//! The `auth` object of DESIGN §4: credentials that the Sonde host holds
//! and applies, so a probe that speaks HTTP never sees a key.
//!
//! # How the host applies it
//!
//! A probe embeds [`Auth`] as a top-level field (usually `auth:
//! Option<Auth>`). The host finds it by the schema marker `"x-sonde-auth":
//! true` that this type's schema carries, never by the field's name. Then:
//!
//! - every secret member (`token`, `password`, `value`, `client_secret`,
//!   `private_key`, `passphrase`, `service_account`, `secret_access_key`,
//!   `session_token`, `key`) is removed from the config before the guest
//!   runs: in the guest they are always `None`. They are in this type only
//!   so that the published schema lists them, `writeOnly`;
//! - the host attaches the credential in its own `wasi:http` sender (a
//!   header, a query parameter, a signature, a token it fetched), and only
//!   to requests bound for the **target**: the scheme, host and port of the
//!   config's auth target (below), plus `hosts`, and only for `methods`
//!   (default `GET` and `HEAD`). It replaces any `Authorization` or
//!   `x-amz-*` header the guest set itself;
//! - while `auth` is present, the check may reach nothing but the target; a
//!   request elsewhere is "permission denied by sandbox";
//! - the report gains `details.auth = {kind, target, token_url?,
//!   token_cached, token_expires_in?}`; a token endpoint that refuses is
//!   ERROR "authentication failed" with stage `token`, made by the host.
//!
//! So a probe only sends its plain request to the target and maps the
//! source's answer ([`crate::api::failure`]: 401, 403, 404, 429).
//!
//! # The target
//!
//! Mark one top-level string property (a base URL such as `endpoint_url`)
//! with `"x-sonde-auth-target": true`. Give it a schema `default`: the host
//! writes it into the stored config at create time, so the secrets are
//! bound to it. When the target is built from other fields, put a template
//! at the schema ROOT instead: `"x-sonde-auth-target":
//! "https://{/subdomain}.zendesk.com"`, whose `{/pointer}` parts the host
//! replaces by config values (only `[A-Za-z0-9._-]` allowed in them). Only
//! the scheme, host and port of the target matter.
//!
//! # Flat keys (Unstructured style)
//!
//! A probe may accept other keys instead of the `auth` object (S3's `key`,
//! `secret`, `token`) by mapping them at its schema ROOT: `"x-sonde-auth":
//! {"kind": "aws_sigv4", "access_key_id": "/key", ...}`, or an ARRAY of such
//! objects, of which the first whose secret members are present applies. A
//! value starting with `/` is a JSON pointer into the config, any other a
//! literal. The mapped fields are secrets (the host removes them): type them
//! [`crate::Secret`] so the schema says `writeOnly`. No mapped secret
//! present means no auth (anonymous); the object and mapped keys together
//! are refused by the host.
//!
//! ```
//! use sonde_sdk::{Auth, Secret};
//!
//! /// Both markers are `extend`s on the config type: the root mapping and
//! /// the root target template. (A field-level target would instead be
//! /// `#[schemars(extend("x-sonde-auth-target" = true))]` on `endpoint_url`.)
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[serde(deny_unknown_fields)]
//! #[schemars(extend(
//!     "x-sonde-auth" = [
//!         {"kind": "bearer", "token": "/api_token"},
//!         {"kind": "basic", "user": "/email", "password": "/password"}
//!     ],
//!     "x-sonde-auth-target" = "https://{/subdomain}.example.com"
//! ))]
//! struct Config {
//!     subdomain: String,
//!     email: Option<String>,
//!     /// Never in the guest: the host takes it.
//!     api_token: Option<Secret>,
//!     password: Option<Secret>,
//!     /// For operators who prefer the object form (any other kind).
//!     auth: Option<Auth>,
//! }
//!
//! let schema = schemars::schema_for!(Config);
//! assert_eq!(schema.get("x-sonde-auth").and_then(|m| m.as_array()).map(Vec::len), Some(2));
//! assert_eq!(schema.get("x-sonde-auth-target").and_then(|t| t.as_str()), Some("https://{/subdomain}.example.com"));
//! ```

use std::borrow::Cow;

use schemars::{JsonSchema, Schema, SchemaGenerator, json_schema};
use serde::Deserialize;

use crate::Secret;

/// How the host authenticates requests to the target (DESIGN §4's table).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuthKind {
    /// `Authorization: Bearer <token>`.
    Bearer,
    /// `Authorization: Basic` of `user` and `password`.
    Basic,
    /// One header `name: value` (API keys).
    Header,
    /// One query parameter `name=value` (API keys in the URL).
    Query,
    /// The client-credentials grant at `token_url`; the token as a bearer.
    Oauth2,
    /// The JWT bearer grant (RFC 7523 §2.1) at `token_url`.
    JwtBearer,
    /// A short-lived JWT the host signs and sends itself.
    SignedJwt,
    /// AWS Signature Version 4.
    AwsSigv4,
    /// The Azure Storage SharedKey signature.
    AzureSharedKey,
}

/// Credentials the host applies to the requests a check sends to its target.
/// Secret members are never in the guest (always `None` there).
///
/// Its schema is inlined where it is used, so the `x-sonde-auth` marker
/// sits on the probe's top-level property itself (`"type": ["object",
/// "null"]` for an `Option<Auth>`), with no `$ref` to follow.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(deny_unknown_fields)]
#[schemars(inline, extend("x-sonde-auth" = true))]
pub struct Auth {
    /// Which credential, and so which members apply.
    pub kind: AuthKind,
    /// `basic`: the user name.
    pub user: Option<String>,
    /// `basic`: the password.
    pub password: Option<Secret>,
    /// `bearer`: the token.
    pub token: Option<Secret>,
    /// `bearer`: the scheme before the token (default `Bearer`; `ApiKey`
    /// for Elasticsearch).
    #[schemars(regex(pattern = r"^[A-Za-z0-9_-]+$"))]
    pub scheme: Option<String>,
    /// `header`, `query`: the header or parameter name.
    pub name: Option<String>,
    /// `header`, `query`: its value.
    pub value: Option<Secret>,
    /// `oauth2`, `jwt_bearer`: the token endpoint.
    pub token_url: Option<String>,
    /// `oauth2`, `jwt_bearer`: the client id.
    pub client_id: Option<String>,
    /// `oauth2`, `jwt_bearer`: the client secret.
    pub client_secret: Option<Secret>,
    /// `oauth2`: how the client secret is sent: `basic` (the default, an
    /// HTTP Basic header, RFC 6749 §2.3.1) or `post` (in the form body).
    #[schemars(regex(pattern = r"^(basic|post)$"))]
    pub client_auth: Option<String>,
    /// `oauth2`: a refresh token, traded for an access token (the
    /// refresh-token grant, for APIs without client credentials: Dropbox).
    pub refresh_token: Option<Secret>,
    /// PEM private key (RS256 or ES256) for a signed assertion or JWT.
    pub private_key: Option<Secret>,
    /// The passphrase of an encrypted `private_key`.
    pub passphrase: Option<Secret>,
    /// The `kid` of `private_key`.
    pub key_id: Option<String>,
    /// `jwt_bearer`: a Google service-account JSON as downloaded (text or object).
    pub service_account: Option<SecretDocument>,
    /// `jwt_bearer`: a Box app's configuration file as downloaded (JWT
    /// server authentication); the host opens its encrypted key.
    pub box_app_config: Option<SecretDocument>,
    /// Scopes asked for, space-separated.
    pub scope: Option<String>,
    /// The audience of a token or JWT.
    pub audience: Option<String>,
    /// `oauth2`: the `resource` parameter (Microsoft v1 endpoints).
    pub resource: Option<String>,
    /// `jwt_bearer`, `signed_jwt`: the `iss` claim.
    pub issuer: Option<String>,
    /// `jwt_bearer`, `signed_jwt`: the `sub` claim.
    pub subject: Option<String>,
    /// `signed_jwt`: more claims.
    pub claims: Option<serde_json::Map<String, serde_json::Value>>,
    /// `signed_jwt`: where the JWT goes (default `Authorization: Bearer`).
    pub header: Option<String>,
    /// `aws_sigv4`: the access key id.
    pub access_key_id: Option<String>,
    /// `aws_sigv4`: the secret access key.
    pub secret_access_key: Option<Secret>,
    /// `aws_sigv4`: a session token (temporary credentials).
    pub session_token: Option<Secret>,
    /// `aws_sigv4`: the region signed for.
    pub region: Option<String>,
    /// `aws_sigv4`: the service signed for (`s3`, `es`, ...).
    pub service: Option<String>,
    /// `azure_shared_key`: the storage account name.
    pub account: Option<String>,
    /// `azure_shared_key`: the account key (base64).
    pub key: Option<Secret>,
    /// `azure_shared_key`: an Azure Storage connection string, whose
    /// `AccountKey` (or `SharedAccessSignature`) the host uses.
    pub connection_string: Option<Secret>,
    /// More targets (`host` or `host:port`, https) that get the credential,
    /// beside the configured target.
    #[serde(default)]
    pub hosts: Vec<String>,
    /// The methods the host signs; default `GET` and `HEAD`.
    #[serde(default)]
    pub methods: Vec<String>,
}

/// A secret that may be given as JSON text or as the object itself (a
/// downloaded service-account file). `writeOnly`; never in the guest.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct SecretDocument(serde_json::Value);

impl std::fmt::Debug for SecretDocument {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SecretDocument(***)")
    }
}

impl<'de> Deserialize<'de> for SecretDocument {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        serde_json::Value::deserialize(d).map(SecretDocument)
    }
}

impl JsonSchema for SecretDocument {
    fn inline_schema() -> bool {
        true
    }

    fn schema_name() -> Cow<'static, str> {
        "SecretDocument".into()
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        json_schema!({ "type": ["string", "object"], "writeOnly": true })
    }
}

impl Auth {
    /// The kind as the config spells it (`aws_sigv4`), for details.
    pub fn kind_name(&self) -> &'static str {
        match self.kind {
            AuthKind::Bearer => "bearer",
            AuthKind::Basic => "basic",
            AuthKind::Header => "header",
            AuthKind::Query => "query",
            AuthKind::Oauth2 => "oauth2",
            AuthKind::JwtBearer => "jwt_bearer",
            AuthKind::SignedJwt => "signed_jwt",
            AuthKind::AwsSigv4 => "aws_sigv4",
            AuthKind::AzureSharedKey => "azure_shared_key",
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::{Value, json};

    use super::*;

    #[derive(Deserialize, JsonSchema)]
    #[allow(dead_code)]
    struct Probe {
        #[schemars(extend("x-sonde-auth-target" = true))]
        endpoint_url: String,
        auth: Option<Auth>,
    }

    fn schema() -> Value {
        let s = schemars::generate::SchemaSettings::draft2020_12()
            .into_generator()
            .into_root_schema_for::<Probe>();
        s.as_value().clone()
    }

    #[test]
    fn the_type_carries_the_marker_and_refuses_unknown_members() {
        let s = schema();
        // Inline, so the marker is on the top-level property itself.
        let def = &s["properties"]["auth"];
        assert_eq!(def["x-sonde-auth"], true, "{s:#}");
        assert_eq!(def["additionalProperties"], false);
        assert_eq!(s["properties"]["endpoint_url"]["x-sonde-auth-target"], true);
    }

    #[test]
    fn every_secret_member_is_write_only() {
        let s = schema();
        let props = &s["properties"]["auth"]["properties"];
        for m in [
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
        ] {
            assert_eq!(props[m]["writeOnly"], true, "{m}: {props:#}");
        }
        for m in
            ["user", "name", "token_url", "client_id", "client_auth", "region", "account", "hosts", "methods"]
        {
            assert!(props[m].is_object() && props[m].get("writeOnly").is_none(), "{m}");
        }
    }

    #[test]
    fn the_guest_sees_kind_and_public_members() {
        let a: Auth = serde_json::from_value(json!({
            "kind": "aws_sigv4", "access_key_id": "AKID", "region": "eu-west-1", "service": "s3",
            "hosts": ["s3.eu-west-1.amazonaws.com"]
        }))
        .expect("fits");
        assert_eq!((a.kind, a.kind_name()), (AuthKind::AwsSigv4, "aws_sigv4"));
        assert!(a.secret_access_key.is_none() && a.methods.is_empty());
        let e = serde_json::from_value::<Auth>(json!({"kind": "bearer", "tokn": "x"})).err();
        assert!(e.is_some_and(|e| e.to_string().contains("tokn")));
        for kind in ["oauth2", "jwt_bearer", "signed_jwt", "azure_shared_key", "header", "query", "basic"] {
            assert!(serde_json::from_value::<Auth>(json!({ "kind": kind })).is_ok(), "{kind}");
        }
    }
}
