"""Unstructured's own Python SDK creates an `s3` source with Unstructured's
S3 keys, unchanged, and its connection check reports SUCCESS against a real
S3 server (SeaweedFS), the host signing with the keys the plugin never sees.

Run by tests/e2e/cloud/sdk.rs against the real `sonde serve`. Inputs come
from the environment: SONDE_URL, ACME_KEY, S3_ENDPOINT, S3_BUCKET, S3_KEY,
S3_SECRET. Every step prints what it did; the first surprise fails.
"""

import os
import sys
import time

from unstructured_client import UnstructuredClient
from unstructured_client.models import operations, shared

URL = os.environ["SONDE_URL"]
ACME_KEY = os.environ["ACME_KEY"]
ENDPOINT = os.environ["S3_ENDPOINT"]
BUCKET = os.environ["S3_BUCKET"]
KEY = os.environ["S3_KEY"]
SECRET = os.environ["S3_SECRET"]


def step(what):
    print(f"-- {what}", flush=True)


def expect(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")


def create(client, name, config):
    made = client.sources.create_source(
        request=operations.CreateSourceRequest(
            create_source_connector=shared.CreateSourceConnector(
                name=name, type=shared.SourceConnectorType.S3, config=config
            )
        )
    )
    expect(made.status_code == 200, f"create answered {made.status_code}")
    info = made.source_connector_information
    expect(info.name == name and info.type == "s3", f"created {info}")
    return info


def check(client, source_id):
    """POST connection-check (202, SCHEDULED), then GET until it has an outcome."""
    started = client.sources.create_connection_check_sources(
        request=operations.CreateConnectionCheckSourcesRequest(source_id=source_id)
    )
    expect(started.status_code == 202, f"connection-check POST answered {started.status_code}")
    scheduled = started.dag_node_connection_check
    deadline = time.monotonic() + 30
    while True:
        got = client.sources.get_connection_check_sources(
            request=operations.GetConnectionCheckSourcesRequest(source_id=source_id)
        ).dag_node_connection_check
        if got.id == scheduled.id and got.status != shared.ConnectionCheckStatus.SCHEDULED:
            return got
        expect(time.monotonic() < deadline, f"check {scheduled.id} never finished: {got}")
        time.sleep(0.1)


def main():
    acme = UnstructuredClient(api_key_auth=ACME_KEY, server_url=URL)
    config = {
        "remote_url": f"s3://{BUCKET}/daily/",
        "key": KEY,
        "secret": SECRET,
        "endpoint_url": ENDPOINT,
        "recursive": True,
    }

    step("create an s3 source with Unstructured's S3 keys")
    source = create(acme, "sdk-s3", config)
    public = {k: v for k, v in config.items() if k != "secret"}
    expect(source.config == public, f"config {source.config} != {public} (the secret is never answered)")

    step("connection check against SeaweedFS: SUCCESS")
    ok = check(acme, source.id)
    expect(ok.status == shared.ConnectionCheckStatus.SUCCESS and ok.reason is None, f"{ok}")

    step("update with the config the SDK got back (no secret): the stored secret still signs")
    narrower = dict(source.config, recursive=False)
    updated = acme.sources.update_source(
        request=operations.UpdateSourceRequest(
            source_id=source.id, update_source_connector=shared.UpdateSourceConnector(config=narrower)
        )
    )
    expect(updated.status_code == 200, f"update answered {updated.status_code}")
    again = check(acme, source.id)
    expect(again.status == shared.ConnectionCheckStatus.SUCCESS, f"{again}")

    step("a wrong secret: FAILURE, authentication failed")
    wrong = create(acme, "sdk-s3-wrong", dict(config, secret=SECRET + "-wrong"))
    bad = check(acme, wrong.id)
    expect(bad.status == shared.ConnectionCheckStatus.FAILURE, f"{bad}")
    expect(bad.reason == "authentication failed", f"reason {bad.reason!r}")

    step("delete")
    for s in (source, wrong):
        deleted = acme.sources.delete_source(request=operations.DeleteSourceRequest(source_id=s.id))
        expect(deleted.status_code == 200, f"delete answered {deleted.status_code}")

    print("unstructured-client: the s3 source checked SUCCESS", flush=True)


if __name__ == "__main__":
    main()
