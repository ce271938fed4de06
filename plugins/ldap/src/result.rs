//! LDAP result codes (RFC 4511 Appendix A, and the few later RFCs' codes
//! servers send) and what each means for a health check: the stable
//! messages of DESIGN §3, with the code, its name and the server's own
//! words in `extra`.

use sonde_sdk::{CheckError, Problem, messages, stage};

use crate::msg::{Outcome, short};

pub(crate) const SUCCESS: i64 = 0;
pub(crate) const SIZE_LIMIT_EXCEEDED: i64 = 4;

/// The operation an answer belongs to: a code means different things.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum During {
    Bind,
    Search,
}

impl During {
    fn name(self) -> &'static str {
        match self {
            During::Bind => "the bind",
            During::Search => "the base search",
        }
    }
}

/// The name RFC 4511 gives `code`, or "unknown".
pub(crate) fn name(code: i64) -> &'static str {
    match code {
        0 => "success",
        1 => "operationsError",
        2 => "protocolError",
        3 => "timeLimitExceeded",
        4 => "sizeLimitExceeded",
        5 => "compareFalse",
        6 => "compareTrue",
        7 => "authMethodNotSupported",
        8 => "strongerAuthRequired",
        10 => "referral",
        11 => "adminLimitExceeded",
        12 => "unavailableCriticalExtension",
        13 => "confidentialityRequired",
        14 => "saslBindInProgress",
        16 => "noSuchAttribute",
        17 => "undefinedAttributeType",
        18 => "inappropriateMatching",
        19 => "constraintViolation",
        20 => "attributeOrValueExists",
        21 => "invalidAttributeSyntax",
        32 => "noSuchObject",
        33 => "aliasProblem",
        34 => "invalidDNSyntax",
        36 => "aliasDereferencingProblem",
        48 => "inappropriateAuthentication",
        49 => "invalidCredentials",
        50 => "insufficientAccessRights",
        51 => "busy",
        52 => "unavailable",
        53 => "unwillingToPerform",
        54 => "loopDetect",
        64 => "namingViolation",
        65 => "objectClassViolation",
        66 => "notAllowedOnNonLeaf",
        67 => "notAllowedOnRDN",
        68 => "entryAlreadyExists",
        69 => "objectClassModsProhibited",
        71 => "affectsMultipleDSAs",
        80 => "other",
        118 => "canceled",
        119 => "noSuchOperation",
        120 => "tooLate",
        121 => "cannotCancel",
        122 => "assertionFailed",
        123 => "authorizationDenied",
        _ => "unknown",
    }
}

/// The stable message and stage for a failed `during` that answered `code`.
///
/// | during | codes | message |
/// | --- | --- | --- |
/// | bind | invalidCredentials, inappropriateAuthentication (anonymous binds refused), invalidDNSyntax (a malformed `bind_dn`), authMethodNotSupported, strongerAuthRequired, confidentialityRequired | "authentication failed" |
/// | search | insufficientAccessRights, strongerAuthRequired, confidentialityRequired | "permission denied" |
/// | search | noSuchObject | "entry does not exist" |
/// | any | anything else | "server error" |
fn meaning(during: During, code: i64) -> (String, &'static str) {
    match (during, code) {
        (During::Bind, 7 | 8 | 13 | 34 | 48 | 49) => (messages::AUTHENTICATION_FAILED.into(), stage::AUTH),
        (During::Search, 8 | 13 | 50) => (messages::PERMISSION_DENIED.into(), stage::PERMISSION),
        (During::Search, 32) => (messages::does_not_exist("entry"), stage::RESOURCE),
        _ => (SERVER_ERROR.into(), stage::PROTOCOL),
    }
}

/// What this probe says for an LDAP failure it has no stable message for.
pub(crate) const SERVER_ERROR: &str = "server error";

/// The failure for `during` answered with `outcome` (not success).
pub(crate) fn failure(during: During, outcome: &Outcome) -> CheckError {
    let (message, stage) = meaning(during, outcome.code);
    let result = name(outcome.code);
    let mut detail = format!("{} answered {result} ({})", during.name(), outcome.code);
    if !outcome.diagnostic.is_empty() {
        detail.push_str(&format!(": {}", short(&outcome.diagnostic)));
    }
    let mut problem = Problem::staged(message, stage, detail)
        .with_member("result_code", outcome.code)
        .with_member("result", result)
        .with_member("diagnostic", short(&outcome.diagnostic));
    if !outcome.matched_dn.is_empty() {
        // For noSuchObject: the deepest entry of the base DN that exists.
        problem = problem.with_member("matched_dn", short(&outcome.matched_dn));
    }
    problem.into()
}

#[cfg(test)]
mod tests {
    use sonde_sdk::testing::unhealthy;

    use super::*;

    fn outcome(code: i64, matched_dn: &str, diagnostic: &str) -> Outcome {
        Outcome { code, matched_dn: matched_dn.into(), diagnostic: diagnostic.into() }
    }

    #[test]
    fn the_stable_messages_and_their_extra() {
        let (message, extra) = unhealthy(failure(During::Bind, &outcome(49, "", "")));
        assert_eq!(message, "authentication failed");
        assert_eq!(
            extra,
            serde_json::json!({
                "stage": "auth", "detail": "the bind answered invalidCredentials (49)",
                "result_code": 49, "result": "invalidCredentials", "diagnostic": "",
            })
        );
        let (message, extra) = unhealthy(failure(During::Search, &outcome(32, "dc=sonde,dc=test", "")));
        assert_eq!(
            (message.as_str(), &extra["matched_dn"]),
            ("entry does not exist", &"dc=sonde,dc=test".into())
        );
        assert_eq!(extra["stage"], "resource");
        let (message, extra) = unhealthy(failure(During::Search, &outcome(50, "", "no search")));
        assert_eq!(
            (message.as_str(), &extra["result"]),
            ("permission denied", &"insufficientAccessRights".into())
        );
        assert_eq!(extra["detail"], "the base search answered insufficientAccessRights (50): no search");
    }

    #[test]
    fn a_code_means_what_its_operation_makes_it() {
        let message = |during, code| unhealthy(failure(during, &outcome(code, "", ""))).0;
        assert_eq!(message(During::Bind, 48), "authentication failed");
        assert_eq!(message(During::Bind, 50), SERVER_ERROR);
        assert_eq!(message(During::Search, 49), SERVER_ERROR);
        assert_eq!(message(During::Search, 13), "permission denied");
        let (_, extra) = unhealthy(failure(During::Bind, &outcome(4242, "", "")));
        assert_eq!((&extra["result_code"], &extra["result"]), (&4242.into(), &"unknown".into()));
    }
}
