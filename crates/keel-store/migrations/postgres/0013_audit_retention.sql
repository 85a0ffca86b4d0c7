-- Retention: entries with a leaf index below `pruned_below` were pruned (their rows deleted).
-- Their leaf hashes stay in audit_nodes (level 0), so every checkpoint and every remaining
-- entry's proofs still verify.
ALTER TABLE audit_tree ADD COLUMN pruned_below BIGINT NOT NULL DEFAULT 0;
