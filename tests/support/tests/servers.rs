//! The test servers themselves: each starts here and answers a plain client
//! (boto3, curl, node) as its real counterpart would. Outside CI a missing
//! server skips with a printed reason; under `CI=true` it fails.

use std::process::{Command, Stdio};
use std::time::Duration;

use sonde_test_support::azurite::{ACCOUNT, Azurite};
use sonde_test_support::certs::{Leaf, TestCa};
use sonde_test_support::http_server::Reply;
use sonde_test_support::oidc::{KeyAlg, OidcOptions, OidcProvider};
use sonde_test_support::seaweedfs::SeaweedFs;
use sonde_test_support::spawned::Spawned;
use sonde_test_support::vendor::{Match, Vendor, json};
use sonde_test_support::{node, python};

/// `curl -s ARGS…`: (HTTP status, body).
fn curl(args: &[&str]) -> (u16, String) {
    let out = Command::new("curl")
        .args(["-s", "-w", "\n%{http_code}"])
        .args(args)
        .output()
        .expect("curl is installed");
    let text = String::from_utf8_lossy(&out.stdout).into_owned();
    let (body, code) = text.rsplit_once('\n').expect("a status line");
    (code.trim().parse().expect("a status"), body.to_string())
}

/// Runs a Python program in the test environment; its stdout.
fn python_run(program: &str, args: &[String]) -> String {
    let python = python::python_with("boto3").expect("checked at start");
    let out = Command::new(python).arg("-c").arg(program).args(args).output().expect("python");
    assert!(out.status.success(), "python: {}", String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

const S3_CHECK: &str = r#"
import sys, boto3, botocore
from botocore.config import Config
endpoint, bucket, verify, *keys = sys.argv[1:]
def client(a, s, region="us-east-1"):
    return boto3.client("s3", endpoint_url=endpoint, aws_access_key_id=a, aws_secret_access_key=s,
        region_name=region, verify=(verify if verify != "-" else None),
        config=Config(s3={"addressing_style": "path"}, retries={"max_attempts": 1}))
def code(f):
    try:
        f()
        return "ok"
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"]
admin, reader, scoped = client(keys[0], keys[1]), client(keys[2], keys[3]), client(keys[4], keys[5])
listed = admin.list_objects_v2(Bucket=bucket).get("Contents", [])
for o in listed:
    print("object", o["Key"], int(o["LastModified"].timestamp()))
print("reader-get", code(lambda: reader.get_object(Bucket=bucket, Key="fresh.txt")["Body"].read()))
print("reader-list", code(lambda: reader.list_objects_v2(Bucket=bucket, MaxKeys=1)))
print("scoped-list", code(lambda: scoped.list_objects_v2(Bucket=bucket, MaxKeys=1)))
print("scoped-other", code(lambda: scoped.list_objects_v2(Bucket="sonde-other", MaxKeys=1)))
print("wrong-secret", code(lambda: client(keys[0], "wrong").list_objects_v2(Bucket=bucket)))
print("missing", code(lambda: admin.list_objects_v2(Bucket="sonde-missing")))
print("other-region", code(lambda: client(keys[0], keys[1], "eu-west-3").list_objects_v2(Bucket=bucket)))
"#;

#[test]
fn seaweedfs_serves_s3_with_its_identities() {
    let dir = Spawned::temp_dir("seaweedfs-certs");
    let ca = TestCa::new(&dir);
    let Some(s3) = SeaweedFs::start_tls(&ca.server(Leaf::Good, "s3")) else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    println!("SeaweedFS ready in {:?}", s3.startup);
    s3.put_object(&s3.bucket, "fresh.txt", b"fresh");
    s3.put_stale_object(&s3.bucket, "old/stale.txt", b"stale", Duration::from_secs(86_400));
    s3.create_bucket("sonde-other");

    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).expect("now").as_secs();
    let https = s3.https_endpoint().expect("https");
    for (endpoint, verify) in [(s3.endpoint(), "-".to_string()), (https, ca.ca_file().display().to_string())]
    {
        let mut args = vec![endpoint, s3.bucket.clone(), verify];
        for k in [&s3.admin, &s3.reader, &s3.scoped] {
            args.extend([k.access_key_id.clone(), k.secret_access_key.clone()]);
        }
        let out = python_run(S3_CHECK, &args);
        let age = |key: &str| {
            let line = out.lines().find(|l| l.starts_with(&format!("object {key} ")));
            let line = line.unwrap_or_else(|| panic!("no {key} in:\n{out}"));
            now - line.rsplit(' ').next().and_then(|t| t.parse::<u64>().ok()).expect("a time")
        };
        assert!(age("fresh.txt") < 60, "{out}");
        assert!((86_000..87_000).contains(&age("old/stale.txt")), "{out}");
        for want in [
            "reader-get ok",
            "reader-list AccessDenied",
            "scoped-list ok",
            "scoped-other AccessDenied",
            "wrong-secret SignatureDoesNotMatch",
            "missing NoSuchBucket",
            "other-region ok",
        ] {
            assert!(out.lines().any(|l| l == want), "no {want:?} in:\n{out}");
        }
    }

    // curl signs as the host does, with an unsigned payload over plain HTTP.
    let keys = format!("{}:{}", s3.admin.access_key_id, s3.admin.secret_access_key);
    let url = format!("{}/{}?list-type=2&max-keys=1", s3.endpoint(), s3.bucket);
    let (status, body) = curl(&[
        "--aws-sigv4",
        "aws:amz:us-east-1:s3",
        "--user",
        &keys,
        "-H",
        "x-amz-content-sha256: UNSIGNED-PAYLOAD",
        &url,
    ]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<KeyCount>1</KeyCount>"), "{body}");
    let _ = std::fs::remove_dir_all(dir);
}

#[test]
fn azurite_serves_blobs_with_sas_and_shared_key() {
    let Some(az) = Azurite::start() else { return };
    println!("Azurite ready in {:?}", az.startup);
    az.create_container("sonde-container");
    az.put_blob("sonde-container", "data/one.json", b"{}");

    let list = format!("{}/sonde-container?restype=container&comp=list&maxresults=1", az.endpoint());
    let sas = az.container_sas("sonde-container", "rl", Duration::from_secs(600));
    let (status, body) = curl(&[&format!("{list}&{sas}")]);
    assert_eq!(status, 200, "{body}");
    assert!(body.contains("<Name>data/one.json</Name>"), "{body}");

    let read_only = az.container_sas("sonde-container", "r", Duration::from_secs(600));
    let (status, body) = curl(&[&format!("{list}&{read_only}")]);
    assert_eq!(status, 403, "a SAS without list: {body}");
    assert!(body.contains("<Code>AuthorizationPermissionMismatch</Code>"), "{body}");

    // Azure answers a bad signature 403 AuthenticationFailed; Azurite 3.35
    // answers any request no authenticator accepts 403 AuthorizationFailure,
    // so against it a wrong key and a missing permission look alike.
    let forged = sas.replace("sig=", "sig=AAAA");
    let (status, body) = curl(&[&format!("{list}&{forged}")]);
    assert_eq!(status, 403, "a forged SAS: {body}");
    assert!(body.contains("<Code>AuthorizationFailure</Code>"), "{body}");

    let (status, body) = curl(&[&list]);
    assert!(status == 403 || status == 404, "anonymous: {status} {body}");

    let account = az.account_sas("rl", Duration::from_secs(600));
    let missing = format!("{}/sonde-missing?restype=container&comp=list&{account}", az.endpoint());
    let (status, body) = curl(&[&missing]);
    assert_eq!(status, 404, "{body}");
    assert!(body.contains("ContainerNotFound"), "{body}");
    assert!(az.endpoint().ends_with(ACCOUNT));
}

#[test]
fn azurite_serves_https() {
    let dir = Spawned::temp_dir("azurite-certs");
    let ca = TestCa::new(&dir);
    let Some(az) = Azurite::start_tls(&ca.server(Leaf::Good, "azurite"), &ca.ca_file()) else {
        let _ = std::fs::remove_dir_all(dir);
        return;
    };
    az.create_container("sonde-tls");
    let sas = az.container_sas("sonde-tls", "rl", Duration::from_secs(600));
    let url = format!("{}/sonde-tls?restype=container&comp=list&{sas}", az.endpoint());
    assert!(url.starts_with("https://127.0.0.1:"));
    let (status, body) = curl(&["--cacert", &ca.ca_file().display().to_string(), &url]);
    assert_eq!(status, 200, "{body}");
    let _ = std::fs::remove_dir_all(dir);
}

/// Signs a JWT with `key_pem` (node's `jose`, from tests/support/node).
fn sign_jwt(key_pem: &str, alg: &str, kid: &str, iss: &str, aud: &str) -> String {
    const SIGN: &str = r#"
import { SignJWT, importPKCS8 } from 'jose';
const { PEM: pem, ALG: alg, KID: kid, ISS: iss, AUD: aud } = process.env;
const now = Math.floor(Date.now() / 1000);
const key = await importPKCS8(pem, alg);
process.stdout.write(await new SignJWT({}).setProtectedHeader({ alg, kid }).setIssuer(iss).setSubject(iss)
  .setAudience(aud).setIssuedAt(now).setExpirationTime(now + 60).setJti(`${now}-${Math.random()}`).sign(key));
"#;
    let out = Command::new("node")
        .current_dir(node::dir())
        .args(["--input-type=module", "-e", SIGN])
        .envs([("PEM", key_pem), ("ALG", alg), ("KID", kid), ("ISS", iss), ("AUD", aud)])
        .stderr(Stdio::inherit())
        .output()
        .expect("node");
    assert!(out.status.success());
    String::from_utf8(out.stdout).expect("a JWT")
}

fn token_of(answer: &str) -> String {
    let v: serde_json::Value = serde_json::from_str(answer).unwrap_or_else(|e| panic!("{e}: {answer}"));
    v["access_token"].as_str().unwrap_or_else(|| panic!("no token: {answer}")).to_string()
}

#[test]
fn oidc_provider_issues_counts_expires_and_revokes() {
    let options = OidcOptions { token_ttl: Duration::from_secs(2), ..Default::default() };
    let Some(idp) = OidcProvider::start_with(options) else { return };
    println!("oidc-provider ready in {:?}", idp.startup);
    let cc = "grant_type=client_credentials";

    let basic = format!("{}:{}", idp.basic.client_id, idp.basic.client_secret);
    let (status, answer) = curl(&["-u", &basic, "-d", cc, &idp.token_url]);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"expires_in\":2"), "{answer}");
    let token = token_of(&answer);
    let bearer = format!("Authorization: Bearer {token}");
    assert_eq!(curl(&["-H", &bearer, &idp.resource_url]).0, 200);
    assert_eq!(curl(&["-H", "Authorization: Bearer forged", &idp.resource_url]).0, 401);

    let post = format!("{cc}&client_id={}&client_secret={}", idp.post.client_id, idp.post.client_secret);
    let (status, answer) = curl(&["-d", &post, &idp.token_url]);
    assert_eq!(status, 200, "{answer}");
    let (status, answer) = curl(&["-d", &format!("{post}x"), &idp.token_url]);
    assert_eq!(status, 401, "{answer}");
    assert!(answer.contains("invalid_client"), "{answer}");

    let k = &idp.private_key_jwt;
    let assertion = sign_jwt(&k.private_key_pem, k.alg.name(), &k.key_id, &k.client_id, &idp.token_url);
    let form = format!(
        "{cc}&client_assertion_type=urn:ietf:params:oauth:client-assertion-type:jwt-bearer&client_assertion={assertion}"
    );
    let (status, answer) = curl(&["-d", &form, &idp.token_url]);
    assert_eq!(status, 200, "private_key_jwt: {answer}");

    let b = &idp.jwt_bearer;
    let assertion = sign_jwt(&b.private_key_pem, b.alg.name(), &b.key_id, &b.issuer, &idp.token_url);
    let grant = format!("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={assertion}");
    let (status, answer) = curl(&["-d", &grant, &idp.token_url]);
    assert_eq!(status, 200, "jwt bearer: {answer}");
    let wrong_key = sign_jwt(&k.private_key_pem, k.alg.name(), &b.key_id, &b.issuer, &idp.token_url);
    let forged = format!("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={wrong_key}");
    let (status, answer) = curl(&["-d", &forged, &idp.token_url]);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid_grant"), "{answer}");

    let seen = idp.token_requests();
    let auths: Vec<(&str, u16)> = seen.iter().map(|r| (r.auth.as_str(), r.status)).collect();
    assert_eq!(
        auths,
        [("basic", 200), ("post", 200), ("post", 401), ("jwt", 200), ("none", 200), ("none", 400)]
    );
    assert_eq!(seen[4].client_id.as_deref(), Some(b.client_id.as_str()));

    std::thread::sleep(Duration::from_millis(2100));
    assert_eq!(curl(&["-H", &bearer, &idp.resource_url]).0, 401, "an expired token");
    assert_eq!(idp.resource_requests(), (1, 2));

    idp.revoke(&idp.basic.client_id);
    assert_eq!(curl(&["-u", &basic, "-d", cc, &idp.token_url]).0, 401);
    idp.restore(&idp.basic.client_id);
    assert_eq!(curl(&["-u", &basic, "-d", cc, &idp.token_url]).0, 200);
    assert_eq!(idp.token_requests().len(), 8);
}

