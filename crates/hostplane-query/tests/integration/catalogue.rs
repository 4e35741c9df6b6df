//! The test catalogue: three resources shaped like ZStack's zone, cluster and host.

use hostplane_query::{Catalogue, Expansion, Field, FieldType, Resource};

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

pub static ZONE: Resource = Resource {
    name: "Zone",
    table: "zone",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", FieldType::Text),
        f("name", "name", FieldType::Text),
        f("description", "description", FieldType::Text),
        f("createDate", "create_date", FieldType::Date),
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
    inventory_class: "org.zstack.header.zone.ZoneInventory",
};

pub static CLUSTER: Resource = Resource {
    name: "Cluster",
    table: "cluster",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", FieldType::Text),
        f("name", "name", FieldType::Text),
        f("zoneUuid", "zone_uuid", FieldType::Text),
        f("hypervisorType", "hypervisor_type", FieldType::Text),
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
    inventory_class: "org.zstack.header.cluster.ClusterInventory",
};

pub static HOST: Resource = Resource {
    name: "Host",
    table: "host",
    key: "uuid",
    fields: &[
        f("uuid", "uuid", FieldType::Text),
        f("name", "name", FieldType::Text),
        f("zoneUuid", "zone_uuid", FieldType::Text),
        f("clusterUuid", "cluster_uuid", FieldType::Text),
        f("hypervisorType", "hypervisor_type", FieldType::Text),
        f("cpuNum", "cpu_num", FieldType::Int),
        f("enabled", "enabled", FieldType::Bool),
        f("createDate", "create_date", FieldType::Date),
        kvm("username", "username", FieldType::Text),
        kvm("sshPort", "ssh_port", FieldType::Int),
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
    inventory_class: "org.zstack.header.host.HostInventory",
};

/// A resource without tags or expansions, and a catalogue whose expansion is dangling.
pub static CONFIG: Resource = Resource {
    name: "GlobalConfig",
    table: "global_config",
    key: "name",
    fields: &[
        f("name", "name", FieldType::Text),
        f("category", "category", FieldType::Text),
    ],
    expansions: &[Expansion {
        name: "nowhere",
        local_column: "name",
        target: "Missing",
        target_column: "uuid",
    }],
    type_field: None,
    tag_resource_type: None,
    inventory_class: "org.zstack.core.config.GlobalConfigInventory",
};

pub static CAT: Catalogue = Catalogue {
    resources: &[&ZONE, &CLUSTER, &HOST],
};

pub static BROKEN: Catalogue = Catalogue {
    resources: &[&ZONE, &CLUSTER, &HOST, &CONFIG],
};

#[test]
fn the_test_catalogue_is_valid_and_the_broken_one_is_not() {
    CAT.validate().unwrap();
    let e = BROKEN.validate().unwrap_err();
    assert!(e.to_string().contains("unknown resource Missing"), "{e}");
}
