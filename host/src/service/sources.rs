//! Sources as the API and the file write them: the rules a definition
//! must keep, the secrets it splits off and carries over ([`super::binding`]),
//! the sources it depends on ([`super::depends`]), and which sources belong
//! to the configuration file.

use serde_json::Value;
use uuid::Uuid;

use super::registry::Registry;
use super::scheduler::Event;
use super::{Service, binding, depends, spec};
use crate::config::Config;
use crate::model::{Source, SourceSpec, SourceState};
use crate::runtime::sandbox::auth::{AuthError, AuthPolicy};
use crate::schema::Violation;
use crate::store::StoreError;

/// Why a source definition cannot be accepted.
#[derive(Debug, thiserror::Error)]
pub enum SpecError {
    #[error("no plugin for source type {0:?}")]
    UnknownType(String),
    #[error("config does not match the schema of {source_type:?}")]
    Schema { source_type: String, violations: Vec<Violation> },
    #[error("stored secrets must be given again: {}", .0.reason)]
    Unbound(binding::Unbound),
    /// A rule of [`spec`]: the policy's bounds, or the name.
    #[error("{field} {reason}")]
    Invalid { field: &'static str, reason: String },
}

impl Service {
    pub async fn create_source(&self, spec: SourceSpec) -> Result<Source, CreateError> {
        let spec = normalized(spec)?;
        spec::check(&spec, &self.limits)?;
        self.check_locations(&spec)?;
        let (public, secrets) = split_spec(&self.ctx.registry, &spec).await?;
        let _writing = self.writing_sources.lock().await;
        self.check_dependencies(&public, None).await?;
        let source = self.ctx.store.create_source(&public, &secrets).await?;
        self.send(Event::Upsert(source.clone()));
        Ok(source)
    }

    /// Replaces a source. Secrets left out keep their stored values, since
    /// clients never see them to send them back, but only while the change
    /// leaves where the source reaches as it was ([`binding`]).
    pub async fn replace_source(&self, id: Uuid, spec: SourceSpec) -> Result<Source, CreateError> {
        let old = self.ctx.store.get_source(id).await?.ok_or(StoreError::NotFound)?;
        self.writable(&old)?;
        let spec = normalized(spec)?;
        spec::check(&spec, &self.limits)?;
        self.check_locations(&spec)?;
        // The auth policy is checked once the stored secrets are carried
        // over: a client sends the config back without the secrets it never
        // saw, so `auth` alone may lack its `client_secret`.
        let (public, given) = split_unchecked(&self.ctx.registry, &spec).await?;
        let stored = self.ctx.store.source_secrets(id).await?;
        let plugin = self.ctx.registry.get(&spec.source_type);
        let secrets = binding::carry_over(
            &self.ctx.runtime,
            plugin.as_ref(),
            (&old.source_type, &old.config, &stored),
            (&public.source_type, &public.config, &given),
        )
        .await
        .map_err(SpecError::Unbound)?;
        if let Some(plugin) = &plugin {
            check_auth(plugin, &crate::schema::merge_secrets(&public.config, &secrets))?;
        }
        let _writing = self.writing_sources.lock().await;
        self.check_dependencies(&public, Some(&old)).await?;
        let source = self.ctx.store.replace_source(id, &public, &secrets).await?;
        self.send(Event::Upsert(source.clone()));
        Ok(source)
    }

    /// Only locations granted to the organization: another tenant's agents
    /// would otherwise run its checks, with its secrets (DESIGN §10).
    fn check_locations(&self, spec: &SourceSpec) -> Result<(), SpecError> {
        match self.agents.grants().refused(&spec.organization, &spec.placement.locations) {
            None => Ok(()),
            Some(l) => Err(SpecError::Invalid {
                field: "locations",
                reason: format!("location {l:?} is not granted to {}", spec.organization),
            }),
        }
    }

    /// Sources from the configuration file belong to the file (DESIGN §4).
    fn writable(&self, source: &Source) -> Result<(), CreateError> {
        let from_file = self.file_sources.read().unwrap_or_else(|e| e.into_inner());
        if from_file.names.contains(&(source.organization.clone(), source.name.clone())) {
            return Err(CreateError::FromFile(from_file.origin.clone()));
        }
        Ok(())
    }

    /// Refuses to delete a source that others of its organization depend
    /// on: their suppression would silently stop (DESIGN §8).
    pub async fn delete_source(&self, id: Uuid) -> Result<bool, CreateError> {
        let _writing = self.writing_sources.lock().await;
        if let Some(source) = self.ctx.store.get_source(id).await? {
            self.writable(&source)?;
            let sources = self.ctx.store.list_sources().await?;
            let dependents = depends::dependents(&sources, &source.organization, &source.name, source.id);
            if !dependents.is_empty() {
                return Err(CreateError::Depended { change: "deleted", dependents });
            }
        }
        let deleted = self.ctx.store.delete_source(id).await?;
        if deleted {
            self.send(Event::Remove(id));
            self.ctx.alerts.remove(id);
        }
        Ok(deleted)
    }

