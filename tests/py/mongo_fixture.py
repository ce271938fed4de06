"""MongoDB fixture and oracle for the mongodb probe's tests, with pymongo.

    mongo_fixture.py setup PORT ADMIN_PASSWORD
        On a SecantusDB started without --auth (tests/support/src/secantus.rs):
        creates the users and the data the tests read, then exits.
        Users: `admin` (root, SCRAM-SHA-256), `sha1` (root, SCRAM-SHA-1 only,
        same password), `reader` (read on database `other` only, password
        `reader-pw`). Data: app.events (5 documents, `k` 0..4, `at` now),
        app.stale (2 documents, `at` 30 days ago), other.things (1 document).

    mongo_fixture.py oracle URI DATABASE COLLECTION
        What pymongo says for the same source: prints one JSON line,
        {"ping": "ok" | {"code", "codeName"},
         "collections": [names] | {"code", "codeName"}}.
"""

import datetime
import json
import sys

import pymongo
from pymongo.errors import OperationFailure, PyMongoError


def setup(port, password):
    client = pymongo.MongoClient(f"mongodb://127.0.0.1:{port}/", serverSelectionTimeoutMS=10000)
    admin = client.admin
    admin.command("createUser", "admin", pwd=password, roles=["root"], mechanisms=["SCRAM-SHA-256"])
    admin.command("createUser", "sha1", pwd=password, roles=["root"], mechanisms=["SCRAM-SHA-1"])
    admin.command("createUser", "reader", pwd="reader-pw", roles=[{"role": "read", "db": "other"}])
    now = datetime.datetime.now(datetime.timezone.utc)
    client.app.events.insert_many([{"k": k, "at": now} for k in range(5)])
    old = now - datetime.timedelta(days=30)
    client.app.stale.insert_many([{"k": k, "at": old} for k in range(2)])
    client.other.things.insert_one({"k": 0})


def failure(e):
    if isinstance(e, OperationFailure):
        return {"code": e.code, "codeName": (e.details or {}).get("codeName")}
    return {"error": type(e).__name__}


def oracle(uri, database, collection):
    client = pymongo.MongoClient(uri, serverSelectionTimeoutMS=5000)
    out = {}
    try:
        client.admin.command("ping")
        out["ping"] = "ok"
    except PyMongoError as e:
        out["ping"] = failure(e)
    try:
        out["collections"] = sorted(client[database].list_collection_names(filter={"name": collection}))
    except PyMongoError as e:
        out["collections"] = failure(e)
    print(json.dumps(out))


if __name__ == "__main__":
    command, *args = sys.argv[1:]
    if command == "setup":
        setup(int(args[0]), args[1])
    elif command == "oracle":
        oracle(*args)
    else:
        sys.exit(f"unknown command {command}")
