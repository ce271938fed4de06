//! The rules a source definition keeps beyond its plugin's schema, in one
//! place for the API and the file (DESIGN §4): the policy within the
//! operator's `[limits]`, and a name without `/`, so Hasura's qualified
//! keys (`organization/name`) never collide.
//!
//! Stored data from before a rule is kept as it is; [`warn_existing`] names
//! it once at start so the operator can mend it.

use crate::config::LimitsConfig;
use crate::model::{Source, SourceSpec};
use crate::store::Store;

use super::SpecError;

/// Checks `spec` against the rules; the error names the field.
pub fn check(spec: &SourceSpec, limits: &LimitsConfig) -> Result<(), SpecError> {
    if spec.name.contains('/') {
        return Err(SpecError::Invalid { field: "name", reason: "must not contain \"/\"".into() });
    }
    limits.check(&spec.policy).map_err(|e| SpecError::Invalid { field: e.field, reason: e.reason })
}

/// What a stored source breaks, if anything.
fn broken(source: &Source, limits: &LimitsConfig) -> Option<String> {
    if source.name.contains('/') {
        return Some("name contains \"/\"".into());
    }
    limits.check(&source.policy).err().map(|e| format!("{} {}", e.field, e.reason))
}

/// Logs one warning naming every stored source that today's rules refuse
/// (nothing when none does). They keep running as they are.
pub fn warn_existing(sources: &[Source], limits: &LimitsConfig) -> usize {
    let named: Vec<String> = sources
        .iter()
        .filter_map(|s| {
            broken(s, limits).map(|why| format!("{}/{} ({}): {why}", s.organization, s.name, s.id))
        })
        .collect();
    if !named.is_empty() {
        tracing::warn!(
            count = named.len(),
            sources = %named.join("; "),
            "stored sources break rules added since they were written (names without \"/\", policy within \
             [limits]); they are kept and checked as they are: rename or update them"
        );
    }
    named.len()
}

/// [`warn_existing`] over the store, off the start-up path (a large store
/// would otherwise pay one more full read before serving).
pub fn spawn_warning(store: std::sync::Arc<dyn Store>, limits: LimitsConfig) {
    tokio::spawn(async move {
        match store.list_sources().await {
            Ok(sources) => {
                warn_existing(&sources, &limits);
            }
            Err(e) => tracing::warn!(error = %e, "stored sources not checked against today's rules"),
        }
    });
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::model::Policy;

    #[test]
    fn names_and_bounds_name_the_field() {
        let limits = LimitsConfig::default();
        let mut s = Source::for_test("org_beta/victim", "org_acme", "tcp");
        assert_eq!(broken(&s, &limits).as_deref(), Some("name contains \"/\""));
        s.name = "fine".into();
        assert_eq!(broken(&s, &limits), None);
        s.policy = Policy { interval: Duration::from_millis(1), ..Policy::default() };
        assert!(broken(&s, &limits).is_some_and(|w| w.starts_with("interval must be from 1s")));
        assert_eq!(warn_existing(&[s.clone(), Source::for_test("ok", "org_a", "tcp")], &limits), 1);
    }
}
