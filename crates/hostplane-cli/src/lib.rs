//! The `hostplane` command line: `serve` starts the server; every other command is a client
//! of a running server over its REST API (`--server`, env `HOSTPLANE_SERVER`).
//!
//! - this file: the clap definitions, the [`Failure`] type and its exit codes, and dispatch;
//! - [`apis`]: API name → REST method, path and body shape (from the server's own tables);
//! - [`args`]: zstack-cli's `key=value` parameters and query conditions;
//! - [`client`]: HTTP calls and job polling;
//! - [`session`]: the session file, login and re-login, reading passwords;
//! - [`output`]: tables, JSON, YAML, errors, the spinner;
//! - [`check`]: a query's fields, operators and values checked before it is sent;
//! - [`shell`]: the interactive shell;
//! - [`complete`]: tab completion (the shell's, and `completions bash|zsh|fish`);
//! - [`interrupt`]: what Ctrl-C does;
//! - [`shortcuts`]: `zone`, `cluster`, `host`, `config` and `account` commands;
//!   [`events`]: `host events`.
//!
//! Exit codes: 0 success, 1 the API (or the server, or the network) failed, 2 usage error,
//! 130 interrupted. No command takes a password as an argument of its own; see [`session`].

// The doc comments of the clap definitions are the `--help` text, written for a terminal
// (`[IPv6]:PORT`, `<data-dir>`), not for rustdoc.
#![allow(rustdoc::broken_intra_doc_links, rustdoc::invalid_html_tags)]

pub mod apis;
pub mod args;
pub mod bulk;
pub mod check;
pub mod client;
pub mod complete;
pub mod events;
pub mod interrupt;
pub mod output;
pub mod session;
pub mod shell;
pub mod shortcuts;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};
use serde_json::{Map, Value};

use self::apis::RestApi;
use self::args::QueryArgs;
use self::client::{ApiError, ClientError, Request};
use self::output::{Format, Spinner, Style};
use self::session::Conn;
use hostplane_server::domain::api::ParamType;
use hostplane_server::server::ServeConfig;

#[derive(Parser, Debug)]
#[command(
    name = "hostplane",
    version,
    about = "A management server for KVM hosts that speaks ZStack's API",
    after_help = "Any API is also a command: `hostplane QueryHost status=Connected` is \
                  `hostplane api QueryHost status=Connected`.\n\
                  Exit codes: 0 success, 1 API error, 2 usage error, 130 interrupted (Ctrl-C)."
)]
pub struct Cli {
    #[command(flatten)]
    pub global: GlobalArgs,
    #[command(subcommand)]
    pub command: Command,
}

/// Options of every client command.
#[derive(Args, Debug, Clone, Default)]
pub struct GlobalArgs {
    /// The server [default: the last one logged in to, else http://127.0.0.1:8080].
    #[arg(long, env = "HOSTPLANE_SERVER", global = true, value_name = "URL")]
    pub server: Option<String>,
    /// Output format [default: table].
    #[arg(short, long, value_enum, global = true)]
    pub output: Option<Format>,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the API server.
    Serve(ServeArgs),
    /// Log in and keep the session (in ~/.config/hostplane/session.json, mode 0600).
    Login(LoginArgs),
    /// Log out and forget the session.
    Logout,
    /// Call any API: `hostplane api QueryHost status=Connected limit=10`.
    Api(ApiArgs),
    /// List the APIs, or show one API's parameters (or a query's fields).
    Apis {
        /// An API name.
        name: Option<String>,
    },
    /// An interactive shell with history and tab completion.
    Shell,
    /// Zones.
    #[command(subcommand)]
    Zone(shortcuts::ZoneCmd),
    /// Clusters.
    #[command(subcommand)]
    Cluster(shortcuts::ClusterCmd),
    /// KVM hosts.
    #[command(subcommand)]
    Host(shortcuts::HostCmd),
    /// Global configuration.
    #[command(subcommand)]
    Config(shortcuts::ConfigCmd),
    /// Accounts: change a password.
    #[command(subcommand)]
    Account(shortcuts::AccountCmd),
    /// Follow a job that a command left running (after Ctrl-C): wait for it and print its
    /// result.
    Job {
        /// The job's uuid (or its location URL).
        id: String,
    },
    /// Print a completion script: `hostplane completions bash > /etc/bash_completion.d/hostplane`.
    Completions {
        /// bash, zsh or fish.
        #[arg(value_enum)]
        shell: complete::ShellKind,
    },
    /// What the completion scripts call: the candidates for the last word of a line.
    #[command(name = "__complete", hide = true)]
    Complete {
        /// The command line up to the cursor, without the program name.
        #[arg(long, allow_hyphen_values = true)]
        line: String,
    },
    /// An API name, as in zstack-cli: `hostplane QueryHost status=Connected`.
    #[command(external_subcommand)]
    External(Vec<String>),
}

