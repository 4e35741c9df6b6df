-- Indexes for the host lists a console and automation ask for at scale (BENCHMARKS.md, c);
-- the same as on SQLite, where they were measured.
--
-- "Connected hosts of cluster X sorted by name" (status = ? AND cluster_uuid IN (...) ORDER BY
-- name) used host_status_name on SQLite: its planner prefers an index that gives the ORDER BY,
-- so it walked every Connected host in name order looking for cluster X — 17-27 ms at 100,000
-- hosts. With (cluster_uuid, status, name) it seeks the ~1,000 hosts of the cluster and sorts
-- them: 0.4 ms. (name, status) keeps "status = ? ORDER BY name" and name sorts fast, and
-- replaces host_name. host_cluster is a prefix of the new cluster index.
DROP INDEX host_status_name;
DROP INDEX host_cluster;
DROP INDEX host_name;
CREATE INDEX host_cluster_status_name ON host(cluster_uuid, status, name);
CREATE INDEX host_name_status ON host(name, status);
