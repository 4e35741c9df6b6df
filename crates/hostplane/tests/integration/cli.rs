//! The hostplane CLI against a running server: the real binary, run as a user would (its own
//! HOME and config directory, no terminal), checking exit codes, stdout and stderr.
//! SQLite only: the CLI talks REST, the store behind it does not matter here.

use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use hostplane_testkit::sshd::{SshdHost, SshdOptions};
use serde_json::Value;

use super::common::{sha512, Db, Env};
use super::pty::Pty;

/// The CLI of one user: its own HOME and XDG_CONFIG_HOME, pointed at one server.
struct Cli {
    home: PathBuf,
    server: String,
    env: Vec<(String, String)>,
}

/// What one run printed.
#[derive(Debug)]
struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Out {
    fn ok(self) -> Out {
        assert_eq!(self.code, 0, "expected success: {self:?}");
        self
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {self:?}"))
    }
}

impl Cli {
    fn new(env: &Env) -> Cli {
        static N: AtomicU32 = AtomicU32::new(0);
        let home = std::env::temp_dir().join(format!(
            "hostplane-cli-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&home);
        std::fs::create_dir_all(&home).unwrap();
        Cli {
            home,
            server: env.server.base.clone(),
            env: vec![],
        }
    }

    fn config_dir(&self) -> PathBuf {
        self.home.join("config").join("hostplane")
    }

    /// The `hostplane` command of this user (its HOME, config and cache, its server).
    fn command(&self, args: &[&str], extra_env: &[(&str, &str)]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_hostplane"));
        cmd.args(args)
            .env("HOME", &self.home)
            .env("XDG_CONFIG_HOME", self.home.join("config"))
            .env("XDG_CACHE_HOME", self.home.join("cache"))
            .env("HOSTPLANE_SERVER", &self.server)
            .env("TERM", "xterm")
            .env_remove("HOSTPLANE_PASSWORD")
            .env_remove("NO_COLOR");
        for (k, v) in self
            .env
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .chain(extra_env.iter().copied())
        {
            cmd.env(k, v);
        }
        cmd
    }

    /// The command on a terminal of its own.
    fn pty(&self, args: &[&str]) -> Pty {
        Pty::spawn(&mut self.command(args, &[]))
    }

    fn run_with(&self, args: &[&str], stdin: Option<&str>, extra_env: &[(&str, &str)]) -> Out {
        let mut cmd = self.command(args, extra_env);
        cmd.stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("run hostplane");
        if let Some(input) = stdin {
            child
                .stdin
                .take()
                .unwrap()
                .write_all(input.as_bytes())
                .unwrap();
        }
        let out = child.wait_with_output().unwrap();
        Out {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    fn run(&self, args: &[&str]) -> Out {
        self.run_with(args, None, &[])
    }

    fn stdin(&self, args: &[&str], input: &str) -> Out {
        self.run_with(args, Some(input), &[])
    }

    fn login(&self) {
        let out = self
            .stdin(&["login", "--password-stdin"], "password\n")
            .ok();
        assert_eq!(
            out.stdout
                .lines()
                .next()
                .unwrap()
                .split(" (")
                .next()
                .unwrap(),
            format!("Logged in to {} as admin", self.server)
        );
    }

    fn session_file(&self) -> Value {
        serde_json::from_slice(&std::fs::read(self.config_dir().join("session.json")).unwrap())
            .unwrap()
    }
}

impl Drop for Cli {
    fn drop(&mut self) {
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.home);
        }
    }
}

/// Columns separated by two spaces, each as wide as its widest cell, no trailing blanks:
/// the table layout, written independently of the CLI's renderer.
fn aligned(rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = (0..rows[0].len())
        .map(|c| rows.iter().map(|r| r[c].chars().count()).max().unwrap())
        .collect();
    rows.iter()
        .map(|r| {
            let line: String = r
                .iter()
                .zip(&widths)
                .map(|(cell, w)| format!("{cell:<w$}  "))
                .collect();
            format!("{}\n", line.trim_end())
        })
        .collect()
}

fn gib(bytes: u64) -> String {
    format!("{:.1} GiB", bytes as f64 / (1024.0 * 1024.0 * 1024.0))
}

#[test]
fn login_keeps_a_private_session_and_never_the_password() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    // Not logged in yet: a clear message, exit 1.
    let out = cli.run(&["zone", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains("not logged in") && out.stderr.contains("hostplane login"),
        "{out:?}"
    );
    // No password and no terminal: a usage error.
    let out = cli.run(&["login"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--password-stdin"), "{out:?}");
    // A wrong password: the API's error.
    let out = cli.stdin(&["login", "--password-stdin"], "Not-The-Pa55word\n");
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: ID.1000: Unable to authenticate a user\n"),
        "{out:?}"
    );
    assert!(!out.stderr.contains("Not-The-Pa55word"), "{out:?}");

    cli.login();
    let dir = cli.config_dir();
    let file = dir.join("session.json");
    assert_eq!(
        std::fs::metadata(&file).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        std::fs::metadata(&dir).unwrap().permissions().mode() & 0o777,
        0o700
    );
    let text = std::fs::read_to_string(&file).unwrap();
    assert!(
        !text.contains("password") && !text.contains(&sha512("password")),
        "{text}"
    );
    let saved = cli.session_file();
    assert_eq!(saved["current"], cli.server.as_str());
    assert_eq!(saved["servers"][&cli.server]["account"], "admin");
    let session = saved["servers"][&cli.server]["session"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(session.len(), 32);

    // The saved server is the default when neither --server nor HOSTPLANE_SERVER is given.
    let out = cli.run_with(&["zone", "list"], None, &[("HOSTPLANE_SERVER", "")]);
    assert_eq!(out.code, 0, "{out:?}");
    // A sessionless API, and a query with the session.
    assert_eq!(
        cli.run(&["api", "GetVersion"]).ok().stdout,
        "version  5.2.0\n"
    );
    cli.run(&["api", "QueryZone"]).ok();

    // Logout ends the session on the server too.
    let out = cli.run(&["logout"]).ok();
    assert_eq!(out.stdout, format!("Logged out of {}.\n", cli.server));
    assert!(cli.session_file()["servers"]
        .as_object()
        .unwrap()
        .is_empty());
    let r = env.api.get(&format!("/accounts/sessions/{session}/valid"));
    assert_eq!(r.body["valid"], false, "{}", r.text);
    assert_eq!(cli.run(&["zone", "list"]).code, 1);
    // zstack-cli's way: LogInByAccount with the password read from stdin; the session is kept.
    let out = cli
        .stdin(
            &["api", "LogInByAccount", "accountName=admin", "password=-"],
            "password\n",
        )
        .ok();
    assert!(out.stdout.contains("accountUuid"), "{out:?}");
    assert_eq!(
        cli.session_file()["servers"][&cli.server]["account"],
        "admin"
    );
    cli.run(&["zone", "list"]).ok();
}

#[test]
fn api_calls_sync_and_async_in_every_format() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    // Async create: the job is polled to its end; one inventory prints as field/value lines.
    let out = cli
        .run(&["api", "CreateZone", "name=z1", "description=first zone"])
        .ok();
    let lines: Vec<(&str, &str)> = out
        .stdout
        .lines()
        .map(|l| l.split_once("  ").map(|(k, v)| (k, v.trim())).unwrap())
        .collect();
    assert!(
        lines.contains(&("name", "z1"))
            && lines.contains(&("description", "first zone"))
            && lines.contains(&("state", "Enabled")),
        "{out:?}"
    );
    assert_eq!(lines[0].0, "uuid");
    // -o json: the raw inventory; -o yaml likewise.
    let z2 = cli
        .run(&[
            "-o",
            "json",
            "api",
            "CreateZone",
            "name=z2",
            "isDefault=false",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            z2["name"].as_str(),
            z2["state"].as_str(),
            z2["isDefault"].as_bool()
        ),
        (Some("z2"), Some("Enabled"), Some(false))
    );
    let z2uuid = z2["uuid"].as_str().unwrap();
    let out = cli.run(&["api", "QueryZone", "name=z2", "-o", "yaml"]).ok();
    assert!(
        out.stdout
            .starts_with(&format!("- uuid: {z2uuid}\n  name: z2\n")),
        "{out:?}"
    );
    // A query's raw inventories; with replyWithCount the whole answer.
    let all = cli
        .run(&["api", "QueryZone", "-o", "json", "sortBy=name"])
        .ok()
        .json();
    assert_eq!(
        all.as_array()
            .unwrap()
            .iter()
            .map(|z| z["name"].as_str().unwrap())
            .collect::<Vec<_>>(),
        ["z1", "z2"]
    );
    let counted = cli
        .run(&[
            "-o",
            "json",
            "api",
            "QueryZone",
            "replyWithCount=true",
            "limit=1",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            counted["total"].as_i64(),
            counted["inventories"].as_array().unwrap().len()
        ),
        (Some(2), 1)
    );
    // zstack-cli's form: the API name as the command.
    let out = cli
        .run(&["QueryZone", "name=z1", "fields=name,description"])
        .ok();
    assert_eq!(out.stdout, "NAME  DESCRIPTION\nz1    first zone\n");
    let out = cli
        .run(&["QueryZone", "name=z1", "-o", "json", "fields=name"])
        .ok();
    assert_eq!(out.json(), serde_json::json!([{"name": "z1"}]));
    let out = cli
        .run(&["QueryZone", "--output=yaml", "name=z1", "fields=name"])
        .ok();
    assert_eq!(out.stdout, "- name: z1\n");
    let out = cli.run(&["QueryZone", "--help"]).ok();
    assert!(
        out.stdout
            .starts_with("QueryZone (query): GET /zstack/v1/zones\n"),
        "{out:?}"
    );
    // An async PUT action and an async DELETE.
    let cfg = cli
        .run(&[
            "-o",
            "json",
            "api",
            "UpdateGlobalConfig",
            "category=host",
            "name=ping.interval",
            "value=30",
        ])
        .ok()
        .json();
    assert_eq!(
        (
            cfg["category"].as_str(),
            cfg["name"].as_str(),
            cfg["value"].as_str()
        ),
        (Some("host"), Some("ping.interval"), Some("30"))
    );
    let out = cli
        .run(&[
            "api",
            "DeleteZone",
            &format!("uuid={z2uuid}"),
            "deleteMode=Permissive",
        ])
        .ok();
    assert_eq!(out.stdout, "");
    assert_eq!(
        cli.run(&["api", "QueryZone", "count=true"]).ok().stdout,
        "1\n"
    );
    assert_eq!(
        cli.run(&["-o", "json", "api", "DeleteZone", &format!("uuid={z2uuid}")])
            .ok()
            .json(),
        serde_json::json!({})
    );
    // The API list and one API's parameters come from the server's own catalogue.
    let out = cli.run(&["apis"]).ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["AddKVMHost", "POST", "/zstack/v1/hosts/kvm", "async"]),
        "{out:?}"
    );
    let out = cli.run(&["apis", "ChangeHostState"]).ok();
    assert!(
        out.stdout.contains("one of enable, disable, maintain"),
        "{out:?}"
    );
    let out = cli.run(&["apis", "QueryHost"]).ok();
    assert!(
        out.stdout.contains("  managementIp\n")
            && out.stdout.contains("cluster.<field of Cluster>"),
        "{out:?}"
    );
}

#[test]
fn query_conditions_and_table_text() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    let zone = |name: &str, desc: Option<&str>| {
        let mut args = vec!["-o", "json", "zone", "create", name];
        if let Some(d) = desc {
            args.extend(["--description", d]);
        }
        cli.run(&args).ok().json()["uuid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let z1 = zone("z1", None);
    let z2 = zone("z2", Some("lab"));
    let cluster = |name: &str, zone: &str, arch: &str| {
        cli.run(&[
            "-o",
            "json",
            "cluster",
            "create",
            name,
            "--zone",
            zone,
            "--architecture",
            arch,
        ])
        .ok()
        .json()["uuid"]
            .as_str()
            .unwrap()
            .to_string()
    };
    let c1 = cluster("c1", "z1", "x86_64");
    let c2 = cluster("c2", &z1, "aarch64");
    let c3 = cluster("prod3", "z2", "x86_64");

    // Default columns, referenced zones by name, sorted.
    let out = cli.run(&["cluster", "list", "sortBy=name"]).ok();
    assert_eq!(
        out.stdout,
        format!(
            "UUID                              NAME   STATE    HYPERVISOR  ARCH     ZONE\n\
             {c1}  c1     Enabled  KVM         x86_64   z1\n\
             {c2}  c2     Enabled  KVM         aarch64  z1\n\
             {c3}  prod3  Enabled  KVM         x86_64   z2\n"
        )
    );
    let out = cli
        .run(&["zone", "list", "sortBy=name", "sortDirection=desc"])
        .ok();
    assert_eq!(
        out.stdout,
        format!(
            "UUID                              NAME  STATE    DEFAULT  DESCRIPTION\n\
             {z2}  z2    Enabled  false    lab\n\
             {z1}  z1    Enabled  false    -\n"
        )
    );
    // Every operator, each through the CLI's q= conditions.
    let names = |conds: &[&str]| {
        let mut args = vec!["api", "QueryCluster"];
        args.extend(conds);
        args.extend(["sortBy=name", "fields=name"]);
        let out = cli.run(&args).ok();
        out.stdout
            .lines()
            .skip(1)
            .map(str::to_string)
            .collect::<Vec<_>>()
            .join(",")
    };
    assert_eq!(names(&["zone.name=z1"]), "c1,c2");
    assert_eq!(names(&["name!=c1"]), "c2,prod3");
    assert_eq!(names(&["name?=c1,prod3"]), "c1,prod3");
    assert_eq!(names(&["name!?=c1,prod3"]), "c2");
    assert_eq!(names(&["name~=c%"]), "c1,c2");
    assert_eq!(names(&["name!~=c%"]), "prod3");
    assert_eq!(names(&["architecture=x86_64", "zone.name~=z%"]), "c1,prod3");
    assert_eq!(names(&["name>c1"]), "c2,prod3");
    assert_eq!(names(&["name>=c2"]), "c2,prod3");
    assert_eq!(names(&["name<c2"]), "c1");
    assert_eq!(names(&["name<=c2"]), "c1,c2");
    assert_eq!(names(&["description", "is", "null"]), "c1,c2,prod3");
    assert_eq!(names(&["description not null"]), "");
    assert_eq!(names(&["zone.description", "not", "null"]), "prod3");
    // Paging, counting, descending sort, explicit fields (headers from the field names).
    let out = cli
        .run(&[
            "api",
            "QueryCluster",
            "sortBy=name",
            "sortDirection=desc",
            "limit=2",
            "start=1",
            "fields=name,architecture,zoneUuid",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        format!(
            "NAME  ARCHITECTURE  ZONE UUID\nc2    aarch64       {z1}\nc1    x86_64        {z1}\n"
        )
    );
    assert_eq!(
        cli.run(&["cluster", "list", "count=true", "zone.name=z1"])
            .ok()
            .stdout,
        "2\n"
    );
    let out = cli
        .run(&[
            "cluster",
            "list",
            "replyWithCount=true",
            "limit=1",
            "sortBy=name",
            "fields=name",
        ])
        .ok();
    assert_eq!(out.stdout, "NAME\nc1\ntotal: 3\n");
    // Global configs.
    let out = cli
        .run(&[
            "config",
            "list",
            "category=identity",
            "name=session.timeout",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        "CATEGORY  NAME             VALUE  DEFAULT\nidentity  session.timeout  7200   7200\n"
    );
    let out = cli.run(&["config", "set", "host.ping.interval", "30"]).ok();
    assert_eq!(
        out.stdout,
        "CATEGORY  NAME           VALUE  DEFAULT\nhost      ping.interval  30     60\n"
    );
    // Rm by name (--yes: no terminal to ask on).
    let out = cli.run(&["cluster", "rm", "prod3", "--yes"]).ok();
    assert_eq!(out.stdout, format!("Deleted cluster prod3 ({c3}).\n"));
    assert_eq!(
        cli.run(&["cluster", "list", "count=true"]).ok().stdout,
        "2\n"
    );
}

#[test]
fn api_errors_are_readable_and_exit_1() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    // A failed async job: code, description, details.
    let out = cli.run(&[
        "api",
        "CreateCluster",
        "zoneUuid=0123456789abcdef0123456789abcdef",
        "name=c",
        "hypervisorType=KVM",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert_eq!(out.stdout, "");
    let mut lines = out.stderr.lines();
    assert_eq!(
        lines.next(),
        Some("error: SYS.1003: A resource can not be found"),
        "{out:?}"
    );
    let details = lines.next().unwrap();
    assert!(
        details.starts_with("  details: ") && details.contains("0123456789abcdef0123456789abcdef"),
        "{out:?}"
    );
    let out = cli.run(&[
        "api",
        "UpdateGlobalConfig",
        "category=no",
        "name=such",
        "value=1",
    ]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr
            .starts_with("error: SYS.1007: One or more API argument is invalid\n  details: "),
        "{out:?}"
    );
    // A sync failure, and a shortcut's lookup that finds nothing.
    let out = cli.run(&["cluster", "create", "c", "--zone", "nosuchzone"]);
    assert_eq!(out.code, 1);
    assert!(out.stderr.contains("no zone named `nosuchzone`"), "{out:?}");
    // A protocol error (the server's text), and an unreachable server.
    let out = cli.run(&["api", "CreateZone", "name=z", "isDefault=maybe"]);
    assert_eq!(out.code, 1);
    assert_eq!(out.stderr, "error: the server answered HTTP 400: [isDefault] field is excepted a boolean, but was [maybe].\n");
    let out = cli.run(&["--server", "http://127.0.0.1:1", "api", "GetVersion"]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains("cannot connect (http://127.0.0.1:1)")
            && out.stderr.contains("hostplane serve")
            && out.stderr.contains("--server"),
        "{out:?}"
    );
}

#[test]
fn bad_usage_exits_2() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    cli.run(&["zone", "create", "z"]).ok();
    cli.run(&["cluster", "create", "c", "--zone", "z"]).ok();
    let cases: &[(&[&str], &str)] = &[
        (&["api"], "<NAME>"),
        (&["api", "NoSuchApi"], "neither a command nor an API"),
        (&["QueryHots"], "did you mean QueryHost"),
        (&["api", "CreateZone", "nmae=x"], "no parameter `nmae`"),
        (&["api", "CreateZone"], "CreateZone needs name=..."),
        (&["api", "CreateZone", "name"], "not key=value"),
        (&["api", "ReconnectHost"], "needs uuid=..."),
        (&["api", "QueryZone", "nooperator"], "not a query condition"),
        (
            &["api", "QueryZone", "sortDirection=desc"],
            "sortDirection needs sortBy",
        ),
        (
            &["api", "QueryZone", "sortBy=name", "sortDirection=up"],
            "asc or desc",
        ),
        (&["api", "QueryZone", "limit=ten"], "whole number"),
        (&["host", "frobnicate"], "unrecognized subcommand"),
        (&["-o", "xml", "zone", "list"], "invalid value 'xml'"),
        (&["config", "set", "nodot", "1"], "CATEGORY.NAME"),
        (
            &["--server", "ftp://x", "zone", "list"],
            "not an http:// URL",
        ),
        (
            &["host", "add", "127.0.0.9", "--cluster", "c"],
            "--password-stdin",
        ),
    ];
    for (args, msg) in cases {
        let out = cli.run(args);
        assert_eq!(out.code, 2, "{args:?}: {out:?}");
        assert!(out.stderr.contains(msg), "{args:?}: {out:?}");
        assert_eq!(out.stdout, "", "{args:?}");
    }
    // password=- with nothing on stdin.
    let out = cli.stdin(
        &[
            "api",
            "AddKVMHost",
            "name=h",
            "managementIp=127.0.0.9",
            "clusterUuid=x",
            "username=u",
            "password=-",
        ],
        "",
    );
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("no password on stdin"), "{out:?}");
    assert_eq!(cli.run(&["--help"]).code, 0);
}

#[test]
fn an_expired_session_logs_in_again_or_says_how() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    let cfg = cli
        .run(&[
            "-o",
            "json",
            "api",
            "UpdateGlobalConfig",
            "category=identity",
            "name=session.timeout",
            "value=1",
        ])
        .ok()
        .json();
    assert_eq!(cfg["value"], "1");
    cli.login(); // this session lives 1 s
    let first = cli.session_file()["servers"][&cli.server]["session"].clone();
    std::thread::sleep(Duration::from_millis(1500));
    // No password to be had (no terminal, no HOSTPLANE_PASSWORD): the API's error and what to do.
    let out = cli.run(&["zone", "list"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.starts_with("error: ID.1001: "), "{out:?}");
    assert!(
        out.stderr.contains("  hint:    the session of admin on")
            && out.stderr.contains("run `hostplane login`"),
        "{out:?}"
    );
    // An async call too (its job fails with ID.1001).
    let out = cli.run(&["zone", "create", "z0"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("ID.1001"), "{out:?}");
    // A wrong HOSTPLANE_PASSWORD: the login's error.
    let out = cli.run_with(&["zone", "list"], None, &[("HOSTPLANE_PASSWORD", "nope")]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("ID.1000"), "{out:?}");
    // With HOSTPLANE_PASSWORD the CLI logs in again and the call goes through.
    let out = cli.run_with(
        &["zone", "create", "z1"],
        None,
        &[("HOSTPLANE_PASSWORD", "password")],
    );
    assert_eq!(out.code, 0, "{out:?}");
    assert!(out.stderr.contains("logged in again as admin"), "{out:?}");
    assert!(out.stdout.contains(" z1 "), "{out:?}");
    assert_ne!(cli.session_file()["servers"][&cli.server]["session"], first);
    assert_eq!(
        env.api.query("/zones?count=true")["total"],
        1,
        "z0 was never created"
    );
}

#[test]
fn host_shortcuts_against_a_real_sshd() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let host = SshdHost::start(SshdOptions::default());
    cli.login();
    let out = cli
        .run(&[
            "config",
            "set",
            "kvm.takeOverFlagPath",
            "~/.hostplane/takeOver",
        ])
        .ok();
    assert!(
        out.stdout
            .contains("kvm       takeOverFlagPath  ~/.hostplane/takeOver"),
        "{out:?}"
    );
    cli.run(&["zone", "create", "z1"]).ok();
    cli.run(&["cluster", "create", "c1", "--zone", "z1"]).ok();
    let port = host.port.to_string();

    // A wrong password: the failed step, its reason and the fix.
    let out = cli.stdin(
        &[
            "host",
            "add",
            &host.ip,
            "--cluster",
            "c1",
            "--user",
            &host.user,
            "--port",
            &port,
            "--password-stdin",
        ],
        "Not-The-Pa55word\n",
    );
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with("error: SYS.1006: An operation failed\n  details: "),
        "{out:?}"
    );
    for line in [
        "\n  step:    ssh-login\n",
        "\n  reason:  HOST.SSH.AUTH_FAILED\n",
        "\n  hint:    check the username and password",
    ] {
        assert!(out.stderr.contains(line), "{line}: {out:?}");
    }
    assert!(
        !out.stderr.contains("Not-The-Pa55word") && !out.stdout.contains("Not-The-Pa55word"),
        "the password is never echoed: {out:?}"
    );

    // Add: the host's row.
    let out = cli
        .stdin(
            &[
                "host",
                "add",
                &host.ip,
                "--cluster",
                "c1",
                "--user",
                &host.user,
                "--port",
                &port,
                "--password-stdin",
            ],
            &format!("{}\n", host.password),
        )
        .ok();
    let inv = cli.run(&["-o", "json", "host", "list"]).ok().json()[0].clone();
    let uuid = inv["uuid"].as_str().unwrap().to_string();
    let row = |status: &str, state: &str| {
        aligned(&[
            [
                "UUID",
                "NAME",
                "MANAGEMENT IP",
                "STATUS",
                "STATE",
                "CPUS",
                "MEMORY",
                "CLUSTER",
            ]
            .map(String::from)
            .to_vec(),
            vec![
                uuid.clone(),
                host.ip.clone(),
                host.ip.clone(),
                status.into(),
                state.into(),
                inv["cpuNum"].to_string(),
                gib(inv["totalMemoryCapacity"].as_u64().unwrap()),
                "c1".into(),
            ],
        ])
    };
    assert_eq!(out.stdout, row("Connected", "Enabled"));
    assert_eq!(
        (
            inv["managementIp"].as_str(),
            inv["username"].as_str(),
            inv["sshPort"].as_u64()
        ),
        (
            Some(host.ip.as_str()),
            Some(host.user.as_str()),
            Some(host.port as u64)
        )
    );
    // List with conditions, and the table text.
    assert_eq!(
        cli.run(&["host", "list"]).ok().stdout,
        row("Connected", "Enabled")
    );
    let out = cli
        .run(&[
            "host",
            "list",
            "status=Connected",
            "cpuNum>=1",
            "cluster.name=c1",
            "fields=uuid,managementIp,status",
        ])
        .ok();
    assert_eq!(
        out.stdout,
        aligned(&[
            vec!["UUID".into(), "MANAGEMENT IP".into(), "STATUS".into()],
            vec![uuid.clone(), host.ip.clone(), "Connected".into()]
        ])
    );
    assert_eq!(
        cli.run(&["host", "list", "status=Disconnected"])
            .ok()
            .stdout,
        "UUID  NAME  MANAGEMENT IP  STATUS  STATE  CPUS  MEMORY  CLUSTER\n"
    );
    // State changes and reconnect, by IP, name or uuid.
    assert_eq!(
        cli.run(&["host", "disable", &host.ip]).ok().stdout,
        row("Connected", "Disabled")
    );
    assert_eq!(
        cli.run(&["host", "enable", &uuid]).ok().stdout,
        row("Connected", "Enabled")
    );
    assert_eq!(
        cli.run(&["host", "maintain", &host.ip]).ok().stdout,
        row("Connected", "Maintenance")
    );
    // Leaving maintenance reconnects the host in the background (Connecting, then Connected).
    let out = cli.run(&["host", "enable", &host.ip]).ok();
    assert!(
        out.stdout == row("Connecting", "Enabled") || out.stdout == row("Connected", "Enabled"),
        "{out:?}"
    );
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cli
        .run(&["host", "list", "status=Connected", "count=true"])
        .ok()
        .stdout
        != "1\n"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the host did not reconnect"
        );
        std::thread::sleep(Duration::from_millis(200));
    }
    assert_eq!(
        cli.run(&["host", "reconnect", &host.ip]).ok().stdout,
        row("Connected", "Enabled")
    );
    let out = cli.run(&["host", "show", &host.ip]).ok();
    assert!(
        out.stdout
            .contains(&format!("\nmanagementIp             {}\n", host.ip)),
        "{out:?}"
    );
    // Remove, by IP.
    let out = cli.run(&["host", "rm", &host.ip]).ok();
    assert_eq!(out.stdout, format!("Deleted host {} ({uuid}).\n", host.ip));
    assert_eq!(cli.run(&["host", "list", "count=true"]).ok().stdout, "0\n");
    let out = cli.run(&["host", "rm", &host.ip]);
    assert_eq!(out.code, 1);
    assert!(
        out.stderr.contains(&format!("no host `{}`", host.ip)),
        "{out:?}"
    );