/// `hostplane serve`, parsed on its own so that it takes only server options (the client
/// options `--server` and `-o` mean nothing to a server).
#[derive(Parser, Debug)]
#[command(
    name = "serve",
    bin_name = "hostplane serve",
    version,
    about = "Start the API server"
)]
pub struct ServeCli {
    #[command(flatten)]
    pub args: ServeArgs,
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on: IP:PORT, HOST:PORT (e.g. localhost:8080), [IPv6]:PORT (e.g.
    /// [::]:8080), or an address alone (port 8080).
    #[arg(
        long,
        env = "HOSTPLANE_LISTEN",
        default_value = "0.0.0.0:8080",
        value_parser = parse_listen,
        value_name = "ADDRESS"
    )]
    pub listen: SocketAddr,
    /// Where hostplane keeps its SQLite database, secret key and node id.
    #[arg(long, env = "HOSTPLANE_DATA_DIR", default_value = "./hostplane-data")]
    pub data_dir: PathBuf,
    /// Use PostgreSQL instead of the embedded SQLite (postgres://user@host:port/db).
    #[arg(long, env = "HOSTPLANE_DATABASE_URL")]
    pub database_url: Option<String>,
    /// The admin account's password on first start (default: ZStack's `password`, with a warning).
    #[arg(long, env = "HOSTPLANE_ADMIN_PASSWORD", hide_env_values = true)]
    pub admin_password: Option<String>,
    /// The key that encrypts host credentials: 64 hex digits (default: <data-dir>/secret.key).
    /// All management nodes of one database need the same key.
    #[arg(long, env = "HOSTPLANE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
    /// On SIGTERM/SIGINT, seconds running jobs may go on before they end as failed.
    #[arg(long, env = "HOSTPLANE_SHUTDOWN_GRACE", default_value_t = 20)]
    pub shutdown_grace: u64,
    /// Require `Authorization: Bearer <this token>` on GET /metrics (default: no token; the
    /// metrics show counts only).
    #[arg(long, env = "HOSTPLANE_METRICS_TOKEN", hide_env_values = true)]
    pub metrics_token: Option<String>,
    /// The local address SSH connections to hosts come from (default: the system picks).
    #[arg(long, env = "HOSTPLANE_SSH_SOURCE_ADDRESS")]
    pub ssh_source_address: Option<std::net::IpAddr>,
}

/// The default port of `--listen` when only an address is given.
pub const DEFAULT_PORT: u16 = 8080;

/// `--listen`: `IP:PORT`, `[IPv6]:PORT`, `HOST:PORT`, `:PORT`, or an address or host name
/// alone (port 8080). A host name is resolved; its IPv4 address is preferred.
pub fn parse_listen(s: &str) -> Result<SocketAddr, String> {
    use std::net::{IpAddr, ToSocketAddrs};
    let s = s.trim();
    if let Ok(a) = s.parse::<SocketAddr>() {
        return Ok(a);
    }
    let bare = s
        .strip_prefix('[')
        .and_then(|r| r.strip_suffix(']'))
        .unwrap_or(s);
    if let Ok(ip) = bare.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, DEFAULT_PORT));
    }
    let (host, port) = match s.rsplit_once(':') {
        Some((h, p)) if !h.contains(':') => {
            let port = p
                .parse::<u16>()
                .map_err(|_| format!("`{p}` is not a port number (1-65535)"))?;
            (h, port)
        }
        _ => (s, DEFAULT_PORT),
    };
    if host.is_empty() {
        return Ok(SocketAddr::from(([0, 0, 0, 0], port)));
    }
    let addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve `{host}`: {e}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("`{host}` has no address"))
}

