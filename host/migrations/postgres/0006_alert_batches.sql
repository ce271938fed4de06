-- Grouping (DESIGN §8): a route with `group_wait` gathers its notifications
-- into one row, its open batch (`source_id` nil, `seq` counting the route's
-- batches), until the batch is claimed for sending. At most one is open per
-- route, so replicas that record checks at once append to the same batch.
ALTER TABLE notifications ADD COLUMN open BOOLEAN NOT NULL DEFAULT FALSE;
CREATE UNIQUE INDEX notifications_open_batch ON notifications (route) WHERE open;
