//! The `s3` probe against SeaweedFS (the real `weed server -s3`, with an
//! identities file): the host signs ListObjectsV2 with SigV4 from
//! Unstructured's flat keys or from the `auth` object, and each refusal
//! SeaweedFS answers becomes its stable message. Every case shares one
//! server per test, since each start costs seconds.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Plugin, Runtime, Status};
use sonde_test_support::seaweedfs::{Keys, SeaweedFs};

use super::{assert_ok, assert_staged, auth_details, extra, shown};
use crate::common::{load, runtime};

const TEN: Duration = Duration::from_secs(10);

/// Unstructured's S3 source config, with its own flat keys.
fn flat(s3: &SeaweedFs, remote_url: &str, keys: &Keys) -> Value {
    json!({
        "remote_url": remote_url,
        "key": keys.access_key_id,
        "secret": keys.secret_access_key,
        "endpoint_url": s3.endpoint(),
    })
}

/// The same with the host's `auth` object instead of the flat keys.
fn with_auth(s3: &SeaweedFs, remote_url: &str, keys: &Keys) -> Value {
    json!({
        "remote_url": remote_url,
        "endpoint_url": s3.endpoint(),
        "auth": {
            "kind": "aws_sigv4",
            "access_key_id": keys.access_key_id,
            "secret_access_key": keys.secret_access_key,
            "region": "us-east-1",
            "service": "s3",
        },
    })
}

struct Probe {
    rt: Runtime,
    plugin: Plugin,
    /// Secrets no report may show.
    secrets: Vec<String>,
}

impl Probe {
    async fn new(secrets: &[&str]) -> Self {
        let rt = runtime();
        let plugin = load(&rt, sonde_test_support::probe("s3")).await;
        Self { rt, plugin, secrets: secrets.iter().map(|s| s.to_string()).collect() }
    }

