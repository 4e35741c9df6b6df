//! What each resource shows to the query language and in its inventory: field names (ZStack's
//! JSON names), their columns and types, the expansions to other resources, and the ZStack
//! inventory class.
//!
//! The same list decides what a query may filter and sort on and which fields an inventory
//! carries, in which order, so the two cannot drift. Column names here are the only
//! identifiers that ever reach SQL text.

use hostplane_query::{Catalogue, Expansion, Field, FieldType, Resource};

pub const ZONE_CLASS: &str = "org.zstack.header.zone.ZoneInventory";
pub const CLUSTER_CLASS: &str = "org.zstack.header.cluster.ClusterInventory";
pub const KVM_HOST_CLASS: &str = "org.zstack.kvm.KVMHostInventory";
pub const HOST_CLASS: &str = "org.zstack.header.host.HostInventory";
pub const GLOBAL_CONFIG_CLASS: &str = "org.zstack.core.config.GlobalConfigInventory";
pub const MANAGEMENT_NODE_CLASS: &str = "org.zstack.header.managementnode.ManagementNodeInventory";
/// hostplane's additions: host events and webhook subscriptions to them.
pub const HOST_EVENT_CLASS: &str = "org.zstack.hostplane.HostEventInventory";
pub const HOST_EVENT_SUBSCRIPTION_CLASS: &str =
    "org.zstack.hostplane.HostEventSubscriptionInventory";
/// Class of the hardware-status enum fields (they get their own `schema` entries).
pub const HW_STATUS_CLASS: &str = "org.zstack.header.host.HwMonitorStatus";

const fn f(name: &'static str, column: &'static str, ty: FieldType) -> Field {
    Field {
        name,
        column,
        ty,
        only_for_type: None,
    }
}
const fn kvm(name: &'static str, column: &'static str, ty: FieldType) -> Field {
    Field {
        name,
        column,
        ty,
        only_for_type: Some("KVM"),
    }
}
use FieldType::{Bool, Date, Int, Text};

pub static ZONE: Resource = Resource {
    name: "Zone",
    table: "zone",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("name", "name", Text),
        f("description", "description", Text),
        f("state", "state", Text),
        f("type", "type", Text),
        f("isDefault", "is_default", Bool),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[
        Expansion {
            name: "cluster",
            local_column: "uuid",
            target: "Cluster",
            target_column: "zone_uuid",
        },
        Expansion {
            name: "host",
            local_column: "uuid",
            target: "Host",
            target_column: "zone_uuid",
        },
    ],
    type_field: None,
    tag_resource_type: Some("ZoneVO"),
    inventory_class: ZONE_CLASS,
};

pub static CLUSTER: Resource = Resource {
    name: "Cluster",
    table: "cluster",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("name", "name", Text),
        f("description", "description", Text),
        f("state", "state", Text),
        f("hypervisorType", "hypervisor_type", Text),
        f("zoneUuid", "zone_uuid", Text),
        f("type", "type", Text),
        f("architecture", "architecture", Text),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[
        Expansion {
            name: "zone",
            local_column: "zone_uuid",
            target: "Zone",
            target_column: "uuid",
        },
        Expansion {
            name: "host",
            local_column: "uuid",
            target: "Host",
            target_column: "cluster_uuid",
        },
    ],
    type_field: None,
    tag_resource_type: Some("ClusterVO"),
    inventory_class: CLUSTER_CLASS,
};

/// The KVM-only fields: left out of the plain `HostInventory` (ChangeHostState's event).
pub const KVM_ONLY_FIELDS: &[&str] = &[
    "username",
    "sshPort",
    "osDistribution",
    "osRelease",
    "osVersion",
];

pub static HOST: Resource = Resource {
    name: "Host",
    table: "host",
    key: "uuid",
    fields: &[
        kvm("username", "username", Text),
        kvm("sshPort", "ssh_port", Int),
        kvm("osDistribution", "os_distribution", Text),
        kvm("osRelease", "os_release", Text),
        kvm("osVersion", "os_version", Text),
        f("zoneUuid", "zone_uuid", Text),
        f("name", "name", Text),
        f("uuid", "uuid", Text),
        f("clusterUuid", "cluster_uuid", Text),
        f("description", "description", Text),
        f("managementIp", "management_ip", Text),
        f("hypervisorType", "hypervisor_type", Text),
        f("state", "state", Text),
        f("status", "status", Text),
        f("totalCpuCapacity", "total_cpu", Int),
        f("availableCpuCapacity", "available_cpu", Int),
        f("cpuSockets", "cpu_sockets", Int),
        f("totalMemoryCapacity", "total_memory", Int),
        f("availableMemoryCapacity", "available_memory", Int),
        f("cpuNum", "cpu_num", Int),
        f("ipmiAddress", "ipmi_address", Text),
        f("ipmiUsername", "ipmi_username", Text),
        f("ipmiPort", "ipmi_port", Int),
        f("ipmiPowerStatus", "ipmi_power_status", Text),
        f("architecture", "architecture", Text),
        f("nqn", "nqn", Text),
        f("hostname", "hostname", Text),
        f("cpuStatus", "cpu_status", Text),
        f("memoryStatus", "memory_status", Text),
        f("diskStatus", "disk_status", Text),
        f("nicStatus", "nic_status", Text),
        f("gpuStatus", "gpu_status", Text),
        f("powerSupplyStatus", "power_supply_status", Text),
        f("fanStatus", "fan_status", Text),
        f("raidStatus", "raid_status", Text),
        f("temperatureStatus", "temperature_status", Text),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[
        Expansion {
            name: "zone",
            local_column: "zone_uuid",
            target: "Zone",
            target_column: "uuid",
        },
        Expansion {
            name: "cluster",
            local_column: "cluster_uuid",
            target: "Cluster",
            target_column: "uuid",
        },
    ],
    type_field: Some("hypervisorType"),
    tag_resource_type: Some("HostVO"),
    inventory_class: HOST_CLASS,
};

/// The hardware-status fields, whose values are `HwMonitorStatus` enums.
pub const HW_STATUS_FIELDS: &[&str] = &[
    "cpuStatus",
    "memoryStatus",
    "diskStatus",
    "nicStatus",
    "gpuStatus",
    "powerSupplyStatus",
    "fanStatus",
    "raidStatus",
    "temperatureStatus",
];

pub static GLOBAL_CONFIG: Resource = Resource {
    name: "GlobalConfig",
    table: "global_config",
    key: "id",
    fields: &[
        f("id", "id", Int),
        f("name", "name", Text),
        f("category", "category", Text),
        f("description", "description", Text),
        f("defaultValue", "default_value", Text),
        f("value", "value", Text),
    ],
    expansions: &[],
    type_field: None,
    tag_resource_type: None,
    inventory_class: GLOBAL_CONFIG_CLASS,
};

pub static MANAGEMENT_NODE: Resource = Resource {
    name: "ManagementNode",
    table: "management_node",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("hostName", "host_name", Text),
        f("joinDate", "join_date", Date),
        f("heartBeat", "heart_beat", Date),
    ],
    expansions: &[],
    type_field: None,
    tag_resource_type: None,
    inventory_class: MANAGEMENT_NODE_CLASS,
};