impl From<ServeArgs> for ServeConfig {
    fn from(a: ServeArgs) -> Self {
        ServeConfig {
            listen: a.listen,
            data_dir: a.data_dir,
            database_url: a.database_url,
            admin_password: a.admin_password,
            secret_key: a.secret_key,
            shutdown_grace: std::time::Duration::from_secs(a.shutdown_grace),
            metrics_token: a.metrics_token,
            ssh_source_address: a.ssh_source_address,
        }
    }
}

#[derive(Args, Debug)]
pub struct LoginArgs {
    /// The account name.
    #[arg(short, long, default_value = "admin")]
    pub user: String,
    /// Read the password from the first line of stdin (else HOSTPLANE_PASSWORD, else a prompt).
    #[arg(long)]
    pub password_stdin: bool,
}

#[derive(Args, Debug)]
pub struct ApiArgs {
    /// The API, e.g. QueryHost, AddKVMHost (see `hostplane apis`).
    pub name: String,
    /// Parameters as key=value; for queries, conditions (`status=Connected`,
    /// `cluster.name~=prod%`, `'cpuNum>=4'`, `description is null`) and
    /// limit= start= count= replyWithCount= sortBy= sortDirection= fields= groupBy=.
    /// A password parameter given as `-` is prompted for (or read from stdin).
    #[arg(value_name = "KEY=VALUE")]
    pub args: Vec<String>,
}

/// Why a command failed; decides the exit code.
#[derive(Debug, Clone, PartialEq)]
pub enum Failure {
    /// The command line is wrong (exit 2).
    Usage(String),
    /// The API failed (exit 1).
    Api(Box<ApiError>),
    /// The server refused the request at the protocol level (exit 1).
    Http { status: u16, text: String },
    /// Anything else: the server is unreachable, not logged in, nothing found (exit 1).
    Other(String),
    /// Ctrl-C cut a read short (exit 130; the SIGINT handler says what there is to say).
    Interrupted,
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
            Failure::Interrupted => interrupt::EXIT_INTERRUPTED,
            _ => 1,
        }
    }
}

impl From<ClientError> for Failure {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Api(e) => Failure::Api(e),
            ClientError::Http { status, text } => Failure::Http { status, text },
            ClientError::Transport(m) => Failure::Other(m),
        }
    }
}

/// What a command needs: the connection (opened on first use) and how to print.
pub struct Ctx {
    conn: Option<Conn>,
    conn_server: Option<String>,
    pub style: Style,
    pub global: GlobalArgs,
}

impl Ctx {
    pub fn new(global: &GlobalArgs) -> Ctx {
        Ctx {
            conn: None,
            conn_server: None,
            style: Style::detect(global.output.unwrap_or_default()),
            global: global.clone(),
        }
    }

    /// Take the options of one more command (the shell keeps its connection when the
    /// server stays the same).
    pub fn set_global(&mut self, global: &GlobalArgs) {
        self.style = Style::detect(global.output.unwrap_or_default());
        self.global = global.clone();
    }

    pub fn conn(&mut self) -> Result<&mut Conn, Failure> {
        if self.conn.is_none() || self.conn_server != self.global.server {
            self.conn = Some(Conn::open(self.global.server.as_deref())?);
            self.conn_server = self.global.server.clone();
        }
        Ok(self.conn.as_mut().expect("just opened"))
    }

    /// Make a call, with a spinner while a job runs. While the job runs, Ctrl-C says how to
    /// follow it ([`interrupt`]).
    pub fn call(&mut self, req: &Request) -> Result<Value, Failure> {
        let mut spinner = Spinner::new(self.style.spinner);
        let server = self.explicit_server();
        let r = self.conn()?.call(req, &mut |p| {
            if let Some(id) = p.job {
                interrupt::following(p.api, id, server.as_deref());
            }
            spinner.update(&p)
        });
        interrupt::done();
        spinner.finish(req.api, r.is_ok());
        r
    }

    /// The `--server` a follow-up command must repeat: one given on the command line (not
    /// the `HOSTPLANE_SERVER` of the environment, which the next command sees too).
    pub fn explicit_server(&self) -> Option<String> {
        let env = std::env::var("HOSTPLANE_SERVER").ok();
        self.global
            .server
            .clone()
            .filter(|s| env.as_deref() != Some(s.as_str()))
    }

