//! One conformance table for every built-in probe: the cases each must pass,
//! written once, and per probe only its servers and its rows.
//!
//! | case | what a probe's row gives | what the harness asserts |
//! | --- | --- | --- |
//! | `ok` | a real server and configs that should pass | OK, plus the row's own facts |
//! | `credentials` | right, wrong and missing credentials | OK / "authentication failed" (or "permission denied") |
//! | `missing_resource` | a config naming what is not there | "<noun> does not exist" |
//! | `wrong_server` | another protocol's server on the port | "unexpected protocol", or TIMEOUT for a server that waits silently |
//! | `silent_server` | (standard) its config for a port | TIMEOUT on a listener that accepts and never answers |
//! | `refused_port` | (standard) its config for a port | "connection refused" on a closed port |
//! | `invalid_config` | configs that cannot work | FAILED before any connect |
//! | `tls_table`, `tls_client_certificate` | its TLS servers ([`tls`]) | the TLS table of DESIGN §4 |
//! | `tls_modes` | what each `tls.mode` does against plaintext and TLS servers | OK with or without `details.tls`, or the stable message |
//! | `stable_messages` ([`stable`]) | (all rows at once) | every message a row expects is a stable one of DESIGN §3/§4 for its case, or one the probe declares with its reason |
//!
//! A case a probe cannot have is [`Row::Skip`] with the reason, printed when
//! its test runs; never a row left out. Adding a probe is one file: a
//! `fn probe() -> Probe` and `cases!(probe)`, plus its line in [`PROBES`].
//! Each (probe, case) is its own test, `conformance::<probe>::<case>`, so a
//! failure names both and the cases run in parallel.
//!
//! An HTTP API probe (s3, azure, a SaaS type) fits the same rows: `address`
//! builds its endpoint URL for a port, `credentials` adds a 403 step
//! ("permission denied"), `missing_resource` names its noun ("bucket does
//! not exist"), and its HTTPS server goes into [`tls::TlsServers`].

mod amqp;
mod clickhouse;
mod http;
mod imap;
mod kafka;
mod ldap;
pub mod mongodb;
mod mqtt;
mod mysql;
mod nats;
mod postgres;
mod redis;
mod sftp;
mod smtp;
mod stable;
mod tcp;
pub mod tls;

use std::any::Any;
use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::{SilentListener, closed_port, require};

use crate::common::{load, runtime};

/// Every probe in the table, for the cases over all rows.
const PROBES: &[fn() -> Probe] = &[
    amqp::probe,
    clickhouse::probe,
    http::probe,
    ldap::probe,
    imap::probe,
    mongodb::probe,
    kafka::cloud,
    kafka::self_hosted,
    mqtt::probe,
    mysql::probe,
    nats::probe,
    postgres::probe,
    redis::probe,
    sftp::probe,
    smtp::probe,
    tcp::probe,
];

/// The stable messages of DESIGN §3 and §4 (the TLS ones included). A
/// missing resource is "<noun> does not exist" besides these.
pub const REFUSED: &str = "connection refused";
pub const AUTH_FAILED: &str = "authentication failed";
pub const PERMISSION_DENIED: &str = "permission denied";
pub const UNEXPECTED_PROTOCOL: &str = "unexpected protocol";
pub const NOT_TRUSTED: &str = "certificate not trusted";
pub const EXPIRED: &str = "certificate expired";
pub const NAME_MISMATCH: &str = "certificate name mismatch";
pub const EXPIRES_SOON: &str = "certificate expires soon";
pub const NO_TLS: &str = "server does not support TLS";
const TLS_MESSAGES: &[&str] = &[NOT_TRUSTED, EXPIRED, NAME_MISMATCH, EXPIRES_SOON, NO_TLS];

/// The deadline of a check that is meant to time out.
pub const SHORT: Duration = Duration::from_millis(700);
/// The deadline of every other check.
const LONG: Duration = Duration::from_secs(10);

/// One built-in probe's rows.
pub struct Probe {
    /// The source type (`redis`), which is also the probe's name.
    pub source_type: &'static str,
    /// The config that reaches a plaintext listener on loopback `port`.
    pub address: fn(u16) -> Value,
    pub ok: Row,
    pub credentials: Row,
    pub missing_resource: Row,
    pub wrong_server: Row,
    pub silent_server: Row,
    pub refused_port: Row,
    pub invalid_config: Row,
    pub tls: tls::Tls,
    pub tls_modes: Row,
    /// Messages outside DESIGN §3/§4 that the rows expect, each with why.
    pub own_messages: &'static [(&'static str, &'static str)],
}