#[test]
fn oidc_provider_signs_with_es256_and_adds_vendor_fields() {
    let options = OidcOptions {
        key_alg: KeyAlg::Es256,
        extra_token_fields: Some(serde_json::json!({"instance_url": "https://127.0.0.1:1"})),
        ..Default::default()
    };
    let Some(idp) = OidcProvider::start_with(options) else { return };
    let b = &idp.jwt_bearer;
    let assertion = sign_jwt(&b.private_key_pem, "ES256", &b.key_id, &b.issuer, &idp.token_url);
    let grant = format!("grant_type=urn:ietf:params:oauth:grant-type:jwt-bearer&assertion={assertion}");
    let (status, answer) = curl(&["-d", &grant, &idp.token_url]);
    assert_eq!(status, 200, "{answer}");
    assert!(answer.contains("\"instance_url\":\"https://127.0.0.1:1\""), "{answer}");
    let other = "grant_type=client_credentials&resource=https://elsewhere.test";
    let basic = format!("{}:{}", idp.basic.client_id, idp.basic.client_secret);
    let (status, answer) = curl(&["-u", &basic, "-d", other, &idp.token_url]);
    assert_eq!(status, 400, "{answer}");
    assert!(answer.contains("invalid_target"), "{answer}");
}

#[test]
fn vendor_answers_its_routes_and_records_headers() {
    let api = Vendor::start();
    api.on(Match::get("/api/me").header("Authorization", "Bearer good"), json(200, r#"{"ok":true}"#));
    api.on(Match::get("/api/me"), json(401, r#"{"error":"invalid_auth"}"#));
    api.on(
        Match::post("/token").body("grant_type=client_credentials"),
        Reply::new(429).header("Retry-After", "7"),
    );

    let ca = api.ca_file().display().to_string();
    let (status, body) =
        curl(&["--cacert", &ca, "-H", "Authorization: Bearer good", &api.https_url("/api/me")]);
    assert_eq!((status, body.as_str()), (200, r#"{"ok":true}"#));
    assert_eq!(curl(&[&api.http_url("/api/me?x=1")]).0, 401);
    assert_eq!(curl(&["-d", "grant_type=client_credentials", &api.http_url("/token")]).0, 429);
    let (status, body) = curl(&[&api.http_url("/nowhere?q=1")]);
    assert_eq!(status, 404);
    assert!(body.contains("GET /nowhere?q=1"), "{body}");

    let seen = api.requests();
    assert_eq!(seen.len(), 4);
    assert!(seen[0].tls && !seen[1].tls);
    assert_eq!(seen[0].header("authorization"), Some("Bearer good"));
    assert_eq!(seen[1].path, "/api/me?x=1");
    assert_eq!(api.requests_to("GET", "/api/me").len(), 2);
}

/// A node that stays silent is reported with where it waits: its
/// JavaScript stack and its active handles, from a diagnostic report.
#[test]
fn a_silent_node_is_reported_with_its_stack() {
    if node::require_package("oidc-provider").is_none() {
        return;
    }
    let dir = node::temp_dir("silent");
    let script = dir.join("silent.mjs");
    std::fs::write(
        &script,
        "function waitingForever() { setInterval(() => {}, 1000); }\nwaitingForever();\n",
    )
    .expect("writing the script");
    let process = node::NodeProcess::start(&script, &[], dir).expect("starting node");
    let why = process.wait_for(Duration::from_secs(1), |_| true).expect_err("it prints nothing");
    assert!(why.contains("no such line within"), "{why}");
    assert!(why.contains("active handles") && why.contains("timer"), "the report: {why}");
}
