"""Schemathesis hooks for tests/py/fuzz.sh (SCHEMATHESIS_HOOKS=fuzz_hooks).

Two rules of Sonde's API hold between values, which JSON Schema cannot
state; /openapi.json says them in words. Positive cases are drawn within
them here, so everything else about those bodies is held to "valid means
accepted", and the edges the rules allow are drawn on purpose:

- A source's policy stays within `[limits]` (the defaults: fuzz.sh sets
  none). A duration is a sum of parts ("1h 30m"), so no pattern can bound it.
- A silence's `ends_at` is not before `starts_at` (now, when it is left
  out). Equal is allowed, and is drawn often: it is the edge.

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


@schemathesis.hook
def map_body(context, body):
    if not isinstance(body, dict) or context.operation is None:
        return body
    label = context.operation.label
    body = dict(body)
    if label in SOURCE_OPERATIONS:
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
