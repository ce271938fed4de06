-- A source's page lists its notifications, newest first (DESIGN §11).
CREATE INDEX notifications_by_source ON notifications (source_id, created_at);
