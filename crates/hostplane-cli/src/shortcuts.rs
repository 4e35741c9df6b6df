//! The daily path in short commands: `zone`, `cluster`, `host` and `config`.
//!
//! Each shortcut is one or two API calls made exactly as `hostplane api` makes them (same
//! request building, same session handling, same output), plus what an operator would
//! otherwise do by hand: find a zone, cluster or host by name, IP or uuid, and read a
//! password without it ever being on the command line. Shortcuts never build REST paths or
//! bodies themselves: they go through [`super::apis`].

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::args::QueryArgs;
use super::output::{self, Format};
use super::{api_command, apis, print_body, print_rows, session, Ctx, Failure};

#[derive(Subcommand, Debug)]
pub enum ZoneCmd {
    /// Create a zone.
    Create {
        name: String,
        /// A description.
        #[arg(long)]
        description: Option<String>,
    },
    /// List zones; conditions as in `hostplane api QueryZone`.
    #[command(visible_alias = "ls")]
    List {
        #[arg(value_name = "CONDITION")]
        conditions: Vec<String>,
    },
    /// Delete a zone (by name or uuid).
    #[command(visible_alias = "delete")]
    Rm { zone: String },
}

#[derive(Subcommand, Debug)]
pub enum ClusterCmd {
    /// Create a cluster in a zone.
    Create {
        name: String,
        /// The zone (name or uuid).
        #[arg(long)]
        zone: String,
        /// The hypervisor type.
        #[arg(long, default_value = "KVM")]
        hypervisor_type: String,
        /// x86_64, aarch64, mips64el or loongarch64.
        #[arg(long)]
        architecture: Option<String>,
        /// A description.
        #[arg(long)]
        description: Option<String>,
    },
    /// List clusters; conditions as in `hostplane api QueryCluster`.
    #[command(visible_alias = "ls")]
    List {
        #[arg(value_name = "CONDITION")]
        conditions: Vec<String>,
    },
    /// Delete a cluster (by name or uuid).
    #[command(visible_alias = "delete")]
    Rm { cluster: String },
}

#[derive(Subcommand, Debug)]
pub enum HostCmd {
    /// Add a KVM host: connect over SSH, check it, collect its facts. With --from-file, every
    /// host of a CSV host file.
    Add(HostAddArgs),
    /// Run every check of an add (port, host key, login, sudo, virtualization, memory,
    /// architecture, OS, takeover flag, hostname) without adding: one host, or a host file.
    Check(super::bulk::HostCheckArgs),
    /// List hosts; conditions as in `hostplane api QueryHost`.
    #[command(visible_alias = "ls")]
    List {
        #[arg(value_name = "CONDITION")]
        conditions: Vec<String>,
    },
    /// Show every field of one host (by uuid, name or IP).
    Show { host: String },
    /// Delete a host (by uuid, name or IP).
    #[command(visible_alias = "delete")]
    Rm {
        host: String,
        /// deleteMode=Enforcing.
        #[arg(long)]
        enforcing: bool,
    },
    /// Reconnect a host.
    Reconnect {
        host: String,
        /// Accept the host's new SSH host key.
        #[arg(long)]
        repin_host_key: bool,
    },
    /// Put a host into maintenance.
    Maintain { host: String },
    /// Enable a host (this also takes it out of maintenance).
    Enable { host: String },
    /// Disable a host.
    Disable { host: String },
}

#[derive(Args, Debug)]
pub struct HostAddArgs {
    /// The host's management IP (or host name).
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub ip: Option<String>,
    /// Add every host of a CSV host file (header: managementIp,sshPort,username,password,
    /// clusterUuid or clusterName,name,description,tags), with a progress bar and a summary.
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// The cluster (name or uuid).
    #[arg(long, required_unless_present = "from_file")]
    pub cluster: Option<String>,
    /// The SSH user.
    #[arg(long, default_value = "root")]
    pub user: String,
    /// The SSH port.
    #[arg(long, default_value_t = 22)]
    pub port: u16,
    /// The host's name [default: the IP].
    #[arg(long)]
    pub name: Option<String>,
    /// A description.
    #[arg(long)]
    pub description: Option<String>,
    /// Read the SSH password from the first line of stdin (else it is prompted for).
    #[arg(long)]
    pub password_stdin: bool,
    /// Log in with this private key instead of a password (with --password-stdin, stdin
    /// gives the key's passphrase).
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// The host key to expect (SHA256:...); else the first key seen is trusted.
    #[arg(long, value_name = "SHA256:...")]
    pub host_key_fingerprint: Option<String>,
}

