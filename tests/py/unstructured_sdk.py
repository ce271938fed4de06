"""Drives Sonde with Unstructured's own Python SDK, unchanged.

Run by tests/e2e/sdk.rs against the real `sonde serve`; every step prints
what it did, and the first surprise fails with the SDK's own error. Inputs
come from the environment: SONDE_URL, ACME_KEY, OTHER_KEY, PG_PORT (a real
PostgreSQL) and CLOSED_PORT (nothing listens there).
"""

import os
import sys
import time

from unstructured_client import UnstructuredClient
from unstructured_client.models import errors, operations, shared

URL = os.environ["SONDE_URL"]
ACME_KEY = os.environ["ACME_KEY"]
OTHER_KEY = os.environ["OTHER_KEY"]
PG = {"host": "127.0.0.1", "port": int(os.environ["PG_PORT"]), "user": "postgres", "database": "test"}
CLOSED = {"host": "127.0.0.1", "port": int(os.environ["CLOSED_PORT"]), "user": "postgres"}


def step(what):
    print(f"-- {what}", flush=True)


def expect(cond, what):
    if not cond:
        sys.exit(f"FAILED: {what}")


def refused(call, status):
    """`call()` raises the SDK's error with HTTP `status`."""
    try:
        call()
    except errors.UnstructuredClientError as e:
        expect(e.status_code == status, f"expected {status}, got {e.status_code}: {e}")
        return
    sys.exit(f"FAILED: expected HTTP {status}, the call succeeded")


def create(client, name, config):
    made = client.sources.create_source(
        request=operations.CreateSourceRequest(
            create_source_connector=shared.CreateSourceConnector(name=name, type="postgres", config=config)
        )
    )
    expect(made.status_code == 200, f"create answered {made.status_code}")
    info = made.source_connector_information
    expect(info.name == name and info.type == "postgres", f"created {info}")
    expect(info.config == config, f"config {info.config} != {config}")
    return info


def check(client, source_id):
    """POST connection-check (202, SCHEDULED), then GET until it has an outcome."""
    started = client.sources.create_connection_check_sources(
        request=operations.CreateConnectionCheckSourcesRequest(source_id=source_id)
    )
    expect(started.status_code == 202, f"connection-check POST answered {started.status_code}")
    scheduled = started.dag_node_connection_check
    expect(scheduled.status == shared.ConnectionCheckStatus.SCHEDULED, f"POST gave {scheduled}")
    expect(scheduled.reported_at is None, f"a scheduled check has reported_at: {scheduled}")
    deadline = time.monotonic() + 30
    while True:
        got = client.sources.get_connection_check_sources(
            request=operations.GetConnectionCheckSourcesRequest(source_id=source_id)
        ).dag_node_connection_check
        if got.id == scheduled.id and got.status != shared.ConnectionCheckStatus.SCHEDULED:
            expect(got.reported_at is not None and got.reported_at >= got.created_at, f"reported_at of {got}")
            return got
        expect(time.monotonic() < deadline, f"check {scheduled.id} never finished: {got}")
        time.sleep(0.1)


def main():
    # The SDK holds its client weakly: keep a name on it.
    acme = UnstructuredClient(api_key_auth=ACME_KEY, server_url=URL)

    step("create (POST /api/v1/sources/, 200 with the source)")
    orders = create(acme, "sdk-orders", PG)
    closed = create(acme, "sdk-closed", CLOSED)

    step("list (GET /api/v1/sources/), all and by type")
    listed = acme.sources.list_sources(request=operations.ListSourcesRequest()).response_list_sources
    ids = {s.id for s in listed}
    expect({orders.id, closed.id} <= ids, f"list lacks the new sources: {ids}")
    by_type = acme.sources.list_sources(
        request=operations.ListSourcesRequest(source_type=shared.SourceConnectorType.POSTGRES)
    ).response_list_sources
    expect(all(s.type == "postgres" for s in by_type) and orders.id in {s.id for s in by_type}, f"{by_type}")

    step("get")
    got = acme.sources.get_source(request=operations.GetSourceRequest(source_id=orders.id))
    expect(got.source_connector_information == orders, f"get gave {got.source_connector_information}")

    step("connection check against the real PostgreSQL: SUCCESS")
    ok = check(acme, orders.id)
    expect(ok.status == shared.ConnectionCheckStatus.SUCCESS and ok.reason is None, f"{ok}")

    step("connection check against a closed port: FAILURE with a reason")
    bad = check(acme, closed.id)
    expect(bad.status == shared.ConnectionCheckStatus.FAILURE, f"{bad}")
    expect(bad.reason == "connection refused", f"reason {bad.reason!r}")

    step("update with the config alone: name and type stay")
    new_config = dict(PG, query="SELECT 2")
    updated = acme.sources.update_source(
        request=operations.UpdateSourceRequest(
            source_id=orders.id, update_source_connector=shared.UpdateSourceConnector(config=new_config)
        )
    )
    expect(updated.status_code == 200, f"update answered {updated.status_code}")
    info = updated.source_connector_information
    expect((info.id, info.name, info.type) == (orders.id, orders.name, "postgres"), f"updated {info}")
    expect(info.config == new_config and info.updated_at > orders.updated_at, f"updated {info}")

    step("another organization's key: 404, as for a source that does not exist")
    other = UnstructuredClient(api_key_auth=OTHER_KEY, server_url=URL)
    refused(lambda: other.sources.get_source(request=operations.GetSourceRequest(source_id=orders.id)), 404)
    refused(
        lambda: other.sources.delete_source(request=operations.DeleteSourceRequest(source_id=orders.id)), 404
    )
    others = other.sources.list_sources(request=operations.ListSourcesRequest()).response_list_sources
    expect(orders.id not in {s.id for s in others}, "another organization lists our source")

    step("a wrong key: 401")
    stranger = UnstructuredClient(api_key_auth="not-a-key", server_url=URL)
    refused(lambda: stranger.sources.list_sources(request=operations.ListSourcesRequest()), 401)

    step("delete (200 with a JSON body), then it is gone")
    for source in (orders, closed):
        deleted = acme.sources.delete_source(request=operations.DeleteSourceRequest(source_id=source.id))
        expect(deleted.status_code == 200, f"delete answered {deleted.status_code}")
        expect(isinstance(deleted.any, dict) and source.id in deleted.any.get("detail", ""), f"{deleted.any}")
        refused(lambda: acme.sources.get_source(request=operations.GetSourceRequest(source_id=source.id)), 404)

    print("unstructured-client: every call worked", flush=True)


if __name__ == "__main__":
    main()
