//! The conformance run every SaaS type goes through: its rows of
//! `vendor_cases` with its credentials (`types`), each checked by the real
//! host running the built probe, against the vendor server on the vendor's
//! own name.
//!
//! Each row asserts the reported outcome (and `retry_after` on a 429 with
//! `Retry-After`), `details.auth`, that the vendor received exactly the
//! documented requests, over TLS, each with the credential in its
//! documented form, and that no secret shows in the message, `extra`,
//! details, stdout or stderr. Every row runs; the summary names each one,
//! and the test fails listing the rows that did not pass.

use std::collections::HashSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::{Duration, Instant};

use base64::Engine as _;
use serde_json::Value;
use sonde::runtime::{CheckReport, Plugin, Runtime, RuntimeConfig, StaticResolver, Status};
use sonde_test_support::certs::TestCa;
use sonde_test_support::http_server::Reply;
use sonde_test_support::oidc::OidcProvider;
use sonde_test_support::spawned::Spawned;
use sonde_test_support::vendor::{Match, Recorded, Vendor};

use super::types::{self, Carried, Credential, Env, Spec, Target};
use super::vendor_cases::{CASES, Case, Outcome, TEXT_NOT_FROM_DOCS};
use crate::common::{load, runtime_with};

const DEADLINE: Duration = Duration::from_secs(10);

/// One type's servers and runtime.
struct World {
    source_type: &'static str,
    spec: Spec,
    vendor: Vendor,
    /// `https://host` (on 443) or `https://host:port`.
    origin: String,
    /// `details.auth.target`: always with the port.
    target: String,
    idp: Option<OidcProvider>,
    rt: Runtime,
    plugin: Plugin,
    /// Tokens the authorization server confirmed live.
    live: HashSet<String>,
}

