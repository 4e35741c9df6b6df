//! The daily path in short commands: `zone`, `cluster`, `host`, `config` and `account`.
//!
//! Each shortcut is one or two API calls made exactly as `hostplane api` makes them (same
//! request building, same session handling, same output), plus what an operator would
//! otherwise do by hand: find a zone, cluster or host by name, IP or uuid, read a password
//! without it ever being on the command line, say what a delete takes with it and ask first
//! (`cluster rm`, `zone rm`; `--yes` for scripts), and say "already in Maintenance" rather
//! than ZStack's state-machine text. Shortcuts never build REST paths or bodies themselves:
//! they go through [`super::apis`]. Hints from the server that name API parameters are
//! reworded with the shortcut's flags (`--repin-host-key`).

use std::path::PathBuf;

use clap::{Args, Subcommand};
use serde_json::{json, Map, Value};

use super::args::QueryArgs;
use super::output::{self, Format};
use super::{
    api_command, api_command_with, apis, check, client, print_body, print_rows, session, Ctx,
    Failure,
};

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
    /// Delete a zone (by name or uuid) with its clusters and hosts; asks first.
    #[command(visible_alias = "delete")]
    Rm {
        zone: String,
        /// Do not ask (for scripts; without a terminal, rm refuses unless --yes is given).
        #[arg(short, long)]
        yes: bool,
    },
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
    /// Delete a cluster (by name or uuid) with its hosts; asks first.
    #[command(visible_alias = "delete")]
    Rm {
        cluster: String,
        /// Do not ask (for scripts; without a terminal, rm refuses unless --yes is given).
        #[arg(short, long)]
        yes: bool,
    },
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
    /// What happened to a host (status and state changes, add, delete, reconnects), oldest
    /// first; a deleted host by its uuid.
    Events {
        host: String,
        /// Only events since then: 90s, 30m, 2h, 7d, or a date (2026-11-30).
        #[arg(long)]
        since: Option<String>,
        /// Only events of this type.
        #[arg(long = "type", value_parser = clap::builder::PossibleValuesParser::new(super::events::kinds()))]
        kind: Option<String>,
        /// At most this many events.
        #[arg(long, default_value_t = 1000)]
        limit: i64,
    },
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