    /// A query by API name (`QueryHost`, ...).
    pub fn query(&mut self, api: &str, q: &QueryArgs) -> Result<Vec<Value>, Failure> {
        let api = apis::find(api).expect("query APIs exist");
        let body = self.call(&api.query_request(q))?;
        Ok(items_of(&body))
    }

    pub fn print(&self, text: &str) {
        print!("{text}");
    }
}

/// The `inventories` of a query answer.
pub fn items_of(body: &Value) -> Vec<Value> {
    body.get("inventories")
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default()
}

/// Run a client command; the exit code.
pub fn run(global: GlobalArgs, command: Command) -> i32 {
    if matches!(command, Command::Complete { .. }) {
        // Completion never prompts, never prints an error, and is never interrupted halfway.
        let mut ctx = Ctx::new(&global);
        return match execute(&mut ctx, command) {
            Ok(()) => 0,
            Err(_) => 1,
        };
    }
    interrupt::install();
    let mut ctx = Ctx::new(&global);
    match execute(&mut ctx, command) {
        Ok(()) => 0,
        Err(Failure::Interrupted) => {
            // The SIGINT handler ends the process (terminal restored, job notice printed).
            interrupt::wait_for_exit();
            interrupt::EXIT_INTERRUPTED
        }
        Err(f) => {
            eprint!("{}", output::failure_text(&f, ctx.style.err_color));
            f.exit_code()
        }
    }
}

/// One client command.
pub fn execute(ctx: &mut Ctx, command: Command) -> Result<(), Failure> {
    match command {
        Command::Serve(_) => Err(Failure::Usage(
            "`serve` starts a server; it cannot run here".into(),
        )),
        Command::Login(a) => login(ctx, a),
        Command::Logout => {
            let conn = ctx.conn()?;
            let server = conn.server.clone();
            if conn.log_out()? {
                println!("Logged out of {server}.");
            } else {
                println!("Not logged in to {server}.");
            }
            Ok(())
        }
        Command::Api(a) => api_command(ctx, &a.name, &a.args),
        Command::External(words) => {
            let (name, rest) = words.split_first().expect("clap gives the name");
            if apis::find(name).is_none() {
                return Err(unknown_command(name));
            }
            if rest.iter().any(|w| w == "-h" || w == "--help") {
                ctx.print(&describe_apis(Some(name))?);
                return Ok(());
            }
            let rest = take_globals(ctx, rest)?;
            api_command(ctx, name, &rest)
        }
        Command::Apis { name } => {
            ctx.print(&describe_apis(name.as_deref())?);
            Ok(())
        }
        Command::Shell => shell::run(ctx),
        Command::Zone(c) => shortcuts::zone(ctx, c),
        Command::Cluster(c) => shortcuts::cluster(ctx, c),
        Command::Host(c) => shortcuts::host(ctx, c),
        Command::Config(c) => shortcuts::config(ctx, c),
        Command::Account(c) => shortcuts::account(ctx, c),
        Command::Job { id } => follow_job(ctx, &id),
        Command::Completions { shell } => {
            ctx.print(complete::script(shell));
            Ok(())
        }
        Command::Complete { line } => {
            for c in
                complete::complete_line(&line, &mut complete::Names::new(ctx.global.server.clone()))
            {
                println!("{c}");
            }
            Ok(())
        }
    }
}

/// `hostplane job ID`: follow a job to its end and print its result.
fn follow_job(ctx: &mut Ctx, id: &str) -> Result<(), Failure> {
    let id = client::job_id(id).to_string();
    if id.is_empty() {
        return Err(Failure::Usage("`job` needs the job's uuid".into()));
    }
    let mut spinner = Spinner::new(ctx.style.spinner);
    let server = ctx.explicit_server();
    let r = ctx.conn()?.client.follow(&id, &mut |p| {
        interrupt::following("the job", &id, server.as_deref());
        spinner.update(&p)
    });
    interrupt::done();
    spinner.finish("job", r.is_ok());
    let body = r?;
    print_body(ctx, &body);
    Ok(())
}

