-- Takeover flags still to remove from hosts that are gone from this server (deleted, or an add
-- rolled back). A row is written in the same transaction that deletes the host, so a crash
-- between the deletion and the removal on the host cannot lose it; it goes when the flag is
-- removed (or found to name another host), or when hostplane gives up on an unreachable host.
-- The credential is sealed as it was in the host row (bound to the host's uuid).
CREATE TABLE host_cleanup (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    management_ip TEXT COLLATE "C" NOT NULL,
    ssh_port BIGINT,
    username TEXT COLLATE "C",
    credential TEXT COLLATE "C",
    host_key_fingerprint TEXT COLLATE "C",
    create_date BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0
);
