//! `[[alerts]]` routes and `[[maintenance]]` windows (DESIGN §7, §8), as the
//! file spells them, and their checks. Resolving a route reads its
//! environment variables (`url_env`, `secret_env`, `routing_key_env`,
//! `api_key_env`, `smtp_url_env`, `password_env`), so a route that cannot
//! work is refused at start and on `SIGHUP`, naming the key. Each channel's
//! own keys are checked in [`channel`].

use std::time::Duration;

use chrono::NaiveTime;
use serde::Deserialize;

use super::{Config, ConfigError};
use crate::alerts::maintenance::{Window, parse_weekday};
use crate::alerts::route::{Kind, Route};

mod channel;

pub use channel::{OPSGENIE_API_URL, PAGERDUTY_EVENTS_URL};

/// One `[[alerts]]` entry.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertConfig {
    pub name: String,
    /// `webhook`, `slack`, `pagerduty`, `email`, `teams` or `opsgenie`;
    /// checked here rather than by serde so the error names `alerts[i].type`.
    #[serde(rename = "type")]
    pub kind: String,
    pub url: Option<String>,
    pub url_env: Option<String>,
    /// Webhooks only: the HMAC-SHA256 key of `X-Sonde-Signature`.
    pub secret_env: Option<String>,
    /// PagerDuty only: the integration's routing key (it is a secret, so it
    /// only ever comes from the environment, never from a URL in the file).
    pub routing_key_env: Option<String>,
    /// Opsgenie only: the API integration's key (`Authorization: GenieKey`).
    pub api_key_env: Option<String>,
    /// E-mail only: recipients.
    pub to: Option<Vec<String>>,
    /// E-mail only: the sender (`sonde@example.com` or `Sonde <sonde@example.com>`).
    pub from: Option<String>,
    /// E-mail only: `smtps://[user@]host[:465]` (implicit TLS),
    /// `smtp://[user@]host[:587]` (STARTTLS, required), or
    /// `smtp://host:port?tls=none` (no TLS: a loopback host only).
    pub smtp_url: Option<String>,
    pub smtp_url_env: Option<String>,
    /// E-mail only: the SMTP password, for the user named in the URL (never
    /// in the file).
    pub password_env: Option<String>,
    pub organization: Option<String>,
    #[serde(default = "three")]
    pub failure_threshold: u32,
    #[serde(default = "two")]
    pub success_threshold: u32,
    #[serde(default = "yes")]
    pub send_on_resolved: bool,
    #[serde(default, with = "humantime_serde")]
    pub repeat_interval: Option<Duration>,
    /// "down" after `failure_threshold` failed checks within this window.
    #[serde(default, with = "humantime_serde")]
    pub failure_window: Option<Duration>,
    /// Gathers the notifications made within this wait into one message.
    #[serde(default, with = "humantime_serde")]
    pub group_wait: Option<Duration>,
    /// The least time between two batches of the route (default: `group_wait`).
    #[serde(default, with = "humantime_serde")]
    pub group_interval: Option<Duration>,
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
            let channel = self.channel(i, a)?;
            let kind = channel.kind();
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
            if a.failure_window.is_some_and(|d| d < Duration::from_secs(1)) {
                return Err(self.invalid(key("failure_window"), "must be at least 1s"));
            }
            for (k, d) in [("group_wait", a.group_wait), ("group_interval", a.group_interval)] {
                if d.is_some_and(|d| d.is_zero() || d > Duration::from_secs(3600)) {
                    return Err(self.invalid(key(k), "must be longer than zero and at most 1h"));
                }
            }
            if a.group_interval.is_some() && a.group_wait.is_none() {
                return Err(self.invalid(key("group_interval"), "needs `group_wait`"));
            }
            if a.group_wait.is_some() && !kind.takes_batches() {
                let by = if kind == Kind::PagerDuty { "its dedup_key" } else { "its alias, the source id" };
                return Err(self.invalid(
                    key("group_wait"),
                    format!(
                        "{} keeps one event per source ({by} groups them); leave group_wait out",
                        kind.as_str()
                    ),
                ));
            }
            routes.push(Route {
                name: a.name.clone(),
                channel,
                organization: a.organization.clone(),
                failure_threshold: a.failure_threshold,
                success_threshold: a.success_threshold,
                send_on_resolved: a.send_on_resolved,
                repeat_interval: a.repeat_interval,
                failure_window: a.failure_window,
                group_wait: a.group_wait,
                group_interval: a.group_interval.or(a.group_wait),
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
