//! The host's own work for one authenticated request, timed on one thread
//! by that thread's CPU time (so time the cores spent on other processes
//! is not counted):
//!
//! - per check: reading the policy from the config
//!   (`AuthPolicy::from_config`) and making the credential ready
//!   (`Prepared::prepare`: for `oauth2`, a token cache hit);
//! - per request: `Prepared::apply` on a `wasi:http` request bound for the
//!   target, less the cost of building that request;
//! - the bare signatures, `sigv4::sign` and `azure::sign`.
//!
//! Variants alternate in every round; the table shows the median round.

use std::hint::black_box;
use std::time::Duration;

use http_body_util::BodyExt;
use serde_json::{Value, json};
use sonde::runtime::sandbox::auth::fetch::Reach;
use sonde::runtime::sandbox::auth::token::TokenCache;
use sonde::runtime::sandbox::auth::{AuthPolicy, Prepared, azure, sigv4};
use sonde::runtime::{Egress, SystemResolver};
use sonde::schema::auth::{AuthShape, TargetProperty, TargetSpec};
use sonde_test_support::cpu;
use sonde_test_support::oidc::OidcProvider;
use wasmtime_wasi_http::WasiBody;

use super::{load, median, us};

const ROUNDS: usize = 5;
const N: u32 = 20_000;

/// The `http` probe's markers: an `auth` property, the target in `url`.
fn shape() -> AuthShape {
    AuthShape {
        property: Some("auth".into()),
        target: Some(TargetSpec {
            property: Some(TargetProperty { name: "url".into(), default: None }),
            template: None,
        }),
        ..AuthShape::default()
    }
}

/// A ListObjectsV2-like GET to `base`, with the headers a guest sends.
fn request(base: &str) -> http::Request<WasiBody> {
    let body = http_body_util::Empty::new().map_err(|e| match e {}).boxed_unsync();
    http::Request::get(format!("{base}/sonde-bucket?list-type=2&max-keys=1&prefix="))
        .header("user-agent", "sonde-probe-s3/0.1")
        .header("accept", "application/xml")
        .body(body)
        .expect("request")
}

/// CPU time of `n` runs of `f` on this thread, per run.
fn per_run(n: u32, mut f: impl FnMut()) -> Duration {
    let t0 = cpu::thread();
    for _ in 0..n {
        f();
    }
    (cpu::thread() - t0) / n
}

struct Variant {
    name: &'static str,
    config: Value,
    check: Vec<Duration>,
    request: Vec<Duration>,
}