/// Runs every row of `source_type` (a test's name; `r#box` is `box`).
pub async fn conform(name: &str) {
    let source_type = CASES
        .iter()
        .map(|c| c.source_type)
        .find(|t| *t == name.trim_start_matches("r#"))
        .unwrap_or_else(|| panic!("no vendor cases for {name}"));
    let started = Instant::now();
    let Some(mut world) = World::start(source_type).await else { return };
    let env = Env { source_type, idp: world.idp.as_ref() };
    let credentials = (world.spec.credentials)(&env);
    let mut failures = Vec::new();
    for (i, credential) in credentials.iter().enumerate() {
        // The first form runs every row; the others, the healthy ones.
        let rows = CASES
            .iter()
            .filter(|c| c.source_type == source_type)
            .filter(|c| i == 0 || matches!(c.outcome, Outcome::Healthy(_)) && c.name.starts_with("ok"));
        for case in rows {
            let mark = if TEXT_NOT_FROM_DOCS.contains(&(source_type, case.name)) {
                " (text not from docs)"
            } else {
                ""
            };
            let row = format!("{source_type} {:?}{mark} with {}", case.name, credential.label);
            record(&mut failures, row, case.docs, world.row(case, credential).await);
        }
    }
    if let Some(other) = world.spec.foreign {
        let row = format!("{source_type} token for another instance ({other}) with {}", credentials[0].label);
        let docs = "https://help.salesforce.com/s/articleView?id=sf.remoteaccess_oauth_jwt_flow.htm";
        record(&mut failures, row, docs, world.foreign(other, &credentials[0]).await);
    }
    if let Err(why) = world.token_requests(&credentials) {
        failures.push(why);
    }
    println!("{source_type}: {} rows failed, {:?}", failures.len(), started.elapsed());
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// Prints a row's result, and keeps it when it failed.
fn record(failures: &mut Vec<String>, row: String, docs: &str, result: Result<(), String>) {
    match result {
        Ok(()) => println!("PASS {row}"),
        Err(why) => {
            println!("FAIL {row}: {why}");
            failures.push(format!("{row}: {why} (docs: {docs})"));
        }
    }
}

impl World {
    /// The vendor server on the vendor's name, the authorization server if
    /// the type needs one, and a runtime that resolves the name to the
    /// server and trusts its CA. `None` (skipped) outside CI when a server
    /// cannot run here.
    async fn start(source_type: &'static str) -> Option<Self> {
        let spec = types::spec(source_type);
        let names: Vec<&str> = std::iter::once(spec.host).chain(spec.foreign).collect();
        let (vendor, on_443) = vendor_on(&names);
        if !on_443 && spec.target == Target::Template {
            let why = format!("{source_type}: its target has no port, and 443 cannot be bound here");
            assert!(!sonde_test_support::in_ci(), "{why}");
            eprintln!("SKIPPED: {why}");
            return None;
        }
        let origin = match on_443 {
            true => format!("https://{}", spec.host),
            false => format!("https://{}:{}", spec.host, vendor.https_port),
        };
        let target = format!("https://{}:{}", spec.host, vendor.https_port);
        let idp = match spec.idp {
            Some(options) => Some(OidcProvider::start_with(options(&origin))?),
            None => None,
        };
        let roots = sonde::config::TlsConfig { ca_files: vec![vendor.ca_file()] }
            .roots()
            .unwrap_or_else(|(_, e)| panic!("the vendor CA: {e}"));
        let resolver = names.iter().fold(StaticResolver::new(), |r, name| r.with(name, [vendor.https_ip]));
        let rt = runtime_with(RuntimeConfig {
            resolver: Arc::new(resolver),
            tls_roots: Arc::new(roots),
            ..RuntimeConfig::default()
        });
        let plugin = load(&rt, sonde_test_support::probe(source_type)).await;
        let live = HashSet::new();
        Some(Self { source_type, spec, vendor, origin, target, idp, rt, plugin, live })
    }

    /// One row: routes for its exchanges, one check, every assertion.
    async fn row(&mut self, case: &Case, credential: &Credential) -> Result<(), String> {
        self.vendor.clear_routes();
        for e in case.exchanges {
            let (path, query) = e.path.split_once('?').unwrap_or((e.path, ""));
            let mut m = Match::new(e.method, path);
            if !query.is_empty() {
                m = m.query(query);
            }
            // The vendor answers only its documented credential, where it is known beforehand.
            if let Carried::Header(name, value) = &credential.carried {
                m = m.header(name, value);
            }
            let reply = e.headers.iter().fold(Reply::new(e.status), |r, (n, v)| r.header(n, v));
            self.vendor.on(m, reply.body(e.body));
        }
        let before = self.vendor.requests().len();
        let config = self.config(case, credential, &self.origin)?;
        let r = self.rt.check(&self.plugin, &config, DEADLINE).await;
        let seen: Vec<Recorded> = self.vendor.requests().into_iter().skip(before).collect();
        outcome(case, &r)?;
        self.details(&r, credential)?;
        exchanges(case, &seen)?;
        for req in &seen {
            self.carried(req, &credential.carried).await?;
        }
        let mut secrets = credential.secrets.clone();
        secrets.extend(self.live.iter().cloned());
        leaks(&r, &secrets)
    }

    /// The table's config with `{base}` as the target's origin, and the
    /// credential's keys. A target property the probe defaults to the
    /// vendor's address is left out, so the default is what is checked.
    fn config(&self, case: &Case, credential: &Credential, origin: &str) -> Result<Value, String> {
        let text = case.config.replace("{base}", origin);
        let mut config: Value = serde_json::from_str(&text).map_err(|e| format!("the case's config: {e}"))?;
        let map = config.as_object_mut().ok_or("the case's config is not an object")?;
        if let Target::Default(key) = self.spec.target
            && !self.origin.contains(&format!("{}:", self.spec.host))
        {
            map.remove(key);
        }
        for (k, v) in credential.config.as_object().into_iter().flatten() {
            map.insert(k.clone(), v.clone());
        }
        Ok(config)
    }

    fn details(&self, r: &CheckReport, credential: &Credential) -> Result<(), String> {
        let auth = r.details.as_ref().map(|d| d["auth"].clone()).unwrap_or_default();
        if auth["kind"] != credential.kind || auth["target"] != self.target.as_str() {
            return Err(format!("details.auth is {auth}, not kind {} to {}", credential.kind, self.target));
        }
        if credential.uses_idp && auth["token_url"] != self.idp.as_ref().map_or("", |i| i.token_url.as_str())
        {
            return Err(format!("details.auth.token_url is {}", auth["token_url"]));
        }
        Ok(())
    }

    /// The credential on one request to the target.
    async fn carried(&mut self, req: &Recorded, carried: &Carried) -> Result<(), String> {
        let got = |name: &str| req.header(name).map(str::to_string);
        match carried {
            Carried::Header(name, value) if got(name).as_deref() == Some(value.as_str()) => Ok(()),
            Carried::Header(name, _) => {
                Err(format!("{} {} carried {name}: {:?}", req.method, req.path, got(name)))
            }
            Carried::IssuedToken => {
                let auth = got("authorization").unwrap_or_default();
                let token = auth.strip_prefix("Bearer ").ok_or_else(|| {
                    format!("{} {} carried Authorization {auth:?}, not a bearer token", req.method, req.path)
                })?;
                if !self.live.contains(token) {
                    let idp = self.idp.as_ref().ok_or("no authorization server")?;
                    if !accepted(&idp.resource_url, token).await {
                        return Err(format!(
                            "the token sent to {} is not one the authorization server issued",
                            req.path
                        ));
                    }
                    self.live.insert(token.to_string());
                }
                Ok(())
            }
            Carried::SigV4 { key_id, region, service } => {
                let auth = got("authorization").unwrap_or_default();
                let scope = format!("/{region}/{service}/aws4_request");
                let ok = auth.starts_with(&format!("AWS4-HMAC-SHA256 Credential={key_id}/"))
                    && auth.contains(&scope)
                    && auth.contains("Signature=")
                    && got("x-amz-date").is_some();
                if ok {
                    Ok(())
                } else {
                    Err(format!("{} carried {auth:?}, not SigV4 for {key_id}{scope}", req.path))
                }
            }
        }
    }

    /// The "ok" row aimed at another instance of the vendor, whose token
    /// answer names this one: ERROR at the token step, with both URLs in
    /// `extra`, and nothing sent to either.
    async fn foreign(&mut self, other: &str, credential: &Credential) -> Result<(), String> {
        let ok = |c: &&Case| c.source_type == self.source_type && c.name == "ok";
        let case = CASES.iter().find(ok).ok_or("no ok case")?;
        self.vendor.clear_routes();
        let before = self.vendor.requests().len();
        let origin = self.origin.replace(self.spec.host, other);
        let config = self.config(case, credential, &origin)?;
        let r = self.rt.check(&self.plugin, &config, DEADLINE).await;
        let extra: Value = r.extra.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default();
        let target = self.target.replace(self.spec.host, other);
        let refused = r.status == Status::Error
            && r.message.as_deref() == Some("authentication failed")
            && extra["stage"] == "token"
            && extra["instance_url"] == self.origin.as_str()
            && extra["target"] == target.as_str();
        if !refused {
            return Err(format!("reported {} {:?} (extra {extra})", r.status, r.message));
        }
        let sent = self.vendor.requests().len() - before;
        if sent != 0 {
            return Err(format!("{sent} requests reached the vendor"));
        }
        leaks(&r, &credential.secrets)
    }

    /// One token request per credential form the authorization server
    /// serves: every later row used the host's cache.
    fn token_requests(&self, credentials: &[Credential]) -> Result<(), String> {
        let Some(idp) = &self.idp else { return Ok(()) };
        let asked = idp.token_requests();
        // The other instance's target makes another cache entry.
        let wanted =
            credentials.iter().filter(|c| c.uses_idp).count() + usize::from(self.spec.foreign.is_some());
        let granted = asked.iter().filter(|t| t.status == 200).count();
        if granted != wanted || asked.len() != wanted {
            return Err(format!("{}: {wanted} token requests expected, got {asked:?}", self.source_type));
        }
        Ok(())
    }
}

/// The vendor server on 443 of a loopback address of this process's own
/// (and whether it got one), with a certificate for `names`.
fn vendor_on(names: &[&str]) -> (Vendor, bool) {
    let ca = TestCa::new(&Spawned::temp_dir("saas-certs"));
    let cert = ca.server_for("vendor", names);
    let pid = std::process::id();
    for attempt in 0..64u32 {
        let n = pid.wrapping_add(attempt.wrapping_mul(7919));
        let ip = IpAddr::V4(Ipv4Addr::new(127, 77, (n >> 8) as u8, (n as u8).max(1)));
        let addr = SocketAddr::new(ip, 443);
        match TcpListener::bind(addr) {
            Ok(probe) => {
                drop(probe);
                if let Ok(v) = Vendor::start_on(addr, ca, cert.clone()) {
                    return (v, true);
                }
                unreachable!("443 on {ip} was free a moment ago");
            }
            Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => break,
            Err(_) => continue,
        }
    }
    (Vendor::start_with(ca, cert), false)
}

/// The reported outcome is the row's.
fn outcome(case: &Case, r: &CheckReport) -> Result<(), String> {
    let extra: Value = r.extra.as_deref().and_then(|e| serde_json::from_str(e).ok()).unwrap_or_default();
    match case.outcome {
        Outcome::Healthy(items) if r.status == Status::Ok && r.items == items => return Ok(()),
        Outcome::Unhealthy(message, stage)
            if r.status == Status::Error
                && r.message.as_deref() == Some(message)
                && extra["stage"] == stage =>
        {
            let retry = case.exchanges.iter().any(|e| e.headers.iter().any(|(n, _)| *n == "retry-after"));
            if message == "rate limited" && retry && extra["retry_after"] != 30 {
                return Err(format!("retry_after is {}, not 30 (extra {extra})", extra["retry_after"]));
            }
            return Ok(());
        }
        _ => {}
    }
    Err(format!("reported {} {:?} (extra {:?}, items {:?})", r.status, r.message, r.extra, r.items))
}

/// The vendor received exactly the row's requests, in order, over TLS.
fn exchanges(case: &Case, seen: &[Recorded]) -> Result<(), String> {
    let sent: Vec<String> = seen.iter().map(|r| format!("{} {}", r.method, r.path)).collect();
    let wanted: Vec<String> = case.exchanges.iter().map(|e| format!("{} {}", e.method, e.path)).collect();
    if sent != wanted {
        return Err(format!("the vendor received {sent:?}, the table has {wanted:?}"));
    }
    match seen.iter().find(|r| !r.tls) {
        Some(r) => Err(format!("{} {} came over plain HTTP", r.method, r.path)),
        None => Ok(()),
    }
}

/// No secret, nor its base64, anywhere a check's report shows.
fn leaks(r: &CheckReport, secrets: &[String]) -> Result<(), String> {
    let shown = format!(
        "{:?} {:?} {} {} {}",
        r.message,
        r.extra,
        r.details.clone().unwrap_or(Value::Null),
        r.stdout.text,
        r.stderr.text
    );
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    match secrets.iter().find(|s| shown.contains(s.as_str()) || shown.contains(&b64(s))) {
        Some(s) => Err(format!("the report shows a secret ({} chars): {shown}", s.len())),
        None => Ok(()),
    }
}

/// Whether the authorization server's `/resource` takes `token`.
async fn accepted(resource_url: &str, token: &str) -> bool {
    let (url, auth) = (resource_url.to_string(), format!("Bearer {token}"));
    tokio::task::spawn_blocking(move || ureq::get(&url).header("Authorization", &auth).call().is_ok())
        .await
        .unwrap_or(false)
}
