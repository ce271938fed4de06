//! The `stable_messages` case: over every probe's rows at once, each ERROR
//! a row expects has a stable message of DESIGN §3/§4 for its case, or one
//! the probe declares with its reason (and really uses).

use sonde::runtime::Status;

use super::{AUTH_FAILED, Case, PERMISSION_DENIED, PROBES, REFUSED, Row, TLS_MESSAGES, UNEXPECTED_PROTOCOL};

/// Whether `message` is a stable one for `case` (DESIGN §3/§4).
fn stable_for(case: Case, message: &str) -> bool {
    match case {
        Case::Credentials => [AUTH_FAILED, PERMISSION_DENIED].contains(&message),
        Case::MissingResource => message.ends_with(" does not exist"),
        Case::WrongServer => message == UNEXPECTED_PROTOCOL,
        Case::RefusedPort => message == REFUSED,
        Case::TlsModes => TLS_MESSAGES.contains(&message),
        Case::Ok | Case::SilentServer | Case::InvalidConfig => false,
    }
}

/// Every ERROR a row expects has a stable message for its case, or one its
/// probe declares (with the reason) and really uses; OK rows expect OK.
#[test]
fn stable_messages() {
    const CASES: [Case; 8] = [
        Case::Ok,
        Case::Credentials,
        Case::MissingResource,
        Case::WrongServer,
        Case::SilentServer,
        Case::RefusedPort,
        Case::InvalidConfig,
        Case::TlsModes,
    ];
    for make in PROBES {
        let (name, own) = (make().source_type, make().own_messages);
        let mut used = Vec::new();
        for case in CASES {
            let Row::Run(scenarios) = make().take(case) else { continue };
            for expect in scenarios.iter().flat_map(|s| &s.steps).map(|s| &s.expect) {
                let wanted: &[Status] = match case {
                    Case::Ok => &[Status::Ok],
                    Case::WrongServer => &[Status::Error, Status::Timeout],
                    Case::SilentServer => &[Status::Timeout],
                    Case::InvalidConfig => &[Status::Failed],
                    _ => &[Status::Ok, Status::Error],
                };
                assert!(wanted.contains(&expect.status), "{name} / {case:?}: {:?}", expect.status);
                let Some(message) = expect.message else { continue };
                if let Some((m, _)) = own.iter().find(|(m, _)| *m == message) {
                    used.push(*m);
                } else {
                    assert!(stable_for(case, message), "{name} / {case:?}: {message:?} is no stable message");
                }
            }
        }
        for (message, why) in own {
            assert!(used.contains(message), "{name} declares {message:?} ({why}) but no row expects it");
        }
    }
}
