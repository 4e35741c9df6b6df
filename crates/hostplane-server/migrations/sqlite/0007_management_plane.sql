-- Several management nodes on one database (docs/scale-out.md). SQLite is the one-node store,
-- but keeps the same schema: job rows name their node, and the lease table exists (unused by
-- a single node, which serialises in memory).
ALTER TABLE job ADD COLUMN node_uuid TEXT;
CREATE INDEX job_state_node ON job(state, node_uuid);

CREATE TABLE lease (
    name TEXT PRIMARY KEY,
    node_uuid TEXT NOT NULL,
    token TEXT NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX lease_node ON lease(node_uuid);