#[derive(Subcommand, Debug)]
pub enum AccountCmd {
    /// Change the password of the account you are logged in as (UpdateAccount). On a
    /// terminal it asks for the current password and the new one twice.
    Passwd {
        /// Read the new password from the first line of stdin (no prompts, no current password).
        #[arg(long)]
        password_stdin: bool,
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
    /// Its admin state (`Enabled`, `Maintenance`, ...).
    pub state: String,
}

use check::is_uuid;

/// The uuids of the zones, clusters or hosts named `name` (hosts also by management IP); "no
/// cluster named sim" when there is none.
pub fn uuids_named(ctx: &mut Ctx, resource: &str, name: &str) -> Result<Vec<String>, Failure> {
    let mut ways = vec!["name"];
    if resource == "Host" {
        ways.insert(0, "managementIp");
    }
    for field in ways {
        let q = QueryArgs {
            conditions: vec![format!("{field}={name}")],
            fields: Some(vec!["uuid".into()]),
            ..Default::default()
        };
        let uuids: Vec<String> = ctx
            .query(&format!("Query{resource}"), &q)?
            .iter()
            .filter_map(|r| Some(r.get("uuid")?.as_str()?.to_string()))
            .collect();
        if !uuids.is_empty() {
            return Ok(uuids);
        }
    }
    Err(not_found(resource, name))
}

fn not_found(resource: &str, key: &str) -> Failure {
    let what = resource.to_lowercase();
    Failure::Other(match (resource, is_uuid(key)) {
        ("Host", true) => format!("no host `{key}` (no host has this uuid, managementIp or name)"),
        ("Host", false) => format!("no host `{key}` (no host has this managementIp or name)"),
        (_, true) => format!("no {what} `{key}` (no {what} has this uuid or name)"),
        (_, false) => format!("no {what} named `{key}`"),
    })
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
            fields: Some(vec!["uuid".into(), "name".into(), "state".into()]),
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
                    state: r
                        .get("state")
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
    Err(not_found(resource, key))
}

/// How many `resource`s the condition matches.
fn count(ctx: &mut Ctx, resource: &str, condition: String) -> Result<i64, Failure> {
    let api = apis::find(&format!("Query{resource}")).expect("query APIs exist");
    let q = QueryArgs {
        conditions: vec![condition],
        count: true,
        ..Default::default()
    };
    let body = ctx.call(&api.query_request(&q))?;
    Ok(body.get("total").and_then(Value::as_i64).unwrap_or(0))
}

/// ` and its 2 clusters and 5 hosts` (empty when nothing else goes).
fn with_what(clusters: i64, hosts: i64) -> String {
    let n = |k: i64, one: &str, many: &str| format!("{k} {}", if k == 1 { one } else { many });
    match (clusters, hosts) {
        (0, 0) => String::new(),
        (0, h) => format!(" and its {}", n(h, "host", "hosts")),
        (c, 0) => format!(" and its {}", n(c, "cluster", "clusters")),
        (c, h) => format!(
            " and its {} and {}",
            n(c, "cluster", "clusters"),
            n(h, "host", "hosts")
        ),
    }
}

/// Ask before a delete that cannot be undone: yes on `--yes`, else on a terminal `y`; with
/// no terminal and no `--yes`, a usage error (exit 2).
fn confirm(what: &str, command: &str, yes: bool) -> Result<bool, Failure> {
    if yes {
        return Ok(true);
    }
    if !session::interactive() {
        return Err(Failure::Usage(format!(
            "`{command}` deletes {what}; there is no terminal to ask on: add --yes to confirm"
        )));
    }
    session::ask_yes_no(&format!("Delete {what}? [y/N] "))
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
        ZoneCmd::Rm { zone, yes } => {
            let z = find(ctx, "Zone", &zone)?;
            let clusters = count(ctx, "Cluster", format!("zoneUuid={}", z.uuid))?;
            let hosts = count(ctx, "Host", format!("zoneUuid={}", z.uuid))?;
            let what = format!("zone {}{}", z.name, with_what(clusters, hosts));
            if !confirm(&what, &format!("zone rm {zone}"), yes)? {
                eprintln!("Nothing deleted.");
                return Ok(());
            }
            let body = call(ctx, "DeleteZone", json!({"uuid": z.uuid}))?;
            done(
                ctx,
                &body,
                format!(
                    "Deleted zone {} ({}){}.",
                    z.name,
                    z.uuid,
                    with_what(clusters, hosts)
                ),
            );
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
        ClusterCmd::Rm { cluster, yes } => {
            let c = find(ctx, "Cluster", &cluster)?;
            let hosts = count(ctx, "Host", format!("clusterUuid={}", c.uuid))?;
            let what = format!("cluster {}{}", c.name, with_what(0, hosts));
            if !confirm(&what, &format!("cluster rm {cluster}"), yes)? {
                eprintln!("Nothing deleted.");
                return Ok(());
            }
            let body = call(ctx, "DeleteCluster", json!({"uuid": c.uuid}))?;
            done(
                ctx,
                &body,
                format!(
                    "Deleted cluster {} ({}){}.",
                    c.name,
                    c.uuid,
                    with_what(0, hosts)
                ),
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
        HostCmd::List { conditions } => api_command_with(ctx, "QueryHost", &conditions, true),
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
            )
            .map_err(|f| cli_hints(f, &host))?;
            print_rows(ctx, "Host", &body)
        }
        HostCmd::Maintain { host } => change_state(ctx, &host, "maintain"),
        HostCmd::Enable { host } => change_state(ctx, &host, "enable"),
        HostCmd::Disable { host } => change_state(ctx, &host, "disable"),
        HostCmd::Events {
            host,
            since,
            kind,
            limit,
        } => super::events::host_events(ctx, &host, since.as_deref(), kind.as_deref(), limit),
    }
}

/// A server hint that names an API parameter, with the shortcut's flag instead.
pub fn cli_hints(f: Failure, host: &str) -> Failure {
    let Failure::Api(mut e) = f else { return f };
    let flag = format!("reconnect with `hostplane host reconnect {host} --repin-host-key`");
    let reword =
        |text: &mut String| *text = text.replace("reconnect with repinHostKey=true", &flag);
    let mut node = Some(e.as_mut());
    while let Some(x) = node {
        reword(&mut x.details);
        if let Some(Value::String(h)) = x.opaque.get_mut("hint") {
            reword(h);
        }
        node = x.cause.as_deref_mut();
    }
    Failure::Api(e)
}

fn change_state(ctx: &mut Ctx, host: &str, event: &str) -> Result<(), Failure> {
    let h = find(ctx, "Host", host)?;
    if event == "maintain" && h.state == "Maintenance" {
        // ZStack answers with its state machine's text; say it plainly, and succeed: the
        // host is where it was asked to be.
        eprintln!("host {} is already in Maintenance", h.name);
        let rows = ctx.query(
            "QueryHost",
            &QueryArgs {
                conditions: vec![format!("uuid={}", h.uuid)],
                ..Default::default()
            },
        )?;
        let inv = rows.into_iter().next().unwrap_or(Value::Null);
        return print_rows(ctx, "Host", &json!({ "inventory": inv }));
    }
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
    )
    .map_err(|f| cli_hints(f, &ip))?;
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
            )
            .map_err(|f| config_hint(ctx, f, &key))?;
            print_rows(ctx, "GlobalConfig", &body)
        }
    }
}

