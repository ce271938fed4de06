-- A source's `depends_on` (DESIGN §8): the names of sources of the same
-- organization it depends on, as a JSON array of strings. Every existing
-- source depends on nothing.
ALTER TABLE sources ADD COLUMN depends_on TEXT NOT NULL DEFAULT '[]';