    /// One check; it never shows a secret, whatever its outcome.
    async fn check(&self, config: &Value) -> CheckReport {
        let r = self.rt.check(&self.plugin, config, TEN).await;
        let text = shown(&r);
        for s in &self.secrets {
            assert!(!text.contains(s.as_str()), "a secret is shown: {text}");
        }
        r
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn signed_listings_and_every_refusal_by_its_stable_message() {
    let Some(s3) = SeaweedFs::start() else { return };
    println!("SeaweedFS ready in {:?}", s3.startup);
    let bucket = s3.bucket.clone();
    s3.put_object(&bucket, "prefix/one.csv", b"a,b\n1,2\n");
    s3.put_object(&bucket, "prefix/two.csv", b"a,b\n3,4\n");
    let wrong = "wrong-secret-never-shown-51e";
    let probe = Probe::new(&[
        &s3.admin.secret_access_key,
        &s3.reader.secret_access_key,
        &s3.scoped.secret_access_key,
        wrong,
    ])
    .await;
    let remote = format!("s3://{bucket}/prefix/");

    // Full access, both spellings of the credential: SeaweedFS's own listing.
    for config in [flat(&s3, &remote, &s3.admin), with_auth(&s3, &remote, &s3.admin)] {
        let r = probe.check(&config).await;
        assert_ok(&r);
        let details = r.details.clone().expect("details");
        assert_eq!((&details["bucket"], &details["prefix"]), (&json!(bucket), &json!("prefix/")), "{r:?}");
        // max-keys=1 without `expect`: one of the two objects.
        assert_eq!((&details["key_count"], r.items), (&json!(1), Some(1)), "{r:?}");
        let auth = auth_details(&r);
        assert_eq!(auth["kind"], "aws_sigv4", "{r:?}");
        assert_eq!(auth["target"], s3.endpoint(), "{r:?}");
        assert_eq!(auth["token_cached"], false, "{r:?}");
    }

    // `scoped` may list this bucket only.
    assert_ok(&probe.check(&flat(&s3, &remote, &s3.scoped)).await);

    // A wrong secret: SeaweedFS refuses the signature.
    let forged = Keys { secret_access_key: wrong.into(), ..s3.admin.clone() };
    for config in [flat(&s3, &remote, &forged), with_auth(&s3, &remote, &forged)] {
        let r = probe.check(&config).await;
        assert_staged(&r, "authentication failed", "auth");
        assert_eq!(extra(&r)["code"], "SignatureDoesNotMatch", "{r:?}");
        assert_eq!(extra(&r)["status"], 403, "{r:?}");
    }

    // An unknown access key id is refused by name too.
    let stranger = Keys { access_key_id: "SONDENOBODY".into(), ..s3.admin.clone() };
    let r = probe.check(&flat(&s3, &remote, &stranger)).await;
    assert_staged(&r, "authentication failed", "auth");
    assert_eq!(extra(&r)["code"], "InvalidAccessKeyId", "{r:?}");

    // `reader` may read objects but not list: the signature is good, the
    // permission is missing.
    for config in [flat(&s3, &remote, &s3.reader), with_auth(&s3, &remote, &s3.reader)] {
        let r = probe.check(&config).await;
        assert_staged(&r, "permission denied", "permission");
        assert_eq!(extra(&r)["code"], "AccessDenied", "{r:?}");
    }

    // A bucket that does not exist, asked by the identity that may list any.
    let r = probe.check(&flat(&s3, "s3://sonde-no-such-bucket/", &s3.admin)).await;
    assert_staged(&r, "bucket does not exist", "resource");
    assert_eq!(extra(&r)["code"], "NoSuchBucket", "{r:?}");

    // Anonymous: no credential at all, and SeaweedFS (with identities)
    // lets no anonymous listing through.
    let anonymous = json!({"remote_url": remote, "endpoint_url": s3.endpoint(), "anonymous": true});
    let r = probe.check(&anonymous).await;
    assert_staged(&r, "permission denied", "permission");
    assert_eq!(extra(&r)["code"], "AccessDenied", "{r:?}");
    assert_eq!(auth_details(&r), Value::Null, "no auth applied: {r:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn expect_counts_and_dates_the_objects_listed() {
    let Some(s3) = SeaweedFs::start() else { return };
    let bucket = s3.bucket.clone();
    s3.put_object(&bucket, "fresh/one.csv", b"1\n");
    s3.put_object(&bucket, "fresh/two.csv", b"2\n");
    s3.put_object(&bucket, "fresh/deeper/three.csv", b"3\n");
    s3.put_stale_object(&bucket, "stale/old.csv", b"old\n", Duration::from_secs(86_400));
    let probe = Probe::new(&[&s3.admin.secret_access_key]).await;
    let at = |prefix: &str, expect: Value| {
        let mut c = flat(&s3, &format!("s3://{bucket}/{prefix}"), &s3.admin);
        c["expect"] = expect;
        c
    };

    // Fresh objects: the newest is seconds old, under an hour.
    let r = probe.check(&at("fresh/", json!({"max_age": "1h", "rows": 3}))).await;
    assert_ok(&r);
    let details = r.details.clone().expect("details");
    assert_eq!(details["key_count"], 3, "{r:?}");
    assert!(details["newest"].is_string(), "the newest is reported: {r:?}");

    // Not recursive: the sub-"folder" is a common prefix, not an object.
    let mut flat_only = at("fresh/", json!({"rows": 2}));
    flat_only["recursive"] = json!(false);
    assert_ok(&probe.check(&flat_only).await);

    // Rows outside the range: expected and observed in extra.
    let r = probe.check(&at("fresh/", json!({"rows": {"min": 4}}))).await;
    assert_staged(&r, "assertion failed", "assertion");
    assert_eq!(
        (&extra(&r)["expected"], &extra(&r)["observed"]),
        (&json!({"min": 4, "max": null}), &json!(3)),
        "{r:?}"
    );

    // A day-old object (its LastModified written through the filer).
    let r = probe.check(&at("stale/", json!({"max_age": "1h"}))).await;
    assert_staged(&r, "assertion failed", "assertion");
    let e = extra(&r);
    assert_eq!(e["expected"], "1h", "{r:?}");
    let observed = e["observed"].as_str().unwrap_or_else(|| panic!("observed is no age: {r:?}"));
    assert!(observed.starts_with("1d") || observed.starts_with("24h"), "a day old: {r:?}");
    // The same object is young enough for a two-day bound.
    assert_ok(&probe.check(&at("stale/", json!({"max_age": "2d"}))).await);

    // Nothing under the prefix: nothing to date fails, zero rows holds.
    let r = probe.check(&at("empty/", json!({"max_age": "1h"}))).await;
    assert_staged(&r, "assertion failed", "assertion");
    assert_eq!(extra(&r)["observed"], Value::Null, "{r:?}");
    let r = probe.check(&at("empty/", json!({"rows": 0}))).await;
    assert_eq!(r.status, Status::Ok, "{r:?}");
}
