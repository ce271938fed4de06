//! Slots for synchronous checks (the Aitronos test, by id or inline), shared
//! out between organizations by the same [`FairQueue`] the scheduler uses:
//! organizations take turns, none runs more than its fair share while
//! another waits, and a slot is held for each other organization that has
//! a key. A caller that cannot start within its own timeout is turned away
//! ([`Busy`]: a 429 with `Retry-After`), so a flood from one organization
//! neither holds requests forever nor delays another's beyond one check.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::sync::oneshot;

use super::fair::FairQueue;
use crate::config::{ApiKey, Role};

/// No slot freed within the caller's timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("too many checks running; retry after {}s", retry_after.as_secs())]
pub struct Busy {
    /// When trying again makes sense: one check's timeout, in whole seconds.
    pub retry_after: Duration,
}

struct Waiter {
    id: u64,
    wake: oneshot::Sender<()>,
}

struct Inner {
    queue: FairQueue<Waiter>,
    next_id: u64,
}

/// The slots; see the module docs.
pub struct Gate {
    inner: Mutex<Inner>,
}

impl std::fmt::Debug for Gate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gate").finish_non_exhaustive()
    }
}

/// A slot, given back when dropped.
#[derive(Debug)]
pub struct Pass {
    gate: Arc<Gate>,
    organization: String,
}

impl Drop for Pass {
    fn drop(&mut self) {
        let mut inner = self.gate.lock();
        inner.queue.finished(&self.organization);
        pump(&mut inner);
    }
}

/// Starts every waiter the queue now allows; a waiter that has gone (its
/// request ended) gives its slot straight back.
fn pump(inner: &mut Inner) {
    while let Some((org, waiter)) = inner.queue.pop() {
        if waiter.wake.send(()).is_err() {
            inner.queue.finished(&org);
        }
    }
}

impl Gate {
    /// `limit` slots in all; `organizations` that may call (one slot is
    /// held for each but the caller).
    pub fn new(limit: usize, organizations: usize) -> Arc<Self> {
        let mut queue = FairQueue::new(limit);
        queue.set_known(organizations);
        Arc::new(Self { inner: Mutex::new(Inner { queue, next_id: 0 }) })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// A slot for `organization`, if one comes within `within`.
    pub async fn enter(self: &Arc<Self>, organization: &str, within: Duration) -> Result<Pass, Busy> {
        let (wake, mut woken) = oneshot::channel();
        let id = {
            let mut inner = self.lock();
            inner.next_id += 1;
            let id = inner.next_id;
            inner.queue.push(organization, Waiter { id, wake });
            pump(&mut inner);
            id
        };
        let pass = || Pass { gate: Arc::clone(self), organization: organization.to_string() };
        if let Ok(Ok(())) = tokio::time::timeout(within, &mut woken).await {
            return Ok(pass());
        }
        // A slot may have come just as the time ran out: then it is ours.
        woken.close();
        if woken.try_recv().is_ok() {
            return Ok(pass());
        }
        self.lock().queue.retain(|w| w.id != id);
        Err(Busy { retry_after: Duration::from_secs(within.as_secs_f64().ceil().max(1.0) as u64) })
    }

    /// Slots in use and callers waiting.
    pub fn load(&self) -> (usize, usize) {
        let inner = self.lock();
        (inner.queue.running(), inner.queue.queued())
    }
}

/// How many organizations have keys: each gets a slot held for it.
pub fn key_organizations(keys: &[ApiKey]) -> usize {
    let orgs: std::collections::HashSet<&str> = keys
        .iter()
        .filter_map(|k| match &k.role {
            Role::Organization(org) => Some(org.as_str()),
            Role::Admin => None,
        })
        .collect();
    orgs.len()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_flood_cannot_hold_another_organization_out() {
        let gate = Gate::new(4, 2);
        let mut held = Vec::new();
        // org_a alone gets all but the slot held for org_b.
        for _ in 0..3 {
            held.push(gate.enter("org_a", Duration::from_millis(10)).await.expect("a slot"));
        }
        let turned = gate.enter("org_a", Duration::from_millis(50)).await.expect_err("over its share");
        assert_eq!(turned.retry_after, Duration::from_secs(1));
        let b = gate.enter("org_b", Duration::from_millis(10)).await.expect("the held slot");
        assert_eq!(gate.load(), (4, 0));
        drop(b);
        drop(held.pop());
        assert_eq!(gate.load(), (2, 0));
    }

    #[tokio::test]
    async fn waiters_start_in_turn_when_a_slot_frees() {
        let gate = Gate::new(1, 0);
        let first = gate.enter("org_a", Duration::from_millis(10)).await.expect("free");
        let waiting = {
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { gate.enter("org_b", Duration::from_secs(30)).await.map(|_| ()) })
        };
        tokio::time::sleep(Duration::from_millis(20)).await;
        assert_eq!(gate.load(), (1, 1));
        drop(first);
        assert_eq!(waiting.await.expect("task"), Ok(()));
        assert_eq!(gate.load(), (0, 0));
    }

    #[tokio::test]
    async fn a_waiter_that_gives_up_leaves_the_queue() {
        let gate = Gate::new(1, 0);
        let _held = gate.enter("org_a", Duration::from_millis(10)).await.expect("free");
        assert!(gate.enter("org_a", Duration::from_millis(20)).await.is_err());
        assert_eq!(gate.load(), (1, 0));
    }
}