    // zstack-cli's AddKVMHost, with password=- read from stdin.
    let cluster = cli
        .run(&["-o", "json", "api", "QueryCluster", "name=c1"])
        .ok()
        .json()[0]["uuid"]
        .as_str()
        .unwrap()
        .to_string();
    let out = cli
        .stdin(
            &[
                "api",
                "AddKVMHost",
                "name=h2",
                &format!("managementIp={}", host.ip),
                &format!("clusterUuid={cluster}"),
                &format!("username={}", host.user),
                &format!("sshPort={port}"),
                "password=-",
            ],
            &format!("{}\n", host.password),
        )
        .ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["status", "Connected"]),
        "{out:?}"
    );
    assert!(!out.stdout.contains(&host.password), "{out:?}");
    cli.run(&["host", "rm", "h2", "--enforcing"]).ok();
}

#[test]
fn the_shell_runs_lines_from_stdin() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    let script = "QueryZone\nzone create 'zone one'\n-o json zone list 'name=zone one'\nbogus\napi CreateZone\nexit\nzone list\n";
    let out = cli.stdin(&["shell"], script).ok();
    assert!(
        out.stdout
            .starts_with("UUID  NAME  STATE  DEFAULT  DESCRIPTION\n"),
        "{out:?}"
    );
    let json_start = out.stdout.find("[\n").unwrap();
    let listed: Value = serde_json::from_str(&out.stdout[json_start..]).unwrap();
    assert_eq!(listed[0]["name"], "zone one");
    assert!(
        out.stderr
            .contains("`bogus` is neither a command nor an API"),
        "{out:?}"
    );
    assert!(out.stderr.contains("CreateZone needs name=..."), "{out:?}");
    // `exit` ended it: the last line never ran (only one table header printed).
    assert_eq!(out.stdout.matches("UUID").count(), 2, "{out:?}");
    let history = cli.config_dir().join("history");
    assert_eq!(
        std::fs::metadata(&history).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert!(std::fs::read_to_string(&history)
        .unwrap()
        .contains("zone create 'zone one'"));
}

