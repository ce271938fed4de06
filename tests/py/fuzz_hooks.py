"""Schemathesis hooks for tests/py/fuzz.sh (SCHEMATHESIS_HOOKS=fuzz_hooks).

Some rules of Sonde's API hold between values, which JSON Schema cannot
state; /openapi.json says them in words. Positive cases are drawn within
them here, so everything else about those bodies is held to "valid means
accepted", and the edges the rules allow are drawn on purpose:

- A source's policy stays within `[limits]` (the defaults: fuzz.sh sets
  none). A duration is a sum of parts ("1h 30m"), so no pattern can bound it.
- A silence's `ends_at` is not before `starts_at` (now, when it is left
  out). Equal is allowed, and is drawn often: it is the edge.
- A source's config gives one credential: its `auth` object, or the flat
  keys its probe maps to one (DESIGN §4; two at once is a 422). The flat
  keys are the probe's own, so a drawn `auth` object that fits the
  document is left out instead (one drawn to break it stays, so the case
  stays negative); tests/e2e/auth and tests/e2e/cloud hold the object to
  its rules.
- A source's `depends_on` names sources of its own organization, without
  a cycle (DESIGN §8; otherwise a 422 at the field). Which names exist is
  known only at request time, so a drawn list that fits the document
  becomes one naming fuzz.sh's file source `seeded` (org_acme's), or an
  empty one in any other organization; tests/e2e/api/depends.rs holds
  the rule itself.
- A source's `locations` are among those granted to its organization
  (DESIGN §10; otherwise a 422 at the field), which fuzz.sh's file grants
  none of beyond `central`, and `min_locations_failed` is at most their
  number: a drawn list that fits the document becomes `["central"]`, a
  drawn quorum that fits it 1; tests/e2e/agents/tenancy.rs holds the rules.

Only values that fit the document's grammar are moved, so a case drawn to
break the document (negative) still breaks it.
"""

import re
from datetime import datetime, timedelta, timezone

import schemathesis

UNITS = {"ms": 0.001, "s": 1, "m": 60, "h": 3600, "d": 86400}
PART = re.compile(r"([0-9]+)(ms|s|m|h|d)")
# The document's duration grammar (server::fields::duration::PATTERN).
GRAMMAR = re.compile(r"^[1-9][0-9]{0,5}(ms|s|m|h|d)( ?[0-9]{1,6}(ms|s|m|h|d)){0,3}$")
# DESIGN §4's bounds, in seconds: (min, max).
BOUNDS = {"interval": (1, 30 * 86400), "timeout": (0.01, 600), "retry_interval": (0, 3600)}
SOURCE_OPERATIONS = {"POST /api/v1/sources/", "PUT /api/v1/sources/{source_id}"}
# The document's source names (`depends_on` items), and its `maxItems`.
NAME = re.compile(r"^[^/]*[^\s/][^/]*$")
MAX_DEPENDS_ON = 100
# The document's location names and list bounds.
LOCATION = re.compile(r"^[a-z0-9._-]+$")
# The source fuzz.sh's file defines, in this organization.
SEEDED = ("org_acme", "seeded")


def seconds(text):
    return sum(int(n) * UNITS[u] for n, u in PART.findall(text))


def timestamp(text):
    if not isinstance(text, str):
        return None
    try:
        t = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        return t.astimezone(timezone.utc) if t.tzinfo else None
    except (ValueError, OverflowError):
        return None


# `sonde_sdk::Auth` as the document has it: its kinds, and its members by
# type (plugins/sdk/src/auth.rs).
AUTH_KINDS = {
    "bearer", "basic", "header", "query", "oauth2", "jwt_bearer", "signed_jwt", "aws_sigv4", "azure_shared_key",
}
AUTH_LISTS = {"hosts", "methods"}
AUTH_DOCUMENTS = {"service_account", "box_app_config"}
AUTH_STRINGS = {
    "user", "password", "token", "scheme", "name", "value", "token_url", "client_id", "client_secret",
    "client_auth", "refresh_token", "private_key", "passphrase", "key_id", "scope", "audience", "resource",
    "issuer", "subject", "header", "access_key_id", "secret_access_key", "session_token", "region", "service",
    "account", "key", "connection_string",
}


def fits_auth(auth):
    """Whether a drawn `auth` object has the document's shape (a negative
    case's mutation, such as `hosts` made an object, does not)."""
    if not isinstance(auth, dict) or auth.get("kind") not in AUTH_KINDS:
        return False
    for member, value in auth.items():
        if member == "kind" or value is None:
            continue
        if member in AUTH_LISTS:
            ok = isinstance(value, list) and all(isinstance(v, str) for v in value)
        elif member in AUTH_DOCUMENTS:
            ok = isinstance(value, (str, dict))
        elif member == "claims":
            ok = isinstance(value, dict)
        else:
            ok = member in AUTH_STRINGS and isinstance(value, str)
        if not ok:
            return False
    return True


def fits_names(items):
    return len(items) <= MAX_DEPENDS_ON and all(
        isinstance(n, str) and 1 <= len(n) <= 200 and NAME.match(n) for n in items
    )


def fits_locations(items):
    return 1 <= len(items) <= 64 and all(
        isinstance(n, str) and 1 <= len(n) <= 64 and LOCATION.match(n) for n in items
    )


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict) or context.operation is None:
        return body
    label = context.operation.label
    body = dict(body)
    if label in SOURCE_OPERATIONS:
        config = body.get("config")
        if isinstance(config, dict) and fits_auth(config.get("auth")):
            body["config"] = {k: v for k, v in config.items() if k != "auth"}
        deps = body.get("depends_on")
        if isinstance(deps, list) and fits_names(deps):
            # An organization key's own is org_acme; so is fuzz.sh's source
            # that updates reach.
            organization = body.get("organization") or SEEDED[0]
            named = deps and organization == SEEDED[0] and body.get("name") != SEEDED[1]
            body["depends_on"] = [SEEDED[1]] if named else []
        locations = body.get("locations")
        if isinstance(locations, list) and fits_locations(locations):
            body["locations"] = ["central"]
        quorum = body.get("min_locations_failed")
        whole = isinstance(quorum, (int, float)) and not isinstance(quorum, bool) and float(quorum).is_integer()
        if whole and 1 <= quorum <= 64:
            body["min_locations_failed"] = 1
        for field, (low, high) in BOUNDS.items():
            value = body.get(field)
            if isinstance(value, str) and GRAMMAR.match(value) and not low <= seconds(value) <= high:
                body[field] = "30s" if field != "timeout" else "2s"
    elif label == "POST /v1/silences":
        ends = timestamp(body.get("ends_at"))
        starts = timestamp(body.get("starts_at"))
        if ends is not None and body.get("starts_at") is None:
            # From now: an end already past becomes a window that starts and
            # ends then (the equal edge), given explicitly.
            if ends < datetime.now(timezone.utc) + timedelta(minutes=1):
                body["starts_at"] = body["ends_at"]
        elif ends is not None and starts is not None and ends < starts:
            body["starts_at"], body["ends_at"] = body["ends_at"], body["starts_at"]
    return body
