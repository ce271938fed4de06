//! Secrets and agents (DESIGN §10): a source's password travels to the
//! agent inside the answer to its poll, for the source it claims, and
//! nowhere else: not into the agent's logs (at debug), not onto its disk,
//! not into any answer of the API, not to an agent of another location.

use std::time::Duration;

use super::*;

const SECRET: &str = "agent-secret-pw-7c1e";

#[test]
fn a_password_reaches_the_claiming_agent_and_nothing_else() {
    let toml = format!(
        "{}[[sources]]\nname = \"cache\"\norganization = \"org_a\"\ntype = \"redis\"\n\
         config = {{ host = \"127.0.0.1\", port = 6379, password = \"{SECRET}\" }}\ninterval = \"300ms\"\n\
         timeout = \"2s\"\nretries = 0\nlocations = [\"site-a\"]\n",
        keys_and_locations("30s"),
    );
    let serve = Serve::start(&toml);
    let id = source_id(&serve, ORG_A, "cache");
    let agent = Agent::start(&serve.base, "site-a", "holder", AGENT_A, &[], &[]);
    wait_check(&serve, &id, "a check by the agent", Duration::from_secs(60), |c| c["location"] == "site-a");
    std::thread::sleep(Duration::from_secs(1));

    assert!(!agent.logs().contains(SECRET), "the agent logs no secret:\n{}", agent.logs());
    assert!(agent.written().is_empty(), "the agent writes nothing: {:?}", agent.written());
    assert!(!serve.logs().contains(SECRET));
    for (key, path) in [
        (ORG_A, format!("/api/v1/sources/{id}")),
        (ORG_A, "/api/v1/sources".to_string()),
        (ADMIN, format!("/v1/sources/{id}/checks")),
        (ADMIN, "/v1/agents".to_string()),
    ] {
        let (status, body) = serve.call("GET", &path, key, None);
        assert_eq!(status, 200, "{path}");
        assert!(!body.to_string().contains(SECRET), "{path}: {body}");
    }
    // Another location's agent is given nothing of it, nor is a second
    // agent of this one while the first holds it.
    let (_, far) = poll(&serve, AGENT_B, "far");
    assert!(!far.to_string().contains(SECRET), "{far}");
    let (_, second) = poll(&serve, AGENT_A, "second");
    assert!(!second.to_string().contains(SECRET), "{second}");
    // The holder's poll does carry it: the check needs it.
    let (_, own) = poll(&serve, AGENT_A, "holder");
    assert_eq!(own["claims"][0]["config"]["password"], SECRET, "{own}");
}
