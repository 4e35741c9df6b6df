//! The catalogue of APIs hostplane serves, in ZStack's terms: each API's name, message and
//! reply class, whether it is synchronous, whether it needs a session, and its parameters with
//! their `@APIParam` rules.
//!
//! Both faces read this one table: the REST face maps its routes onto API names
//! (`http::routes`), the legacy RPC face looks APIs up by message class. Validation of the
//! parameters ([`super::validate`]) and dispatch to the domain operation ([`super::call`]) are
//! the same whichever face a call came through. Nothing here knows HTTP.

use std::future::Future;
use std::sync::Arc;

use futures::future::BoxFuture;
use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::{cluster, global_config, host, identity, management_node, zone, App, Output};
use crate::error::{Error, Result};
use crate::store::sessions::SessionRow;

/// An API's operation: its parameter struct, read from the validated parameters, runs it.
///
/// Each API of [`APIS`] names its parameter struct with [`op`]; the struct's `run` is the one
/// domain function named after the API. The struct is `#[serde(deny_unknown_fields)]` and
/// mirrors the entry's [`Param`] list, which a test checks for every entry.
pub trait Operation: DeserializeOwned + Send + 'static {
    /// Run with the caller's session (`None` for APIs that need none).
    fn run(
        self,
        app: Arc<App>,
        session: Option<SessionRow>,
    ) -> impl Future<Output = Result<Output>> + Send;
}

/// `operation!(Struct => function, ...)`: each struct's operation is `function(&app, params)`
/// (an operation that needs to know who calls implements [`Operation`] itself).
macro_rules! operation {
    ($($params:ty => $f:path),* $(,)?) => {
        $(
            impl $crate::domain::api::Operation for $params {
                async fn run(
                    self,
                    app: std::sync::Arc<$crate::domain::App>,
                    _session: Option<$crate::store::sessions::SessionRow>,
                ) -> $crate::error::Result<$crate::domain::Output> {
                    $f(&app, self).await
                }
            }
        )*
    };
}
pub(crate) use operation;

/// Runs an operation on the validated parameters of a call, for the caller's session.
pub type RunFn = fn(Arc<App>, Option<SessionRow>, Params) -> BoxFuture<'static, Result<Output>>;
/// Reads the parameters into the operation's struct without running it (for tests).
pub type DecodeFn = fn(&Params) -> Result<()>;

/// What an API does.
#[derive(Clone, Copy)]
pub enum Op {
    /// A query API: the query language over the entry's `query` resource.
    Query,
    /// Everything else: the parameter struct and its operation.
    Run { run: RunFn, decode: DecodeFn },
}

impl std::fmt::Debug for Op {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Op::Query => "Query",
            Op::Run { .. } => "Run",
        })
    }
}

/// The [`Op`] of an API whose parameters are the struct `T`.
pub const fn op<T: Operation>() -> Op {
    Op::Run {
        run: run_op::<T>,
        decode: decode_op::<T>,
    }
}

fn run_op<T: Operation>(
    app: Arc<App>,
    session: Option<SessionRow>,
    params: Params,
) -> BoxFuture<'static, Result<Output>> {
    Box::pin(async move { params.decode::<T>()?.run(app, session).await })
}

fn decode_op<T: Operation>(params: &Params) -> Result<()> {
    params.decode::<T>().map(drop)
}

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
    /// What it answers: declared here, checked against every answer in debug builds, and
    /// what the OpenAPI document describes.
    pub answer: Answer,
    pub kind: Kind,
    /// `@SuppressCredentialCheck` is the opposite of this.
    pub needs_session: bool,
    /// Create messages take `resourceUuid` and validate system tags.
    pub create: bool,
    pub timeout_ms: u64,
    pub params: &'static [Param],
    /// For query APIs: the resource they query.
    pub query: Option<&'static str>,
    /// What the API does.
    pub op: Op,
}

