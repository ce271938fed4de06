//! An alert route as the service uses it: the `[[alerts]]` entry with its
//! environment variables resolved. Its secrets (the signing key, the
//! PagerDuty routing key, the Opsgenie API key, the SMTP password) and its
//! URLs (a Slack or Teams webhook URL is a credential in itself) are never
//! logged: `Debug` leaves them out, and [`Route::origin`] gives only a
//! scheme, host and port.

use std::time::Duration;

/// What kind of receiver a route sends to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Webhook,
    Slack,
    PagerDuty,
    Email,
    Teams,
    Opsgenie,
}

impl Kind {
    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Webhook => "webhook",
            Kind::Slack => "slack",
            Kind::PagerDuty => "pagerduty",
            Kind::Email => "email",
            Kind::Teams => "teams",
            Kind::Opsgenie => "opsgenie",
        }
    }

    /// PagerDuty and Opsgenie group by their own keys (`dedup_key`,
    /// `alias` = the source id): they get one event per source, never a
    /// batch (DESIGN §8 "Grouping").
    pub fn takes_batches(self) -> bool {
        !matches!(self, Kind::PagerDuty | Kind::Opsgenie)
    }
}

/// Where and how a route sends, with the credentials that takes.
#[derive(Clone)]
pub enum Channel {
    /// `secret`: the HMAC-SHA256 key of `X-Sonde-Signature`.
    Webhook {
        url: http::Uri,
        secret: Option<Vec<u8>>,
    },
    Slack {
        url: http::Uri,
    },
    PagerDuty {
        url: http::Uri,
        routing_key: String,
    },
    /// A Microsoft Teams Workflows webhook.
    Teams {
        url: http::Uri,
    },
    /// `url`: the API's base (`https://api.opsgenie.com`, or the EU's).
    Opsgenie {
        url: http::Uri,
        api_key: String,
    },
    Email(Box<Smtp>),
}

/// An `email` route's server and envelope.
#[derive(Clone)]
pub struct Smtp {
    pub host: String,
    pub port: u16,
    pub security: Security,
    /// User name and password (from `password_env` only), when the server
    /// wants AUTH.
    pub credentials: Option<(String, String)>,
    /// `From:`, as written (`Sonde <sonde@example.com>` or a bare address).
    pub from: lettre::message::Mailbox,
    pub to: Vec<lettre::message::Mailbox>,
}

/// How an SMTP connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Security {
    /// `smtps://`: TLS from the first byte (port 465).
    ImplicitTls,
    /// `smtp://`: STARTTLS, required; a server that does not offer it gets
    /// nothing (port 587).
    StartTls,
    /// `smtp://…?tls=none`: plain text, allowed only to a loopback host.
    None,
}

impl Channel {
    pub fn kind(&self) -> Kind {
        match self {
            Channel::Webhook { .. } => Kind::Webhook,
            Channel::Slack { .. } => Kind::Slack,
            Channel::PagerDuty { .. } => Kind::PagerDuty,
            Channel::Teams { .. } => Kind::Teams,
            Channel::Opsgenie { .. } => Kind::Opsgenie,
            Channel::Email(_) => Kind::Email,
        }
    }
}

impl std::fmt::Debug for Channel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The kind only: every variant holds a URL or a secret.
        f.write_str(self.kind().as_str())
    }
}

#[derive(Clone)]
pub struct Route {
    pub name: String,
    pub channel: Channel,
    /// Only this organization's sources; every organization's when `None`.
    pub organization: Option<String>,
    pub failure_threshold: u32,
    pub success_threshold: u32,
    pub send_on_resolved: bool,
    pub repeat_interval: Option<Duration>,
    /// "down" after `failure_threshold` failures within this window rather
    /// than in a row.
    pub failure_window: Option<Duration>,
    /// Notifications made within this wait go out as one message.
    pub group_wait: Option<Duration>,
    /// The least time between two such messages of the route.
    pub group_interval: Option<Duration>,
}

impl std::fmt::Debug for Route {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Route")
            .field("name", &self.name)
            .field("kind", &self.kind())
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

impl Route {
    /// A route with the file's defaults (thresholds 3 and 2, resolved
    /// notifications on, no grouping), for tests.
    pub fn new(name: &str, channel: Channel) -> Self {
        Self {
            name: name.to_string(),
            channel,
            organization: None,
            failure_threshold: 3,
            success_threshold: 2,
            send_on_resolved: true,
            repeat_interval: None,
            failure_window: None,
            group_wait: None,
            group_interval: None,
        }
    }

    pub fn kind(&self) -> Kind {
        self.channel.kind()
    }

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
            failure_window: self.failure_window,
        }
    }

    /// Where to log a delivery: scheme, host and port, never the path or
    /// the query (Slack's and Teams' URL paths are their credentials;
    /// tokens hide in queries), nor an SMTP user name.
    pub fn origin(&self) -> String {
        let url = match &self.channel {
            Channel::Webhook { url, .. }
            | Channel::Slack { url }
            | Channel::PagerDuty { url, .. }
            | Channel::Teams { url }
            | Channel::Opsgenie { url, .. } => url,
            Channel::Email(smtp) => {
                let scheme = if smtp.security == Security::ImplicitTls { "smtps" } else { "smtp" };
                return format!("{scheme}://{}:{}", smtp.host, smtp.port);
            }
        };
        let scheme = url.scheme_str().unwrap_or("http");
        match (url.host(), url.port_u16()) {
            (Some(h), Some(p)) => format!("{scheme}://{h}:{p}"),
            (Some(h), None) => format!("{scheme}://{h}"),
            _ => scheme.to_string(),
        }
    }
}