#[derive(Subcommand, Debug)]
pub enum ConfigCmd {
    /// List global configs; conditions as in `hostplane api QueryGlobalConfig`
    /// (e.g. `category=kvm`).
    #[command(visible_alias = "ls")]
    List {
        #[arg(value_name = "CONDITION")]
        conditions: Vec<String>,
    },
    /// Set a global config: `hostplane config set host.ping.interval 30`.
    Set {
        /// CATEGORY.NAME, e.g. kvm.takeOverFlagPath.
        key: String,
        value: String,
    },
}

/// Call an API with parameters given as JSON.
fn call(ctx: &mut Ctx, api: &str, params: Value) -> Result<Value, Failure> {
    let api = apis::find(api).expect("shortcuts name existing APIs");
    let params = match params {
        Value::Object(m) => m,
        _ => Map::new(),
    };
    // Optional parameters left out rather than sent as null.
    let params = params.into_iter().filter(|(_, v)| !v.is_null()).collect();
    let req = api.request(params).map_err(Failure::Usage)?;
    ctx.call(&req)
}

/// After a delete: a sentence on a table terminal, the answer otherwise.
fn done(ctx: &Ctx, body: &Value, sentence: String) {
    if ctx.style.format == Format::Table {
        println!("{sentence}");
    } else {
        ctx.print(&output::serialize(
            &output::machine_value(body),
            ctx.style.format,
        ));
    }
}

/// A resource found by the user's words.
pub struct Found {
    pub uuid: String,
    pub name: String,
}

fn is_uuid(s: &str) -> bool {
    s.len() == 32 && s.chars().all(|c| c.is_ascii_hexdigit())
}