pub const SYSTEM_TAG_CLASS: &str = "org.zstack.header.tag.SystemTagInventory";
pub const USER_TAG_CLASS: &str = "org.zstack.header.tag.UserTagInventory";

/// System tags (QuerySystemTag): the inherent facts hostplane writes (`sshHostKey::...`,
/// `os::distribution::...`) and the ones given at create.
pub static SYSTEM_TAG: Resource = Resource {
    name: "SystemTag",
    table: "system_tag",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("resourceUuid", "resource_uuid", Text),
        f("resourceType", "resource_type", Text),
        f("inherent", "inherent", Bool),
        f("tag", "tag", Text),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[],
    type_field: None,
    tag_resource_type: None,
    inventory_class: SYSTEM_TAG_CLASS,
};

/// User tags (QueryUserTag).
pub static USER_TAG: Resource = Resource {
    name: "UserTag",
    table: "user_tag",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("resourceUuid", "resource_uuid", Text),
        f("resourceType", "resource_type", Text),
        f("tag", "tag", Text),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[],
    type_field: None,
    tag_resource_type: None,
    inventory_class: USER_TAG_CLASS,
};

/// hostplane's addition: what happened to hosts (`domain::host::events`). The id orders
/// events; `host.*` reaches the host while it exists.
pub static HOST_EVENT: Resource = Resource {
    name: "HostEvent",
    table: "host_event",
    key: "id",
    fields: &[
        f("id", "id", Int),
        f("hostUuid", "host_uuid", Text),
        f("hostName", "host_name", Text),
        f("managementIp", "management_ip", Text),
        f("type", "type", Text),
        f("from", "from_value", Text),
        f("to", "to_value", Text),
        f("cause", "cause", Text),
        f("reason", "reason", Text),
        f("jobUuid", "job_uuid", Text),
        f("managementNodeUuid", "management_node_uuid", Text),
        f("createDate", "create_date", Date),
    ],
    expansions: &[Expansion {
        name: "host",
        local_column: "host_uuid",
        target: "Host",
        target_column: "uuid",
    }],
    type_field: None,
    tag_resource_type: None,
    inventory_class: HOST_EVENT_CLASS,
};

/// hostplane's addition: webhook subscriptions to host events (`domain::host::event_hooks`).
/// The secret is not a field: it is never selected.
pub static HOST_EVENT_SUBSCRIPTION: Resource = Resource {
    name: "HostEventSubscription",
    table: "host_event_subscription",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", Text),
        f("name", "name", Text),
        f("description", "description", Text),
        f("url", "url", Text),
        f("hostUuid", "host_uuid", Text),
        f("eventTypes", "event_types", Text),
        f("createDate", "create_date", Date),
        f("lastOpDate", "last_op_date", Date),
    ],
    expansions: &[],
    type_field: None,
    tag_resource_type: None,
    inventory_class: HOST_EVENT_SUBSCRIPTION_CLASS,
};

pub static CATALOGUE: Catalogue = Catalogue {
    resources: &[
        &ZONE,
        &CLUSTER,
        &HOST,
        &GLOBAL_CONFIG,
        &MANAGEMENT_NODE,
        &SYSTEM_TAG,
        &USER_TAG,
        &HOST_EVENT,
        &HOST_EVENT_SUBSCRIPTION,
    ],
};

pub fn resource(name: &str) -> Option<&'static Resource> {
    CATALOGUE.resources.iter().copied().find(|r| r.name == name)
}

/// The class an inventory row of this resource is shown as.
pub fn row_class(r: &Resource) -> &'static str {
    if r.name == "Host" {
        KVM_HOST_CLASS // every host hostplane manages is a KVM host
    } else {
        r.inventory_class
    }
}