/// `hostplane QueryHost ... -o json`: clap hands an API-named command over unparsed, so
/// the global options among its words are taken out here.
fn take_globals(ctx: &mut Ctx, words: &[String]) -> Result<Vec<String>, Failure> {
    let mut global = ctx.global.clone();
    let mut rest = Vec::new();
    let mut it = words.iter();
    let format = |v: &str| {
        <Format as clap::ValueEnum>::from_str(v, false).map_err(|_| {
            Failure::Usage(format!(
                "invalid value '{v}' for '--output': table, json or yaml"
            ))
        })
    };
    while let Some(w) = it.next() {
        let mut value = |flag: &str| {
            it.next()
                .cloned()
                .ok_or_else(|| Failure::Usage(format!("{flag} needs a value")))
        };
        match w.as_str() {
            "-o" | "--output" => global.output = Some(format(&value(w)?)?),
            "--server" => global.server = Some(value(w)?),
            w if w.starts_with("--output=") => global.output = Some(format(&w[9..])?),
            w if w.starts_with("--server=") => global.server = Some(w[9..].to_string()),
            w if w.starts_with("-o") && w.len() > 2 && !w.contains('=') => {
                global.output = Some(format(&w[2..])?)
            }
            _ => rest.push(w.clone()),
        }
    }
    ctx.set_global(&global);
    Ok(rest)
}

/// The commands a line may start with (besides API names), for suggestions and completion.
pub const COMMANDS: &[&str] = &[
    "account",
    "api",
    "apis",
    "cluster",
    "completions",
    "config",
    "host",
    "job",
    "login",
    "logout",
    "serve",
    "shell",
    "zone",
];

fn unknown_command(name: &str) -> Failure {
    let commands = check::nearest(name, COMMANDS.iter().copied());
    let near = if commands.is_empty() {
        apis::suggestions(name)
    } else {
        commands.to_vec()
    };
    let mut m = format!("`{name}` is neither a command nor an API");
    if !near.is_empty() {
        m.push_str(&format!(" (did you mean {}?)", near.join(", ")));
    }
    m.push_str("; `hostplane --help` lists the commands, `hostplane apis` the APIs");
    Failure::Usage(m)
}

fn login(ctx: &mut Ctx, a: LoginArgs) -> Result<(), Failure> {
    let password = if a.password_stdin {
        session::read_stdin_line("password")?
    } else {
        match std::env::var(session::PASSWORD_ENV) {
            Ok(p) if !p.is_empty() => p,
            _ if session::interactive() => {
                let server = ctx.conn()?.server.clone();
                session::prompt_secret(&format!("Password for {} at {server}: ", a.user))?
            }
            _ => {
                return Err(Failure::Usage(format!(
                    "no password: use --password-stdin (or set {}, or run on a terminal)",
                    session::PASSWORD_ENV
                )))
            }
        }
    };
    let conn = ctx.conn()?;
    let inv = conn.log_in(&a.user, &password)?;
    let until = inv
        .get("expiredDate")
        .and_then(Value::as_str)
        .map(|d| format!(" (session valid until {d})"))
        .unwrap_or_default();
    println!("Logged in to {} as {}{until}.", conn.server, a.user);
    Ok(())
}

/// `hostplane api NAME key=value ...`.
pub fn api_command(ctx: &mut Ctx, name: &str, tokens: &[String]) -> Result<(), Failure> {
    api_command_with(ctx, name, tokens, false)
}

/// An API call; `imply_type`: a query on a type-only field implies the type switch
/// (`host list osDistribution=debian` means `... hypervisorType=KVM`).
pub fn api_command_with(
    ctx: &mut Ctx,
    name: &str,
    tokens: &[String],
    imply_type: bool,
) -> Result<(), Failure> {
    let api = apis::find(name).ok_or_else(|| unknown_command(name))?;
    if api.is_query() {
        let resource = api.spec.query.unwrap_or_default();
        let mut q = args::parse_query(tokens).map_err(Failure::Usage)?;
        if let Some(r) = hostplane_server::domain::catalogue::resource(resource) {
            if imply_type {
                check::imply_type(r, &mut q);
            }
            check::check(r, &q).map_err(Failure::Usage)?;
            resolve_uuid_conditions(ctx, r, &mut q)?;
            for note in check::value_notes(r, &q) {
                eprintln!("{note}");
            }
        }
        let body = ctx.call(&api.query_request(&q))?;
        return print_query(ctx, resource, &q, &body);
    }
    let mut params = args::parse_params(api.spec, tokens).map_err(Failure::Usage)?;
    resolve_secrets(&api, &mut params)?;
    resolve_uuid_params(ctx, &api, &mut params)?;
    let missing = args::missing_required(api.spec, &params);
    if !missing.is_empty() {
        return Err(Failure::Usage(format!(
            "{} needs {}",
            api.spec.name,
            missing
                .iter()
                .map(|m| format!("{m}=..."))
                .collect::<Vec<_>>()
                .join(" ")
        )));
    }
    if api.spec.name == "UpdateAccount" {
        // Passwords go as their SHA-512 digest, as every ZStack client sends them.
        for key in ["password", "oldPassword"] {
            if let Some(Value::String(p)) = params.get_mut(key) {
                *p = client::password_digest(p);
            }
        }
    }
    let login_account = (api.spec.name == "LogInByAccount").then(|| {
        if let Some(Value::String(p)) = params.get_mut("password") {
            *p = client::password_digest(p);
        }
        params
            .get("accountName")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string()
    });
    let req = api.request(params).map_err(Failure::Usage)?;
    let body = ctx.call(&req)?;
    if let Some(account) = login_account {
        let inv = body.get("inventory").cloned().unwrap_or(Value::Null);
        if let Some(uuid) = inv.get("uuid").and_then(Value::as_str) {
            ctx.conn()?.remember(&account, uuid, &inv)?;
        }
    }
    print_body(ctx, &body);
    Ok(())
}

