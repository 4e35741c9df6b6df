//! The catalogue of APIs hostplane serves, in ZStack's terms: each API's name, message and
//! reply class, whether it is synchronous, whether it needs a session, and its parameters with
//! their `@APIParam` rules.
//!
//! Both faces read this one table: the REST face maps its routes onto API names
//! (`http::routes`), the legacy RPC face looks APIs up by message class. Validation of the
//! parameters ([`super::validate`]) and dispatch to the domain operation ([`super::call`]) are
//! the same whichever face a call came through. Nothing here knows HTTP.

use serde_json::{Map, Value};

/// Synchronous APIs answer in-line; asynchronous ones become jobs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Sync,
    Async,
}

/// The JSON type a parameter must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ParamType {
    Str,
    Int,
    Bool,
    StrList,
    Map,
}

/// A resource a parameter's uuid must name (`@APIParam(resourceType=...)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Res {
    Zone,
    Cluster,
    Host,
}

impl Res {
    pub fn table(self) -> &'static str {
        match self {
            Res::Zone => "zone",
            Res::Cluster => "cluster",
            Res::Host => "host",
        }
    }
    pub fn vo(self) -> &'static str {
        match self {
            Res::Zone => "ZoneVO",
            Res::Cluster => "ClusterVO",
            Res::Host => "HostVO",
        }
    }
}

/// One parameter and its rules (ZStack's `@APIParam`).
#[derive(Debug, Clone, Copy)]
pub struct Param {
    pub name: &'static str,
    pub ty: ParamType,
    pub required: bool,
    pub max_len: Option<usize>,
    /// `emptyString`: whether "" (after trimming) is allowed.
    pub empty_ok: bool,
    pub valid_values: &'static [&'static str],
    pub range: Option<(i64, i64)>,
    pub resource: Option<Res>,
    pub no_trim: bool,
    /// Declared on the concrete API class: REST rejects a wrongly typed int/bool with a 400.
    pub type_checked: bool,
    /// Never logged, never echoed (passwords).
    pub secret: bool,
}

const STR: Param = Param {
    name: "",
    ty: ParamType::Str,
    required: true,
    max_len: None,
    empty_ok: true,
    valid_values: &[],
    range: None,
    resource: None,
    no_trim: false,
    type_checked: false,
    secret: false,
};
const OPT: Param = Param {
    required: false,
    ..STR
};

const SYSTEM_TAGS: Param = Param {
    name: "systemTags",
    ty: ParamType::StrList,
    ..OPT
};
const USER_TAGS: Param = Param {
    name: "userTags",
    ty: ParamType::StrList,
    ..OPT
};
const RESOURCE_UUID: Param = Param {
    name: "resourceUuid",
    ..OPT
};
const TAG_UUIDS: Param = Param {
    name: "tagUuids",
    ty: ParamType::StrList,
    ..OPT
};
const DELETE_MODE: Param = Param {
    name: "deleteMode",
    valid_values: &["Permissive", "Enforcing"],
    ..OPT
};
const NAME: Param = Param {
    name: "name",
    max_len: Some(255),
    ..STR
};
const OPT_NAME: Param = Param {
    name: "name",
    max_len: Some(255),
    ..OPT
};
const DESCRIPTION: Param = Param {
    name: "description",
    max_len: Some(2048),
    ..OPT
};
const STATE_EVENT: Param = Param {
    name: "stateEvent",
    valid_values: &["enable", "disable"],
    ..STR
};

/// One API.
#[derive(Debug)]
pub struct ApiSpec {
    /// ZStack's API name, e.g. `AddKVMHost`.
    pub name: &'static str,
    pub msg_class: &'static str,
    pub reply_class: &'static str,
    pub kind: Kind,
    /// `@SuppressCredentialCheck` is the opposite of this.
    pub needs_session: bool,
    /// Create messages take `resourceUuid` and validate system tags.
    pub create: bool,
    pub timeout_ms: u64,
    pub params: &'static [Param],
    /// For query APIs: the resource they query.
    pub query: Option<&'static str>,
}

impl ApiSpec {
    pub fn param(&self, name: &str) -> Option<&Param> {
        self.params.iter().find(|p| p.name == name)
    }
}

const DEFAULT_TIMEOUT_MS: u64 = 1_800_000;

