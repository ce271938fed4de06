//! One notification per transition for the whole group (DESIGN §8 "One view
//! per group", issue 21): many sources go down together and come back,
//! watched by one process on SQLite and by two and three replicas on
//! PostgreSQL, and the receiver must get exactly what one process would
//! have sent, at the same checks: one "down" at each source's
//! `failure_threshold`-th failed check, one "up" at its
//! `success_threshold`-th OK one; through a `kill -9` mid-incident; and
//! reminders once per `repeat_interval` for the group, not per replica.

use std::collections::BTreeMap;
use std::time::Duration;

use super::incident::{Group, Outcome, compare, incident};
use super::yardstick::{Rule, describe, expected, sketch};

/// Twelve sources every 500 ms, down for 12 checks and back for 6: long
/// enough that each of three replicas, counting only its own share of the
/// checks, would reach the threshold by itself.
const SOURCES: usize = 12;
const INTERVAL: &str = "500ms";
const RULE: Rule = Rule { failure: 3, success: 2, repeat: None };

/// Fails with every source that differs from what one process would have
/// sent; and if no failed check was retried (the runs retry each once, and
/// a retried check must count once).
fn fail_unless_clean(outcomes: &[&Outcome], logs: &str) {
    let problems: Vec<String> = outcomes
        .iter()
        .filter(|o| !o.problems.is_empty())
        .map(|o| format!("{}\n  {}", o.line(), o.problems.join("\n  ")))
        .collect();
    assert!(problems.is_empty(), "not what one process would have sent:\n{}\n{logs}", problems.join("\n"));
    for o in outcomes {
        assert!(o.retried > 0, "no failed check was retried: {}", o.line());
    }
}

/// The same incident on 1, 2 and 3 processes at once (each its own target,
/// receiver and store): each holds check for check, and the notifications
/// per incident are the same; prints the MEASURE line docs/alerts.md quotes.
#[test]
fn one_down_and_one_up_per_source_with_one_two_and_three_replicas() {
    let outcomes: Vec<Option<(Outcome, String)>> = std::thread::scope(|s| {
        let runs: Vec<_> = [1, 2, 3]
            .into_iter()
            .map(|n| {
                s.spawn(move || {
                    let group = Group::start(n, SOURCES, INTERVAL, &RULE)?;
                    let outcome = incident(&group, &RULE, 12, 6);
                    let logs = if outcome.problems.is_empty() { String::new() } else { group.logs() };
                    Some((outcome, logs))
                })
            })
            .collect();
        runs.into_iter().map(|r| r.join().expect("a run panicked")).collect()
    });
    let Some(outcomes) = outcomes.into_iter().collect::<Option<Vec<_>>>() else { return };
    let per = |o: &Outcome| {
        let x = o.per_incident();
        if x.fract() == 0.0 { format!("{x:.0}") } else { format!("{x:.2}") }
    };
    println!(
        "MEASURE: notifications per incident: 1 replica = {}, 2 = {}, 3 = {}",
        per(&outcomes[0].0),
        per(&outcomes[1].0),
        per(&outcomes[2].0)
    );
    for (o, _) in &outcomes {
        println!("{}", o.line());
    }
    let logs: String = outcomes.iter().map(|(_, l)| l.as_str()).collect();
    fail_unless_clean(&outcomes.iter().map(|(o, _)| o).collect::<Vec<_>>(), &logs);
    assert!(
        outcomes.iter().all(|(o, _)| o.notifications == outcomes[0].0.notifications),
        "the same count on 1, 2 and 3 processes"
    );
}

/// Three replicas; r3 is killed with SIGKILL while the failures are being
/// counted, and r1 once the downs are out (r3 is back by then); the
/// outage goes on, then ends. Still one down and one up per source, at the
/// checks one process would have chosen (duplicates of one id are allowed).
#[test]
fn a_replica_killed_mid_incident_changes_nothing_the_receiver_sees() {
    let Some(mut group) = Group::start(3, SOURCES, INTERVAL, &RULE) else { return };
    group.wait_streak(true, 1, Duration::from_secs(30));
    group.target.down();
    // Counting has begun somewhere, and no source can be at its threshold yet.
    crate::serve::wait_for("a first failure", Duration::from_secs(10), || {
        group.histories().values().any(|h| h.last().is_some_and(|c| !c.ok()))
    });
    group.kill(2);
    group.wait_notes(&["down"], Duration::from_secs(20));
    group.restart(2);
    group.kill(0);
    group.wait_streak(false, 14, Duration::from_secs(40));
    group.target.up();
    group.wait_streak(true, 6, Duration::from_secs(30));
    group.wait_notes(&["down", "up"], Duration::from_secs(15));
    std::thread::sleep(Duration::from_millis(1500));
    let outcome = compare(&group, &RULE);
    println!("with kill -9 of r3 and then r1: {}", outcome.line());
    fail_unless_clean(&[&outcome], &group.logs());
}

/// Three replicas, `repeat_interval = 2s`: while down, each source's
/// reminders are what one process would send for its checks (within one),
/// never two of one source closer than the interval (less a check's
/// jitter), and still one down and one up.
#[test]
fn reminders_are_made_once_per_repeat_interval_for_the_group() {
    const EVERY: Duration = Duration::from_secs(2);
    let rule = Rule { repeat: Some(EVERY), ..RULE };
    let Some(group) = Group::start(3, SOURCES, INTERVAL, &rule) else { return };
    let outcome = incident(&group, &rule, 20, 6);
    let histories = group.histories();
    let notes = group.notes();
    let mut problems = outcome.problems.clone();
    let mut counts = BTreeMap::new();
    for (name, history) in &histories {
        let reminders: Vec<_> = notes.iter().filter(|n| &n.source == name && n.event == "reminder").collect();
        let want = expected(history, &rule).into_iter().filter(|(e, _)| e == "reminder").count();
        counts.insert(name.clone(), (reminders.len(), want));
        let described: Vec<String> = reminders
            .iter()
            .map(|n| format!("{} at {}", n.timestamp.format("%T%.3f"), describe(history, &n.check_id)))
            .collect();
        if reminders.len() + 1 < want || reminders.len() > want + 1 {
            problems.push(format!(
                "{name}: {} reminders, one process would have sent {want}: [{}]; history {}",
                reminders.len(),
                described.join(", "),
                sketch(history, &reminders)
            ));
        }
        // The tolerance: one check interval, as a reminder waits for a check.
        let floor =
            chrono::Duration::from_std(EVERY).expect("duration") - chrono::Duration::milliseconds(500);
        // From the down on: the first reminder is one interval after it.
        let down = notes.iter().filter(|n| &n.source == name && n.event == "down").map(|n| n.timestamp);
        let mut times: Vec<_> = down.chain(reminders.iter().map(|n| n.timestamp)).collect();
        times.sort();
        if times.windows(2).any(|w| w[1] - w[0] < floor) {
            problems.push(format!("{name}: reminders closer than {EVERY:?}: [{}]", described.join(", ")));
        }
    }
    println!("reminders per source (received, one process): {counts:?}");
    let outcome = Outcome { problems, ..outcome };
    fail_unless_clean(&[&outcome], &group.logs());
    assert!(
        counts.values().all(|(_, want)| *want >= 3),
        "the outage was long enough for reminders: {counts:?}"
    );
}
