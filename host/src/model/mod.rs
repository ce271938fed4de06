//! The domain: sources, their health-check policy, and check records.
//! HTTP DTOs and store rows convert to and from these.

use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::runtime::{CheckReport, Status};

mod placement;
pub use placement::{CENTRAL, COMBINED, MAX_LOCATION_CHARS, Placement, is_location_name};

/// Longest source name, in characters, wherever the API takes one.
pub const MAX_NAME_CHARS: usize = 200;

/// The white space a name or comment may not consist of alone: ASCII's,
/// spelled out. `\s` and `trim` disagree across JSON Schema (ECMA-262),
/// Python and Rust on characters such as U+0085, so a client generating
/// values from the API document would send names the server refuses.
const BLANK: [char; 6] = [' ', '\t', '\n', '\r', '\x0b', '\x0c'];

/// Whether `s` is empty or only [`BLANK`] characters.
pub fn is_blank(s: &str) -> bool {
    s.chars().all(|c| BLANK.contains(&c))
}

/// `s` without leading and trailing [`BLANK`] characters.
pub fn trim_blank(s: &str) -> &str {
    s.trim_matches(BLANK)
}

/// A source name the API accepts: 1 to [`MAX_NAME_CHARS`] characters, not
/// all blank, no `/` (names are path segments of the Hasura routes).
pub fn is_source_name(name: &str) -> bool {
    !is_blank(name) && name.chars().count() <= MAX_NAME_CHARS && !name.contains('/')
}

/// [`is_source_name`] as a JSON Schema `pattern` (with `minLength` 1 and
/// `maxLength` [`MAX_NAME_CHARS`] beside it).
pub const SOURCE_NAME_PATTERN: &str = r"^[^/]*[^/ \t\n\r\f\v][^/]*$";

/// "Not only [`BLANK`]" as a JSON Schema `pattern`.
pub const NOT_BLANK_PATTERN: &str = r"[^ \t\n\r\f\v]";

/// DESIGN §4: when and how hard a source is checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Policy {
    #[serde(with = "humantime_serde")]
    pub interval: Duration,
    #[serde(with = "humantime_serde")]
    pub timeout: Duration,
    pub retries: u32,
    #[serde(with = "humantime_serde")]
    pub retry_interval: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(60),
            timeout: Duration::from_secs(10),
            retries: 3,
            retry_interval: Duration::from_secs(10),
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum SourceState {
    Active,
    Paused,
}

impl SourceState {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceState::Active => "active",
            SourceState::Paused => "paused",
        }
    }
}

