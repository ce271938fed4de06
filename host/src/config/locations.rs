//! Private locations and their agents (DESIGN §10): `[[locations]]`
//! granting each location to organizations, `[agents]`, and the agent
//! keys of `[[keys]]` (`role = "agent"`).

use std::collections::HashMap;
use std::time::Duration;

use serde::Deserialize;

use super::{Config, ConfigError, KeyConfig};
use crate::model::{CENTRAL, is_location_name};

/// `[[locations]]`: a location of the operator's, and who may use it.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LocationConfig {
    pub name: String,
    /// Organizations whose sources may name it.
    #[serde(default)]
    pub organizations: Vec<String>,
}

/// `[agents]`.
#[derive(Debug, Clone, Copy, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AgentsConfig {
    /// An agent that does not poll for this long loses its claims.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
    /// The longest a poll waits for something new before it answers.
    #[serde(with = "humantime_serde")]
    pub poll_wait: Duration,
}

impl Default for AgentsConfig {
    fn default() -> Self {
        Self { lease: Duration::from_secs(30), poll_wait: Duration::from_secs(10) }
    }
}

/// An agent key, resolved.
#[derive(Clone)]
pub struct AgentKey {
    pub secret: String,
    pub location: String,
    /// When set, the agent runs only this organization's checks.
    pub organization: Option<String>,
}

impl std::fmt::Debug for AgentKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentKey")
            .field("location", &self.location)
            .field("organization", &self.organization)
            .finish_non_exhaustive()
    }
}

/// Which organizations may name which location; `central` is everyone's.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Grants {
    by_location: HashMap<String, Vec<String>>,
}

impl Grants {
    /// Whether `organization`'s sources may be checked from `location`.
    pub fn allows(&self, organization: &str, location: &str) -> bool {
        location == CENTRAL
            || self.by_location.get(location).is_some_and(|orgs| orgs.iter().any(|o| o == organization))
    }

    /// The first of `locations` not granted to `organization`.
    pub fn refused<'a>(&self, organization: &str, locations: &'a [String]) -> Option<&'a str> {
        locations.iter().find(|l| !self.allows(organization, l)).map(String::as_str)
    }

    /// The declared locations, `central` first, then by name.
    pub fn names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.by_location.keys().cloned().collect();
        names.sort();
        names.insert(0, CENTRAL.into());
        names
    }
}

impl KeyConfig {
    pub(super) fn is_agent(&self) -> bool {
        self.role.as_deref() == Some("agent")
    }
}

impl Config {
    /// `[[locations]]`, checked: names valid and declared once, never
    /// `central`, organizations named as everywhere else.
    pub fn grants(&self) -> Result<Grants, ConfigError> {
        let mut by_location = HashMap::new();
        for (i, l) in self.locations.iter().enumerate() {
            let key = |k: &str| format!("locations[{i}].{k}");
            if !is_location_name(&l.name) {
                return Err(self.invalid(key("name"), "must be 1 to 64 of a-z, 0-9, '-', '_', '.'"));
            }
            if l.name == CENTRAL {
                return Err(self.invalid(key("name"), "\"central\" is the service's own and always granted"));
            }
            if let Some(org) = l.organizations.iter().find(|o| !o.starts_with("org_")) {
                return Err(self.invalid(key("organizations"), format!("{org:?} must start with \"org_\"")));
            }
            if by_location.insert(l.name.clone(), l.organizations.clone()).is_some() {
                return Err(self.invalid(key("name"), format!("{:?} is declared twice", l.name)));
            }
        }
        Ok(Grants { by_location })
    }

    /// The agent keys of `[[keys]]`, with `key_env` resolved; each names
    /// a declared location, and its organization, if any, is granted it.
    pub fn agent_keys(&self) -> Result<Vec<AgentKey>, ConfigError> {
        let grants = self.grants()?;
        let mut out = Vec::new();
        for (i, k) in self.keys.iter().enumerate().filter(|(_, k)| k.is_agent()) {
            let key = |f: &str| format!("keys[{i}].{f}");
            let secret = self.key_secret(i, k)?;
            let Some(location) = &k.location else {
                return Err(self.invalid(key("location"), "an agent key names its location"));
            };
            if location == CENTRAL || !grants.by_location.contains_key(location) {
                return Err(
                    self.invalid(key("location"), format!("{location:?} is not declared in [[locations]]"))
                );
            }
            if let Some(org) = &k.organization
                && !grants.allows(org, location)
            {
                return Err(
                    self.invalid(key("organization"), format!("{org} is not granted location {location:?}"))
                );
            }
            out.push(AgentKey { secret, location: location.clone(), organization: k.organization.clone() });
        }
        Ok(out)
    }

    /// `[[sources]]`' locations, against the grants.
    pub(super) fn check_source_locations(&self) -> Result<(), ConfigError> {
        let grants = self.grants()?;
        for (i, s) in self.sources.iter().enumerate() {
            let placement = s.placement().map_err(|e| self.invalid(format!("sources[{i}].locations"), e))?;
            if let Some(l) = grants.refused(&s.organization, &placement.locations) {
                return Err(self.invalid(
                    format!("sources[{i}].locations"),
                    format!("location {l:?} is not granted to {}", s.organization),
                ));
            }
        }
        Ok(())
    }
}
