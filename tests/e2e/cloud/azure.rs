//! The `azure` probe against Azurite (Microsoft's own local Blob service,
//! which verifies SharedKey signatures and SAS tokens): the host signs List
//! Blobs with the account key, or appends the SAS, and Azurite's refusals
//! become the stable messages.

use std::time::Duration;

use serde_json::{Value, json};
use sonde::runtime::{CheckReport, Status};
use sonde_test_support::azurite::{ACCOUNT, ACCOUNT_KEY, Azurite};

use super::{assert_ok, assert_staged, auth_details, extra, shown};
use crate::common::{load, runtime};

const TEN: Duration = Duration::from_secs(10);
const HOUR: Duration = Duration::from_secs(3600);

/// Unstructured's Azure source keys, path-style on Azurite.
fn config(azurite: &Azurite, container: &str, credential: Value) -> Value {
    let mut c = json!({
        "remote_url": format!("az://{container}/"),
        "account_name": ACCOUNT,
        "endpoint_url": azurite.endpoint(),
    });
    for (k, v) in credential.as_object().expect("an object") {
        c[k] = v.clone();
    }
    c
}

/// The `sig` of a SAS token: the part that is a secret.
fn signature(sas: &str) -> String {
    let sig = sas.split('&').find_map(|p| p.strip_prefix("sig="));
    sig.unwrap_or_else(|| panic!("no sig in {sas}")).to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shared_key_and_sas_list_and_refusals_are_stable() {
    let Some(azurite) = Azurite::start() else { return };
    println!("Azurite ready in {:?}", azurite.startup);
    azurite.create_container("reports");
    azurite.put_blob("reports", "daily/one.csv", b"1\n");
    azurite.put_blob("reports", "daily/two.csv", b"2\n");
    let sas_list = azurite.container_sas("reports", "rl", HOUR);
    let sas_read = azurite.container_sas("reports", "r", HOUR);
    let wrong_key = base64_of("not the account key, but valid base64 of a key 64 bytes long.....");
    let secrets = [ACCOUNT_KEY.to_string(), signature(&sas_list), signature(&sas_read), wrong_key.clone()];

    let rt = runtime();
    let plugin = load(&rt, sonde_test_support::probe("azure")).await;
    let check = |config: Value| {
        let (rt, plugin, secrets) = (&rt, &plugin, &secrets);
        async move {
            let r: CheckReport = rt.check(plugin, &config, TEN).await;
            let text = shown(&r);
            for s in secrets {
                assert!(!text.contains(s.as_str()), "a secret is shown: {text}");
            }
            r
        }
    };

    // SharedKey: the host's signature is Azurite's (it verifies it).
    let r = check(config(&azurite, "reports", json!({"account_key": ACCOUNT_KEY}))).await;
    assert_ok(&r);
    let details = r.details.clone().expect("details");
    assert_eq!((&details["container"], &details["blob_count"]), (&json!("reports"), &json!(1)), "{r:?}");
    let auth = auth_details(&r);
    assert_eq!(
        (&auth["kind"], &auth["target"]),
        (&json!("azure_shared_key"), &json!(azurite.origin())),
        "{r:?}"
    );

    // The same key through the auth object.
    let object = json!({"auth": {"kind": "azure_shared_key", "account": ACCOUNT, "key": ACCOUNT_KEY}});
    let mut counted = config(&azurite, "reports", object);
    counted["expect"] = json!({"rows": 2, "max_age": "1h"});
    let r = check(counted).await;
    assert_ok(&r);
    assert_eq!(r.details.as_ref().map(|d| d["blob_count"].clone()), Some(json!(2)), "{r:?}");

    // A SAS with list permission.
    let r = check(config(&azurite, "reports", json!({"sas_token": sas_list}))).await;
    assert_ok(&r);
    assert_eq!(auth_details(&r)["kind"], "query", "{r:?}");

    // A SAS that may read blobs but not list them: Azurite answers
    // AuthorizationPermissionMismatch (403), as Azure does.
    let r = check(config(&azurite, "reports", json!({"sas_token": sas_read}))).await;
    assert_staged(&r, "permission denied", "permission");
    assert_eq!(extra(&r)["code"], "AuthorizationPermissionMismatch", "{r:?}");

    // A container that does not exist.
    let r = check(config(&azurite, "no-such-container", json!({"account_key": ACCOUNT_KEY}))).await;
    assert_staged(&r, "container does not exist", "resource");
    assert_eq!(extra(&r)["code"], "ContainerNotFound", "{r:?}");

    // A wrong key: Azure answers 403 AuthenticationFailed ("authentication
    // failed"), but Azurite answers 403 AuthorizationFailure to a signature
    // it cannot verify (pinned in tests/support's Azurite test), which the
    // probe maps by its code to "permission denied". Either is a refusal of
    // the credential, never OK; which one depends on the server.
    let r = check(config(&azurite, "reports", json!({"account_key": wrong_key}))).await;
    assert_eq!(r.status, Status::Error, "{r:?}");
    let message = r.message.as_deref().unwrap_or_default();
    assert!(["authentication failed", "permission denied"].contains(&message), "{r:?}");
    assert_eq!(extra(&r)["status"], 403, "{r:?}");
}

fn base64_of(text: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(text)
}