// ---------------------------------------------------------------------------------------------
// The first hour: what a newcomer meets (issue 17).

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// Wait until `path` contains `needle`; its text.
fn wait_for_text(path: &std::path::Path, needle: &str) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    loop {
        let text = std::fs::read_to_string(path).unwrap_or_default();
        if text.contains(needle) {
            return text;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no {needle:?} in {}:\n{text}",
            path.display()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// A `hostplane serve` started by hand (not the testkit's), its output in `<dir>/<log>`.
fn serve(dir: &std::path::Path, log: &str, args: &[&str]) -> std::process::Child {
    let out = std::fs::File::create(dir.join(log)).unwrap();
    Command::new(env!("CARGO_BIN_EXE_hostplane"))
        .arg("serve")
        .args(args)
        .env("HOSTPLANE_LOG", "info")
        .env_remove("HOSTPLANE_ADMIN_PASSWORD")
        .env_remove("HOSTPLANE_LOG_FORMAT")
        .stdin(Stdio::null())
        .stdout(out.try_clone().unwrap())
        .stderr(out)
        .spawn()
        .unwrap()
}

#[test]
fn serve_takes_only_server_options_and_says_where_it_is() {
    let bin = env!("CARGO_BIN_EXE_hostplane");
    let run = |args: &[&str]| {
        let o = Command::new(bin)
            .args(args)
            .env_remove("HOSTPLANE_SERVER")
            .output()
            .unwrap();
        (
            o.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&o.stdout).into_owned(),
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    // Client options are not server options, before or after `serve`.
    let (code, _, err) = run(&["serve", "--server", "http://127.0.0.1:1"]);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("unexpected argument '--server'"), "{err}");
    assert_eq!(run(&["serve", "-o", "json"]).0, 2);
    let (code, _, err) = run(&["-o", "json", "serve"]);
    assert_eq!(code, 2);
    assert!(err.contains("`serve` takes only server options"), "{err}");
    let (code, help, _) = run(&["serve", "--help"]);
    assert_eq!(code, 0);
    assert!(
        help.contains("--listen") && help.contains("--data-dir"),
        "{help}"
    );
    assert!(
        !help.contains("--server") && !help.contains("--output"),
        "{help}"
    );

    // First start, on a host name: where the API is, where the data is, how to change the
    // admin password; once. The log is a file: no colour codes.
    let dir = std::env::temp_dir().join(format!("hostplane-serve-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let data = dir.join("data");
    let port = free_port();
    let listen = format!("localhost:{port}");
    let mut first = serve(
        &dir,
        "first.log",
        &["--listen", &listen, "--data-dir", data.to_str().unwrap()],
    );
    let log = wait_for_text(&dir.join("first.log"), "hostplane account passwd");
    assert!(log.contains(&format!("listen=127.0.0.1:{port}")), "{log}");
    assert!(log.contains("hostplane: first start."), "{log}");
    assert!(
        log.contains(&format!("  API:    http://127.0.0.1:{port}\n")),
        "{log}"
    );
    assert!(
        log.contains(&format!("  data:   {} (SQLite database", data.display())),
        "{log}"
    );
    assert!(
        log.contains(&format!(
            "hostplane login --server http://127.0.0.1:{port} && hostplane account passwd"
        )),
        "{log}"
    );
    assert!(!log.contains('\x1b'), "no colour codes in a file: {log}");
    // The same address again: the error names it and says what to do.
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        &format!("127.0.0.1:{port}"),
        "--data-dir",
        dir.join("other").to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot listen on 127.0.0.1:{port}: the address is in use"
        )) && err.contains("--listen"),
        "{err}"
    );
    // A data directory that cannot be made, or not written: the error names it and the fix.
    let free = format!("127.0.0.1:{}", free_port());
    let file = dir.join("a-file");
    std::fs::write(&file, "").unwrap();
    let under_file = file.join("data");
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        &free,
        "--data-dir",
        under_file.to_str().unwrap(),
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains(&format!(
            "cannot create the data directory {}",
            under_file.display()
        )) && err.contains("--data-dir"),
        "{err}"
    );
    // An SSH source address this machine does not have: refused at start, not host by host.
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        &free,
        "--data-dir",
        dir.join("src-data").to_str().unwrap(),
        "--ssh-source-address",
        "192.0.2.1",
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("--ssh-source-address (HOSTPLANE_SSH_SOURCE_ADDRESS) 192.0.2.1 is not an address of this machine"),
        "{err}"
    );
    // A database that refuses: the error names it, its password hidden, and what to check.
    let pg = hostplane_testkit::pg::server_url();
    let host = pg
        .split_once('@')
        .or_else(|| pg.split_once("://"))
        .unwrap()
        .1;
    let wrong = format!("postgres://nosuchrole:S3cret-pw@{host}");
    let (code, _, err) = run(&[
        "serve",
        "--listen",
        &free,
        "--data-dir",
        dir.join("pg-data").to_str().unwrap(),
        "--database-url",
        &wrong,
    ]);
    assert_eq!(code, 1, "{err}");
    assert!(
        err.contains("cannot open the database postgres://nosuchrole:***@")
            && err.contains("role \"nosuchrole\" does not exist")
            && err.contains("--database-url"),
        "{err}"
    );
    assert!(!err.contains("S3cret-pw"), "{err}");
    // Root may write anywhere: the read-only directory is tried as another user.
    let read_only = dir.join("read-only");
    std::fs::create_dir_all(&read_only).unwrap();
    let status = std::process::Command::new("chmod")
        .args(["555", read_only.to_str().unwrap()])
        .status()
        .unwrap();
    assert!(status.success());
    // A copy of the binary in the test's directory: the workspace may not be open to nobody.
    let copy = dir.join("hostplane");
    std::fs::copy(env!("CARGO_BIN_EXE_hostplane"), &copy).unwrap();
    let out = std::process::Command::new("su")
        .args(["nobody", "-s", "/bin/sh", "-c"])
        .arg(format!(
            "'{}' serve --listen {free} --data-dir '{}'",
            copy.display(),
            read_only.display()
        ))
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains(&format!(
            "cannot write in the data directory {}",
            read_only.display()
        )) && err.contains("--data-dir"),
        "{err}"
    );
    first.kill().unwrap();
    first.wait().unwrap();
    // A later start: no banner; --admin-password is ignored, and says so; the default
    // password is still in place, and that is said too.
    let mut again = serve(
        &dir,
        "again.log",
        &[
            "--listen",
            &listen,
            "--data-dir",
            data.to_str().unwrap(),
            "--admin-password",
            "Other-Pa55",
        ],
    );
    let log = wait_for_text(&dir.join("again.log"), "still ZStack's default");
    assert!(!log.contains("first start"), "{log}");
    assert!(
        log.contains("--admin-password (HOSTPLANE_ADMIN_PASSWORD) is ignored")
            && log.contains("hostplane account passwd"),
        "{log}"
    );
    assert!(!log.contains("Other-Pa55"), "never logged: {log}");
    let mut api = super::common::Api::new(&format!("http://127.0.0.1:{port}"));
    assert_eq!(api.login("admin", "password").status, 200);
    again.kill().unwrap();
    again.wait().unwrap();

    // Colour only on a terminal, and never with NO_COLOR or HOSTPLANE_LOG_FORMAT=json.
    for (env, coloured) in [
        (None, true),
        (Some(("NO_COLOR", "1")), false),
        (Some(("HOSTPLANE_LOG_FORMAT", "json")), false),
    ] {
        let port = free_port();
        let mut cmd = Command::new(bin);
        cmd.args(["serve", "--listen", &format!("[::1]:{port}"), "--data-dir"])
            .arg(dir.join(format!("tty-{port}")))
            .env("HOSTPLANE_LOG", "info")
            .env_remove("NO_COLOR")
            .env_remove("HOSTPLANE_LOG_FORMAT");
        if let Some((k, v)) = env {
            cmd.env(k, v);
        }
        let tty = Pty::spawn(&mut cmd);
        tty.expect("hostplane is serving");
        let shown = tty.output();
        assert!(shown.contains(&format!("[::1]:{port}")), "{shown}");
        assert_eq!(shown.contains("\x1b["), coloured, "{env:?}: {shown}");
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn account_passwd_prompts_and_keeps_sessions() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    // Two different new passwords: nothing changes.
    let mut p = cli.pty(&["account", "passwd"]);
    p.expect("Current password of admin: ");
    p.secret("password");
    p.expect("New password: ");
    p.secret("n3w-Pass");
    p.expect("New password again: ");
    p.secret("n3w-Pazz");
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 2, "{shown}");
    assert!(shown.contains("the two new passwords differ"), "{shown}");
    assert!(!shown.contains("n3w-Pa"), "no echo: {shown}");
    // A wrong current password: the server says so, nothing changes.
    let mut p = cli.pty(&["account", "passwd"]);
    p.expect("Current password of admin: ");
    p.secret("wrong");
    p.expect("New password: ");
    p.secret("n3w-Pass");
    p.expect("again: ");
    p.secret("n3w-Pass");
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 1, "{shown}");
    assert!(shown.contains("old password"), "{shown}");
    // On a terminal, errors are red.
    assert!(shown.contains("\x1b[1;31merror:"), "{shown}");
    // The right one.
    let mut p = cli.pty(&["account", "passwd"]);
    p.expect("Current password of admin: ");
    p.secret("password");
    p.expect("New password: ");
    p.secret("n3w-Pass");
    p.expect("again: ");
    p.secret("n3w-Pass");
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains(&format!("Changed the password of admin on {}.", cli.server)),
        "{shown}"
    );
    // The session goes on; the old password is gone, the new one works.
    cli.run(&["zone", "list"]).ok();
    let out = cli.stdin(&["login", "--password-stdin"], "password\n");
    assert_eq!(out.code, 1, "{out:?}");
    cli.stdin(&["login", "--password-stdin"], "n3w-Pass\n").ok();
    // For scripts: --password-stdin (the session proves who it is).
    cli.stdin(&["account", "passwd", "--password-stdin"], "third-Pass\n")
        .ok();
    cli.stdin(&["login", "--password-stdin"], "third-Pass\n")
        .ok();
    let out = cli.run(&["account", "passwd"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("--password-stdin"), "{out:?}");
}

