//! Whole checks of the `http` probe against a local recording server
//! (`sonde_test_support::http_server`, which answers 200 and checks no
//! credential), with no `auth` and with each kind the host applies: the
//! difference in the process's CPU time per check is what credentials by
//! the host add to a real check (the policy, the token cache, the
//! signature, the secrets kept out of the guest's config and masked in its
//! output). The server's threads are in this process too, and cost the
//! same for every variant.
//!
//! Variants alternate, in a rotating order, in every round; the table
//! shows the median round.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::cpu;
use sonde_test_support::http_server::{Reply, Server};
use sonde_test_support::oidc::OidcProvider;

use super::{DEADLINE, load, median, probe, runtime, us};

const ROUNDS: usize = 7;
const PER_ROUND: usize = 300;

struct Variant {
    name: &'static str,
    config: Value,
    wall: Vec<Duration>,
    cpu: Vec<Duration>,
}

pub async fn run() {
    let server = Server::start();
    server.route("/", Reply::new(200).body("ok"));
    let url = server.url("/");
    let idp = OidcProvider::start();
    let azure_key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let mut auths: Vec<(&str, Option<Value>)> = vec![
        ("no auth", None),
        ("bearer", Some(json!({"kind": "bearer", "token": "t0ken-of-forty-characters-0123456789abcd"}))),
        (
            "aws_sigv4 (s3)",
            Some(json!({"kind": "aws_sigv4", "access_key_id": "AKIDEXAMPLE", "region": "us-east-1",
                        "service": "s3", "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})),
        ),
        (
            "azure_shared_key",
            Some(json!({"kind": "azure_shared_key", "account": "devstoreaccount1", "key": azure_key})),
        ),
    ];
    if let Some(idp) = &idp {
        let oauth = json!({"kind": "oauth2", "token_url": idp.token_url, "client_id": idp.basic.client_id,
                           "client_secret": idp.basic.client_secret, "scope": "read"});
        auths.insert(2, ("oauth2, cached token", Some(oauth)));
    }
    let mut variants: Vec<Variant> = auths
        .into_iter()
        .map(|(name, auth)| {
            let mut config = json!({"url": url});
            if let Some(auth) = auth {
                config["auth"] = auth;
            }
            Variant { name, config, wall: Vec::new(), cpu: Vec::new() }
        })
        .collect();

    let rt = runtime();
    let http = probe(&rt, "http").await;
    // Warm-up: the compiled module, the pool, the token in the cache.
    for v in &variants {
        for _ in 0..20 {
            let r = rt.check(&http, &v.config, DEADLINE).await;
            assert_eq!(r.status, Status::Ok, "{}: {r:?}", v.name);
        }
    }
    for round in 0..ROUNDS {
        let count = variants.len();
        for i in 0..count {
            let v = &mut variants[(i + round) % count];
            let (t0, c0) = (Instant::now(), cpu::process());
            for _ in 0..PER_ROUND {
                let r = rt.check(&http, &v.config, DEADLINE).await;
                assert_eq!(r.status, Status::Ok, "{}: {r:?}", v.name);
            }
            v.cpu.push((cpu::process() - c0) / PER_ROUND as u32);
            v.wall.push(t0.elapsed() / PER_ROUND as u32);
        }
    }
    if let Some(idp) = &idp {
        assert_eq!(idp.token_requests().len(), 1, "one token for every oauth2 check");
    }
    let arrived = server.requests();
    let signed = arrived.iter().filter(|r| r.header("authorization").is_some()).count();

    println!();
    println!("## Whole `http` checks against a local server, with and without `auth` ({})", load());
    println!();
    println!("| auth | wall per check | process CPU per check | CPU added by auth |");
    println!("| --- | --- | --- | --- |");
    let base = median(&mut variants[0].cpu.clone());
    for v in &mut variants {
        let cpu = median(&mut v.cpu);
        let added = if v.name == "no auth" {
            "—".to_string()
        } else if cpu >= base {
            format!("+{}", us(cpu - base))
        } else {
            format!("−{} (within noise)", us(base - cpu))
        };
        println!("| {} | {} | {} | {added} |", v.name, us(median(&mut v.wall)), us(cpu));
    }
    println!(
        "(median of {ROUNDS} alternating rounds of {PER_ROUND} sequential checks; {} requests arrived, {signed} with an Authorization header)",
        arrived.len()
    );
}
