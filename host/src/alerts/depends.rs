//! Dependencies (DESIGN §8): while a route sees a source's dependency
//! down, the source's own "down" is held back for that route. Pure, like
//! [`super::rules`], whose [`RouteState`] it moves.
//!
//! When one switch fails, its dependents fail with it, a little before or
//! after it. So a dependency counts as down from its **first** failed check
//! (not only once its own threshold is reached), and the hold outlasts it:
//! after it recovers, a dependent's "down" goes out only once the dependent
//! has failed `failure_threshold` more checks that *started* after the
//! dependency's last failure. A dependent that recovers with its dependency
//! therefore sends nothing at all, neither "down" nor "up" ("up" is only
//! ever sent for a "down" that was sent).

use chrono::{DateTime, Utc};

use super::rules::{Announced, RouteState, Rule};

/// One dependency as the route sees it: its name, and its view if the
/// route has one yet.
pub type DependencyView<'a> = (&'a str, Option<&'a RouteState>);

/// Before the check moves `state`: whether `deps` hold its "down" back.
/// `ok` and `created` are the check's outcome and creation time.
pub fn hold(
    state: &mut RouteState,
    rule: &Rule,
    ok: bool,
    created: DateTime<Utc>,
    deps: &[DependencyView],
) -> bool {
    let failing = deps.iter().find(|(_, view)| view.is_some_and(|v| v.down || v.failures > 0));
    if let Some((name, _)) = failing {
        if state.suppressed.as_deref() != Some(*name) {
            state.suppressed = Some((*name).to_string());
        }
        state.fresh = 0;
        return true;
    }
    if state.suppressed.is_none() {
        return false;
    }
    if !state.down && state.failures == 0 {
        // Healthy again with its dependencies: the incident is over.
        release(state);
        return false;
    }
    let last_dependency_failure = deps.iter().filter_map(|(_, v)| v.and_then(|v| v.last_failure)).max();
    if ok {
        state.fresh = 0;
    } else if last_dependency_failure.is_none_or(|t| created > t) {
        state.fresh = state.fresh.saturating_add(1);
    }
    if state.fresh >= rule.failure_threshold {
        release(state);
        return false;
    }
    true
}

/// After the check moved `state` (held by dependencies when `held`):
/// ends the hold once the source is up, and returns true exactly once per
/// incident, when a "down" was first held back (to count as suppressed).
pub fn settle(state: &mut RouteState, held: bool) -> bool {
    if !state.down {
        if !held {
            release(state);
        }
        return false;
    }
    let withheld_now = held && state.announced != Announced::Down && !state.withheld;
    if withheld_now {
        state.withheld = true;
    }
    withheld_now
}

fn release(state: &mut RouteState) {
    state.suppressed = None;
    state.fresh = 0;
    state.withheld = false;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alerts::rules::EventKind;
    use crate::alerts::rules::testing::{RULE, t};

    /// A switch and one dependent, each checked once a second (the switch
    /// first); `switch` and `dependent` are their outcomes ('o' OK, 'x' not).
    /// Returns what each announced, and how many "down"s were suppressed.
    fn run(switch: &str, dependent: &str) -> (Vec<EventKind>, Vec<EventKind>, u32) {
        let (mut sw, mut dep) = (RouteState::default(), RouteState::default());
        let (mut sent_sw, mut sent_dep, mut suppressed) = (vec![], vec![], 0);
        for (i, (a, b)) in switch.chars().zip(dependent.chars()).enumerate() {
            let at = t(i as i64);
            sent_sw.extend(sw.observe(&RULE, a == 'o', at, false));
            let held = hold(&mut dep, &RULE, b == 'o', at, &[("switch", Some(&sw))]);
            sent_dep.extend(dep.observe(&RULE, b == 'o', at, held));
            suppressed += u32::from(settle(&mut dep, held));
        }
        (sent_sw, sent_dep, suppressed)
    }

    #[test]
    fn only_the_dependency_pages_when_both_fail_and_recover_together() {
        use EventKind::*;
        let (sw, dep, suppressed) = run("xxxxxxoooo", "xxxxxxoooo");
        assert_eq!(sw, vec![Down, Up]);
        assert_eq!(dep, vec![], "neither down nor up for the dependent");
        assert_eq!(suppressed, 1, "one suppressed down per incident");
    }

    #[test]
    fn a_dependent_that_fails_before_its_dependency_is_held_from_the_first_failure() {
        // The switch's first failure comes with the dependent's second.
        let (_, dep, _) = run("oxxxxxoooo", "xxxxxxoooo");
        assert_eq!(dep, vec![]);
    }

    #[test]
    fn a_dependent_still_failing_after_its_dependency_recovered_pages_after_a_fresh_streak() {
        use EventKind::*;
        // The switch recovers at t=6; the dependent fails on to t=12.
        let (sw, dep, _) = run("xxxxxxoooooooooo", "xxxxxxxxxxxxxooo");
        assert_eq!(sw, vec![Down, Up]);
        assert_eq!(dep, vec![Down, Up], "its own outage, announced once the hold ended");
    }

    #[test]
    fn a_dependent_down_on_its_own_is_not_held() {
        let (sw, dep, suppressed) = run("oooooo", "xxxooo");
        assert_eq!(sw, vec![]);
        assert_eq!(dep, vec![EventKind::Down, EventKind::Up]);
        assert_eq!(suppressed, 0);
    }

    #[test]
    fn an_announced_down_waits_for_its_up_while_the_dependency_is_down() {
        use EventKind::*;
        // The dependent is down (announced) before the switch fails; its up
        // comes while the switch is down and is announced once it is back.
        let (_, dep, _) = run("ooooxxxxxoooo", "xxxxxooooooo");
        assert_eq!(dep, vec![Down, Up]);
    }
}