/// `clusterUuid=sim` in a condition: the uuids of the clusters named `sim` (and likewise for
/// zones and hosts), or "no cluster named sim". A value that looks like a uuid is left as it is.
fn resolve_uuid_conditions(
    ctx: &mut Ctx,
    resource: &'static hostplane_query::Resource,
    q: &mut args::QueryArgs,
) -> Result<(), Failure> {
    use hostplane_query::{parse_condition, Op};
    for cond in q.conditions.iter_mut() {
        let Ok(c) = parse_condition(cond) else {
            continue;
        };
        let Some((_, leaf)) = check::leaf_of(resource, &c.field) else {
            continue;
        };
        let Some(target) = check::uuid_target(&leaf) else {
            continue;
        };
        let list = matches!(c.op, Op::In | Op::NotIn);
        if !(list || matches!(c.op, Op::Eq | Op::NotEq)) {
            continue;
        }
        let value = c.value.clone().unwrap_or_default();
        let items: Vec<&str> = if list {
            value.split(',').collect()
        } else {
            vec![value.as_str()]
        };
        if items
            .iter()
            .all(|i| check::is_uuid(i.trim()) || i.is_empty())
        {
            continue;
        }
        let mut uuids = Vec::new();
        for item in items {
            if check::is_uuid(item.trim()) {
                uuids.push(item.trim().to_string());
            } else {
                uuids.extend(shortcuts::uuids_named(ctx, target, item.trim())?);
            }
        }
        let op = match (c.op, uuids.len()) {
            (Op::Eq, 1) => "=",
            (Op::NotEq, 1) => "!=",
            (Op::Eq | Op::In, _) => "?=",
            _ => "!?=",
        };
        *cond = format!("{}{op}{}", c.field.trim(), uuids.join(","));
    }
    Ok(())
}

/// A parameter naming a zone, cluster or host by uuid (`clusterUuid=`, or `uuid=` of an API
/// about one) given a name instead: the uuid of the one so named.
fn resolve_uuid_params(
    ctx: &mut Ctx,
    api: &RestApi,
    params: &mut Map<String, Value>,
) -> Result<(), Failure> {
    use hostplane_server::domain::api::Res;
    for p in api.spec.params {
        let target = match p.resource {
            Some(Res::Zone) => "Zone",
            Some(Res::Cluster) => "Cluster",
            Some(Res::Host) => "Host",
            None if p.name == "uuid" => match api.spec.name {
                n if n.contains("Host") => "Host",
                n if n.contains("Cluster") => "Cluster",
                n if n.contains("Zone") => "Zone",
                _ => continue,
            },
            None => continue,
        };
        let Some(Value::String(v)) = params.get(p.name) else {
            continue;
        };
        if v.is_empty() || check::is_uuid(v) {
            continue;
        }
        let found = shortcuts::find(ctx, target, &v.clone())?;
        params.insert(p.name.to_string(), Value::String(found.uuid));
    }
    Ok(())
}

