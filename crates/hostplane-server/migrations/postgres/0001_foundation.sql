-- hostplane's first schema (PostgreSQL). Timestamps are epoch milliseconds; booleans are 0/1.
-- Every text column is COLLATE "C" so that sorting and LIKE mean the same as on SQLite (byte order).
CREATE TABLE account (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL UNIQUE,
    type TEXT COLLATE "C" NOT NULL,
    password_hash TEXT COLLATE "C" NOT NULL,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);

CREATE TABLE session (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    account_uuid TEXT COLLATE "C" NOT NULL REFERENCES account(uuid) ON DELETE CASCADE,
    user_uuid TEXT COLLATE "C" NOT NULL,
    user_type TEXT COLLATE "C" NOT NULL,
    create_date BIGINT NOT NULL,
    expired_date BIGINT NOT NULL
);
CREATE INDEX session_expired ON session(expired_date);

CREATE TABLE zone (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    state TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX zone_name ON zone(name);

CREATE TABLE cluster (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    zone_uuid TEXT COLLATE "C" NOT NULL REFERENCES zone(uuid) ON DELETE CASCADE,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    state TEXT COLLATE "C" NOT NULL,
    hypervisor_type TEXT COLLATE "C" NOT NULL,
    type TEXT COLLATE "C" NOT NULL,
    architecture TEXT COLLATE "C",
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX cluster_zone ON cluster(zone_uuid);
CREATE INDEX cluster_name ON cluster(name);

-- One row per host: ZStack's HostVO + KVMHostVO + HostCapacityVO + HostIpmiVO +
-- HostHwMonitorStatusVO in one table, so a query needs no join.
CREATE TABLE host (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    zone_uuid TEXT COLLATE "C" NOT NULL REFERENCES zone(uuid),
    cluster_uuid TEXT COLLATE "C" NOT NULL REFERENCES cluster(uuid),
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    management_ip TEXT COLLATE "C" NOT NULL,
    hypervisor_type TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    status TEXT COLLATE "C" NOT NULL,
    architecture TEXT COLLATE "C",
    hostname TEXT COLLATE "C",
    nqn TEXT COLLATE "C",
    -- KVM
    username TEXT COLLATE "C",
    ssh_port BIGINT,
    credential TEXT COLLATE "C",
    host_key_fingerprint TEXT COLLATE "C",
    host_key TEXT COLLATE "C",
    os_distribution TEXT COLLATE "C",
    os_release TEXT COLLATE "C",
    os_version TEXT COLLATE "C",
    -- capacity
    total_cpu BIGINT,
    available_cpu BIGINT,
    cpu_num BIGINT,
    cpu_sockets BIGINT,
    total_memory BIGINT,
    available_memory BIGINT,
    total_physical_memory BIGINT,
    available_physical_memory BIGINT,
    -- IPMI
    ipmi_address TEXT COLLATE "C",
    ipmi_username TEXT COLLATE "C",
    ipmi_port BIGINT,
    ipmi_power_status TEXT COLLATE "C",
    -- hardware monitor
    cpu_status TEXT COLLATE "C",
    memory_status TEXT COLLATE "C",
    disk_status TEXT COLLATE "C",
    nic_status TEXT COLLATE "C",
    gpu_status TEXT COLLATE "C",
    power_supply_status TEXT COLLATE "C",
    fan_status TEXT COLLATE "C",
    raid_status TEXT COLLATE "C",
    temperature_status TEXT COLLATE "C",
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
-- ZStack enforces unique management IPs in code only; hostplane lets the database refuse a
-- second row for the same IP, so concurrent adds cannot both win.
CREATE UNIQUE INDEX host_management_ip ON host(management_ip);
CREATE INDEX host_cluster ON host(cluster_uuid, name);
CREATE INDEX host_zone ON host(zone_uuid);
CREATE INDEX host_status_name ON host(status, name);
CREATE INDEX host_name ON host(name);

CREATE TABLE system_tag (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    resource_uuid TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    tag TEXT COLLATE "C" NOT NULL,
    inherent BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX system_tag_type_tag ON system_tag(resource_type, tag, resource_uuid);
CREATE INDEX system_tag_resource ON system_tag(resource_uuid);

CREATE TABLE user_tag (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    resource_uuid TEXT COLLATE "C" NOT NULL,
    resource_type TEXT COLLATE "C" NOT NULL,
    tag TEXT COLLATE "C" NOT NULL,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX user_tag_type_tag ON user_tag(resource_type, tag, resource_uuid);
CREATE INDEX user_tag_resource ON user_tag(resource_uuid);

CREATE TABLE job (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    api TEXT COLLATE "C" NOT NULL,
    state TEXT COLLATE "C" NOT NULL,
    result TEXT COLLATE "C",
    create_date BIGINT NOT NULL,
    finished_date BIGINT
);
CREATE INDEX job_finished ON job(finished_date);

CREATE TABLE global_config (
    id BIGSERIAL PRIMARY KEY,
    category TEXT COLLATE "C" NOT NULL,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    default_value TEXT COLLATE "C" NOT NULL,
    value TEXT COLLATE "C" NOT NULL,
    UNIQUE (category, name)
);

CREATE TABLE management_node (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    host_name TEXT COLLATE "C" NOT NULL,
    join_date BIGINT NOT NULL,
    heart_beat BIGINT NOT NULL
);
