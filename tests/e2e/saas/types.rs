//! What each SaaS type adds to the shared table of `vendor_cases`: the
//! vendor's public host name (the auth target), where the config sets it,
//! how the authorization server is set up for it, and the credentials in
//! each form the probe documents, with what the vendor must receive.
//!
//! The first credential of a type runs every row of the table; the others
//! run its "ok" rows, so each documented form reaches the vendor once.

use base64::Engine as _;
use serde_json::{Value, json};
use sonde_test_support::oidc::{OidcOptions, OidcProvider};

/// Where the target comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    /// A property with the vendor's address as its schema default: the
    /// config leaves it out (the default applies) when the server is on 443.
    Default(&'static str),
    /// A property the operator must write (`{base}` in the table's config).
    Given,
    /// A root template over other keys (`https://{/subdomain}.zendesk.com`):
    /// the server must be on 443.
    Template,
}

/// What every request to the target must carry.
#[derive(Debug, Clone)]
pub enum Carried {
    /// This header with exactly this value.
    Header(&'static str, String),
    /// `Authorization: Bearer <t>`, `t` a live token of the authorization
    /// server (its `/resource` accepts it).
    IssuedToken,
    /// A SigV4 `Authorization` for this key ID, region and service.
    SigV4 { key_id: &'static str, region: &'static str, service: &'static str },
}

/// One documented form of credentials.
#[derive(Debug, Clone)]
pub struct Credential {
    pub label: &'static str,
    /// Keys added to the table's config: Unstructured's flat keys, or `auth`.
    pub config: Value,
    /// `details.auth.kind`.
    pub kind: &'static str,
    pub carried: Carried,
    /// Text that must never show in the report (secrets, and what is made
    /// of them).
    pub secrets: Vec<String>,
    /// Whether the authorization server issues its token.
    pub uses_idp: bool,
}

/// The authorization server's options, from the target's origin.
pub type IdpOptions = fn(&str) -> OidcOptions;
/// A type's credential forms.
pub type Credentials = fn(&Env) -> Vec<Credential>;

/// One type.
pub struct Spec {
    pub host: &'static str,
    pub target: Target,
    /// The authorization server's options, from the target's origin; `None`
    /// when the type's credentials need none.
    pub idp: Option<IdpOptions>,
    pub credentials: Credentials,
    /// Another instance of the vendor, served too, that the token answer's
    /// `instance_url` does not name (Salesforce): a check aimed there must
    /// fail at the token step and reach nothing.
    pub foreign: Option<&'static str>,
}

/// What credentials are built from.
pub struct Env<'a> {
    pub source_type: &'static str,
    pub idp: Option<&'a OidcProvider>,
}

impl Env<'_> {
    /// A secret no report may show, unique to the type.
    pub fn secret(&self, what: &str) -> String {
        format!("s3cret-{what}-{}-never-shown", self.source_type.replace('_', "-"))
    }

    fn idp(&self) -> &OidcProvider {
        self.idp.expect("this type's spec starts the authorization server")
    }

    /// `oauth2` client credentials with `auth`: `basic`, `post` or `key`
    /// (`private_key_jwt`).
    fn oauth2(&self, client_auth: &'static str, scope: Option<&str>) -> Credential {
        let idp = self.idp();
        let mut auth = json!({"kind": "oauth2", "token_url": idp.token_url});
        let secrets = match client_auth {
            "key" => {
                let c = &idp.private_key_jwt;
                auth["client_id"] = c.client_id.clone().into();
                auth["private_key"] = c.private_key_pem.clone().into();
                auth["key_id"] = c.key_id.clone().into();
                vec![pem_body(&c.private_key_pem)]
            }
            how => {
                let c = if how == "post" { &idp.post } else { &idp.basic };
                auth["client_id"] = c.client_id.clone().into();
                auth["client_secret"] = c.client_secret.clone().into();
                auth["client_auth"] = how.into();
                vec![c.client_secret.clone()]
            }
        };
        if let Some(scope) = scope {
            auth["scope"] = scope.into();
        }
        let label = match client_auth {
            "key" => "oauth2, private_key_jwt",
            "post" => "oauth2, client_secret_post",
            _ => "oauth2, client_secret_basic",
        };
        Credential {
            label,
            config: json!({"auth": auth}),
            kind: "oauth2",
            carried: Carried::IssuedToken,
            secrets,
            uses_idp: true,
        }
    }

