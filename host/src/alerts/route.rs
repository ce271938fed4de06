//! An alert route as the service uses it: the `[[alerts]]` entry with its
//! environment variables resolved. Its secrets (the signing key, the
//! PagerDuty routing key) and its URL (a Slack webhook URL is a credential
//! in itself) are never logged: `Debug` leaves them out.

use std::time::Duration;

/// What kind of receiver a route posts to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Slack,
    PagerDuty,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Slack => "slack",
            Kind::PagerDuty => "pagerduty",
        }
    }
}

#[derive(Clone)]
pub struct Route {
    pub name: String,
    pub kind: Kind,
    pub url: http::Uri,
    /// Webhooks: the HMAC-SHA256 key of `X-Sonde-Signature`.
    pub secret: Option<Vec<u8>>,
    /// PagerDuty: the integration's routing key.
    pub routing_key: Option<String>,
    /// Only this organization's sources; every organization's when `None`.
    pub organization: Option<String>,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub send_on_resolved: bool,
    pub repeat_interval: Option<Duration>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("kind", &self.kind)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// Whether this route watches sources of `organization`.
    pub fn watches(&self, organization: &str) -> bool {
        self.organization.as_deref().is_none_or(|o| o == organization)
    }

    /// The thresholds the state machine needs.
    pub fn rule(&self) -> super::rules::Rule {
        super::rules::Rule {
            failure_threshold: self.failure_threshold,
            success_threshold: self.success_threshold,
            send_on_resolved: self.send_on_resolved,
            repeat_interval: self.repeat_interval,
        }
    }

    /// Where to log a delivery: scheme, host and port, never the path or
    /// the query (Slack's URL path is its credential; tokens hide in queries).
    pub fn origin(&self) -> String {
        let scheme = self.url.scheme_str().unwrap_or("http");
        match (self.url.host(), self.url.port_u16()) {
            (Some(h), Some(p)) => format!("{scheme}://{h}:{p}"),
            (Some(h), None) => format!("{scheme}://{h}"),
            _ => scheme.to_string(),
        }
    }
}
