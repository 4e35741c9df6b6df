-- Host events (QueryHostEvent) and webhook subscriptions to them (hostplane's additions).
--
-- An event is one change of a host: its status or state, an add, a delete, a reconnect, a
-- re-pinned host key. The id orders events (ties of create_date included). Rows outlive their
-- host (no foreign key): the host's name and IP are copied in when the event is recorded.
-- Retention (host.event.retentionPeriod, host.event.maxCount) is swept by create_date and id.
CREATE TABLE host_event (
    id BIGSERIAL PRIMARY KEY,
    host_uuid TEXT COLLATE "C" NOT NULL,
    host_name TEXT COLLATE "C",
    management_ip TEXT COLLATE "C",
    type TEXT COLLATE "C" NOT NULL,
    from_value TEXT COLLATE "C",
    to_value TEXT COLLATE "C",
    cause TEXT COLLATE "C" NOT NULL,
    reason TEXT COLLATE "C",
    job_uuid TEXT COLLATE "C",
    management_node_uuid TEXT COLLATE "C",
    create_date BIGINT NOT NULL
);
CREATE INDEX host_event_host ON host_event(host_uuid, id);
CREATE INDEX host_event_date ON host_event(create_date);

-- The secret (for the signature header) is sealed like host credentials, never returned.
CREATE TABLE host_event_subscription (
    uuid TEXT COLLATE "C" PRIMARY KEY,
    name TEXT COLLATE "C" NOT NULL,
    description TEXT COLLATE "C",
    url TEXT COLLATE "C" NOT NULL,
    host_uuid TEXT COLLATE "C",
    event_types TEXT COLLATE "C",
    secret TEXT COLLATE "C",
    create_date BIGINT NOT NULL,
    last_op_date BIGINT NOT NULL
);

-- /metrics counts hosts by status and state on every scrape (cached briefly): a covering
-- index keeps that an index-only scan.
CREATE INDEX host_status_state ON host(status, state);
