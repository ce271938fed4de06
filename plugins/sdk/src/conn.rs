//! The connection fields every probe repeats, as types to embed with
//! `#[serde(flatten)]`, so a probe's config is its own fields plus these
//! pieces, with the same names, constraints and defaults everywhere:
//!
//! | type | fields | for a source |
//! | --- | --- | --- |
//! | [`Server<PORT>`] | `host`, `port` (default `PORT`) | with a usual port |
//! | [`Address`] | `host`, `port`, both required | without one (`tcp`) |
//! | [`Login`] | `user`, `password`, both optional | that may need no login |
//! | [`Account<U>`] | `user` (default [`DefaultUser::USER`]), `password` | that always logs someone in |
//!
//! ```
//! use sonde_sdk::conn::{self, Account, DefaultUser, Server};
//!
//! /// A Frobnicator: the probe's own `database` beside the shared fields.
//! #[derive(serde::Deserialize, schemars::JsonSchema)]
//! #[schemars(deny_unknown_fields)]
//! #[schemars(transform = words)]
//! struct Config {
//!     #[serde(flatten)]
//!     server: Server<7070>,
//!     #[serde(flatten)]
//!     account: Account<Frob>,
//!     /// The database to open.
//!     database: Option<String>,
//! }
//!
//! /// The shared `user`, worded for a Frobnicator.
//! fn words(schema: &mut schemars::Schema) {
//!     conn::describe(schema, &[("user", "The frob to log in as.")]);
//! }
//!
//! struct Frob;
//! impl DefaultUser for Frob {
//!     const USER: &'static str = "admin";
//! }
//!
//! let c: Config = serde_json::from_value(serde_json::json!({"host": "db"})).unwrap();
//! assert_eq!((c.server.port, c.account.user.as_str()), (7070, "admin"));
//!
//! // The schema is strict over every flattened key, with their defaults.
//! let schema = schemars::schema_for!(Config);
//! let (schema, properties) = (schema.as_value(), &schema.as_value()["properties"]);
//! assert_eq!(schema["additionalProperties"], false);
//! let keys: Vec<&String> = properties.as_object().unwrap().keys().collect();
//! assert_eq!(keys, ["database", "host", "password", "port", "user"]);
//! assert_eq!((&properties["port"]["default"], &properties["user"]["default"]), (&7070.into(), &"admin".into()));
//! assert_eq!(properties["user"]["description"], "The frob to log in as.");
//! assert_eq!(properties["password"]["writeOnly"], true);
//! ```
//!
//! serde does not support `deny_unknown_fields` together with `flatten`,
//! so a config that embeds these asks schemars alone
//! (`#[schemars(deny_unknown_fields)]`): the published schema still says
//! `additionalProperties: false` over every flattened property, and the host
//! validates each config against it before the probe sees it, so an unknown
//! key is still FAILED. [`describe`] words a shared field for one source.

use std::marker::PhantomData;

use schemars::{JsonSchema, Schema};
use serde::Deserialize;
use serde_json::Value;

use crate::{Endpoint, Secret, Tls, TlsMode};

/// A server on a usual port: `host`, and `port` defaulting to `PORT`.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Server<const PORT: u16> {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port.
    #[serde(default = "default_port::<PORT>")]
    #[schemars(range(min = 1))]
    pub port: u16,
}

fn default_port<const PORT: u16>() -> u16 {
    PORT
}

impl<const PORT: u16> Server<PORT> {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.host, self.port)
    }
}

/// A server without a usual port: `host` and `port`, both required.
#[derive(Debug, Clone, Deserialize, JsonSchema)]
pub struct Address {
    /// Host name or IP address.
    #[schemars(length(min = 1))]
    pub host: String,
    /// TCP port.
    #[schemars(range(min = 1))]
    pub port: u16,
}

impl Address {
    pub fn endpoint(&self) -> Endpoint {
        Endpoint::new(&self.host, self.port)
    }
}

/// Optional credentials: a `user` and a `password` (a secret).
#[derive(Debug, Clone, Default, Deserialize, JsonSchema)]
pub struct Login {
    /// User name.
    #[serde(default)]
    #[schemars(length(min = 1))]
    pub user: Option<String>,
    /// Password.
    #[serde(default)]
    pub password: Option<Secret>,
}

impl Login {
    /// Both or neither: a `user` without its `password`, or a password
    /// for nobody, is a config that cannot be meant.
    pub fn validate(&self) -> Result<(), String> {
        match (&self.user, &self.password) {
            (Some(_), None) => Err("`user` needs a `password`".into()),
            (None, Some(_)) => Err("`password` needs a `user`".into()),
            _ => Ok(()),
        }
    }
}

/// Whether a connection starts TLS with its first byte (IMAPS, SMTPS,
/// LDAPS: RFC 8314) rather than upgrading: `implicit_tls` when the config
/// says, else whether `port` is the protocol's `tls_port`. With `tls.mode`
/// `disable` it cannot work, and is refused.
pub fn implicit_tls(flag: Option<bool>, port: u16, tls_port: u16, tls: &Tls) -> Result<bool, String> {
    let implicit = flag.unwrap_or(port == tls_port);
    if implicit && tls.mode == Some(TlsMode::Disable) {
        return Err(format!(
            "implicit TLS (`implicit_tls`, or port {tls_port}) cannot have `tls.mode` disable"
        ));
    }
    Ok(implicit)
}

/// The user a kind of source logs in as when the config names none (`root`
/// for MySQL), for [`Account`]. Usually implemented by the probe's own type.
pub trait DefaultUser {
    const USER: &'static str;
}

/// Credentials of a source that always logs someone in: a `user`, which
/// defaults to `U::USER`, and an optional `password` (a secret).
#[derive(Debug, Clone, Deserialize, JsonSchema)]
#[serde(bound = "")]
#[schemars(bound = "U: DefaultUser")]
pub struct Account<U: DefaultUser> {
    /// User to log in as.
    #[serde(default = "default_user::<U>")]
    #[schemars(length(min = 1))]
    pub user: String,
    /// Password of `user`.
    #[serde(default)]
    pub password: Option<Secret>,
    #[serde(skip)]
    default: PhantomData<fn() -> U>,
}

fn default_user<U: DefaultUser>() -> String {
    U::USER.to_string()
}

/// Sets the `description` of the named properties of `schema`, for a probe
/// that words a shared field its own way. Call it from a schema transform
/// (schemars takes a path there, not an expression):
///
/// ```ignore
/// #[schemars(transform = words)]
/// struct Config { /* … */ }
///
/// fn words(schema: &mut schemars::Schema) {
///     sonde_sdk::conn::describe(schema, &[("user", "The role to log in as.")]);
/// }
/// ```
///
/// # Panics
/// When the schema has no such property: a name that does not match must
/// not go unnoticed, and every test that loads the probe makes its schema.
pub fn describe(schema: &mut Schema, texts: &[(&str, &str)]) {
    for &(name, text) in texts {
        let property = schema
            .get_mut("properties")
            .and_then(|p| p.get_mut(name))
            .and_then(Value::as_object_mut)
            .unwrap_or_else(|| panic!("conn::describe: the schema has no property {name:?}"));
        property.insert("description".into(), text.into());
    }
}
