//! Unstructured's request and response bodies, and how a body becomes a
//! source definition (organization, policy defaults, validation).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::ToSchema;
use uuid::Uuid;

use super::super::auth::Caller;
use super::super::error::{ApiError, FieldError};
use super::super::fields::{duration, whole};
use super::super::openapi::string_enum;
use crate::model::{CheckRecord, CheckStatus, Placement, Policy, Source, SourceSpec, SourceState};
use crate::report::rfc3339;
use crate::service::depends::MAX_DEPENDS_ON;

/// `{name, type, config}`, plus Sonde's optional policy fields and
/// `depends_on`.
///
/// One body for create and update: a create needs `name` and `type`; an
/// update (Unstructured's SDK sends `{config}` alone) keeps whatever it
/// leaves out. The OpenAPI document says which is required where.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SourceBody {
    /// Unique within the organization: 1 to 200 characters, not all
    /// spaces, without `/` (Hasura qualifies names as `organization/name`).
    #[schema(min_length = 1, max_length = 200, pattern = r"^[^/]*[^/ \t\n\r\f\v][^/]*$")]
    pub name: Option<String>,
    /// A source type with a loaded plugin (see `GET /v1/plugins`).
    #[serde(rename = "type")]
    #[schema(examples("tcp"))]
    pub source_type: Option<String>,
    /// Checked against the plugin's `config_schema`.
    #[schema(value_type = Object, examples(json!({"host": "127.0.0.1", "port": 5432})))]
    pub config: Value,
    /// Required with an admin key; an organization key implies its own.
    #[schema(pattern = "^org_", examples("org_acme"))]
    pub organization: Option<String>,
    /// The workspace (Feather knowledge base) the source belongs to.
    pub workspace: Option<Uuid>,
    /// How often the source is checked.
    #[serde(default, deserialize_with = "duration::optional")]
    #[schema(schema_with = duration::schema)]
    pub interval: Option<Duration>,
    /// Deadline of one attempt.
    #[serde(default, deserialize_with = "duration::optional")]
    #[schema(schema_with = duration::schema)]
    pub timeout: Option<Duration>,
    /// Extra attempts after a TIMEOUT or ERROR.
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(schema_with = whole::schema)]
    pub retries: Option<u32>,
    /// Pause between attempts.
    #[serde(default, deserialize_with = "duration::optional")]
    #[schema(schema_with = duration::schema)]
    pub retry_interval: Option<Duration>,
    /// A paused source is not checked on schedule.
    #[schema(schema_with = source_state)]
    pub state: Option<SourceState>,
    /// Names of sources of the same organization this one depends on.
    #[serde(default)]
    #[schema(schema_with = depends_on)]
    pub depends_on: Option<Vec<String>>,
    /// Where its checks run (DESIGN §10).
    #[serde(default)]
    #[schema(schema_with = locations)]
    pub locations: Option<Vec<String>>,
    /// How many of its locations must see it failing for it to be down.
    /// `2` and `2.0` alike, as JSON Schema counts both whole.
    #[serde(default, deserialize_with = "whole::optional")]
    #[schema(minimum = 1, maximum = 64, examples(1))]
    pub min_locations_failed: Option<u32>,
}

/// `{"detail": "..."}`: what a `DELETE` answers, as Unstructured's API does.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = SourceDeleted)]
pub struct Deleted {
    pub detail: String,
}

fn source_state() -> utoipa::openapi::schema::Object {
    string_enum(&["active", "paused"], true)
}

/// Names as `name` allows them, at most [`MAX_DEPENDS_ON`]; which of them
/// exist is known only at request time, so the rest is said in words. No
/// `examples`: a client (or fuzzer) sending one as given would name a
/// source that does not exist, a fair 422.
fn depends_on() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(200))
        .pattern(Some(crate::model::SOURCE_NAME_PATTERN));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(name)
        .max_items(Some(MAX_DEPENDS_ON))
        .description(Some(
            "Names of sources of the same organization that this one depends on: while an alert route sees one \
             of them down, this source's \"down\" is not sent on that route. Each must name a source of the \
             organization (another organization's sources do not count), and no chain of dependencies may lead \
             back to this source; otherwise a 422 at this field. Left out or `null`, an update keeps the \
             source's; `[]` clears it. Repeats count once.",
        ))
        .build()
}

/// Location names; which are granted to the organization is known only
/// at request time, so that part is said in words.
fn locations() -> utoipa::openapi::schema::Array {
    use utoipa::openapi::schema::{ArrayBuilder, ObjectBuilder, SchemaType, Type};
    let name = ObjectBuilder::new()
        .schema_type(Type::String)
        .min_length(Some(1))
        .max_length(Some(crate::model::MAX_LOCATION_CHARS))
        .pattern(Some("^[a-z0-9._-]+$"));
    ArrayBuilder::new()
        .schema_type(SchemaType::from_iter([Type::Array, Type::Null]))
        .items(name)
        .min_items(Some(1))
        .max_items(Some(64))
        // Granted to every organization: an example a client (or fuzzer)
        // may send as given.
        .examples([serde_json::json!(["central"])])
        .description(Some(
            "Where the source's checks run: `central` (the service's own replicas, always granted) and private \
             locations served by agents, each granted to the organization by the operator (`[[locations]]`); \
             another location is a 422 at this field. Left out or `null`, an update keeps the source's; a \
             create gets `[\"central\"]`. Repeats count once.",
        ))
        .build()
}

fn check_status() -> utoipa::openapi::schema::Object {
    string_enum(&["SCHEDULED", "SUCCESS", "FAILURE"], false)
}

