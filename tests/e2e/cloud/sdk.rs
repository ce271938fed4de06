//! Unstructured's own Python SDK (`unstructured-client`) creates an `s3`
//! source with Unstructured's S3 keys, unchanged, against the real `sonde
//! serve`, and its connection check reports SUCCESS against SeaweedFS: the
//! script is tests/py/unstructured_sdk_s3.py, run by the harness of
//! [`crate::sdk`].

use sonde_test_support::python::python_with;
use sonde_test_support::seaweedfs::SeaweedFs;

use crate::sdk::run_script;
use crate::serve::Serve;

const ACME: &str = "sdk-s3-acme-key-2f9a";
const OTHER: &str = "sdk-s3-other-key-81d3";

#[test]
fn unstructured_sdk_creates_an_s3_source_that_checks_success() {
    let Some(python) = python_with("unstructured_client") else { return };
    let Some(s3) = SeaweedFs::start() else { return };
    s3.put_object(&s3.bucket, "daily/one.csv", b"a,b\n1,2\n");
    let serve = Serve::start(&format!(
        "[defaults]\nretries = 0\ntimeout = \"10s\"\n\n\
         [[keys]]\nkey = \"{ACME}\"\norganization = \"org_acme\"\n\n\
         [[keys]]\nkey = \"{OTHER}\"\norganization = \"org_other\"\n"
    ));
    let envs = [
        ("S3_ENDPOINT", s3.endpoint()),
        ("S3_BUCKET", s3.bucket.clone()),
        ("S3_KEY", s3.admin.access_key_id.clone()),
        ("S3_SECRET", s3.admin.secret_access_key.clone()),
    ];
    let done = "the s3 source checked SUCCESS";
    run_script(&python, "unstructured_sdk_s3.py", &serve, ACME, OTHER, &envs, done);
    // The secret went to the host, never into sonde's log.
    assert!(!serve.logs().contains(&s3.admin.secret_access_key), "the secret is logged");
}
