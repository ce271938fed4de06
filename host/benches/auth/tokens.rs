//! Token requests per 1,000 checks of one OAuth source: the `http` probe
//! with `auth` {kind oauth2, client_secret_basic} against a real
//! authorization server (npm `oidc-provider`), its `/resource` the target,
//! which answers 200 only to a live token. The server counts every token
//! request it answers.
//!
//! Then the same source with a 5 s token, checked back to back for 20 s:
//! the host refreshes a token at 80% of its life (at most 30 s early), so
//! one request per 4 s of checking is expected.

use std::time::{Duration, Instant};

use serde_json::{Value, json};
use sonde::runtime::Status;
use sonde_test_support::oidc::{OidcOptions, OidcProvider};

use super::{DEADLINE, load, probe, runtime};

const CHECKS: usize = 1000;
const SHORT_TTL: Duration = Duration::from_secs(5);
const WALL: Duration = Duration::from_secs(20);

fn config(idp: &OidcProvider) -> Value {
    json!({
        "url": idp.resource_url,
        "auth": {
            "kind": "oauth2",
            "token_url": idp.token_url,
            "client_id": idp.basic.client_id,
            "client_secret": idp.basic.client_secret,
            "scope": "read",
        },
    })
}

pub async fn run() {
    let Some(idp) = OidcProvider::start() else { return };
    let rt = runtime();
    let http = probe(&rt, "http").await;
    let cfg = config(&idp);

    let t0 = Instant::now();
    let mut ok = 0;
    for _ in 0..CHECKS {
        let r = rt.check(&http, &cfg, DEADLINE).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        ok += 1;
    }
    let elapsed = t0.elapsed();
    let requests = idp.token_requests().len();
    let (live, refused) = idp.resource_requests();
    drop(idp);

    let short = OidcProvider::start_with(OidcOptions { token_ttl: SHORT_TTL, ..OidcOptions::default() })
        .expect("oidc-provider started once already");
    let cfg = config(&short);
    let t0 = Instant::now();
    let mut checks = 0;
    while t0.elapsed() < WALL {
        let r = rt.check(&http, &cfg, DEADLINE).await;
        assert_eq!(r.status, Status::Ok, "{r:?}");
        checks += 1;
    }
    let wall = t0.elapsed();
    let short_requests = short.token_requests().len();
    let refresh = SHORT_TTL - (SHORT_TTL / 5).min(Duration::from_secs(30));
    let lifetimes = wall.as_secs_f64() / refresh.as_secs_f64();

    println!();
    println!("## Token requests (oidc-provider, client_secret_basic; {})", load());
    println!();
    println!("| source | checks | wall | token requests | /resource with a live token | refused |");
    println!("| --- | --- | --- | --- | --- | --- |");
    println!(
        "| token lifetime 300 s, {CHECKS} checks back to back | {ok} | {:.1} s | {requests} | {live} | {refused} |",
        elapsed.as_secs_f64()
    );
    println!(
        "| token lifetime {} s, checked back to back for {} s (refreshed every {:.0} s: {lifetimes:.1} lifetimes) | {checks} | {:.1} s | {short_requests} | {} | {} |",
        SHORT_TTL.as_secs(),
        WALL.as_secs(),
        refresh.as_secs_f64(),
        wall.as_secs_f64(),
        short.resource_requests().0,
        short.resource_requests().1,
    );
}
