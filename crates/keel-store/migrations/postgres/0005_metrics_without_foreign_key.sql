-- Keel tracking schema, version 5 (PostgreSQL only): metric points without a foreign key.
--
-- Metric points are the hot path of tracking, and the foreign key's per-row check (a lookup of
-- the run FOR KEY SHARE in a trigger) cost about 40% of inserting a point. It guards nothing the
-- writers do not already guarantee: every write of points locks its run FOR SHARE first and fails
-- on a run that is missing or not active, and the purge (`keel gc`), which locks runs FOR UPDATE
-- before deleting them, deletes their points in the same transaction instead of by cascade.
ALTER TABLE metrics DROP CONSTRAINT IF EXISTS metrics_run_key_fkey;
