-- Search postings are written for batches of entries instead of every transaction: the writer
-- keeps the keys of the newest entries in memory and writes them once a batch is full.
-- `indexed_size` is how many leaves the stored postings cover; searches read the entries from
-- there to the head directly. Every entry so far has its postings (migration 12 wrote them per
-- transaction).
ALTER TABLE audit_tree ADD COLUMN indexed_size INTEGER NOT NULL DEFAULT 0;
UPDATE audit_tree SET indexed_size = size;