/// Secret parameters: `-` is prompted for on a terminal (else read from stdin), `@FILE` is
/// read from a file. With a private key, the password (its passphrase) may be left out.
fn resolve_secrets(api: &RestApi, params: &mut Map<String, Value>) -> Result<(), Failure> {
    let mut stdin_used = false;
    for p in api.spec.params.iter().filter(|p| p.secret) {
        let Some(Value::String(v)) = params.get(p.name) else {
            continue;
        };
        let multi_line = p.name == "privateKey";
        let value = if v == "-" {
            if stdin_used {
                return Err(Failure::Usage(
                    "only one parameter can be read from stdin".into(),
                ));
            }
            stdin_used = true;
            if multi_line {
                if session::interactive() {
                    eprintln!("Paste {}, then Ctrl-D:", p.name);
                }
                session::read_stdin_all(p.name)?
            } else if session::interactive() {
                session::prompt_secret(&format!("{} ({}): ", p.name, api.spec.name))?
            } else {
                session::read_stdin_line(p.name)?
            }
        } else if let Some(path) = v.strip_prefix('@') {
            let text = std::fs::read_to_string(path)
                .map_err(|e| Failure::Usage(format!("cannot read {} from {path}: {e}", p.name)))?;
            if multi_line {
                text
            } else {
                text.trim_end_matches(['\n', '\r']).to_string()
            }
        } else {
            continue;
        };
        params.insert(p.name.to_string(), Value::String(value));
    }
    if params.contains_key("privateKey")
        && api.spec.param("password").is_some_and(|p| p.required)
        && !params.contains_key("password")
    {
        params.insert("password".into(), Value::String(String::new()));
    }
    Ok(())
}

/// A query answer: a table (with referenced uuids shown by name), or JSON/YAML.
pub fn print_query(
    ctx: &mut Ctx,
    resource: &str,
    q: &QueryArgs,
    body: &Value,
) -> Result<(), Failure> {
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &output::machine_value(body),
            ctx.style.format,
        ));
        return Ok(());
    }
    if q.count {
        ctx.print(&format!(
            "{}\n",
            body.get("total").cloned().unwrap_or(Value::Null)
        ));
        return Ok(());
    }
    let items = items_of(body);
    let (columns, names) = match &q.fields {
        Some(f) => (Some(output::columns_of_fields(f)), HashMap::new()),
        None => (
            output::default_columns(resource),
            ref_names(ctx, resource, &items),
        ),
    };
    ctx.print(&output::table(&items, columns, &names, ctx.style.color));
    if let Some(total) = body.get("total") {
        ctx.print(&format!("total: {total}\n"));
    }
    Ok(())
}

/// Rows of a resource (what a shortcut got back), as its table or JSON/YAML.
pub fn print_rows(ctx: &mut Ctx, resource: &str, body: &Value) -> Result<(), Failure> {
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &output::machine_value(body),
            ctx.style.format,
        ));
        return Ok(());
    }
    let items = match body.get("inventory") {
        Some(inv) => vec![inv.clone()],
        None => items_of(body),
    };
    let names = ref_names(ctx, resource, &items);
    ctx.print(&output::table(
        &items,
        output::default_columns(resource),
        &names,
        ctx.style.color,
    ));
    Ok(())
}

/// Any other answer: an inventory as `field value` lines, or JSON/YAML.
pub fn print_body(ctx: &Ctx, body: &Value) {
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &output::machine_value(body),
            ctx.style.format,
        ));
        return;
    }
    let obj = match body.get("inventory").and_then(Value::as_object) {
        Some(inv) => inv.clone(),
        None => body.as_object().cloned().unwrap_or_default(),
    };
    ctx.print(&output::detail(&obj));
}