/// The shape of an API's answer (the HTTP face renders it; see `http::encode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// One inventory of the named catalogue resource (e.g. `"Host"`).
    Inventory(&'static str),
    /// A query's inventories of its resource, or their count.
    Inventories,
    /// LogInByAccount's session inventory.
    Session,
    /// UpdateAccount's account inventory.
    Account,
    /// Nothing but success.
    Empty,
    /// GetVersion's version.
    Version,
    /// ValidateSession's verdict.
    Valid,
    /// GetCurrentTime's time.
    CurrentTime,
    /// GetManagementNodeArch's architecture.
    Architecture,
    /// GetHypervisorTypes' list.
    HypervisorTypes,
    /// A reply's own fields (the host checks, the file-driven adds, GetHostTask).
    Results,
}

impl Answer {
    /// Whether an operation's output has this shape.
    pub fn fits(self, out: &super::Output) -> bool {
        use super::Output as O;
        matches!(
            (self, out),
            (
                Answer::Inventory(_) | Answer::Session | Answer::Account,
                O::Inventory(_)
            ) | (Answer::Inventories, O::Inventories { .. } | O::Total(_))
                | (Answer::Empty, O::Empty)
                | (Answer::Version, O::Version(_))
                | (Answer::Valid, O::Valid(_))
                | (Answer::CurrentTime, O::CurrentTime(_))
                | (Answer::Architecture, O::Architecture(_))
                | (Answer::HypervisorTypes, O::HypervisorTypes(_))
                | (Answer::Results, O::Fields { .. })
        )
    }
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
    answer: Answer,
    op: Op,
    params: &'static [Param],
) -> ApiSpec {
    ApiSpec {
        name,
        msg_class: msg,
        reply_class: reply,
        answer,
        kind: Kind::Sync,
        needs_session: true,
        create: false,
        timeout_ms: DEFAULT_TIMEOUT_MS,
        params,
        query: None,
        op,
    }
}
const fn asynch(
    name: &'static str,
    msg: &'static str,
    reply: &'static str,
    answer: Answer,
    op: Op,
    params: &'static [Param],
) -> ApiSpec {
    ApiSpec {
        kind: Kind::Async,
        ..sync(name, msg, reply, answer, op, params)
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
        ..sync(name, msg, reply, Answer::Inventories, Op::Query, &[])
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

/// AddKVMHost's parameters; CheckKVMHost takes the same ones.
const ADD_KVM_HOST_PARAMS: &[Param] = &[
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
];

/// Every API hostplane serves.
pub static APIS: &[ApiSpec] = &[
    // --- identity
    no_session(sync(
        "LogInByAccount",
        "org.zstack.header.identity.APILogInByAccountMsg",
        "org.zstack.header.identity.APILogInReply",
        Answer::Session,
        op::<identity::LogInByAccount>(),
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
        Answer::Empty,
        op::<identity::LogOut>(),
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
        Answer::Valid,
        op::<identity::ValidateSession>(),
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
        Answer::Account,
        op::<identity::UpdateAccount>(),
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
        Answer::Version,
        op::<management_node::GetVersion>(),
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "GetCurrentTime",
        "org.zstack.header.managementnode.APIGetCurrentTimeMsg",
        "org.zstack.header.managementnode.APIGetCurrentTimeReply",
        Answer::CurrentTime,
        op::<management_node::GetCurrentTime>(),
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "GetManagementNodeArch",
        "org.zstack.header.managementnode.APIGetManagementNodeArchMsg",
        "org.zstack.header.managementnode.APIGetManagementNodeArchReply",
        Answer::Architecture,
        op::<management_node::GetManagementNodeArch>(),
        &[SYSTEM_TAGS, USER_TAGS],
    )),
    no_session(sync(
        "IsReadyToGo",
        "org.zstack.header.managementnode.APIIsReadyToGoMsg",
        "org.zstack.header.managementnode.APIIsReadyToGoReply",
        Answer::Empty,
        op::<management_node::IsReadyToGo>(),
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
        Answer::Inventory("Zone"),
        op::<zone::CreateZone>(),
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
        Answer::Inventory("Zone"),
        op::<zone::UpdateZone>(),
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
        Answer::Inventory("Zone"),
        op::<zone::ChangeZoneState>(),
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
        Answer::Empty,
        op::<zone::DeleteZone>(),
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
        Answer::Inventory("Cluster"),
        op::<cluster::CreateCluster>(),
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
        Answer::Inventory("Cluster"),
        op::<cluster::UpdateCluster>(),
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
        Answer::Inventory("Cluster"),
        op::<cluster::ChangeClusterState>(),
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
        Answer::Empty,
        op::<cluster::DeleteCluster>(),
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
            Answer::Inventory("Host"),
            op::<host::add::AddKvmHost>(),
            ADD_KVM_HOST_PARAMS,
        ))
    },
    // hostplane: every admission check of AddKVMHost, all findings at once, nothing written.
    sync(
        "CheckKVMHost",
        "org.zstack.kvm.APICheckKVMHostMsg",
        "org.zstack.kvm.APICheckKVMHostReply",
        Answer::Results,
        op::<host::check::CheckKvmHost>(),
        ADD_KVM_HOST_PARAMS,
    ),
    ApiSpec {
        // ZStack: @DefaultTimeout(timeunit = TimeUnit.HOURS, value = 24)
        timeout_ms: 86_400_000,
        ..creating(asynch(
            "AddKVMHostFromConfigFile",
            "org.zstack.header.host.APIAddKVMHostFromConfigFileMsg",
            "org.zstack.header.host.APIAddHostFromConfigFileEvent",
            Answer::Results,
            op::<host::bulk::AddKvmHostFromConfigFile>(),
            &[
                Param {
                    name: "hostInfo",
                    empty_ok: false,
                    no_trim: true,
                    secret: true,
                    ..STR
                },
                RESOURCE_UUID,
                TAG_UUIDS,
                SYSTEM_TAGS,
                USER_TAGS,
            ],
        ))
    },
    sync(
        "CheckKVMHostConfigFile",
        "org.zstack.header.host.APICheckKVMHostConfigFileMsg",
        "org.zstack.header.host.APICheckHostConfigFileReply",
        Answer::Results,
        op::<host::bulk::CheckKvmHostConfigFile>(),
        &[
            Param {
                name: "hostInfo",
                empty_ok: false,
                no_trim: true,
                secret: true,
                ..STR
            },
            // hostplane's addition: also check every host over SSH (CheckKVMHost per row).
            Param {
                name: "checkHosts",
                ty: ParamType::Bool,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
    sync(
        "GetHostTask",
        "org.zstack.header.host.APIGetHostTaskMsg",
        "org.zstack.header.host.APIGetHostTaskReply",
        Answer::Results,
        op::<host::bulk::GetHostTask>(),
        &[
            Param {
                name: "hostUuids",
                ty: ParamType::StrList,
                ..STR
            },
            Param {
                name: "syncSignatures",
                ty: ParamType::StrList,
                ..OPT
            },
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    ),
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
        Answer::Empty,
        op::<host::delete::DeleteHost>(),
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
        Answer::Inventory("Host"),
        op::<host::connect::ReconnectHost>(),
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
        Answer::Inventory("Host"),
        op::<host::state::ChangeHostState>(),
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
        Answer::Inventory("Host"),
        op::<host::update::UpdateHost>(),
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
        Answer::Inventory("Host"),
        op::<host::update::UpdateKvmHost>(),
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
        Answer::HypervisorTypes,
        op::<host::GetHypervisorTypes>(),
        &[SYSTEM_TAGS, USER_TAGS],
    ),
    // --- tags
    query(
        "QuerySystemTag",
        "org.zstack.header.tag.APIQuerySystemTagMsg",
        "org.zstack.header.tag.APIQuerySystemTagReply",
        "SystemTag",
    ),
    query(
        "QueryUserTag",
        "org.zstack.header.tag.APIQueryUserTagMsg",
        "org.zstack.header.tag.APIQueryUserTagReply",
        "UserTag",
    ),
    // --- hostplane's additions: host events, and webhook subscriptions to them
    query(
        "QueryHostEvent",
        "org.zstack.hostplane.APIQueryHostEventMsg",
        "org.zstack.hostplane.APIQueryHostEventReply",
        "HostEvent",
    ),
    creating(asynch(
        "CreateHostEventSubscription",
        "org.zstack.hostplane.APICreateHostEventSubscriptionMsg",
        "org.zstack.hostplane.APICreateHostEventSubscriptionEvent",
        Answer::Inventory("HostEventSubscription"),
        op::<host::event_hooks::CreateHostEventSubscription>(),
        &[
            NAME,
            DESCRIPTION,
            Param {
                name: "url",
                max_len: Some(2048),
                empty_ok: false,
                ..STR
            },
            Param {
                name: "hostUuid",
                resource: Some(Res::Host),
                ..OPT
            },
            Param {
                name: "eventTypes",
                ty: ParamType::StrList,
                ..OPT
            },
            Param {
                name: "secret",
                max_len: Some(1024),
                secret: true,
                no_trim: true,
                ..OPT
            },
            RESOURCE_UUID,
            SYSTEM_TAGS,
            USER_TAGS,
        ],
    )),
    query(
        "QueryHostEventSubscription",
        "org.zstack.hostplane.APIQueryHostEventSubscriptionMsg",
        "org.zstack.hostplane.APIQueryHostEventSubscriptionReply",
        "HostEventSubscription",
    ),
    asynch(
        "DeleteHostEventSubscription",
        "org.zstack.hostplane.APIDeleteHostEventSubscriptionMsg",
        "org.zstack.hostplane.APIDeleteHostEventSubscriptionEvent",
        Answer::Empty,
        op::<host::event_hooks::DeleteHostEventSubscription>(),
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
        Answer::Inventory("GlobalConfig"),
        op::<global_config::UpdateGlobalConfig>(),
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

/// The parameters of one call as they arrived: JSON values by parameter name. Validation
/// ([`super::validate`]) checks and normalises them in place; the operation then reads them
/// into its own struct ([`Params::decode`]).
#[derive(Debug, Clone, Default)]
pub struct Params(pub Map<String, Value>);

impl Params {
    pub fn str(&self, name: &str) -> Option<&str> {
        self.0.get(name).and_then(Value::as_str)
    }
    /// Read the parameters into an operation's struct. Validation has run, so a failure here
    /// means the table and the struct disagree; it is still the caller's SYS.1007.
    pub fn decode<T: DeserializeOwned>(&self) -> Result<T> {
        serde_json::from_value(Value::Object(self.0.clone()))
            .map_err(|e| Error::invalid_argument(format!("invalid parameters: {e}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A value of the parameter's type, as validation leaves it.
    fn sample(p: &Param) -> Value {
        match p.ty {
            ParamType::Str => {
                Value::String(p.valid_values.first().copied().unwrap_or("x").to_string())
            }
            ParamType::Int => Value::from(p.range.map(|r| r.0).unwrap_or(1)),
            ParamType::Bool => Value::Bool(true),
            ParamType::StrList => Value::Array(vec![Value::String("x".into())]),
            ParamType::Map => Value::Object(Map::new()),
        }
    }

    /// Every entry has an operation whose struct reads exactly the entry's parameters: all of
    /// them together; each optional one may be left out, each required one may not.
    #[test]
    fn every_entry_has_an_operation_that_matches_its_parameters() {
        for a in APIS {
            assert!(a.msg_class.starts_with("org.zstack."), "{}", a.name);
            assert!(a.reply_class.starts_with("org.zstack."), "{}", a.name);
            let decode = match a.op {
                Op::Query => {
                    assert!(
                        a.query.is_some(),
                        "{} runs a query without a resource",
                        a.name
                    );
                    assert!(a.params.is_empty(), "{}", a.name);
                    continue;
                }
                Op::Run { decode, .. } => decode,
            };
            assert!(a.query.is_none(), "{} has a resource but no query", a.name);
            let all: Map<String, Value> = a
                .params
                .iter()
                .map(|p| (p.name.to_string(), sample(p)))
                .collect();
            if let Err(e) = decode(&Params(all.clone())) {
                panic!("{}: all parameters: {e}", a.name);
            }
            for p in a.params {
                let mut without = all.clone();
                without.remove(p.name);
                let r = decode(&Params(without));
                assert_eq!(
                    r.is_ok(),
                    !p.required,
                    "{}: without {} (required: {})",
                    a.name,
                    p.name,
                    p.required
                );
            }
            let mut extra = all.clone();
            extra.insert("notAParameter".into(), Value::from(1));
            assert!(
                decode(&Params(extra)).is_err(),
                "{}: the struct must deny unknown fields",
                a.name
            );
        }
    }

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