/// What a probe does for one case.
pub enum Row {
    /// These scenarios, in order.
    Run(Vec<Scenario>),
    /// The harness's own scenario, from [`Probe::address`] (the silent and
    /// refused cases only).
    Standard,
    /// Not a case this probe can have, and why.
    Skip(&'static str),
}

/// The cases, one test each per probe.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Case {
    Ok,
    Credentials,
    MissingResource,
    WrongServer,
    SilentServer,
    RefusedPort,
    InvalidConfig,
    TlsModes,
}

/// A server a scenario's steps run against; it stops when dropped.
pub struct Server {
    pub port: u16,
    /// A user made for the scenario (a Redis ACL user), or empty.
    pub user: String,
    /// For a TLS server: the test CA's PEM and the certificate's `not_after`.
    pub tls: Option<TlsFacts>,
    guards: Vec<Box<dyn Any>>,
}

pub struct TlsFacts {
    pub ca: String,
    pub not_after: String,
}

impl Server {
    /// The shared server at 127.0.0.1:`port`, or None (a skip, or a failure
    /// under `CI=true`) when it is not there.
    pub fn shared(service: &str, port: u16) -> Option<Self> {
        require(service, &format!("127.0.0.1:{port}")).then(|| Self::private(port, ()))
    }

    /// A private server; `guard` keeps it running.
    pub fn private(port: u16, guard: impl Any) -> Self {
        Self { port, user: String::new(), tls: None, guards: vec![Box::new(guard)] }
    }

    /// Keeps `guard` (an account made for the scenario) alive too, its name in `user`.
    pub fn holding(mut self, user: &str, guard: impl Any) -> Self {
        self.user = user.to_string();
        self.guards.push(Box::new(guard));
        self
    }

    /// The guard of type `T`: the server itself, for facts only it knows.
    pub fn get<T: Any>(&self) -> &T {
        self.guards.iter().find_map(|g| g.downcast_ref()).expect("a guard of that type")
    }
}

/// One server and the checks run against it.
pub struct Scenario {
    start: Box<dyn Fn() -> Option<Server>>,
    steps: Vec<Step>,
}

impl Scenario {
    /// Steps against the server `start` returns; None skips the scenario.
    pub fn on(start: impl Fn() -> Option<Server> + 'static, steps: Vec<Step>) -> Self {
        Self { start: Box::new(start), steps }
    }

    /// Steps against the shared `service` on 127.0.0.1:`port`.
    pub fn shared(service: &'static str, port: u16, steps: Vec<Step>) -> Self {
        Self::on(move || Server::shared(service, port), steps)
    }

    /// Steps that need no server (a config refused before any connect).
    pub fn serverless(steps: Vec<Step>) -> Self {
        Self::on(|| Some(Server::private(0, ())), steps)
    }
}

/// One check: its config, built for the scenario's server, and its outcome.
pub struct Step {
    config: Box<dyn Fn(&Server) -> Value>,
    expect: Expect,
    timeout: Duration,
}

pub fn step(config: impl Fn(&Server) -> Value + 'static, expect: Expect) -> Step {
    let timeout = if expect.status == Status::Timeout { SHORT } else { LONG };
    Step { config: Box::new(config), expect, timeout }
}

/// Each config as one step with the same outcome (FAILED configs, say).
pub fn steps(configs: Vec<Value>, expect: fn() -> Expect) -> Vec<Step> {
    configs.into_iter().map(|c| step(move |_| c.clone(), expect())).collect()
}

/// A check's expected outcome: status, message, text in `extra`, and any
/// probe-specific facts.
pub struct Expect {
    status: Status,
    message: Option<&'static str>,
    extra: Vec<&'static str>,
    then: Option<Then>,
}

/// A probe-specific assertion on a report, with the scenario's server.
type Then = Box<dyn Fn(&CheckReport, &Server)>;

impl Expect {
    pub fn ok() -> Self {
        Self { status: Status::Ok, message: None, extra: Vec::new(), then: None }
    }

    pub fn error(message: &'static str) -> Self {
        Self { status: Status::Error, message: Some(message), ..Self::ok() }
    }

    /// TIMEOUT with the host's message for the step's deadline.
    pub fn timeout() -> Self {
        Self { status: Status::Timeout, ..Self::ok() }
    }

    pub fn failed() -> Self {
        Self { status: Status::Failed, ..Self::ok() }
    }

    /// `extra` must contain `text` (the server's own code, say).
    pub fn extra(mut self, text: &'static str) -> Self {
        self.extra.push(text);
        self
    }

    /// A probe-specific assertion on the report, with the server at hand.
    pub fn then(mut self, check: impl Fn(&CheckReport, &Server) + 'static) -> Self {
        self.then = Some(Box::new(check));
        self
    }