    /// Unstructured's `service_account_key`: a Google key file, as text,
    /// whose `token_uri` is the authorization server.
    fn service_account(&self) -> Credential {
        let c = &self.idp().jwt_bearer;
        let file = json!({
            "type": "service_account", "project_id": "sonde-test", "private_key_id": c.key_id,
            "private_key": c.private_key_pem, "client_email": c.issuer, "client_id": "1049",
            "token_uri": self.idp().token_url,
        });
        Credential {
            label: "service_account_key (jwt_bearer)",
            config: json!({"service_account_key": file.to_string()}),
            kind: "jwt_bearer",
            carried: Carried::IssuedToken,
            secrets: vec![pem_body(&c.private_key_pem)],
            uses_idp: true,
        }
    }

    /// Flat keys that become `Authorization: Basic base64(user:password)`.
    fn basic(&self, keys: Value, user: &str, password: &str) -> Credential {
        let pair = base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Credential {
            label: "basic",
            config: keys,
            kind: "basic",
            carried: Carried::Header("authorization", format!("Basic {pair}")),
            secrets: vec![password.to_string(), pair],
            uses_idp: false,
        }
    }

    /// Flat keys that become `Authorization: <scheme> <token>`.
    fn bearer(&self, keys: Value, scheme: &str, token: &str) -> Credential {
        Credential {
            label: "bearer",
            config: keys,
            kind: "bearer",
            carried: Carried::Header("authorization", format!("{scheme} {token}")),
            secrets: vec![token.to_string()],
            uses_idp: false,
        }
    }
}

/// A line from the middle of a PEM: key material no report may hold.
fn pem_body(pem: &str) -> String {
    pem.lines().nth(2).unwrap_or(pem).to_string()
}

fn scopes(scopes: &[&str]) -> OidcOptions {
    OidcOptions { scopes: scopes.iter().map(|s| s.to_string()).collect(), ..OidcOptions::default() }
}

const GCS_SCOPE: &str = "https://www.googleapis.com/auth/devstorage.read_only";
const DRIVE_SCOPE: &str = "https://www.googleapis.com/auth/drive.readonly";
const GRAPH_SCOPE: &str = "https://graph.microsoft.com/.default";

fn graph(_: &str) -> OidcOptions {
    scopes(&[GRAPH_SCOPE])
}

