//! The service's side of silences and alert views: what the HTTP routes,
//! the status page and `/metrics` ask of [`crate::alerts`].

use chrono::Utc;
use uuid::Uuid;

use super::Service;
use crate::alerts::Alerts;
use crate::alerts::silences::Silence;
use crate::model::Source;
use crate::store::StoreError;

impl Service {
    pub fn alerts(&self) -> &Alerts {
        &self.ctx.alerts
    }

    /// Silences not yet over, by start.
    pub async fn silences(&self) -> Result<Vec<Silence>, StoreError> {
        self.ctx.store.list_silences(Utc::now()).await
    }

    /// Stores a silence and puts it in force at once on this replica
    /// (others pick it up at their next refresh).
    pub async fn create_silence(&self, silence: Silence) -> Result<Silence, StoreError> {
        self.ctx.store.create_silence(&silence).await?;
        self.refresh_silences().await?;
        Ok(silence)
    }

    pub async fn delete_silence(&self, id: Uuid) -> Result<bool, StoreError> {
        let deleted = self.ctx.store.delete_silence(id).await?;
        self.refresh_silences().await?;
        Ok(deleted)
    }

    async fn refresh_silences(&self) -> Result<(), StoreError> {
        self.ctx.alerts.silences.set(self.ctx.store.list_silences(Utc::now()).await?);
        Ok(())
    }

    /// Whether a silence or maintenance window holds `source`'s alerts now.
    pub fn silenced(&self, source: &Source) -> bool {
        self.ctx.alerts.held(source, Utc::now())
    }

    /// The dependency holding `source`'s "down" back for some route, if any.
    pub fn suppressed_by(&self, source: &Source) -> Option<String> {
        self.ctx.alerts.suppressed_by(source.id)
    }

    /// `(source, organization, route, down)` for every route watching one
    /// of `sources`, for `sonde_source_down`.
    pub fn alert_views(&self, sources: &[Source]) -> Vec<(String, String, String, bool)> {
        let routes = self.ctx.alerts.routes();
        let views = self.ctx.alerts.views();
        let mut out = Vec::new();
        for source in sources {
            for route in routes.iter().filter(|r| r.watches(&source.organization)) {
                let down = views.iter().any(|(r, id, down, _)| *r == route.name && *id == source.id && *down);
                out.push((source.name.clone(), source.organization.clone(), route.name.clone(), down));
            }
        }
        out
    }
}