/// A source as every read path sees it: `config` never holds secrets.
#[derive(Debug, Clone, PartialEq)]
pub struct Source {
    pub id: Uuid,
    pub name: String,
    pub organization: String,
    pub workspace: Option<Uuid>,
    pub source_type: String,
    /// The public part of the config: secrets are stored apart.
    pub config: Value,
    pub state: SourceState,
    pub policy: Policy,
    /// Names of sources of the same organization whose "down" suppresses
    /// this one's (DESIGN §8); validated on every write, never dangling.
    pub depends_on: Vec<String>,
    /// Where its checks run (DESIGN §10).
    pub placement: Placement,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

impl Source {
    /// This source as a definition to write back, with `config` in place
    /// of its stored one (secrets are the caller's).
    pub fn spec(&self, config: Value) -> SourceSpec {
        SourceSpec {
            name: self.name.clone(),
            organization: self.organization.clone(),
            workspace: self.workspace,
            source_type: self.source_type.clone(),
            config,
            state: self.state,
            policy: self.policy,
            depends_on: self.depends_on.clone(),
            placement: self.placement.clone(),
        }
    }
}

#[cfg(test)]
impl Source {
    /// An active source with an empty config and the default policy.
    pub(crate) fn for_test(name: &str, organization: &str, source_type: &str) -> Self {
        let now = Utc::now();
        Self {
            id: Uuid::new_v4(),
            name: name.into(),
            organization: organization.into(),
            workspace: None,
            source_type: source_type.into(),
            config: Value::Object(Default::default()),
            state: SourceState::Active,
            policy: Policy::default(),
            depends_on: Vec::new(),
            placement: Placement::default(),
            created_at: now,
            updated_at: now,
        }
    }
}

/// What a new or replaced source is made of, secrets included.
#[derive(Debug, Clone)]
pub struct SourceSpec {
    pub name: String,
    pub organization: String,
    pub workspace: Option<Uuid>,
    pub source_type: String,
    pub config: Value,
    pub state: SourceState,
    pub policy: Policy,
    /// See [`Source::depends_on`].
    pub depends_on: Vec<String>,
    /// See [`Source::placement`].
    pub placement: Placement,
}

/// A check's lifecycle: `Scheduled` → `Running` → an outcome.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "UPPERCASE")]
pub enum CheckStatus {
    Scheduled,
    Running,
    Ok,
    Timeout,
    Error,
    Failed,
}

impl CheckStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            CheckStatus::Scheduled => "SCHEDULED",
            CheckStatus::Running => "RUNNING",
            CheckStatus::Ok => "OK",
            CheckStatus::Timeout => "TIMEOUT",
            CheckStatus::Error => "ERROR",
            CheckStatus::Failed => "FAILED",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "SCHEDULED" => CheckStatus::Scheduled,
            "RUNNING" => CheckStatus::Running,
            "OK" => CheckStatus::Ok,
            "TIMEOUT" => CheckStatus::Timeout,
            "ERROR" => CheckStatus::Error,
            "FAILED" => CheckStatus::Failed,
            _ => return None,
        })
    }

    /// The outcome, once there is one.
    pub fn outcome(self) -> Option<Status> {
        match self {
            CheckStatus::Ok => Some(Status::Ok),
            CheckStatus::Timeout => Some(Status::Timeout),
            CheckStatus::Error => Some(Status::Error),
            CheckStatus::Failed => Some(Status::Failed),
            CheckStatus::Scheduled | CheckStatus::Running => None,
        }
    }

    pub fn is_finished(self) -> bool {
        self.outcome().is_some()
    }
}

impl From<Status> for CheckStatus {
    fn from(s: Status) -> Self {
        match s {
            Status::Ok => CheckStatus::Ok,
            Status::Timeout => CheckStatus::Timeout,
            Status::Error => CheckStatus::Error,
            Status::Failed => CheckStatus::Failed,
        }
    }
}

/// Why a check ran.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Trigger {
    Schedule,
    Manual,
}

impl Trigger {
    pub fn as_str(self) -> &'static str {
        match self {
            Trigger::Schedule => "schedule",
            Trigger::Manual => "manual",
        }
    }
}

/// One check of one source, across all its attempts.
#[derive(Debug, Clone, PartialEq)]
pub struct CheckRecord {
    pub id: Uuid,
    pub source_id: Uuid,
    pub trigger: Trigger,
    pub status: CheckStatus,
    pub attempts: u32,
    pub message: Option<String>,
    pub extra: Option<String>,
    pub details: Option<Value>,
    pub items: Option<u64>,
    pub created_at: DateTime<Utc>,
    pub started_at: Option<DateTime<Utc>>,
    pub reported_at: Option<DateTime<Utc>>,
    pub duration_ms: Option<u64>,
    /// The instance that ran it (`--replica-id`, or the agent's name),
    /// once it runs.
    pub replica: Option<String>,
    /// Where it ran (DESIGN §10); `None` for the service's own replicas
    /// (`central`), [`COMBINED`] for the outcome of several locations.
    pub location: Option<String>,
}