/// Find a Zone, Cluster or Host by uuid, (for hosts) management IP, or name.
pub fn find(ctx: &mut Ctx, resource: &str, key: &str) -> Result<Found, Failure> {
    let api = format!("Query{resource}");
    let mut ways = Vec::new();
    if is_uuid(key) {
        ways.push("uuid");
    }
    if resource == "Host" {
        ways.push("managementIp");
    }
    ways.push("name");
    for field in &ways {
        let q = QueryArgs {
            conditions: vec![format!("{field}={key}")],
            fields: Some(vec!["uuid".into(), "name".into()]),
            ..Default::default()
        };
        let rows = ctx.query(&api, &q)?;
        let found: Vec<Found> = rows
            .iter()
            .filter_map(|r| {
                Some(Found {
                    uuid: r.get("uuid")?.as_str()?.to_string(),
                    name: r
                        .get("name")
                        .and_then(Value::as_str)
                        .unwrap_or_default()
                        .to_string(),
                })
            })
            .collect();
        match found.len() {
            0 => continue,
            1 => return Ok(found.into_iter().next().expect("one")),
            n => {
                return Err(Failure::Other(format!(
                    "{n} {}s match `{key}` by {field}: {}; give a uuid",
                    resource.to_lowercase(),
                    found
                        .iter()
                        .map(|f| f.uuid.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                )))
            }
        }
    }
    Err(Failure::Other(format!(
        "no {} `{key}` (looked for its {})",
        resource.to_lowercase(),
        ways.join(", ")
    )))
}

pub fn zone(ctx: &mut Ctx, c: ZoneCmd) -> Result<(), Failure> {
    match c {
        ZoneCmd::Create { name, description } => {
            let body = call(
                ctx,
                "CreateZone",
                json!({"name": name, "description": description}),
            )?;
            print_rows(ctx, "Zone", &body)
        }
        ZoneCmd::List { conditions } => api_command(ctx, "QueryZone", &conditions),
        ZoneCmd::Rm { zone } => {
            let z = find(ctx, "Zone", &zone)?;
            let body = call(ctx, "DeleteZone", json!({"uuid": z.uuid}))?;
            done(ctx, &body, format!("Deleted zone {} ({}).", z.name, z.uuid));
            Ok(())
        }
    }
}

pub fn cluster(ctx: &mut Ctx, c: ClusterCmd) -> Result<(), Failure> {
    match c {
        ClusterCmd::Create {
            name,
            zone,
            hypervisor_type,
            architecture,
            description,
        } => {
            let z = find(ctx, "Zone", &zone)?;
            let body = call(
                ctx,
                "CreateCluster",
                json!({"name": name, "zoneUuid": z.uuid, "hypervisorType": hypervisor_type,
                       "architecture": architecture, "description": description}),
            )?;
            print_rows(ctx, "Cluster", &body)
        }
        ClusterCmd::List { conditions } => api_command(ctx, "QueryCluster", &conditions),
        ClusterCmd::Rm { cluster } => {
            let c = find(ctx, "Cluster", &cluster)?;
            let body = call(ctx, "DeleteCluster", json!({"uuid": c.uuid}))?;
            done(
                ctx,
                &body,
                format!("Deleted cluster {} ({}).", c.name, c.uuid),
            );
            Ok(())
        }
    }
}

pub fn host(ctx: &mut Ctx, c: HostCmd) -> Result<(), Failure> {
    match c {
        HostCmd::Add(HostAddArgs {
            from_file: Some(path),
            ..
        }) => super::bulk::host_add_from_file(ctx, &path),
        HostCmd::Add(a) => host_add(ctx, a),
        HostCmd::Check(a) => super::bulk::host_check(ctx, a),
        HostCmd::List { conditions } => api_command(ctx, "QueryHost", &conditions),
        HostCmd::Show { host } => {
            let h = find(ctx, "Host", &host)?;
            let rows = ctx.query(
                "QueryHost",
                &QueryArgs {
                    conditions: vec![format!("uuid={}", h.uuid)],
                    ..Default::default()
                },
            )?;
            let inv = rows.into_iter().next().unwrap_or(Value::Null);
            print_body(ctx, &json!({ "inventory": inv }));
            Ok(())
        }
        HostCmd::Rm { host, enforcing } => {
            let h = find(ctx, "Host", &host)?;
            let mode = if enforcing { "Enforcing" } else { "Permissive" };
            let body = call(
                ctx,
                "DeleteHost",
                json!({"uuid": h.uuid, "deleteMode": mode}),
            )?;
            done(ctx, &body, format!("Deleted host {} ({}).", h.name, h.uuid));
            Ok(())
        }
        HostCmd::Reconnect {
            host,
            repin_host_key,
        } => {
            let h = find(ctx, "Host", &host)?;
            let repin = repin_host_key.then_some(true);
            let body = call(
                ctx,
                "ReconnectHost",
                json!({"uuid": h.uuid, "repinHostKey": repin}),
            )?;
            print_rows(ctx, "Host", &body)
        }
        HostCmd::Maintain { host } => change_state(ctx, &host, "maintain"),
        HostCmd::Enable { host } => change_state(ctx, &host, "enable"),
        HostCmd::Disable { host } => change_state(ctx, &host, "disable"),
    }
}

fn change_state(ctx: &mut Ctx, host: &str, event: &str) -> Result<(), Failure> {
    let h = find(ctx, "Host", host)?;
    let body = call(
        ctx,
        "ChangeHostState",
        json!({"uuid": h.uuid, "stateEvent": event}),
    )?;
    print_rows(ctx, "Host", &body)
}

fn host_add(ctx: &mut Ctx, a: HostAddArgs) -> Result<(), Failure> {
    let cluster = find(ctx, "Cluster", a.cluster.as_deref().unwrap_or_default())?;
    let ip = a.ip.clone().unwrap_or_default();
    let (password, private_key) = match &a.private_key {
        Some(path) => {
            let key = std::fs::read_to_string(path).map_err(|e| {
                Failure::Usage(format!("cannot read the key {}: {e}", path.display()))
            })?;
            let passphrase = if a.password_stdin {
                session::read_stdin_line("key passphrase")?
            } else {
                String::new()
            };
            (passphrase, Some(key))
        }
        None => {
            let password = session::read_secret(
                &format!("SSH password for {}@{ip}", a.user),
                a.password_stdin,
                "use --password-stdin or --private-key",
            )?;
            (password, None)
        }
    };
    let body = call(
        ctx,
        "AddKVMHost",
        json!({
            "name": a.name.clone().unwrap_or_else(|| ip.clone()),
            "description": a.description,
            "managementIp": ip,
            "clusterUuid": cluster.uuid,
            "username": a.user,
            "password": password,
            "sshPort": a.port,
            "privateKey": private_key,
            "hostKeyFingerprint": a.host_key_fingerprint,
        }),
    )?;
    print_rows(ctx, "Host", &body)
}

pub fn config(ctx: &mut Ctx, c: ConfigCmd) -> Result<(), Failure> {
    match c {
        ConfigCmd::List { conditions } => api_command(ctx, "QueryGlobalConfig", &conditions),
        ConfigCmd::Set { key, value } => {
            let Some((category, name)) = key
                .split_once('.')
                .filter(|(c, n)| !c.is_empty() && !n.is_empty())
            else {
                return Err(Failure::Usage(format!(
                    "`{key}` is not CATEGORY.NAME (e.g. kvm.takeOverFlagPath)"
                )));
            };
            let body = call(
                ctx,
                "UpdateGlobalConfig",
                json!({"category": category, "name": name, "value": value}),
            )?;
            print_rows(ctx, "GlobalConfig", &body)
        }
    }
}