/// A server with zone z1, cluster c1 (takeover flag in the user's home) and one real sshd host
/// added to it; the host's uuid.
fn with_host(cli: &Cli, host: &SshdHost) -> String {
    cli.login();
    cli.run(&[
        "config",
        "set",
        "kvm.takeOverFlagPath",
        "~/.hostplane/takeOver",
    ])
    .ok();
    cli.run(&["zone", "create", "z1"]).ok();
    cli.run(&["cluster", "create", "c1", "--zone", "z1"]).ok();
    add_host(cli, host).ok().json()["uuid"]
        .as_str()
        .unwrap()
        .to_string()
}

fn add_host(cli: &Cli, host: &SshdHost) -> Out {
    cli.stdin(
        &[
            "-o",
            "json",
            "host",
            "add",
            &host.ip,
            "--cluster",
            "c1",
            "--user",
            &host.user,
            "--port",
            &host.port.to_string(),
            "--password-stdin",
        ],
        &format!("{}\n", host.password),
    )
}

#[test]
fn mistakes_read_as_mistakes() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let mut host = SshdHost::start(SshdOptions::default());
    let uuid = with_host(&cli, &host);
    let ip = host.ip.clone();

    // Query fields are checked before sending, with the nearest names.
    let out = cli.run(&["host", "list", "statuss=Connected"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: no field statuss on hosts; did you mean status? (`hostplane apis QueryHost` lists the fields)\n"
    );
    let out = cli.run(&["QueryHost", "cluster.nmae=c1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(
        out.stderr
            .contains("no field nmae on clusters; did you mean name?"),
        "{out:?}"
    );
    // A value outside the field's known set: a note, and the query still runs.
    let out = cli.run(&["host", "list", "status=connected"]).ok();
    assert!(
        out.stderr
            .contains("note: status `connected` is none of Connecting, Connected, Disconnected")
            && out.stderr.contains("did you mean Connected?"),
        "{out:?}"
    );
    // `host list` implies hypervisorType=KVM for KVM fields; the API form says to add it.
    let shown = cli.run(&["-o", "json", "host", "show", &ip]).ok().json();
    let distro = shown["osDistribution"].as_str().unwrap().to_string();
    let out = cli
        .run(&[
            "host",
            "list",
            &format!("osDistribution={distro}"),
            "fields=managementIp",
        ])
        .ok();
    assert_eq!(out.stdout, format!("MANAGEMENT IP\n{ip}\n"));
    let out = cli.run(&["QueryHost", &format!("osDistribution={distro}")]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("add hypervisorType=KVM"), "{out:?}");
    // Names where uuids go: resolved, or "no cluster named".
    assert_eq!(
        cli.run(&["host", "list", "clusterUuid=c1", "count=true"])
            .ok()
            .stdout,
        "1\n"
    );
    let out = cli.run(&["host", "list", "clusterUuid=sim"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(out.stderr.contains("no cluster named `sim`"), "{out:?}");
    cli.run(&[
        "api",
        "ChangeHostState",
        &format!("uuid={ip}"),
        "stateEvent=disable",
    ])
    .ok();
    cli.run(&["host", "enable", &ip]).ok();

    // Maintenance twice: plain words; the CLI's shortcut succeeds (the host is where asked).
    cli.run(&["host", "maintain", &ip]).ok();
    let out = cli.run(&["host", "maintain", &ip]).ok();
    assert_eq!(out.stderr, format!("host {ip} is already in Maintenance\n"));
    assert!(out.stdout.contains("Maintenance"), "{out:?}");
    // The API form fails, as ZStack's does, but not as an "internal error".
    let out = cli.run(&[
        "api",
        "ChangeHostState",
        &format!("uuid={uuid}"),
        "stateEvent=maintain",
    ]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .starts_with(&format!("error: host {ip} is already in Maintenance")),
        "{out:?}"
    );
    assert!(!out.stderr.contains("internal error"), "{out:?}");
    // On the wire, ZStack's code stays.
    let r = env.api.action(
        &format!("/hosts/{uuid}/actions"),
        "changeHostState",
        serde_json::json!({"stateEvent": "maintain"}),
    );
    super::common::assert_error(&r, 503, "SYS.1000");
    cli.run(&["host", "enable", &ip]).ok();
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while cli
        .run(&["host", "list", "status=Connected", "count=true"])
        .ok()
        .stdout
        != "1\n"
    {
        assert!(
            std::time::Instant::now() < deadline,
            "the host did not reconnect"
        );
        std::thread::sleep(Duration::from_millis(200));
    }

    // The same IP twice: the error names the host that has it.
    let out = add_host(&cli, &host);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr.contains(&format!("host {ip} (uuid {uuid})")),
        "{out:?}"
    );
    // Config names get suggestions; values say what they take, in plain words.
    let out = cli.run(&["config", "set", "host.ping.intervall", "30"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("  hint:    did you mean host.ping.interval?"),
        "{out:?}"
    );
    let out = cli.run(&["config", "set", "host.ping.interval", "abc"]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains("abc is not a whole number; expected a whole number from 1 to 86400")
            && !out.stderr.contains("java"),
        "{out:?}"
    );
    // A near miss of a command suggests the command.
    let out = cli.run(&["hosts", "list"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert!(out.stderr.contains("(did you mean host?)"), "{out:?}");
    assert!(!out.stderr.contains("ChangeHostState"), "{out:?}");
    // Hints name the CLI's flags, not the API's parameters.
    host.regenerate_host_key();
    let out = cli.run(&["host", "reconnect", &ip]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stderr
            .contains(&format!("`hostplane host reconnect {ip} --repin-host-key`")),
        "{out:?}"
    );
    assert!(!out.stderr.contains("repinHostKey=true"), "{out:?}");
    cli.run(&["host", "reconnect", &ip, "--repin-host-key"])
        .ok();
}

#[test]
fn deletes_say_what_goes_and_ask_first() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let host = SshdHost::start(SshdOptions::default());
    with_host(&cli, &host);
    cli.run(&["cluster", "create", "c2", "--zone", "z1"]).ok();
    // No terminal and no --yes: refused, exit 2, nothing deleted.
    let out = cli.run(&["cluster", "rm", "c1"]);
    assert_eq!(out.code, 2, "{out:?}");
    assert_eq!(
        out.stderr,
        "error: `cluster rm c1` deletes cluster c1 and its 1 host; there is no terminal to ask on: add --yes to confirm\n"
    );
    // On a terminal: asked; "n" keeps it.
    let mut p = cli.pty(&["cluster", "rm", "c1"]);
    p.expect("Delete cluster c1 and its 1 host? [y/N] ");
    p.line("n");
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 0, "{shown}");
    assert!(shown.contains("Nothing deleted."), "{shown}");
    assert_eq!(cli.run(&["host", "list", "count=true"]).ok().stdout, "1\n");
    // "y" deletes, and says what went.
    let mut p = cli.pty(&["zone", "rm", "z1"]);
    p.expect("Delete zone z1 and its 2 clusters and 1 host? [y/N] ");
    p.line("y");
    let (code, shown) = p.wait(Duration::from_secs(60));
    assert_eq!(code, 0, "{shown}");
    assert!(
        shown.contains("Deleted zone z1 (") && shown.contains(") and its 2 clusters and 1 host."),
        "{shown}"
    );
    for what in ["host", "cluster", "zone"] {
        assert_eq!(cli.run(&[what, "list", "count=true"]).ok().stdout, "0\n");
    }
}

/// A host whose sshd is down while `host add` runs: the add waits for its SSH port.
fn waiting_add(cli: &Cli, host: &mut SshdHost) -> Vec<String> {
    with_host(cli, host);
    // A new host's refused port would fail the add at once: wait for it, as ZStack does.
    cli.run(&["config", "set", "host.add.failFast", "false"])
        .ok();
    cli.run(&["host", "rm", &host.ip]).ok();
    host.stop();
    vec![
        "host".into(),
        "add".into(),
        host.ip.clone(),
        "--port".into(),
        host.port.to_string(),
        "--user".into(),
        host.user.clone(),
        "--cluster".into(),
        "c1".into(),
    ]
}

/// The job uuid in "Follow it with: hostplane ... job <uuid>".
fn job_of(shown: &str) -> String {
    let at = shown.find("Follow it with: hostplane").expect("the notice");
    shown[at..]
        .split_whitespace()
        .skip_while(|w| *w != "job")
        .nth(1)
        .expect("a job uuid")
        .to_string()
}

#[test]
fn ctrl_c_leaves_the_job_running_and_says_how_to_follow() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let mut host = SshdHost::start(SshdOptions::default());
    let add = waiting_add(&cli, &mut host);
    let args: Vec<&str> = add.iter().map(String::as_str).collect();
    let mut p = cli.pty(&args);
    p.expect("SSH password for");
    p.secret(&host.password);
    p.expect("AddKVMHost");
    std::thread::sleep(Duration::from_millis(300));
    p.ctrl_c();
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 130, "{shown}");
    assert!(
        shown.contains("hostplane: interrupted; AddKVMHost goes on in the server (job "),
        "{shown}"
    );
    let job = job_of(&shown);
    assert_eq!(job.len(), 32, "{shown}");
    // The add goes on: once the host's sshd is up, it finishes; `job` shows the result.
    host.restart();
    let out = cli.run(&["job", &job]).ok();
    assert!(
        out.stdout
            .lines()
            .any(|l| l.split_whitespace().collect::<Vec<_>>() == ["status", "Connected"]),
        "{out:?}"
    );
    assert_eq!(
        cli.run(&["host", "list", "status=Connected", "count=true"])
            .ok()
            .stdout,
        "1\n"
    );
    // Ctrl-C at a password prompt: exit 130, nothing about jobs.
    let mut p = cli.pty(&["login"]);
    p.expect("Password for admin");
    p.ctrl_c();
    let (code, shown) = p.wait(Duration::from_secs(30));
    assert_eq!(code, 130, "{shown}");
    assert!(!shown.contains("goes on"), "{shown}");
}

#[test]
fn the_shell_survives_ctrl_c_completes_and_keeps_history() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let mut host = SshdHost::start(SshdOptions::default());
    let add = waiting_add(&cli, &mut host).join(" ");
    let history = cli.config_dir().join("history");
    let wait = Duration::from_secs(30);
    let mut p = cli.pty(&["shell"]);
    let at = p.expect("hostplane> ");
    p.line("zone list");
    let at = p.expect_from(at, "DESCRIPTION", wait);
    let at = p.expect_from(at, "hostplane> ", wait);
    // History is written as you go.
    assert!(
        std::fs::read_to_string(&history)
            .unwrap()
            .contains("zone list"),
        "history so far"
    );
    // Ctrl-C during a line that runs a job: the line stops, the job goes on, the shell stays.
    p.line(&add);
    let at = p.expect_from(at, "SSH password for", wait);
    p.secret(&host.password);
    let at = p.expect_from(at, "AddKVMHost", wait);
    std::thread::sleep(Duration::from_millis(300));
    p.ctrl_c();
    let at = p.expect_from(at, "goes on in the server (job ", wait);
    let at = p.expect_from(at, "hostplane> ", wait);
    p.line("zone create after-ctrl-c");
    let at = p.expect_from(at, "DEFAULT  DESCRIPTION", wait);
    let at = p.expect_from(at, "hostplane> ", wait);
    // Ctrl-C at the prompt clears the line.
    p.send("zone li");
    p.ctrl_c();
    let at = p.expect_from(at, "hostplane> ", wait);
    // Tab: enum values, and names from the server.
    p.send("host list status=Connecte\t");
    let at = p.expect_from(at, "status=Connected", wait);
    p.send("\r");
    let at = p.expect_from(at, "MANAGEMENT IP", wait);
    let at = p.expect_from(at, "hostplane> ", wait);
    p.send("cluster rm \t");
    let at = p.expect_from(at, "cluster rm c1", wait);
    p.ctrl_c();
    p.expect_from(at, "hostplane> ", wait);
    p.line("exit");
    let (code, shown) = p.wait(wait);
    assert_eq!(code, 0, "{shown}");
    let kept = std::fs::read_to_string(&history).unwrap();
    assert!(
        kept.contains(&add) && kept.contains("zone create after-ctrl-c"),
        "{kept}"
    );
    assert!(!kept.contains(&host.password), "{kept}");
    assert!(!shown.contains(&host.password), "no echo: {shown}");
}

