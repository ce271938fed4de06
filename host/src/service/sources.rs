//! Sources as the API and the file write them: the rules a definition
//! must keep, the secrets it splits off and carries over ([`super::binding`]),
//! and which sources belong to the configuration file.

use serde_json::Value;
use uuid::Uuid;

use super::registry::Registry;
use super::scheduler::Event;
use super::{Service, binding, spec};
use crate::config::Config;
use crate::model::{Source, SourceSpec, SourceState};
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
        spec::check(&spec, &self.limits)?;
        let (public, secrets) = split_spec(&self.ctx.registry, &spec).await?;
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
        spec::check(&spec, &self.limits)?;
        let (public, given) = split_spec(&self.ctx.registry, &spec).await?;
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
        let source = self.ctx.store.replace_source(id, &public, &secrets).await?;
        self.send(Event::Upsert(source.clone()));
        Ok(source)
    }

    /// Sources from the configuration file belong to the file (DESIGN §4).
    fn writable(&self, source: &Source) -> Result<(), CreateError> {
        let from_file = self.file_sources.read().unwrap_or_else(|e| e.into_inner());
        if from_file.names.contains(&(source.organization.clone(), source.name.clone())) {
            return Err(CreateError::FromFile(from_file.origin.clone()));
        }
        Ok(())
    }

    pub async fn delete_source(&self, id: Uuid) -> Result<bool, CreateError> {
        if let Some(source) = self.ctx.store.get_source(id).await? {
            self.writable(&source)?;
        }
        let deleted = self.ctx.store.delete_source(id).await?;
        if deleted {
            self.send(Event::Remove(id));
            self.ctx.alerts.remove(id);
        }
        Ok(deleted)
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
    let plugin =
        registry.get(&spec.source_type).ok_or_else(|| SpecError::UnknownType(spec.source_type.clone()))?;
    if let Err(violations) = plugin.validate(&spec.config).await {
        return Err(SpecError::Schema { source_type: spec.source_type.clone(), violations });
    }
    let (public, secrets) = plugin.schema().split_secrets(&spec.config);
    Ok((SourceSpec { config: public, ..spec.clone() }, secrets))
}