impl CheckRecord {
    pub fn new(source_id: Uuid, trigger: Trigger, status: CheckStatus) -> Self {
        let now = Utc::now();
        Self {
            id: Uuid::new_v4(),
            source_id,
            trigger,
            status,
            attempts: 0,
            message: None,
            extra: None,
            details: None,
            items: None,
            created_at: now,
            started_at: (status == CheckStatus::Running).then_some(now),
            reported_at: None,
            duration_ms: None,
            replica: None,
            location: None,
        }
    }

    /// Whether this is one location's check of a source checked from
    /// several: history, not the source's outcome (that is the combined
    /// check, [`COMBINED`]).
    pub fn is_part_of(&self, source: &Source) -> bool {
        source.placement.locations.len() > 1 && self.location.as_deref() != Some(COMBINED)
    }

    /// Records the result of the latest attempt as the check's outcome.
    pub fn finish(&mut self, report: &CheckReport) {
        self.status = report.status.into();
        self.message = report.message.clone();
        self.extra = report.extra.clone();
        self.details = report.details.clone();
        self.items = report.items;
        let reported = report.reported_at();
        self.reported_at = Some(reported);
        let started = self.started_at.unwrap_or(self.created_at);
        self.duration_ms = u64::try_from((reported - started).num_milliseconds()).ok();
    }
}

/// What is known of one source right now.
#[derive(Debug, Clone, Default)]
pub struct SourceHealth {
    /// The newest finished check.
    pub last: Option<CheckRecord>,
    /// A check queued or running, if any.
    pub current: Option<CheckRecord>,
}

impl SourceHealth {
    /// The earliest `not_after` of the peer chain the newest finished check
    /// saw (its `details.tls`): the TLS expiry gauge and the page's days
    /// left. Read from the stored check, it is the same on every replica;
    /// a check that never reached a handshake has none.
    pub fn tls_not_after(&self) -> Option<DateTime<Utc>> {
        self.last.as_ref()?.details.as_ref()?["tls"]["peer"]
            .as_array()?
            .iter()
            .filter_map(|c| DateTime::parse_from_rfc3339(c["not_after"].as_str()?).ok())
            .map(|t| t.with_timezone(&Utc))
            .min()
    }

    /// The most recent check, finished or not.
    pub fn newest(&self) -> Option<&CheckRecord> {
        match (&self.current, &self.last) {
            (Some(c), Some(l)) => Some(if c.created_at >= l.created_at { c } else { l }),
            (c, l) => c.as_ref().or(l.as_ref()),
        }
    }
}

/// One point of a response-time chart: a finished check, or the checks of
/// one time bucket gathered (then the latest time, the longest duration,
/// and OK only when every one was OK).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChartPoint {
    pub at: DateTime<Utc>,
    pub duration_ms: Option<u64>,
    pub status: CheckStatus,
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The API document's patterns say what the server checks, for the
    /// characters the regex dialects disagree on too.
    #[test]
    fn name_patterns_agree_with_the_checks() {
        let pattern = regex::Regex::new(SOURCE_NAME_PATTERN).expect("SOURCE_NAME_PATTERN compiles");
        let not_blank = regex::Regex::new(NOT_BLANK_PATTERN).expect("NOT_BLANK_PATTERN compiles");
        let cases = [
            ("pg", true),
            ("", false),
            (" ", false),
            ("\t\n\r\x0b\x0c", false),
            ("\u{85}", true),
            ("\u{a0}", true),
            ("\u{2028}", true),
            (" a ", true),
            ("a/b", false),
            ("/", false),
        ];
        for (name, ok) in cases {
            assert_eq!(is_source_name(name), ok, "{name:?}");
            assert_eq!(pattern.is_match(name), ok, "{name:?}");
            assert_eq!(!is_blank(name), not_blank.is_match(name), "{name:?}");
        }
        assert!(!is_source_name(&"x".repeat(MAX_NAME_CHARS + 1)));
        assert_eq!(trim_blank(" \u{85}x\t"), "\u{85}x");
    }
}
