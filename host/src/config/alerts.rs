//! `[[alerts]]` routes and `[[maintenance]]` windows (DESIGN §7, §8), as the
//! file spells them, and their checks. Resolving a route reads its
//! environment variables (`url_env`, `secret_env`, `routing_key_env`), so a
//! route that cannot work is refused at start and on `SIGHUP`, naming the key.

use std::time::Duration;

use chrono::NaiveTime;
use serde::Deserialize;

use super::{Config, ConfigError};
use crate::alerts::maintenance::{Window, parse_weekday};
use crate::alerts::route::{Kind, Route};

/// Where PagerDuty's Events API v2 takes events, when a route sets no `url`.
pub const PAGERDUTY_EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// One `[[alerts]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub name: String,
    /// `webhook`, `slack` or `pagerduty`; checked here rather than by serde
    /// so the error names `alerts[i].type`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub url_env: Option<String>,
    /// Webhooks only: the HMAC-SHA256 key of `X-Sonde-Signature`.
    pub secret_env: Option<String>,
    /// PagerDuty only: the integration's routing key (it is a secret, so it
    /// only ever comes from the environment, never from a URL in the file).
    pub routing_key_env: Option<String>,
    pub organization: Option<String>,
    #[serde(default = "three")]
    pub failure_threshold: u32,
    #[serde(default = "two")]
    pub success_threshold: u32,
    #[serde(default = "yes")]
    pub send_on_resolved: bool,
    #[serde(default, with = "humantime_serde")]
    pub repeat_interval: Option<Duration>,
}

fn three() -> u32 {
    3
}
fn two() -> u32 {
    2
}
fn yes() -> bool {
    true
}

/// One `[[maintenance]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MaintenanceConfig {
    pub organization: Option<String>,
    pub sources: Option<Vec<String>>,
    pub every: Option<Every>,
    /// `HH:MM`, UTC.
    pub start: String,
    #[serde(with = "humantime_serde")]
    pub duration: Duration,
}

/// `every = "sunday"` or `every = ["saturday", "sunday"]`.
#[derive(Debug, Clone, Deserialize)]
#[serde(untagged)]
pub enum Every {
    One(String),
    Many(Vec<String>),
}

