//! Connection fields every probe repeats, as one type to embed with
//! `#[serde(flatten)]`: same names (`host`, `port`, `user`, `password`),
//! same schema, same checks.

use schemars::JsonSchema;
use serde::Deserialize;

use crate::{Endpoint, Secret};

/// A server: `host` and `port`, the port defaulting to `PORT`.
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