/// `{id, name, type, config, created_at, updated_at}`; secrets left out.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Source)]
pub struct SourceOut {
    pub id: Uuid,
    pub name: String,
    #[serde(rename = "type")]
    pub source_type: String,
    /// The config without its secret (`writeOnly`) values.
    #[schema(value_type = Object)]
    pub config: Value,
    #[schema(format = DateTime)]
    pub created_at: String,
    #[schema(format = DateTime)]
    pub updated_at: String,
}

impl From<&Source> for SourceOut {
    fn from(s: &Source) -> Self {
        Self {
            id: s.id,
            name: s.name.clone(),
            source_type: s.source_type.clone(),
            config: s.config.clone(),
            created_at: rfc3339(s.created_at),
            updated_at: rfc3339(s.updated_at),
        }
    }
}

/// `{id, status, reason, created_at, reported_at}`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ConnectionCheck {
    /// Unique identifier for the connection check.
    pub id: Uuid,
    /// Connection check status.
    #[schema(schema_with = check_status)]
    pub status: &'static str,
    /// Failure reason, if applicable.
    pub reason: Option<String>,
    /// When the check was initiated.
    #[schema(format = DateTime)]
    pub created_at: String,
    /// When the check result was reported.
    #[schema(format = DateTime)]
    pub reported_at: Option<String>,
}

impl From<&CheckRecord> for ConnectionCheck {
    fn from(c: &CheckRecord) -> Self {
        let (status, reason) = match c.status {
            CheckStatus::Scheduled | CheckStatus::Running => ("SCHEDULED", None),
            CheckStatus::Ok => ("SUCCESS", None),
            _ => ("FAILURE", Some(c.message.clone().unwrap_or_else(|| c.status.as_str().to_string()))),
        };
        Self {
            id: c.id,
            status,
            reason,
            created_at: rfc3339(c.created_at),
            reported_at: if c.status.is_finished() { c.reported_at.map(rfc3339) } else { None },
        }
    }
}

/// What a body makes of a new source (`existing` is `None`, `defaults` fill
/// the policy) or of an update to `existing`.
pub(super) fn spec(
    caller: &Caller,
    body: SourceBody,
    existing: Option<&Source>,
    defaults: Policy,
) -> Result<SourceSpec, ApiError> {
    let organization = match (caller.organization(), body.organization, existing) {
        (Some(own), Some(given), _) if own != given => {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", "organization"],
                "must be the organization of the API key",
                "value_error",
            )]));
        }
        (Some(own), _, _) => own.to_string(),
        (None, Some(given), _) => given,
        (None, None, Some(existing)) => existing.organization.clone(),
        (None, None, None) => {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", "organization"],
                "Field required with an admin key",
                "missing",
            )]));
        }
    };
    if organization.len() <= "org_".len()
        || !organization.starts_with("org_")
        || organization.chars().count() > 200
    {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "organization"],
            "must be an organization id: \"org_\" and up to 196 more characters",
            "value_error",
        )]));
    }
    let missing = |field: &str| {
        ApiError::Validation(vec![FieldError::new(&["body", field], "Field required", "missing")])
    };
    let name = match (body.name, existing) {
        (Some(name), _) => name,
        (None, Some(existing)) => existing.name.clone(),
        (None, None) => return Err(missing("name")),
    };
    let source_type = match (body.source_type, existing) {
        (Some(t), _) => t,
        (None, Some(existing)) => existing.source_type.clone(),
        (None, None) => return Err(missing("type")),
    };
    if crate::model::is_blank(&name) || name.chars().count() > crate::model::MAX_NAME_CHARS {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "name"],
            "must be 1 to 200 characters",
            "value_error",
        )]));
    }
    if !body.config.is_object() {
        return Err(ApiError::Validation(vec![FieldError::new(
            &["body", "config"],
            "Input should be a valid dictionary",
            "dict_type",
        )]));
    }
    super::super::limits::check_config(&["body", "config"], &body.config)?;
    for (field, d) in
        [("interval", body.interval), ("timeout", body.timeout), ("retry_interval", body.retry_interval)]
    {
        if d.is_some_and(|d| d.is_zero()) {
            return Err(ApiError::Validation(vec![FieldError::new(
                &["body", field],
                "must be longer than zero",
                "value_error",
            )]));
        }
    }
    let base = existing.map_or(defaults, |e| e.policy);
    let placement = placement(body.locations, body.min_locations_failed, existing)?;
    Ok(SourceSpec {
        name,
        organization,
        workspace: body.workspace.or(existing.and_then(|e| e.workspace)),
        source_type,
        config: body.config,
        state: body.state.or(existing.map(|e| e.state)).unwrap_or(SourceState::Active),
        policy: base.or(body.interval, body.timeout, body.retries, body.retry_interval),
        // Checked against the organization's sources by the service.
        depends_on: body.depends_on.or_else(|| existing.map(|e| e.depends_on.clone())).unwrap_or_default(),
        placement,
    })
}

/// The body's locations and quorum over the source's own (or the
/// default), checked in form; the grants are the service's to check.
fn placement(
    locations: Option<Vec<String>>,
    min_failed: Option<u32>,
    existing: Option<&Source>,
) -> Result<Placement, ApiError> {
    let old = existing.map(|e| e.placement.clone()).unwrap_or_default();
    let changed = locations.is_some();
    let locations = locations.unwrap_or(old.locations);
    // A new list of locations with no quorum of its own starts from 1, so a
    // shorter list never inherits a quorum it cannot meet.
    let min = min_failed.unwrap_or(if changed { 1 } else { old.min_locations_failed });
    Placement::normalized(locations, min).map_err(|reason| {
        let field =
            if reason.starts_with("min_locations_failed") { "min_locations_failed" } else { "locations" };
        ApiError::Validation(vec![FieldError::new(&["body", field], &reason, "value_error")])
    })
}
