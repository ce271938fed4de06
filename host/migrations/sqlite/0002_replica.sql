-- Which Sonde instance ran a check (`--replica-id`); NULL while queued, and
-- for checks recorded before replicas were named.
ALTER TABLE checks ADD COLUMN replica TEXT;