pub fn run() {
    let tokio = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("tokio");
    let idp = OidcProvider::start();
    let shape = shape();
    let target = "https://s3.example.com";
    let aws = |service: &str| {
        json!({"kind": "aws_sigv4", "access_key_id": "AKIDEXAMPLE", "region": "us-east-1", "service": service,
               "secret_access_key": "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY"})
    };
    let azure_key =
        "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";
    let mut auths = vec![
        (
            "bearer",
            target.to_string(),
            json!({"kind": "bearer", "token": "t0ken-of-forty-characters-0123456789abcd"}),
        ),
        ("aws_sigv4, s3 (UNSIGNED-PAYLOAD)", target.to_string(), aws("s3")),
        ("aws_sigv4, es (empty body hashed)", target.to_string(), aws("es")),
        (
            "azure_shared_key",
            target.to_string(),
            json!({"kind": "azure_shared_key", "account": "devstoreaccount1", "key": azure_key}),
        ),
    ];
    if let Some(idp) = &idp {
        let oauth = json!({"kind": "oauth2", "token_url": idp.token_url, "client_id": idp.basic.client_id,
                           "client_secret": idp.basic.client_secret, "scope": "read"});
        auths.insert(1, ("oauth2, cached token", idp.issuer.clone(), oauth));
    }
    let mut variants: Vec<(Variant, String)> = auths
        .into_iter()
        .map(|(name, base, auth)| {
            let config = json!({"url": format!("{base}/"), "auth": auth});
            (Variant { name, config, check: Vec::new(), request: Vec::new() }, base)
        })
        .collect();

    let (egress, resolver) = (Egress::default(), SystemResolver);
    let cache = TokenCache::default();
    let mut build = Vec::new();
    let mut bare_sigv4 = Vec::new();
    let mut bare_azure = Vec::new();
    tokio.block_on(async {
        for _ in 0..ROUNDS {
            build.push(per_run(N, || drop(black_box(request(target)))));
            for (v, base) in &mut variants {
                let reach = Reach {
                    egress: &egress,
                    resolver: &resolver,
                    roots: &[],
                    deadline: tokio::time::Instant::now() + Duration::from_secs(10),
                };
                // The first `oauth2` prepare fetches the token, outside the timing.
                let prepared = prepare(&shape, &v.config, &cache, &reach).await;
                let t0 = cpu::thread();
                for _ in 0..N {
                    black_box(prepare(&shape, &v.config, &cache, &reach).await);
                }
                v.check.push((cpu::thread() - t0) / N);
                let t0 = cpu::thread();
                for _ in 0..N {
                    black_box(prepared.apply(request(base)).await.expect("applied"));
                }
                v.request.push((cpu::thread() - t0) / N);
            }
            bare_sigv4.push(per_run(N, sign_sigv4));
            bare_azure.push(per_run(N, || sign_azure(azure_key)));
        }
    });
    if let Some(idp) = &idp {
        assert_eq!(idp.token_requests().len(), 1, "the token was fetched once and then cached");
    }
    let build = median(&mut build);

    println!();
    println!("## The host's CPU per authenticated request (one thread, thread CPU time; {})", load());
    println!();
    println!(
        "| auth kind | per check: policy + prepare | per request: apply (less {} to build the request) | one-request check, total |",
        us(build)
    );
    println!("| --- | --- | --- | --- |");
    for (v, _) in &mut variants {
        let (check, request) = (median(&mut v.check), median(&mut v.request).saturating_sub(build));
        println!("| {} | {} | {} | {} |", v.name, us(check), us(request), us(check + request));
    }
    println!("| bare `sigv4::sign` (S3 GET, 4 headers) | | {} | |", us(median(&mut bare_sigv4)));
    println!("| bare `azure::sign` (Blob GET, 3 headers) | | {} | |", us(median(&mut bare_azure)));
    println!("(median of {ROUNDS} alternating rounds of {N} each)");
}

/// What the host does once per check with `auth`.
async fn prepare(shape: &AuthShape, config: &Value, cache: &TokenCache, reach: &Reach<'_>) -> Prepared {
    let policy = AuthPolicy::from_config(shape, config).expect("policy").expect("auth");
    Prepared::prepare(policy, cache, reach).await.expect("prepared")
}

fn sign_sigv4() {
    let creds = sigv4::Credentials {
        access_key_id: "AKIDEXAMPLE",
        secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
        session_token: None,
        region: "us-east-1",
        service: "s3",
    };
    let mut headers = vec![
        ("host".to_string(), "s3.example.com".to_string()),
        ("user-agent".to_string(), "sonde-probe-s3/0.1".to_string()),
        ("accept".to_string(), "application/xml".to_string()),
    ];
    let query = Some("list-type=2&max-keys=1&prefix=");
    let (path, payload) = ("/sonde-bucket", sigv4::UNSIGNED_PAYLOAD);
    sigv4::sign(&creds, "GET", path, query, &mut headers, payload, chrono::Utc::now());
    black_box(headers);
}

fn sign_azure(key: &str) {
    let mut headers = vec![
        ("host".to_string(), "127.0.0.1:10000".to_string()),
        ("user-agent".to_string(), "sonde-probe-azure/0.1".to_string()),
        ("accept".to_string(), "application/xml".to_string()),
    ];
    let (path, query) = ("/devstoreaccount1/sonde", Some("restype=container&comp=list&maxresults=1"));
    azure::sign("devstoreaccount1", key, "GET", path, query, &mut headers, chrono::Utc::now())
        .expect("signed");
    black_box(headers);
}