    /// `spec`'s `depends_on` names sources of its organization without a
    /// cycle, and a rename or a move of `old` (a replace) leaves no other
    /// source naming it. Reads the store only when either can matter.
    async fn check_dependencies(&self, spec: &SourceSpec, old: Option<&Source>) -> Result<(), CreateError> {
        let moved = old.filter(|o| o.organization != spec.organization || o.name != spec.name);
        if spec.depends_on.is_empty() && moved.is_none() {
            return Ok(());
        }
        let sources = self.ctx.store.list_sources().await?;
        if !spec.depends_on.is_empty() {
            let mut graph = depends::graph(&sources, &spec.organization, old.map(|o| o.id));
            // The name is taken: the store's 409, before any 422 that
            // would read this definition as replacing that source.
            if graph.contains_key(spec.name.as_str()) {
                let (organization, name) = (spec.organization.clone(), spec.name.clone());
                return Err(StoreError::Conflict { organization, name }.into());
            }
            graph.insert(&spec.name, &spec.depends_on);
            depends::check(&spec.name, &graph).map_err(invalid_dependency)?;
        }
        if let Some(old) = moved {
            let dependents = depends::dependents(&sources, &old.organization, &old.name, old.id);
            if !dependents.is_empty() {
                let change = if old.organization == spec.organization {
                    "renamed"
                } else {
                    "moved to another organization"
                };
                return Err(CreateError::Depended { change, dependents });
            }
        }
        Ok(())
    }

    pub async fn set_state(&self, source: &Source, state: SourceState) -> Result<Source, CreateError> {
        let spec = SourceSpec { state, ..source.spec(source.config.clone()) };
        let secrets = self.ctx.store.source_secrets(source.id).await?;
        let updated = self.ctx.store.replace_source(source.id, &spec, &secrets).await?;
        self.send(Event::Upsert(updated.clone()));
        Ok(updated)
    }

    pub async fn get_source(&self, id: Uuid) -> Result<Option<Source>, StoreError> {
        self.ctx.store.get_source(id).await
    }

    pub async fn list_sources(&self) -> Result<Vec<Source>, StoreError> {
        self.ctx.store.list_sources().await
    }
}

/// Why a create or replace failed.
#[derive(Debug, thiserror::Error)]
pub enum CreateError {
    #[error(transparent)]
    Spec(#[from] SpecError),
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The source is defined in the configuration file named.
    #[error("the source is defined in {0}")]
    FromFile(String),
    /// Other sources of its organization name it in their `depends_on`.
    #[error("the source cannot be {change}: {} depend on it", .dependents.join(", "))]
    Depended { change: &'static str, dependents: Vec<String> },
}

/// `spec` with its `depends_on` checked name by name and without repeats.
fn normalized(spec: SourceSpec) -> Result<SourceSpec, SpecError> {
    let depends_on = depends::normalize(spec.depends_on).map_err(invalid_dependency)?;
    Ok(SourceSpec { depends_on, ..spec })
}

fn invalid_dependency(e: depends::DependsError) -> SpecError {
    SpecError::Invalid { field: "depends_on", reason: e.to_string() }
}

/// The (organization, name) of every source the configuration file defines.
#[derive(Debug, Default)]
pub(super) struct FileSources {
    origin: String,
    names: std::collections::HashSet<(String, String)>,
}

impl FileSources {
    pub(super) fn of(config: &Config) -> Self {
        Self {
            origin: config.origin.clone(),
            names: config.sources.iter().map(|s| (s.organization.clone(), s.name.clone())).collect(),
        }
    }
}

/// Validates a definition (bounded: off the async workers, within the
/// schema's deadline) and splits its secrets off.
pub(super) async fn split_spec(
    registry: &Registry,
    spec: &SourceSpec,
) -> Result<(SourceSpec, Value), SpecError> {
    let (public, secrets) = split_unchecked(registry, spec).await?;
    if let Some(plugin) = registry.get(&spec.source_type) {
        check_auth(&plugin, &crate::schema::merge_secrets(&public.config, &secrets))?;
    }
    Ok((public, secrets))
}

/// [`split_spec`] without the auth policy's check, for a replace, whose
/// secrets are complete only once the stored ones are carried over.
async fn split_unchecked(registry: &Registry, spec: &SourceSpec) -> Result<(SourceSpec, Value), SpecError> {
    let plugin =
        registry.get(&spec.source_type).ok_or_else(|| SpecError::UnknownType(spec.source_type.clone()))?;
    if let Err(violations) = plugin.validate(&spec.config).await {
        return Err(SpecError::Schema { source_type: spec.source_type.clone(), violations });
    }
    let config = with_target(plugin.schema().auth(), &spec.config);
    let (public, secrets) = plugin.schema().split_secrets(&config);
    Ok((SourceSpec { config: public, ..spec.clone() }, secrets))
}

/// The whole config (secrets in) does not give two credentials at once
/// (DESIGN §4: a 422); any other flaw of `auth` is the check's FAILED, as
/// for `tls`.
fn check_auth(plugin: &crate::runtime::Plugin, config: &Value) -> Result<(), SpecError> {
    match AuthPolicy::from_config(plugin.schema().auth(), config) {
        Err(e @ AuthError::Ambiguous(_)) => {
            Err(SpecError::Invalid { field: "config", reason: e.to_string() })
        }
        _ => Ok(()),
    }
}

/// `config` with the plugin's default target written in when it leaves the
/// target out (DESIGN §4): the target is then part of the stored config,
/// visible and bound to the secrets, and a replaced plugin with another
/// default cannot move it.
fn with_target(shape: &crate::schema::auth::AuthShape, config: &Value) -> Value {
    let mut config = config.clone();
    // A template is the default when there is one: it is filled from the
    // stored config itself.
    let property = shape.target.as_ref().filter(|t| t.template.is_none()).and_then(|t| t.property.as_ref());
    if let (Some(p), Value::Object(map)) = (property, &mut config)
        && let Some(default) = &p.default
        && map.get(&p.name).is_none_or(Value::is_null)
    {
        map.insert(p.name.clone(), Value::String(default.clone()));
    }
    config
}