    fn assert(&self, r: &CheckReport, server: &Server, timeout: Duration, what: &str) {
        assert_eq!(r.status, self.status, "{what}: {r:?}");
        match (self.status, self.message) {
            (Status::Timeout, _) => {
                let want = format!("timed out after {}", humantime::format_duration(timeout));
                assert_eq!(r.message.as_deref(), Some(want.as_str()), "{what}: {r:?}");
            }
            (_, Some(message)) => assert_eq!(r.message.as_deref(), Some(message), "{what}: {r:?}"),
            _ => {}
        }
        for text in &self.extra {
            assert!(r.extra.as_deref().is_some_and(|e| e.contains(text)), "{what}: {text:?} in extra: {r:?}");
        }
        if let Some(then) = &self.then {
            then(r, server);
        }
    }
}

/// `{"host": "127.0.0.1", "port": port}` with `extra`'s members; a null
/// member is left out, so `"tls": null` means no `tls` at all.
pub fn loopback(port: u16, extra: Value) -> Value {
    let mut config = json!({"host": "127.0.0.1", "port": port});
    for (key, value) in extra.as_object().into_iter().flatten().filter(|(_, v)| !v.is_null()) {
        config[key] = value.clone();
    }
    config
}

/// The shared `service` on 127.0.0.1:`port`, reached with `address`, as
/// the wrong kind of server: "unexpected protocol".
pub fn another_protocol(service: &'static str, port: u16, address: fn(u16) -> Value) -> Scenario {
    Scenario::shared(service, port, vec![step(move |s| address(s.port), Expect::error(UNEXPECTED_PROTOCOL))])
}

/// FAILED for each of `configs`, and for what no host-and-port probe
/// accepts: no host, an empty one, port 0.
pub fn invalid_host_port(configs: Vec<Value>) -> Row {
    let common = [json!({}), json!({"host": ""}), json!({"host": "h", "port": 0})];
    Row::Run(vec![Scenario::serverless(steps(common.into_iter().chain(configs).collect(), Expect::failed))])
}

/// `{"host": "127.0.0.1", "port": port}`: most probes' [`Probe::address`].
pub fn host_port(port: u16) -> Value {
    loopback(port, json!({}))
}

/// The test for each case of `$probe`, in the module that calls it.
macro_rules! cases {
    ($probe:path) => {
        $crate::conformance::cases!(@each $probe: ok Ok, credentials Credentials,
            missing_resource MissingResource, wrong_server WrongServer, silent_server SilentServer,
            refused_port RefusedPort, invalid_config InvalidConfig, tls_modes TlsModes);

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn tls_table() {
            $crate::conformance::tls::table($probe()).await;
        }

        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn tls_client_certificate() {
            $crate::conformance::tls::client_certificate($probe()).await;
        }
    };
    (@each $probe:path: $($name:ident $case:ident),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            $crate::conformance::run($probe(), $crate::conformance::Case::$case).await;
        }
    )*};
}
pub(crate) use cases;

impl Probe {
    fn take(self, case: Case) -> Row {
        match case {
            Case::Ok => self.ok,
            Case::Credentials => self.credentials,
            Case::MissingResource => self.missing_resource,
            Case::WrongServer => self.wrong_server,
            Case::SilentServer => self.silent_server,
            Case::RefusedPort => self.refused_port,
            Case::InvalidConfig => self.invalid_config,
            Case::TlsModes => self.tls_modes,
        }
    }
}

/// The harness's scenario for a case every probe shares the shape of.
fn standard(case: Case, address: fn(u16) -> Value) -> Scenario {
    match case {
        Case::SilentServer => Scenario::on(
            || {
                let peer = SilentListener::start();
                Some(Server::private(peer.port, peer))
            },
            vec![step(
                move |s| address(s.port),
                Expect::timeout()
                    .then(|_, s| assert_eq!(s.get::<SilentListener>().accepted(), 1, "never connected")),
            )],
        ),
        Case::RefusedPort => Scenario::on(
            || Some(Server::private(closed_port(), ())),
            vec![step(move |s| address(s.port), Expect::error(REFUSED))],
        ),
        _ => panic!("{case:?} has no standard scenario: the probe gives its own"),
    }
}

/// Runs `probe`'s row for `case`.
pub async fn run(probe: Probe, case: Case) {
    let (name, address) = (probe.source_type, probe.address);
    let scenarios = match probe.take(case) {
        Row::Skip(reason) => {
            eprintln!("SKIPPED: {name} has no {case:?} case: {reason}");
            return;
        }
        Row::Standard => vec![standard(case, address)],
        Row::Run(scenarios) => scenarios,
    };
    let rt = runtime();
    let plugin = load(&rt, sonde_test_support::probe(name)).await;
    for (i, scenario) in scenarios.iter().enumerate() {
        let Some(server) = (scenario.start)() else { continue };
        for (j, step) in scenario.steps.iter().enumerate() {
            let config = (step.config)(&server);
            let r = rt.check(&plugin, &config, step.timeout).await;
            let what = format!("{name} / {case:?} / scenario {i} step {j} / {config}");
            step.expect.assert(&r, &server, step.timeout, &what);
        }
    }
}
