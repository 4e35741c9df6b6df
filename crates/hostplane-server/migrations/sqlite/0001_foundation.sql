-- hostplane's first schema (SQLite). Timestamps are epoch milliseconds; booleans are 0/1.
CREATE TABLE account (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    type TEXT NOT NULL,
    password_hash TEXT NOT NULL,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);

CREATE TABLE session (
    uuid TEXT PRIMARY KEY,
    account_uuid TEXT NOT NULL REFERENCES account(uuid) ON DELETE CASCADE,
    user_uuid TEXT NOT NULL,
    user_type TEXT NOT NULL,
    create_date BIGINT NOT NULL,
    expired_date BIGINT NOT NULL
);
CREATE INDEX session_expired ON session(expired_date);

CREATE TABLE zone (
    uuid TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    type TEXT NOT NULL,
    is_default BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX zone_name ON zone(name);

CREATE TABLE cluster (
    uuid TEXT PRIMARY KEY,
    zone_uuid TEXT NOT NULL REFERENCES zone(uuid) ON DELETE CASCADE,
    name TEXT NOT NULL,
    description TEXT,
    state TEXT NOT NULL,
    hypervisor_type TEXT NOT NULL,
    type TEXT NOT NULL,
    architecture TEXT,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX cluster_zone ON cluster(zone_uuid);
CREATE INDEX cluster_name ON cluster(name);

-- One row per host: ZStack's HostVO + KVMHostVO + HostCapacityVO + HostIpmiVO +
-- HostHwMonitorStatusVO in one table, so a query needs no join.
CREATE TABLE host (
    uuid TEXT PRIMARY KEY,
    zone_uuid TEXT NOT NULL REFERENCES zone(uuid),
    cluster_uuid TEXT NOT NULL REFERENCES cluster(uuid),
    name TEXT NOT NULL,
    description TEXT,
    management_ip TEXT NOT NULL,
    hypervisor_type TEXT NOT NULL,
    state TEXT NOT NULL,
    status TEXT NOT NULL,
    architecture TEXT,
    hostname TEXT,
    nqn TEXT,
    -- KVM
    username TEXT,
    ssh_port BIGINT,
    credential TEXT,
    host_key_fingerprint TEXT,
    host_key TEXT,
    os_distribution TEXT,
    os_release TEXT,
    os_version TEXT,
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
    ipmi_address TEXT,
    ipmi_username TEXT,
    ipmi_port BIGINT,
    ipmi_power_status TEXT,
    -- hardware monitor
    cpu_status TEXT,
    memory_status TEXT,
    disk_status TEXT,
    nic_status TEXT,
    gpu_status TEXT,
    power_supply_status TEXT,
    fan_status TEXT,
    raid_status TEXT,
    temperature_status TEXT,
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
    uuid TEXT PRIMARY KEY,
    resource_uuid TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    tag TEXT NOT NULL,
    inherent BIGINT NOT NULL DEFAULT 0,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX system_tag_type_tag ON system_tag(resource_type, tag, resource_uuid);
CREATE INDEX system_tag_resource ON system_tag(resource_uuid);

CREATE TABLE user_tag (
    uuid TEXT PRIMARY KEY,
    resource_uuid TEXT NOT NULL,
    resource_type TEXT NOT NULL,
    tag TEXT NOT NULL,
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);
CREATE INDEX user_tag_type_tag ON user_tag(resource_type, tag, resource_uuid);
CREATE INDEX user_tag_resource ON user_tag(resource_uuid);

CREATE TABLE job (
    uuid TEXT PRIMARY KEY,
    api TEXT NOT NULL,
    state TEXT NOT NULL,
    result TEXT,
    create_date BIGINT NOT NULL,
    finished_date BIGINT
);
CREATE INDEX job_finished ON job(finished_date);

CREATE TABLE global_config (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    category TEXT NOT NULL,
    name TEXT NOT NULL,
    description TEXT,
    default_value TEXT NOT NULL,
    value TEXT NOT NULL,
    UNIQUE (category, name)
);

CREATE TABLE management_node (
    uuid TEXT PRIMARY KEY,
    host_name TEXT NOT NULL,
    join_date BIGINT NOT NULL,
    heart_beat BIGINT NOT NULL
);
