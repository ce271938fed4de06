-- A source's `depends_on` (DESIGN §8), as in the SQLite store's 0005: the
-- names of sources of the same organization it depends on, a JSON array of
-- strings. Every existing source depends on nothing.
ALTER TABLE sources ADD COLUMN depends_on JSONB NOT NULL DEFAULT '[]'::jsonb;