/// Names of the clusters (for hosts) or zones (for clusters) the rows refer to: one query;
/// if it fails, the uuids are shown.
fn ref_names(ctx: &mut Ctx, resource: &str, items: &[Value]) -> HashMap<String, String> {
    let (field, api) = match resource {
        "Host" => ("clusterUuid", "QueryCluster"),
        "Cluster" => ("zoneUuid", "QueryZone"),
        _ => return HashMap::new(),
    };
    let mut uuids: Vec<&str> = items
        .iter()
        .filter_map(|i| i.get(field).and_then(Value::as_str))
        .collect();
    uuids.sort_unstable();
    uuids.dedup();
    if uuids.is_empty() {
        return HashMap::new();
    }
    let q = QueryArgs {
        conditions: vec![format!("uuid?={}", uuids.join(","))],
        fields: Some(vec!["uuid".into(), "name".into()]),
        ..Default::default()
    };
    ctx.query(api, &q)
        .map(|found| {
            found
                .iter()
                .filter_map(|r| {
                    Some((
                        r.get("uuid")?.as_str()?.to_string(),
                        r.get("name")?.as_str()?.to_string(),
                    ))
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `hostplane apis [NAME]`.
fn describe_apis(name: Option<&str>) -> Result<String, Failure> {
    let Some(name) = name else {
        let rows: Vec<Value> = apis::all()
            .map(|a| {
                serde_json::json!({
                    "name": a.spec.name,
                    "method": a.method.as_str(),
                    "path": format!("/zstack/v1{}", a.path),
                    "kind": if a.is_query() { "query" } else if a.is_async() { "async" } else { "sync" },
                })
            })
            .collect();
        return Ok(output::table(&rows, None, &HashMap::new(), false));
    };
    let api = apis::find(name).ok_or_else(|| unknown_command(name))?;
    let mut out = format!(
        "{} ({}): {} /zstack/v1{}{}\n",
        api.spec.name,
        if api.is_query() {
            "query"
        } else if api.is_async() {
            "async job"
        } else {
            "sync"
        },
        api.method,
        api.path,
        if api.spec.needs_session {
            ""
        } else {
            ", no session needed"
        }
    );
    if let Some(res) = api
        .spec
        .query
        .and_then(hostplane_server::domain::catalogue::resource)
    {
        out.push_str(
            "\nQuery fields (conditions: = != > < >= <= ?= !?= ~= !~= `is null` `not null`):\n",
        );
        for f in res.fields {
            out.push_str(&format!("  {}\n", f.name));
        }
        for e in res.expansions {
            out.push_str(&format!("  {}.<field of {}>\n", e.name, e.target));
        }
        out.push_str(&format!("\nOptions: {}\n", args::QUERY_OPTIONS.join(" ")));
        return Ok(out);
    }
    if api.spec.params.is_empty() {
        out.push_str("\nNo parameters.\n");
        return Ok(out);
    }
    let rows: Vec<Value> = api
        .spec
        .params
        .iter()
        .map(|p| {
            let mut notes = Vec::new();
            if !p.valid_values.is_empty() {
                notes.push(format!("one of {}", p.valid_values.join(", ")));
            }
            if let Some((lo, hi)) = p.range {
                notes.push(format!("{lo}..{hi}"));
            }
            if let Some(r) = p.resource {
                notes.push(format!("uuid of a {}", r.vo().trim_end_matches("VO")));
            }
            if let Some(m) = p.max_len {
                notes.push(format!("at most {m} characters"));
            }
            if p.secret {
                notes.push("secret: `-` prompts, `@FILE` reads a file".into());
            }
            serde_json::json!({
                "parameter": p.name,
                "type": match p.ty {
                    ParamType::Str => "string",
                    ParamType::Int => "integer",
                    ParamType::Bool => "boolean",
                    ParamType::StrList => "list (a,b,c)",
                    ParamType::Map => "map (name.key=value)",
                },
                "required": if p.required { "yes" } else { "no" },
                "notes": notes.join("; "),
            })
        })
        .collect();
    out.push('\n');
    out.push_str(&output::table(&rows, None, &HashMap::new(), false));
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listen_takes_addresses_host_names_and_ipv6() {
        let p = |s: &str| parse_listen(s).map(|a| a.to_string());
        assert_eq!(p("0.0.0.0:8080").unwrap(), "0.0.0.0:8080");
        assert_eq!(p("[::]:9000").unwrap(), "[::]:9000");
        assert_eq!(p("[::]").unwrap(), "[::]:8080");
        assert_eq!(p("::").unwrap(), "[::]:8080");
        assert_eq!(p("127.0.0.1").unwrap(), "127.0.0.1:8080");
        assert_eq!(p(":18555").unwrap(), "0.0.0.0:18555");
        assert_eq!(p("localhost:18555").unwrap(), "127.0.0.1:18555");
        assert_eq!(p("localhost").unwrap(), "127.0.0.1:8080");
        assert!(p("localhost:http")
            .unwrap_err()
            .contains("not a port number"));
        assert!(p("no-such-host.invalid:80")
            .unwrap_err()
            .contains("cannot resolve"));
    }
}
