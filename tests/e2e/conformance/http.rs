//! The http probe's rows: scripted HTTP servers on loopback (what a real
//! server sends, scripted per path), Redis as the wrong kind of server, and
//! a loopback HTTPS server (rustls) with the test CA's certificates.

use serde_json::{Value, json};
use sonde_test_support::certs::{Leaf, Pair, TestCa};
use sonde_test_support::closed_port;
use sonde_test_support::http_server::{Reply, Server as Scripted};
use sonde_test_support::https_server::Https;

use super::tls::{Tls, TlsServers, on_tls, over_tls};
use super::{
    AUTH_FAILED, Expect, NAME_MISMATCH, NOT_TRUSTED, Probe, Row, Scenario, Server, another_protocol, cases,
    step,
};
use crate::common::assert_hidden;

fn address(port: u16) -> Value {
    json!({"url": format!("http://127.0.0.1:{port}/")})
}

fn https(port: u16) -> Value {
    json!({"url": format!("https://127.0.0.1:{port}/")})
}

fn start_tls(pair: &Pair, ca: &TestCa, demand: bool) -> Option<Server> {
    let server = Https::start(pair, ca, demand);
    Some(Server::private(server.port, server))
}

/// A scripted server with `routes`.
fn scripted(routes: fn(&Scripted)) -> impl Fn() -> Option<Server> {
    move || {
        let server = Scripted::start();
        routes(&server);
        Some(Server::private(server.port, server))
    }
}

pub fn probe() -> Probe {
    let url = format!("http://127.0.0.1:{}/", closed_port());
    Probe {
        source_type: "http",
        address,
        ok: Row::Run(vec![Scenario::on(
            scripted(|s| {
                s.route("/health", Reply::new(200).header("Server", "scripted/1.0").body("ok"));
            }),
            vec![step(
                |s| json!({"url": format!("http://127.0.0.1:{}/health", s.port)}),
                Expect::ok().then(|r, s| {
                    let details = r.details.as_ref().expect("details");
                    assert_eq!(details["status_code"], 200);
                    assert_eq!(details["server"], "scripted/1.0");
                    let seen = s.get::<Scripted>().requests();
                    let first = (seen.len(), seen[0].method.as_str(), seen[0].path.as_str());
                    assert_eq!(first, (1, "GET", "/health"));
                }),
            )],
        )]),
        // A 403 is in tests/e2e/http.rs: its mapping is the http probe's own.
        credentials: Row::Run(vec![Scenario::on(
            scripted(|s| {
                s.route("/401", Reply::new(401).header("WWW-Authenticate", "Bearer"));
            }),
            vec![step(
                |s| {
                    let url = format!("http://127.0.0.1:{}/401", s.port);
                    json!({"url": url, "user": "alice", "password": "wrong-pw"})
                },
                Expect::error(AUTH_FAILED).then(|r, _| assert_hidden(r, "wrong-pw")),
            )],
        )]),
        missing_resource: Row::Skip(
            "a URL names no resource the probe knows of: a 404 is \"unexpected status\"",
        ),
        wrong_server: Row::Run(vec![another_protocol("Redis", 6379, address)]),
        silent_server: Row::Standard,
        refused_port: Row::Standard,
        invalid_config: Row::Run(vec![Scenario::serverless(
            [
                json!({}),
                json!({"url": ""}),
                json!({"url": "not a url"}),
                json!({"url": "ftp://127.0.0.1/"}),
                json!({"url": "http://alice:url-s3cret@127.0.0.1/"}),
                json!({"url": url, "token": "t", "user": "alice"}),
                json!({"url": url, "password": "p"}),
                json!({"url": url, "headers": {"Authorization": "Bearer t"}}),
                json!({"url": url, "headers": {"Host": "example.com"}}),
                json!({"url": url, "headers": {"bad name": "x"}}),
                json!({"url": url, "method": "CONNECT"}),
                json!({"url": url, "method": "GET /"}),
                json!({"url": url, "expected_status": []}),
                json!({"url": url, "expected_status": [42]}),
                json!({"url": url, "timeout": 5}),
            ]
            .map(|config| {
                step(move |_| config.clone(), Expect::failed().then(|r, _| assert_hidden(r, "url-s3cret")))
            })
            .into(),
        )]),
        tls: Tls::Table(TlsServers { start: start_tls, plain: || None, address: https }),
        // Without a `tls` object an `https` URL is verified fully: the test
        // CA is unknown to the web PKI, so "certificate not trusted"; with it
        // in `tls.ca` (and no mode) it is OK, and the name is checked.
        tls_modes: Row::Run(vec![
            on_tls(
                start_tls,
                Leaf::Good,
                vec![step(|s| https(s.port), Expect::error(NOT_TRUSTED)), step(with_ca, over_tls())],
            ),
            on_tls(start_tls, Leaf::OtherName, vec![step(with_ca, Expect::error(NAME_MISMATCH))]),
        ]),
        own_messages: &[],
    }
}

/// The server's `https` URL with its CA in `tls.ca`, and no mode.
fn with_ca(s: &Server) -> Value {
    let mut config = https(s.port);
    config["tls"] = json!({"ca": s.tls.as_ref().expect("a TLS server").ca});
    config
}

cases!(probe);