/// The spec of `source_type`.
pub fn spec(source_type: &str) -> Spec {
    let (host, target, idp, credentials): (_, _, Option<IdpOptions>, Credentials) = match source_type {
        "gcs" => {
            ("storage.googleapis.com", Target::Default("api_url"), Some(|_| scopes(&[GCS_SCOPE])), |e| {
                vec![e.service_account()]
            })
        }
        "google_drive" => {
            ("www.googleapis.com", Target::Default("api_url"), Some(|_| scopes(&[DRIVE_SCOPE])), |e| {
                vec![e.service_account()]
            })
        }
        // Microsoft's token endpoint takes the secret in the form
        // (its documented request), or a certificate (private_key_jwt).
        "sharepoint" => ("graph.microsoft.com", Target::Default("graph_url"), Some(graph), |e| {
            vec![e.oauth2("post", Some(GRAPH_SCOPE)), e.oauth2("basic", Some(GRAPH_SCOPE))]
        }),
        "onedrive" => ("graph.microsoft.com", Target::Default("graph_url"), Some(graph), |e| {
            vec![e.oauth2("basic", Some(GRAPH_SCOPE)), e.oauth2("key", Some(GRAPH_SCOPE))]
        }),
        "outlook" => ("graph.microsoft.com", Target::Default("graph_url"), Some(graph), |e| {
            vec![e.oauth2("key", Some(GRAPH_SCOPE))]
        }),
        "confluence" => ("acme.atlassian.net", Target::Given, None, |e| {
            let token = e.secret("api-token");
            let pat = e.secret("pat");
            let mut pat_only = e.bearer(json!({"token": pat}), "Bearer", &pat);
            pat_only.label = "bearer (Data Center PAT)";
            vec![
                e.basic(json!({"username": "ada@example.com", "token": token}), "ada@example.com", &token),
                pat_only,
            ]
        }),
        "jira" => ("acme.atlassian.net", Target::Given, None, |e| {
            let password = e.secret("api-token");
            let pat = e.secret("pat");
            vec![
                e.basic(
                    json!({"username": "ada@example.com", "password": password}),
                    "ada@example.com",
                    &password,
                ),
                e.bearer(json!({"token": pat}), "Bearer", &pat),
            ]
        }),
        "salesforce" => (
            "acme.my.salesforce.com",
            Target::Given,
            // Salesforce's token answer names the org's instance.
            Some(|origin| OidcOptions {
                extra_token_fields: Some(json!({"instance_url": origin})),
                ..OidcOptions::default()
            }),
            |e| {
                let c = &e.idp().jwt_bearer;
                let auth = json!({"kind": "jwt_bearer", "token_url": e.idp().token_url, "issuer": c.issuer,
                        "subject": "ada@acme.com", "private_key": c.private_key_pem, "key_id": c.key_id});
                vec![Credential {
                    label: "jwt_bearer",
                    config: json!({"auth": auth}),
                    kind: "jwt_bearer",
                    carried: Carried::IssuedToken,
                    secrets: vec![pem_body(&c.private_key_pem)],
                    uses_idp: true,
                }]
            },
        ),
        "slack" => ("slack.com", Target::Default("api_url"), None, |e| {
            let token = format!("xoxb-{}", e.secret("bot"));
            vec![e.bearer(json!({"token": token}), "Bearer", &token)]
        }),
        // The table's config has `"email": "ada@example.com"`.
        "zendesk" => ("acme.zendesk.com", Target::Template, None, |e| {
            let token = e.secret("api-token");
            vec![e.basic(json!({"api-token": token}), "ada@example.com/token", &token)]
        }),
        // Box's client-credentials grant sends the client's secret in the form.
        "box" => ("api.box.com", Target::Default("api_url"), Some(|_| OidcOptions::default()), |e| {
            let token = e.secret("token");
            let developer = json!({"auth": {"kind": "bearer", "token": token}});
            vec![e.oauth2("post", None), e.bearer(developer, "Bearer", &token)]
        }),
        // The authorization server has no refresh-token grant, so the
        // token comes from the client-credentials grant.
        "dropbox" => {
            ("api.dropboxapi.com", Target::Default("api_url"), Some(|_| OidcOptions::default()), |e| {
                vec![e.oauth2("basic", None)]
            })
        }
        "databricks_volumes" => (
            "adb-1234567890123456.7.azuredatabricks.net",
            Target::Given,
            Some(|_| scopes(&["all-apis"])),
            |e| {
                let pat = format!("dapi{}", e.secret("pat"));
                vec![e.oauth2("basic", Some("all-apis")), e.bearer(json!({"token": pat}), "Bearer", &pat)]
            },
        ),
        // The table's config has `"host": "acme.snowflakecomputing.com"`.
        "snowflake" => ("acme.snowflakecomputing.com", Target::Template, None, |e| {
            let pat = e.secret("pat");
            vec![e.bearer(json!({"user": "ADA", "password": pat}), "Bearer", &pat)]
        }),
        "couchbase" => ("cb.acme.example", Target::Given, None, |e| {
            let password = e.secret("password");
            vec![e.basic(
                json!({"username": "Administrator", "password": password}),
                "Administrator",
                &password,
            )]
        }),
        "elasticsearch" => ("acme.es.us-east-1.aws.elastic.cloud", Target::Given, None, |e| {
            let key = base64::engine::general_purpose::STANDARD
                .encode(format!("VuaCfGcBCdbkQm:{}", e.secret("key")));
            let mut c = e.bearer(json!({"es_api_key": key}), "ApiKey", &key);
            c.label = "es_api_key (ApiKey)";
            vec![c]
        }),
        "opensearch" => ("search-acme.us-east-1.es.amazonaws.com", Target::Given, None, |e| {
            let secret = e.secret("aws-secret");
            let sigv4 = Credential {
                label: "aws keys (SigV4)",
                config: json!({"aws_access_key_id": "AKIDEXAMPLE", "aws_secret_access_key": secret,
                                   "aws_region": "us-east-1"}),
                kind: "aws_sigv4",
                carried: Carried::SigV4 { key_id: "AKIDEXAMPLE", region: "us-east-1", service: "es" },
                secrets: vec![secret],
                uses_idp: false,
            };
            let password = e.secret("password");
            let basic = e.basic(json!({"username": "ada", "password": password}), "ada", &password);
            vec![sigv4, basic]
        }),
        other => panic!("no SaaS spec for {other:?}"),
    };
    let foreign = (source_type == "salesforce").then_some("other.my.salesforce.com");
    Spec { host, target, idp, credentials, foreign }
}
