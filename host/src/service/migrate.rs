//! Secrets that older versions stored in the clear (DESIGN §4).
//!
//! The schema walk now finds secrets it used to miss (a `writeOnly` beside
//! a `$ref`, under `items`, `additionalProperties`, ...). Sources stored
//! before kept such values in their public config, and their history may
//! hold them where a guest echoed them. At start, once plugins are loaded,
//! each such source has its secrets moved into the secrets table and
//! masked in its history. Running it again finds nothing to do.

use super::registry::Registry;
use crate::schema::overlay_secrets;
use crate::store::{Store, StoreResult};

/// Moves secrets out of every stored public config that holds some, per
/// its plugin's schema; returns how many sources were migrated.
pub(super) async fn move_stored_secrets(registry: &Registry, store: &dyn Store) -> StoreResult<usize> {
    let mut moved = 0;
    for source in store.list_sources().await? {
        // A type without a plugin right now is left alone: its schema is
        // not known, and its checks fail until the plugin is back.
        let Some(plugin) = registry.get(&source.source_type) else { continue };
        let schema = plugin.schema();
        if !schema.holds_secrets(&source.config) {
            continue;
        }
        let values = schema.secrets_in(&source.config);
        let (public, found) = schema.split_secrets(&source.config);
        // A value already in the secrets table is the newer one.
        let stored = store.source_secrets(source.id).await?;
        let secrets = overlay_secrets(&found, &stored);
        store.replace_source(source.id, &source.spec(public), &secrets).await?;
        store.scrub_history(source.id, &values).await?;
        moved += 1;
    }
    if moved > 0 {
        tracing::info!(
            sources = moved,
            "moved secrets stored in the clear into the secrets table and masked them in history"
        );
    }
    Ok(moved)
}