const fn sync(
    name: &'static str,
    msg: &'static str,
    reply: &'static str,
    params: &'static [Param],
) -> ApiSpec {
    ApiSpec {
        name,
        msg_class: msg,
        reply_class: reply,
        kind: Kind::Sync,
        needs_session: true,
        create: false,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        params,
        query: None,
    }
}
const fn asynch(
    name: &'static str,
    msg: &'static str,
    reply: &'static str,
    params: &'static [Param],
) -> ApiSpec {
    ApiSpec {
        kind: Kind::Async,
        ..sync(name, msg, reply, params)
    }
}
const fn query(
    name: &'static str,
    msg: &'static str,
    reply: &'static str,
    resource: &'static str,
) -> ApiSpec {
    ApiSpec {
        query: Some(resource),
        ..sync(name, msg, reply, &[])
    }
}
const fn no_session(mut a: ApiSpec) -> ApiSpec {
    a.needs_session = false;
    a
}
const fn creating(mut a: ApiSpec) -> ApiSpec {
    a.create = true;
    a
}

/// Every API hostplane serves.
pub static APIS: &[ApiSpec] = &[
    // --- identity
    no_session(sync(
        "LogInByAccount",
        "org.zstack.header.identity.APILogInByAccountMsg",
        "org.zstack.header.identity.APILogInReply",
        &[
            Param {
                name: "accountName",
                ..STR
            },
            Param {
                name: "password",
                secret: true,
                no_trim: true,
                ..STR
            },
            Param {
                name: "accountType",
                ..OPT
            },
            Param {
                name: "captchaUuid",
                ..OPT
            },
            Param {
                name: "verifyCode",
                ..OPT
            },
            Param {
                name: "clientInfo",
                ty: ParamType::Map,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    )),
    no_session(sync(
        "LogOut",
        "org.zstack.header.identity.APILogOutMsg",
        "org.zstack.header.identity.APILogOutReply",
        &[
            Param {
                name: "sessionUuid",
                ..OPT
            },
            Param {
                name: "clientInfo",
                ty: ParamType::Map,
                ..OPT
            },
        ],
    )),
    no_session(sync(
        "ValidateSession",
        "org.zstack.header.identity.APIValidateSessionMsg",
        "org.zstack.header.identity.APIValidateSessionReply",
        &[Param {
            name: "sessionUuid",
            ..STR
        }],
    )),
    // ZStack's SDK UpdateAccountAction: PUT /accounts/{uuid}, body `updateAccount`, polled.
    // Passwords are the SHA-512 hex digests every ZStack client sends.
    asynch(
        "UpdateAccount",
        "org.zstack.header.identity.APIUpdateAccountMsg",
        "org.zstack.header.identity.APIUpdateAccountEvent",
        &[
            Param {
                name: "uuid",
                ..STR
            },
            Param {
                name: "password",
                max_len: Some(255),
                secret: true,
                no_trim: true,
                ..OPT
            },
            OPT_NAME,
            DESCRIPTION,
            Param {
                name: "oldPassword",
                max_len: Some(255),
                secret: true,
                no_trim: true,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    // --- management node
    no_session(sync(
        "GetVersion",
        "org.zstack.header.managementnode.APIGetVersionMsg",
        "org.zstack.header.managementnode.APIGetVersionReply",
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "GetCurrentTime",
        "org.zstack.header.managementnode.APIGetCurrentTimeMsg",
        "org.zstack.header.managementnode.APIGetCurrentTimeReply",
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "GetManagementNodeArch",
        "org.zstack.header.managementnode.APIGetManagementNodeArchMsg",
        "org.zstack.header.managementnode.APIGetManagementNodeArchReply",
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "IsReadyToGo",
        "org.zstack.header.managementnode.APIIsReadyToGoMsg",
        "org.zstack.header.managementnode.APIIsReadyToGoReply",
        &[Param {
            name: "managementNodeId",
            ..OPT
        }],
    )),
    query(
        "QueryManagementNode",
        "org.zstack.header.managementnode.APIQueryManagementNodeMsg",
        "org.zstack.header.managementnode.APIQueryManagementNodeReply",
        "ManagementNode",
    ),
    // --- zones
    creating(asynch(
        "CreateZone",
        "org.zstack.header.zone.APICreateZoneMsg",
        "org.zstack.header.zone.APICreateZoneEvent",
        &[
            NAME,
            DESCRIPTION,
            Param {
                name: "isDefault",
                ty: ParamType::Bool,
                type_checked: true,
                ..OPT
            },
            RESOURCE_UUID,
            TAG_UUIDS,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    )),
    query(
        "QueryZone",
        "org.zstack.header.zone.APIQueryZoneMsg",
        "org.zstack.header.zone.APIQueryZoneReply",
        "Zone",
    ),
    asynch(
        "UpdateZone",
        "org.zstack.header.zone.APIUpdateZoneMsg",
        "org.zstack.header.zone.APIUpdateZoneEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Zone),
                ..STR
            },
            OPT_NAME,
            DESCRIPTION,
            Param {
                name: "isDefault",
                ty: ParamType::Bool,
                type_checked: true,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "ChangeZoneState",
        "org.zstack.header.zone.APIChangeZoneStateMsg",
        "org.zstack.header.zone.APIChangeZoneStateEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Zone),
                ..STR
            },
            STATE_EVENT,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "DeleteZone",
        "org.zstack.header.zone.APIDeleteZoneMsg",
        "org.zstack.header.zone.APIDeleteZoneEvent",
        &[
            Param {
                name: "uuid",
                ..STR
            },
            DELETE_MODE,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    // --- clusters
    creating(asynch(
        "CreateCluster",
        "org.zstack.header.cluster.APICreateClusterMsg",
        "org.zstack.header.cluster.APICreateClusterEvent",
        &[
            Param {
                name: "zoneUuid",
                resource: Some(Res::Zone),
                ..STR
            },
            NAME,
            DESCRIPTION,
            Param {
                name: "hypervisorType",
                valid_values: &["KVM", "Simulator", "baremetal", "baremetal2", "xdragon"],
                ..STR
            },
            Param {
                name: "type",
                valid_values: &["zstack", "baremetal", "baremetal2"],
                ..OPT
            },
            Param {
                name: "architecture",
                valid_values: &["x86_64", "aarch64", "mips64el", "loongarch64"],
                ..OPT
            },
            RESOURCE_UUID,
            TAG_UUIDS,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    )),
    query(
        "QueryCluster",
        "org.zstack.header.cluster.APIQueryClusterMsg",
        "org.zstack.header.cluster.APIQueryClusterReply",
        "Cluster",
    ),
    asynch(
        "UpdateCluster",
        "org.zstack.header.cluster.APIUpdateClusterMsg",
        "org.zstack.header.cluster.APIUpdateClusterEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Cluster),
                ..STR
            },
            OPT_NAME,
            DESCRIPTION,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "ChangeClusterState",
        "org.zstack.header.cluster.APIChangeClusterStateMsg",
        "org.zstack.header.cluster.APIChangeClusterStateEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Cluster),
                ..STR
            },
            STATE_EVENT,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "DeleteCluster",
        "org.zstack.header.cluster.APIDeleteClusterMsg",
        "org.zstack.header.cluster.APIDeleteClusterEvent",
        &[
            Param {
                name: "uuid",
                ..STR
            },
            DELETE_MODE,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    // --- hosts
    ApiSpec {
        timeout_ms: 10_800_000,
        ..creating(asynch(
            "AddKVMHost",
            "org.zstack.kvm.APIAddKVMHostMsg",
            "org.zstack.header.host.APIAddHostEvent",
            &[
                Param {
                    name: "name",
                    max_len: Some(255),
                    ..STR
                },
                DESCRIPTION,
                Param {
                    name: "managementIp",
                    empty_ok: false,
                    max_len: Some(255),
                    ..STR
                },
                Param {
                    name: "clusterUuid",
                    resource: Some(Res::Cluster),
                    ..STR
                },
                Param {
                    name: "username",
                    max_len: Some(255),
                    ..STR
                },
                Param {
                    name: "password",
                    max_len: Some(255),
                    secret: true,
                    no_trim: true,
                    ..STR
                },
                Param {
                    name: "sshPort",
                    ty: ParamType::Int,
                    range: Some((1, 65535)),
                    type_checked: true,
                    ..OPT
                },
                // hostplane's additions (documented): key-based login and an expected host key.
                Param {
                    name: "privateKey",
                    secret: true,
                    no_trim: true,
                    max_len: Some(16384),
                    ..OPT
                },
                Param {
                    name: "hostKeyFingerprint",
                    max_len: Some(255),
                    ..OPT
                },
                RESOURCE_UUID,
                TAG_UUIDS,
                SYSTEM_TAGS,
                USER_TAGS,
            ],
        ))
    },
    query(
        "QueryHost",
        "org.zstack.header.host.APIQueryHostMsg",
        "org.zstack.header.host.APIQueryHostReply",
        "Host",
    ),
    asynch(
        "DeleteHost",
        "org.zstack.header.host.APIDeleteHostMsg",
        "org.zstack.header.host.APIDeleteHostEvent",
        &[
            Param {
                name: "uuid",
                ..STR
            },
            DELETE_MODE,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "ReconnectHost",
        "org.zstack.header.host.APIReconnectHostMsg",
        "org.zstack.header.host.APIReconnectHostEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Host),
                ..STR
            },
            // hostplane's addition: accept the host's new SSH key (re-pin) on this reconnect.
            Param {
                name: "repinHostKey",
                ty: ParamType::Bool,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "ChangeHostState",
        "org.zstack.header.host.APIChangeHostStateMsg",
        "org.zstack.header.host.APIChangeHostStateEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Host),
                ..STR
            },
            Param {
                name: "stateEvent",
                valid_values: &["enable", "disable", "maintain"],
                ..STR
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "UpdateHost",
        "org.zstack.header.host.APIUpdateHostMsg",
        "org.zstack.header.host.APIUpdateHostEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Host),
                ..STR
            },
            OPT_NAME,
            DESCRIPTION,
            Param {
                name: "managementIp",
                max_len: Some(255),
                empty_ok: false,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    asynch(
        "UpdateKVMHost",
        "org.zstack.kvm.APIUpdateKVMHostMsg",
        "org.zstack.header.host.APIUpdateHostEvent",
        &[
            Param {
                name: "uuid",
                resource: Some(Res::Host),
                ..STR
            },
            OPT_NAME,
            DESCRIPTION,
            Param {
                name: "managementIp",
                max_len: Some(255),
                empty_ok: false,
                ..OPT
            },
            Param {
                name: "username",
                max_len: Some(255),
                empty_ok: false,
                ..OPT
            },
            Param {
                name: "password",
                max_len: Some(255),
                secret: true,
                no_trim: true,
                ..OPT
            },
            Param {
                name: "sshPort",
                ty: ParamType::Int,
                range: Some((1, 65535)),
                type_checked: true,
                ..OPT
            },
            Param {
                name: "privateKey",
                secret: true,
                no_trim: true,
                max_len: Some(16384),
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    sync(
        "GetHypervisorTypes",
        "org.zstack.header.host.APIGetHypervisorTypesMsg",
        "org.zstack.header.host.APIGetHypervisorTypesReply",
        &[SYSTEM_TAGS, USER_TAGS],
    ),
    // --- global configs
    query(
        "QueryGlobalConfig",
        "org.zstack.core.config.APIQueryGlobalConfigMsg",
        "org.zstack.core.config.APIQueryGlobalConfigReply",
        "GlobalConfig",
    ),
    asynch(
        "UpdateGlobalConfig",
        "org.zstack.core.config.APIUpdateGlobalConfigMsg",
        "org.zstack.core.config.APIUpdateGlobalConfigEvent",
        &[
            Param {
                name: "category",
                ..STR
            },
            Param {
                name: "name",
                ..STR
            },
            Param {
                name: "value",
                no_trim: true,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
];

pub fn by_name(name: &str) -> Option<&'static ApiSpec> {
    APIS.iter().find(|a| a.name == name)
}

pub fn by_msg_class(class: &str) -> Option<&'static ApiSpec> {
    APIS.iter().find(|a| a.msg_class == class)
}

/// The validated parameters of one call: JSON values by parameter name.
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
    /// A required string (validation has already checked it is there).
    pub fn req(&self, name: &str) -> &str {
        self.str(name).unwrap_or_default()
    }
    pub fn int(&self, name: &str) -> Option<i64> {
        self.0.get(name).and_then(Value::as_i64)
    }
    pub fn bool(&self, name: &str) -> Option<bool> {
        self.0.get(name).and_then(Value::as_bool)
    }
    pub fn list(&self, name: &str) -> Vec<String> {
        match self.0.get(name) {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_classes_are_unique() {
        for (i, a) in APIS.iter().enumerate() {
            for b in &APIS[i + 1..] {
                assert_ne!(a.name, b.name);
                assert_ne!(a.msg_class, b.msg_class);
            }
        }
    }
}
