-- Keel tracking schema, version 3 (PostgreSQL only): indexes for searches over many runs.
-- See docs/postgres-query-plans.md for the plans they serve. SQLite's schema is unchanged.

-- The default run order (start_time DESC, run_uuid) across several experiments: PostgreSQL
-- cannot merge runs_by_experiment's per-experiment orders for an IN list, but it can walk this
-- index in order, skip runs of other experiments and stop after one page.
CREATE INDEX runs_by_start_time ON runs (start_time DESC, run_uuid);

-- Params and tags by key and value, for filters (`params.p = 'x'`, `tags.t LIKE 'ab%'`) and
-- for ordering by a param or tag. A whole value does not fit a B-tree entry (at most ~2.7 kB;
-- values may have 6,000 or 8,000 characters), so the index holds the first 100 characters;
-- search_sql/postgres.rs writes conditions on short literals against `left(value, 100)`. These
-- replace the (key, run_key) indexes: every lookup by key alone can use them as well.
CREATE INDEX params_by_key_value ON params (key, left(value, 100));
DROP INDEX params_by_key;
CREATE INDEX tags_by_key_value ON tags (key, left(value, 100));
DROP INDEX tags_by_key;

-- Statistics for the new index expressions, so the planner estimates `left(value, 100)`
-- conditions from the data at once instead of waiting for autovacuum's next analyze.
ANALYZE params;
ANALYZE tags;
