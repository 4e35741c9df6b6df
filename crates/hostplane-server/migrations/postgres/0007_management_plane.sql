-- Several management nodes on one database (docs/scale-out.md).
--
-- A job remembers the node that runs it, so that when that node dies the others fail exactly
-- its jobs (and a restart fails only its own). Jobs written before this migration have none.
ALTER TABLE job ADD COLUMN node_uuid TEXT COLLATE "C";
CREATE INDEX job_state_node ON job(state, node_uuid);

-- Leases: per-host serialisation across nodes (adds of one IP, connects, deletes, state
-- changes). A lease is held by one token of one node until it is released or its expiry
-- (database time, epoch ms) passes; the holder renews it while it works. A dead node's leases
-- are dropped by the node that declares it dead.
CREATE TABLE lease (
    name TEXT COLLATE "C" PRIMARY KEY,
    node_uuid TEXT COLLATE "C" NOT NULL,
    token TEXT COLLATE "C" NOT NULL,
    expires BIGINT NOT NULL
);
CREATE INDEX lease_node ON lease(node_uuid);