/// "Unable to find GlobalConfig": the nearest keys the server has, as a hint.
fn config_hint(ctx: &mut Ctx, f: Failure, key: &str) -> Failure {
    let Failure::Api(mut e) = f else { return f };
    if !e.details.contains("Unable to find GlobalConfig") {
        return Failure::Api(e);
    }
    let q = QueryArgs {
        fields: Some(vec!["category".into(), "name".into()]),
        ..Default::default()
    };
    let keys: Vec<String> = ctx
        .query("QueryGlobalConfig", &q)
        .unwrap_or_default()
        .iter()
        .filter_map(|r| {
            Some(format!(
                "{}.{}",
                r.get("category")?.as_str()?,
                r.get("name")?.as_str()?
            ))
        })
        .collect();
    let near = check::nearest(key, keys.iter().map(String::as_str));
    let hint = if near.is_empty() {
        "`hostplane config list` lists the configs".to_string()
    } else {
        format!(
            "did you mean {}? (`hostplane config list` lists the configs)",
            near.join(" or ")
        )
    };
    e.opaque.insert("hint".into(), hint.into());
    Failure::Api(e)
}

pub fn account(ctx: &mut Ctx, c: AccountCmd) -> Result<(), Failure> {
    match c {
        AccountCmd::Passwd { password_stdin } => passwd(ctx, password_stdin),
    }
}

/// `account passwd`: UpdateAccount with the new password's digest (and, on a terminal, the
/// current one as `oldPassword`, which the server checks).
fn passwd(ctx: &mut Ctx, password_stdin: bool) -> Result<(), Failure> {
    let conn = ctx.conn()?;
    let server = conn.server.clone();
    let Some(saved) = conn.saved().cloned() else {
        return Err(Failure::Other(format!(
            "not logged in to {server}: run `hostplane login` first"
        )));
    };
    let uuid = match (&saved.account_uuid, saved.account.as_str()) {
        (Some(u), _) => u.clone(),
        (None, hostplane_server::domain::identity::ADMIN_NAME) => {
            hostplane_server::domain::identity::ADMIN_UUID.to_string()
        }
        (None, name) => {
            return Err(Failure::Other(format!(
            "log in again (`hostplane login -u {name}`) so that the CLI learns the account's uuid"
        )))
        }
    };
    let account = saved.account.clone();
    let (old, new) = if password_stdin {
        (None, session::read_stdin_line("new password")?)
    } else if session::interactive() {
        let old = session::prompt_secret(&format!("Current password of {account}: "))?;
        let new = session::prompt_secret("New password: ")?;
        let again = session::prompt_secret("New password again: ")?;
        if new != again {
            return Err(Failure::Usage(
                "the two new passwords differ; nothing changed".into(),
            ));
        }
        (Some(old), new)
    } else {
        return Err(Failure::Usage(
            "no new password: there is no terminal to ask on; use --password-stdin".into(),
        ));
    };
    call(
        ctx,
        "UpdateAccount",
        json!({
            "uuid": uuid,
            "password": client::password_digest(&new),
            "oldPassword": old.as_deref().map(client::password_digest),
        }),
    )?;
    println!("Changed the password of {account} on {server}. Sessions stay logged in.");
    if std::env::var_os(session::PASSWORD_ENV).is_some_and(|v| !v.is_empty()) {
        eprintln!(
            "note: {} still holds the old password; set it to the new one",
            session::PASSWORD_ENV
        );
    }
    Ok(())
}
