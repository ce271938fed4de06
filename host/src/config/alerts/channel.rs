//! Each route type's own keys (DESIGN §8 "Route types"): which it needs,
//! which it refuses, and the secrets it reads from the environment. Errors
//! name the key (`alerts[i].to`) and never echo a URL or a secret: an SMTP
//! URL may carry a password the operator should not have written there,
//! and a Slack or Teams URL is a credential in itself.

use std::net::IpAddr;

use super::AlertConfig;
use crate::alerts::mail::mailbox;
use crate::alerts::route::{Channel, Kind, Security, Smtp};
use crate::config::{Config, ConfigError};

/// Where PagerDuty's Events API v2 takes events, when a route sets no `url`.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";
/// Opsgenie's Alert API, when a route sets no `url` (EU accounts give
/// `https://api.eu.opsgenie.com`).
pub const OPSGENIE_API_URL: &str = "https://api.opsgenie.com";

/// Which keys belong to which types, for the "only … take" errors.
const OWN_KEYS: &[(&str, &[Kind])] = &[
    ("url", &[Kind::Webhook, Kind::Slack, Kind::PagerDuty, Kind::Teams, Kind::Opsgenie]),
    ("url_env", &[Kind::Webhook, Kind::Slack, Kind::PagerDuty, Kind::Teams, Kind::Opsgenie]),
    ("secret_env", &[Kind::Webhook]),
    ("routing_key_env", &[Kind::PagerDuty]),
    ("api_key_env", &[Kind::Opsgenie]),
    ("to", &[Kind::Email]),
    ("from", &[Kind::Email]),
    ("smtp_url", &[Kind::Email]),
    ("smtp_url_env", &[Kind::Email]),
    ("password_env", &[Kind::Email]),
];

fn given(a: &AlertConfig, key: &str) -> bool {
    match key {
        "url" => a.url.is_some(),
        "url_env" => a.url_env.is_some(),
        "secret_env" => a.secret_env.is_some(),
        "routing_key_env" => a.routing_key_env.is_some(),
        "api_key_env" => a.api_key_env.is_some(),
        "to" => a.to.is_some(),
        "from" => a.from.is_some(),
        "smtp_url" => a.smtp_url.is_some(),
        "smtp_url_env" => a.smtp_url_env.is_some(),
        "password_env" => a.password_env.is_some(),
        _ => false,
    }
}

