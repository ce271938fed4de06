-- Grouping (DESIGN §8): a route with `group_wait` gathers its notifications
-- into one row, its open batch (`source_id` nil, `seq` counting the route's
-- batches), until the batch is claimed for sending. At most one is open per
-- route.
ALTER TABLE notifications ADD COLUMN open INTEGER NOT NULL DEFAULT 0;
CREATE UNIQUE INDEX notifications_open_batch ON notifications (route) WHERE open = 1;
