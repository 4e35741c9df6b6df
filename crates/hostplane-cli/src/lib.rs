//! The `hostplane` command line: `serve` starts the server; every other command is a client
//! of a running server over its REST API (`--server`, env `HOSTPLANE_SERVER`).
//!
//! - this file: the clap definitions, the [`Failure`] type and its exit codes, and dispatch;
//! - [`apis`]: API name → REST method, path and body shape (from the server's own tables);
//! - [`args`]: zstack-cli's `key=value` parameters and query conditions;
//! - [`client`]: HTTP calls and job polling;
//! - [`session`]: the session file, login and re-login, reading passwords;
//! - [`output`]: tables, JSON, YAML, errors, the spinner;
//! - [`shell`]: the interactive shell;
//! - [`shortcuts`]: `zone`, `cluster`, `host` and `config` commands.
//!
//! Exit codes: 0 success, 1 the API (or the server, or the network) failed, 2 usage error.
//! No command takes a password as an argument of its own; see [`session`].

pub mod apis;
pub mod args;
pub mod client;
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
                  Exit codes: 0 success, 1 API error, 2 usage error."
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
    /// An API name, as in zstack-cli: `hostplane QueryHost status=Connected`.
    #[command(external_subcommand)]
    External(Vec<String>),
}

#[derive(Args, Debug)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, env = "HOSTPLANE_LISTEN", default_value = "0.0.0.0:8080")]
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
    /// The local address SSH connections to hosts come from (default: the system picks).
    #[arg(long, env = "HOSTPLANE_SSH_SOURCE_ADDRESS")]
    pub ssh_source_address: Option<std::net::IpAddr>,
}

impl From<ServeArgs> for ServeConfig {
    fn from(a: ServeArgs) -> Self {
        ServeConfig {
            listen: a.listen,
            data_dir: a.data_dir,
            database_url: a.database_url,
            admin_password: a.admin_password,
            secret_key: a.secret_key,
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
}

impl Failure {
    pub fn exit_code(&self) -> i32 {
        match self {
            Failure::Usage(_) => 2,
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

    /// Make a call, with a spinner while a job runs.
    pub fn call(&mut self, req: &Request) -> Result<Value, Failure> {
        let mut spinner = Spinner::new(self.style.spinner);
        let r = self.conn()?.call(req, &mut |p| spinner.update(&p));
        spinner.finish(req.api, r.is_ok());
        r
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
    let mut ctx = Ctx::new(&global);
    match execute(&mut ctx, command) {
        Ok(()) => 0,
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
    }
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

fn unknown_command(name: &str) -> Failure {
    let near = apis::suggestions(name);
    let mut m = format!("`{name}` is neither a command nor an API");
    if !near.is_empty() {
        m.push_str(&format!(" (did you mean {}?)", near.join(", ")));
    }
    m.push_str("; `hostplane apis` lists the APIs");
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
    let api = apis::find(name).ok_or_else(|| unknown_command(name))?;
    if api.is_query() {
        let q = args::parse_query(tokens).map_err(Failure::Usage)?;
        let body = ctx.call(&api.query_request(&q))?;
        return print_query(ctx, api.spec.query.unwrap_or_default(), &q, &body);
    }
    let mut params = args::parse_params(api.spec, tokens).map_err(Failure::Usage)?;
    resolve_secrets(&api, &mut params)?;
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