impl Config {
    /// The route's channel, its environment variables read.
    pub(super) fn channel(&self, i: usize, a: &AlertConfig) -> Result<Channel, ConfigError> {
        let key = |k: &str| format!("alerts[{i}].{k}");
        let kind = match a.kind.as_str() {
            "webhook" => Kind::Webhook,
            "slack" => Kind::Slack,
            "pagerduty" => Kind::PagerDuty,
            "email" => Kind::Email,
            "teams" => Kind::Teams,
            "opsgenie" => Kind::Opsgenie,
            other => {
                return Err(self.invalid(
                    key("type"),
                    format!(
                        "{other:?} is not a route type; use \"webhook\", \"slack\", \"pagerduty\", \
                         \"email\", \"teams\" or \"opsgenie\""
                    ),
                ));
            }
        };
        for (k, kinds) in OWN_KEYS {
            if given(a, k) && !kinds.contains(&kind) {
                let names: Vec<&str> = kinds.iter().map(|k| k.as_str()).collect();
                return Err(self.invalid(
                    key(k),
                    format!("a {} route takes no `{k}` (only {})", kind.as_str(), names.join(", ")),
                ));
            }
        }
        let env = |k: &str, var: &str| {
            std::env::var(var)
                .ok()
                .filter(|v| !v.is_empty())
                .ok_or_else(|| self.invalid(key(k), format!("environment variable {var} is not set")))
        };
        let http_url = |default: Option<&str>| -> Result<http::Uri, ConfigError> {
            let url = match (&a.url, &a.url_env, default) {
                (Some(u), None, _) => u.clone(),
                (None, Some(var), _) => env("url_env", var)?,
                (None, None, Some(d)) => d.to_string(),
                _ => return Err(self.invalid(key("url"), "give exactly one of `url` and `url_env`")),
            };
            let url_key = if a.url_env.is_some() { "url_env" } else { "url" };
            let url: http::Uri = url.parse().map_err(|_| self.invalid(key(url_key), "is not a URL"))?;
            if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
                return Err(self.invalid(key(url_key), "must be an http:// or https:// URL with a host"));
            }
            Ok(url)
        };
        let required = |k: &str, var: &Option<String>, what: &str| match var {
            Some(var) => env(k, var),
            None => Err(self.invalid(key(k), format!("a {} route needs {what}", kind.as_str()))),
        };
        Ok(match kind {
            Kind::Webhook => Channel::Webhook {
                url: http_url(None)?,
                secret: a
                    .secret_env
                    .as_ref()
                    .map(|v| env("secret_env", v))
                    .transpose()?
                    .map(String::into_bytes),
            },
            Kind::Slack => Channel::Slack { url: http_url(None)? },
            Kind::Teams => Channel::Teams { url: http_url(None)? },
            Kind::PagerDuty => Channel::PagerDuty {
                url: http_url(Some(PAGERDUTY_EVENTS_URL))?,
                routing_key: required("routing_key_env", &a.routing_key_env, "its routing key")?,
            },
            Kind::Opsgenie => Channel::Opsgenie {
                url: http_url(Some(OPSGENIE_API_URL))?,
                api_key: required("api_key_env", &a.api_key_env, "its API key")?,
            },
            Kind::Email => Channel::Email(Box::new(self.smtp(i, a)?)),
        })
    }

    fn smtp(&self, i: usize, a: &AlertConfig) -> Result<Smtp, ConfigError> {
        let key = |k: &str| format!("alerts[{i}].{k}");
        let (url_key, text) = match (&a.smtp_url, &a.smtp_url_env) {
            (Some(u), None) => ("smtp_url", u.clone()),
            (None, Some(var)) => {
                let value = std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                    self.invalid(key("smtp_url_env"), format!("environment variable {var} is not set"))
                })?;
                ("smtp_url_env", value)
            }
            _ => {
                return Err(
                    self.invalid(key("smtp_url"), "give exactly one of `smtp_url` and `smtp_url_env`")
                );
            }
        };
        let (host, port, security, user) =
            parse_smtp_url(&text).map_err(|e| self.invalid(key(url_key), e))?;
        let password = match (&user, &a.password_env) {
            (Some(_), Some(var)) => {
                Some(std::env::var(var).ok().filter(|v| !v.is_empty()).ok_or_else(|| {
                    self.invalid(key("password_env"), format!("environment variable {var} is not set"))
                })?)
            }
            (Some(_), None) => {
                return Err(self.invalid(
                    key("password_env"),
                    "the SMTP URL names a user: give the password's environment variable",
                ));
            }
            (None, Some(_)) => {
                return Err(self
                    .invalid(key("password_env"), "needs a user name in the SMTP URL (smtps://user@host)"));
            }
            (None, None) => None,
        };
        let from =
            a.from.as_deref().ok_or_else(|| self.invalid(key("from"), "an email route needs a sender"))?;
        let from =
            mailbox(from).map_err(|e| self.invalid(key("from"), format!("is not a mail address: {e}")))?;
        let to = match &a.to {
            Some(list) if !list.is_empty() => list,
            _ => return Err(self.invalid(key("to"), "an email route needs at least one recipient")),
        };
        let to = to
            .iter()
            .enumerate()
            .map(|(j, t)| {
                mailbox(t).map_err(|e| {
                    self.invalid(format!("alerts[{i}].to[{j}]"), format!("is not a mail address: {e}"))
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Smtp { host, port, security, credentials: user.zip(password), from, to })
    }
}

/// `smtps://[user@]host[:port]`, `smtp://[user@]host[:port]`, or
/// `smtp://[user@]host:port?tls=none` (loopback hosts only): host, port,
/// security and the user name. The reasons never quote the URL.
fn parse_smtp_url(text: &str) -> Result<(String, u16, Security, Option<String>), String> {
    let url = url::Url::parse(text).map_err(|e| format!("is not a URL ({e})"))?;
    let mut security = match url.scheme() {
        "smtps" => Security::ImplicitTls,
        "smtp" => Security::StartTls,
        _ => return Err("must be an smtps:// (implicit TLS) or smtp:// (STARTTLS) URL".into()),
    };
    if url.password().is_some() {
        return Err(
            "must not hold a password: give it in the environment variable named by `password_env`".into()
        );
    }
    for (k, v) in url.query_pairs() {
        match (k.as_ref(), v.as_ref()) {
            ("tls", "none") if security == Security::StartTls => security = Security::None,
            ("tls", "none") => return Err("`tls=none` only goes with smtp://".into()),
            _ => return Err(format!("takes no query parameter {k:?} (only `tls=none`, on loopback)")),
        }
    }
    if !matches!(url.path(), "" | "/") || url.fragment().is_some() {
        return Err("takes no path: smtp://host:port".into());
    }
    let host = match url.host() {
        Some(url::Host::Domain(d)) => d.to_string(),
        Some(url::Host::Ipv4(ip)) => ip.to_string(),
        Some(url::Host::Ipv6(ip)) => ip.to_string(),
        None => return Err("needs a host".into()),
    };
    if security == Security::None && !is_loopback(&host) {
        return Err(
            "`tls=none` (no TLS) is allowed only to a loopback host (127.0.0.0/8, ::1, localhost)".into()
        );
    }
    let port = url.port().unwrap_or(if security == Security::ImplicitTls { 465 } else { 587 });
    let user = match url.username() {
        "" => None,
        u => Some(
            percent_encoding::percent_decode_str(u)
                .decode_utf8()
                .map_err(|_| "its user name is not UTF-8".to_string())?
                .into_owned(),
        ),
    };
    Ok((host, port, security, user))
}

fn is_loopback(host: &str) -> bool {
    host.eq_ignore_ascii_case("localhost") || host.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_urls_say_how_they_are_protected() {
        let ok = |u: &str| parse_smtp_url(u).expect(u);
        assert_eq!(
            ok("smtps://mail.example.com"),
            ("mail.example.com".into(), 465, Security::ImplicitTls, None)
        );
        assert_eq!(ok("smtp://alerts%40x@mail.example.com").1, 587);
        assert_eq!(ok("smtp://alerts%40x@mail.example.com").3.as_deref(), Some("alerts@x"));
        assert_eq!(ok("smtp://127.0.0.1:2525?tls=none").2, Security::None);
        assert_eq!(ok("smtp://[::1]:2525?tls=none").0, "::1");
        for bad in [
            "smtp://u:hunter2@mail.example.com",
            "smtp://mail.example.com:25?tls=none",
            "smtps://127.0.0.1?tls=none",
            "smtp://mail.example.com?auth=plain",
            "smtp://mail.example.com/inbox",
            "http://mail.example.com",
        ] {
            let e = parse_smtp_url(bad).expect_err(bad);
            assert!(!e.contains("hunter2") && !e.contains("mail.example.com"), "{e}");
        }
    }
}
