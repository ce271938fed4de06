//! Fair dispatch: a global concurrency limit, shared out between
//! organizations so one organization's slow sources cannot starve the rest.
//!
//! Organizations with work take turns (round robin). Each may run at most its
//! fair share, `ceil(limit / organizations with work)`, so when a second
//! organization shows up, the first gives way as its checks finish. And no
//! organization may take the last slot another organization with sources
//! could need: one slot per other organization is held in reserve, so a
//! source whose checks are short never waits behind another organization's
//! long ones.

use std::collections::{HashMap, VecDeque};

#[derive(Debug)]
pub struct FairQueue<J> {
    limit: usize,
    queues: HashMap<String, VecDeque<J>>,
    ring: VecDeque<String>,
    running: HashMap<String, usize>,
    running_total: usize,
    /// Organizations that have sources at all.
    known: usize,
}

impl<J> FairQueue<J> {
    pub fn new(limit: usize) -> Self {
        Self {
            limit: limit.max(1),
            queues: HashMap::new(),
            ring: VecDeque::new(),
            running: HashMap::new(),
            running_total: 0,
            known: 0,
        }
    }

    /// How many organizations have sources, for the reserve.
    pub fn set_known(&mut self, organizations: usize) {
        self.known = organizations;
    }

    fn enqueue(&mut self, org: &str, job: J, front: bool) {
        let q = self.queues.entry(org.to_string()).or_default();
        if q.is_empty() && !self.ring.iter().any(|o| o == org) {
            self.ring.push_back(org.to_string());
        }
        if front { q.push_front(job) } else { q.push_back(job) }
    }

    /// Queues a job behind the organization's others.
    pub fn push(&mut self, org: &str, job: J) {
        self.enqueue(org, job, false);
    }

    /// Queues a job ahead of the organization's others (on-demand checks).
    pub fn push_front(&mut self, org: &str, job: J) {
        self.enqueue(org, job, true);
    }

    /// The most each organization may run at once right now.
    pub fn share(&self) -> usize {
        let active = self
            .queues
            .iter()
            .filter(|(_, q)| !q.is_empty())
            .map(|(o, _)| o)
            .chain(self.running.iter().filter(|(_, n)| **n > 0).map(|(o, _)| o))
            .collect::<std::collections::HashSet<_>>()
            .len()
            .max(1);
        let reserve = self.known.saturating_sub(1).min(self.limit - 1);
        self.limit.div_ceil(active).min(self.limit - reserve)
    }

    /// The next job allowed to start, if any; counts it as running.
    pub fn pop(&mut self) -> Option<(String, J)> {
        if self.running_total >= self.limit {
            return None;
        }
        let share = self.share();
        for _ in 0..self.ring.len() {
            let org = self.ring.pop_front()?;
            let running = self.running.get(&org).copied().unwrap_or(0);
            let queue = self.queues.get_mut(&org);
            let Some(queue) = queue.filter(|q| !q.is_empty()) else { continue };
            if running >= share {
                self.ring.push_back(org);
                continue;
            }
            let job = queue.pop_front()?;
            if !queue.is_empty() {
                self.ring.push_back(org.clone());
            }
            *self.running.entry(org.clone()).or_default() += 1;
            self.running_total += 1;
            return Some((org, job));
        }
        None
    }

    /// A job of `org` has finished.
    pub fn finished(&mut self, org: &str) {
        if let Some(n) = self.running.get_mut(org) {
            *n = n.saturating_sub(1);
            self.running_total = self.running_total.saturating_sub(1);
            if *n == 0 {
                self.running.remove(org);
            }
        }
    }

    /// Drops queued jobs that `keep` rejects.
    pub fn retain(&mut self, mut keep: impl FnMut(&J) -> bool) {
        for q in self.queues.values_mut() {
            q.retain(&mut keep);
        }
    }

    pub fn queued(&self) -> usize {
        self.queues.values().map(VecDeque::len).sum()
    }

    pub fn running(&self) -> usize {
        self.running_total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_global_limit_holds() {
        let mut q = FairQueue::new(2);
        for i in 0..5 {
            q.push("org_a", i);
        }
        assert!(q.pop().is_some() && q.pop().is_some());
        assert!(q.pop().is_none());
        q.finished("org_a");
        assert_eq!(q.pop().map(|(_, j)| j), Some(2));
    }

    #[test]
    fn a_busy_organization_cannot_starve_another() {
        let mut q = FairQueue::new(4);
        for i in 0..100 {
            q.push("org_slow", i);
        }
        // org_slow alone takes every slot...
        for _ in 0..4 {
            assert_eq!(q.pop().map(|(o, _)| o).as_deref(), Some("org_slow"));
        }
        // ...then org_fast arrives: the next freed slots go to it until the
        // shares are even (2 each), however many org_slow has queued.
        for i in 0..10 {
            q.push("org_fast", 1000 + i);
        }
        q.finished("org_slow");
        assert_eq!(q.pop().map(|(o, _)| o).as_deref(), Some("org_fast"));
        q.finished("org_slow");
        assert_eq!(q.pop().map(|(o, _)| o).as_deref(), Some("org_fast"));
        q.finished("org_slow");
        // org_slow runs 1, org_fast 2: org_slow may take one more.
        assert_eq!(q.pop().map(|(o, _)| o).as_deref(), Some("org_slow"));
        assert!(q.pop().is_none());
    }

    #[test]
    fn a_slot_is_held_for_each_other_organization() {
        let mut q = FairQueue::new(4);
        q.set_known(3);
        for i in 0..10 {
            q.push("org_slow", i);
        }
        // Alone with work, org_slow may still leave one slot for each of the
        // two other organizations.
        assert!(q.pop().is_some() && q.pop().is_some());
        assert!(q.pop().is_none());
        q.push("org_fast", 100);
        assert_eq!(q.pop().map(|(o, _)| o).as_deref(), Some("org_fast"));
    }

    #[test]
    fn organizations_take_turns() {
        let mut q = FairQueue::new(100);
        for i in 0..3 {
            q.push("org_a", i);
            q.push("org_b", i);
        }
        let order: Vec<String> = std::iter::from_fn(|| q.pop().map(|(o, _)| o)).collect();
        assert_eq!(order, ["org_a", "org_b", "org_a", "org_b", "org_a", "org_b"]);
    }

    #[test]
    fn front_jobs_jump_the_queue() {
        let mut q = FairQueue::new(1);
        q.push("org_a", 1);
        q.push_front("org_a", 2);
        assert_eq!(q.pop().map(|(_, j)| j), Some(2));
    }
}