#[test]
fn completion_scripts_for_bash_zsh_and_fish() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    cli.login();
    cli.run(&["zone", "create", "z1"]).ok();
    cli.run(&["cluster", "create", "c1", "--zone", "z1"]).ok();
    let bin_dir = std::path::Path::new(env!("CARGO_BIN_EXE_hostplane"))
        .parent()
        .unwrap()
        .to_path_buf();
    let path = format!(
        "{}:{}",
        bin_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    // Each shell as a user has it: only PATH (with hostplane), HOME and the CLI's settings.
    let shell = |program: &str, script: &str| {
        let out = Command::new(program)
            .args(["-c", script])
            .env_clear()
            .env("PATH", &path)
            .env("HOME", &cli.home)
            .env("XDG_CONFIG_HOME", cli.home.join("config"))
            .env("XDG_CACHE_HOME", cli.home.join("cache"))
            .env("HOSTPLANE_SERVER", &cli.server)
            .output()
            .unwrap_or_else(|e| panic!("run {program} (install it: .ci/run does): {e}"));
        assert!(out.status.success(), "{program}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let bash = shell(
        "bash",
        r#"source <(hostplane completions bash)
t() { COMP_LINE=$1; COMP_POINT=${#1}; shift; COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
      _hostplane; printf '%s\n' "${COMPREPLY[@]}" --; }
t "hostplane cluster rm " hostplane cluster rm ""
t "hostplane host list status=Conn" hostplane host list status = Conn
t "hostplane host add 10.0.0.9 --cl" hostplane host add 10.0.0.9 --cl
t "hostplane QueryCl" hostplane QueryCl"#,
    );
    assert_eq!(
        bash,
        "c1\n--\nConnected\nConnecting\n--\n--cluster\n--\nQueryCluster\n--\n"
    );
    let zsh = shell(
        "zsh",
        r#"compadd() { while [[ $1 == -* ]]; do case $1 in -S) shift 2;; --) shift; break;; *) shift;; esac; done; print -rl -- "$@"; }
compdef() { :; }
source <(hostplane completions zsh)
t() { BUFFER=$1; CURSOR=${#BUFFER}; _hostplane; print -r -- '=='; }
t "hostplane cluster rm "
t "hostplane host list status=Conn"
t "hostplane zone create z2 --d""#,
    );
    assert_eq!(
        zsh,
        "c1\n==\nstatus=Connected\nstatus=Connecting\n==\n--description\n==\n"
    );
    let fish = shell(
        "fish",
        r#"hostplane completions fish | source
complete -C "hostplane cluster rm "; echo ==
complete -C "hostplane host list status=Conn"; echo =="#,
    );
    assert_eq!(fish, "c1\n==\nstatus=Connected\nstatus=Connecting\n==\n");
    // Names come from the server once, then from a private cache for a short while.
    let cache = cli.home.join("cache/hostplane/names.json");
    assert_eq!(
        std::fs::metadata(&cache).unwrap().permissions().mode() & 0o777,
        0o600
    );
    let out = cli.run(&["__complete", "--line=zone rm "]).ok();
    assert_eq!(out.stdout, "\nz1\n");
}

#[test]
fn host_check_and_add_from_file() {
    let env = Env::start(Db::Sqlite);
    let cli = Cli::new(&env);
    let (a, b) = (
        SshdHost::start(SshdOptions::default()),
        SshdHost::start(SshdOptions::default()),
    );
    cli.login();
    cli.run(&[
        "config",
        "set",
        "kvm.takeOverFlagPath",
        "~/.hostplane/takeOver",
    ])
    .ok();
    cli.run(&["zone", "create", "z1"]).ok();
    cli.run(&["cluster", "create", "c1", "--zone", "z1"]).ok();
    let wrong = "Wr0ng-pa55word";
    let file = cli.home.join("hosts.csv");
    std::fs::write(
        &file,
        format!(
            "managementIp,sshPort,username,password,clusterName,name\n\
             {},{},{},{},c1,host-a\n\
             {},{},{},{wrong},c1,host-b\n\
             not a host!,22,root,x,c1,host-c\n",
            a.ip, a.port, a.user, a.password, b.ip, b.port, b.user
        ),
    )
    .unwrap();
    let file = file.to_str().unwrap();

    // One host: every check with its verdict; ready.
    let port = a.port.to_string();
    let out = cli
        .stdin(
            &[
                "host",
                "check",
                &a.ip,
                "--cluster",
                "c1",
                "--user",
                &a.user,
                "--port",
                &port,
                "--password-stdin",
            ],
            &format!("{}\n", a.password),
        )
        .ok();
    assert!(out.stdout.contains("check-virtualization"), "{out:?}");
    assert!(
        out.stdout.contains("Ready: the host can be added."),
        "{out:?}"
    );

    // The file: two bad rows, each with its step and fix; exit 1; nothing added.
    let out = cli.run(&["host", "check", "--from-file", file]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("1 ready, 2 not ready, of 3 rows."),
        "{out:?}"
    );
    assert!(out.stdout.contains("ssh-login"), "{out:?}");
    assert!(out.stdout.contains("check-file"), "{out:?}");
    assert!(!out.stdout.contains(wrong) && !out.stderr.contains(wrong));
    assert!(!out.stdout.contains(&a.password) && !out.stderr.contains(&a.password));
    let n = cli.run(&["-o", "json", "api", "QueryHost", "count=true"]);
    assert!(n.stdout.contains("\"total\": 0"), "{n:?}");

    // Add from the file: a summary table (added with its uuid, failed with step and fix).
    let out = cli.run(&["host", "add", "--from-file", file]);
    assert_eq!(out.code, 1, "{out:?}");
    assert!(
        out.stdout.contains("1 added, 2 failed, of 3 rows."),
        "{out:?}"
    );
    let line_a = out
        .stdout
        .lines()
        .find(|l| l.contains("host-a"))
        .unwrap_or_else(|| panic!("{out:?}"));
    assert!(line_a.contains("added"), "{line_a}");
    let line_b = out.stdout.lines().find(|l| l.contains("host-b")).unwrap();
    assert!(
        line_b.contains("failed") && line_b.contains("ssh-login") && line_b.contains("fix:"),
        "{line_b}"
    );
    assert!(!out.stdout.contains(wrong) && !out.stderr.contains(wrong));
    assert!(!out.stdout.contains(&a.password) && !out.stderr.contains(&a.password));
    let out = cli.run(&["host", "list"]).ok();
    assert!(out.stdout.contains("host-a"), "{out:?}");
}