impl Config {
    /// The `[[alerts]]` routes, with their environment variables resolved.
    pub fn alert_routes(&self) -> Result<Vec<Route>, ConfigError> {
        let mut routes: Vec<Route> = Vec::new();
        for (i, a) in self.alerts.iter().enumerate() {
            let key = |k: &str| format!("alerts[{i}].{k}");
            if a.name.trim().is_empty() || a.name.chars().any(char::is_control) {
                return Err(self.invalid(key("name"), "must be a non-empty name"));
            }
            if routes.iter().any(|r| r.name == a.name) {
                return Err(self.invalid(key("name"), format!("{:?} is declared twice", a.name)));
            }
            let kind = match a.kind.as_str() {
                "webhook" => Kind::Webhook,
                "slack" => Kind::Slack,
                "pagerduty" => Kind::PagerDuty,
                other => {
                    return Err(self.invalid(
                        key("type"),
                        format!("{other:?} is not a route type; use \"webhook\", \"slack\" or \"pagerduty\""),
                    ));
                }
            };
            let env = |k: &str, var: &str| {
                std::env::var(var)
                    .ok()
                    .filter(|v| !v.is_empty())
                    .ok_or_else(|| self.invalid(key(k), format!("environment variable {var} is not set")))
            };
            let url = match (&a.url, &a.url_env) {
                (Some(u), None) => u.clone(),
                (None, Some(var)) => env("url_env", var)?,
                (None, None) if kind == Kind::PagerDuty => PAGERDUTY_EVENTS_URL.to_string(),
                _ => return Err(self.invalid(key("url"), "give exactly one of `url` and `url_env`")),
            };
            let url_key = if a.url_env.is_some() { "url_env" } else { "url" };
            let url: http::Uri = url.parse().map_err(|_| self.invalid(key(url_key), "is not a URL"))?;
            if !matches!(url.scheme_str(), Some("http" | "https")) || url.host().is_none() {
                return Err(self.invalid(key(url_key), "must be an http:// or https:// URL with a host"));
            }
            let secret = match &a.secret_env {
                Some(_) if kind != Kind::Webhook => {
                    return Err(self.invalid(key("secret_env"), "only webhook routes sign their bodies"));
                }
                Some(var) => Some(env("secret_env", var)?.into_bytes()),
                None => None,
            };
            let routing_key = match (&a.routing_key_env, kind) {
                (Some(var), Kind::PagerDuty) => Some(env("routing_key_env", var)?),
                (None, Kind::PagerDuty) => {
                    return Err(
                        self.invalid(key("routing_key_env"), "a pagerduty route needs its routing key")
                    );
                }
                (Some(_), _) => {
                    return Err(
                        self.invalid(key("routing_key_env"), "only pagerduty routes take a routing key")
                    );
                }
                (None, _) => None,
            };
            if let Some(org) = &a.organization
                && !org.starts_with("org_")
            {
                return Err(self.invalid(key("organization"), "must start with \"org_\""));
            }
            for (k, n) in
                [("failure_threshold", a.failure_threshold), ("success_threshold", a.success_threshold)]
            {
                if n == 0 {
                    return Err(self.invalid(key(k), "must be at least 1"));
                }
            }
            if a.repeat_interval.is_some_and(|d| d < Duration::from_secs(1)) {
                return Err(self.invalid(key("repeat_interval"), "must be at least 1s"));
            }
            routes.push(Route {
                name: a.name.clone(),
                kind,
                url,
                secret,
                routing_key,
                organization: a.organization.clone(),
                failure_threshold: a.failure_threshold,
                success_threshold: a.success_threshold,
                send_on_resolved: a.send_on_resolved,
                repeat_interval: a.repeat_interval,
            });
        }
        Ok(routes)
    }

    /// The `[[maintenance]]` windows.
    pub fn maintenance_windows(&self) -> Result<Vec<Window>, ConfigError> {
        let mut windows = Vec::new();
        for (i, m) in self.maintenance.iter().enumerate() {
            let key = |k: &str| format!("maintenance[{i}].{k}");
            if let Some(org) = &m.organization
                && !org.starts_with("org_")
            {
                return Err(self.invalid(key("organization"), "must start with \"org_\""));
            }
            if m.sources.as_ref().is_some_and(Vec::is_empty) {
                return Err(self.invalid(key("sources"), "must name at least one source (or be left out)"));
            }
            let days = match &m.every {
                None => None,
                Some(Every::One(d)) => Some(vec![d.clone()]),
                Some(Every::Many(ds)) if ds.is_empty() => {
                    return Err(self.invalid(key("every"), "must name at least one weekday (or be left out)"));
                }
                Some(Every::Many(ds)) => Some(ds.clone()),
            };
            let days = days
                .map(|ds| {
                    ds.iter()
                        .map(|d| {
                            parse_weekday(d).ok_or_else(|| {
                                self.invalid(
                                    key("every"),
                                    format!("{d:?} is not a weekday (\"monday\" … \"sunday\")"),
                                )
                            })
                        })
                        .collect::<Result<Vec<_>, _>>()
                })
                .transpose()?;
            let start = NaiveTime::parse_from_str(&m.start, "%H:%M").map_err(|_| {
                self.invalid(key("start"), format!("{:?} is not a time \"HH:MM\" (UTC)", m.start))
            })?;
            if m.duration.is_zero() || m.duration > Duration::from_secs(7 * 24 * 3600) {
                return Err(self.invalid(key("duration"), "must be longer than zero and at most 7d"));
            }
            windows.push(Window {
                organization: m.organization.clone(),
                sources: m.sources.clone(),
                days,
                start,
                duration: m.duration,
            });
        }
        Ok(windows)
    }
}
