-- Which replicas are alive: each renews its row with its leases. A manual
-- check (run by the replica that took the request, outside `schedule`) whose
-- replica stopped renewing is adopted and run by another one.
CREATE TABLE replicas (
    id         TEXT PRIMARY KEY,
    seen_until TIMESTAMPTZ NOT NULL
);
