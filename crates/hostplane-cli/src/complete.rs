//! Tab completion: one engine for `hostplane shell` and for the bash, zsh and fish scripts
//! (`hostplane completions bash`), which call `hostplane __complete --line=...`.
//!
//! What completes: command and API names; every `--option` of the command at hand (from the
//! clap definitions, so they cannot drift); an API's parameters and a query's fields (following
//! the relations: `cluster.zone.name=`) and options; values: enums (`status=Connected`,
//! `stateEvent=maintain`, `-o yaml`, `config set` booleans), and zone, cluster and host names
//! (and host IPs) fetched from the server.
//!
//! Names are fetched with the saved session only (completion never prompts and never logs in),
//! with a short timeout, and kept [`NAMES_TTL`] in a cache file under `$XDG_CACHE_HOME/hostplane`
//! (mode 0600 in a 0700 directory), so pressing Tab does not cost a request each time. A
//! failure just means no names. The cache holds names and IPs only, never a session.

use std::collections::BTreeMap;
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt};
use std::path::PathBuf;
use std::time::Duration;

use clap::CommandFactory;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::apis::{self, RestApi};
use super::args::{QueryArgs, QUERY_OPTIONS};
use super::check;
use super::client::Client;
use super::session::{Conn, SessionFile};
use super::{Cli, COMMANDS};
use hostplane_server::domain::api::{ParamType, Res};
use hostplane_server::domain::catalogue;
use hostplane_server::domain::global_config::{Check, DEFS};

/// How long fetched names are reused.
pub const NAMES_TTL: Duration = Duration::from_secs(30);
/// How long a name fetch may take.
const FETCH_TIMEOUT: Duration = Duration::from_secs(3);

/// The shells a completion script is made for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum ShellKind {
    Bash,
    Zsh,
    Fish,
}

const BASH: &str = r#"# hostplane completion for bash. Load it with
#   source <(hostplane completions bash)
# or save it as /etc/bash_completion.d/hostplane.
_hostplane() {
    local line="${COMP_LINE:0:$COMP_POINT}"
    line="${line#"${line%%[![:space:]]*}"}"
    local rest="${line#*[[:space:]]}"
    [[ $rest == "$line" ]] && return 0
    local cur="${COMP_WORDS[COMP_CWORD]}"
    local -a out
    mapfile -t out < <(command hostplane __complete --line="$rest" 2>/dev/null)
    (( ${#out[@]} )) || return 0
    # The first line is the word being completed as hostplane splits it; bash may have split
    # it further (at = and :), so only the part after what bash sees as the word is replaced.
    local prefix="${out[0]%"$cur"}" c
    COMPREPLY=()
    for c in "${out[@]:1}"; do
        COMPREPLY+=("${c#"$prefix"}")
    done
    if [[ ${#COMPREPLY[@]} -eq 1 && ${COMPREPLY[0]} == *[=.] ]]; then
        compopt -o nospace 2>/dev/null
    fi
    return 0
}
complete -F _hostplane hostplane
"#;

const ZSH: &str = r#"#compdef hostplane
# hostplane completion for zsh. Load it with
#   source <(hostplane completions zsh)
# or save it as _hostplane in a directory of $fpath.
_hostplane() {
  local line="${BUFFER[1,CURSOR]}"
  line="${line##[[:space:]]#}"
  local rest="${line#*[[:space:]]}"
  [[ $rest == "$line" ]] && return 1
  local -a out nospace spaced
  out=("${(@f)$(command hostplane __complete --line="$rest" 2>/dev/null)}")
  (( $#out )) && shift out
  local c
  for c in $out; do
    [[ -z $c ]] && continue
    if [[ $c == *[=.] ]]; then nospace+=("$c"); else spaced+=("$c"); fi
  done
  (( $#nospace )) && compadd -Q -S '' -- "${nospace[@]}"
  (( $#spaced )) && compadd -Q -- "${spaced[@]}"
  return 0
}
if [[ ${zsh_eval_context[-1]} == loadautofunc ]]; then
  _hostplane "$@"
else
  compdef _hostplane hostplane
fi
"#;

const FISH: &str = r#"# hostplane completion for fish. Load it with
#   hostplane completions fish | source
# or save it as ~/.config/fish/completions/hostplane.fish.
function __hostplane_complete
    set -l rest (commandline -cp | string replace -r '^\s*\S+\s*' '')
    command hostplane __complete --line="$rest" 2>/dev/null | tail -n +2
end
complete -c hostplane -f -a '(__hostplane_complete)'
"#;

/// The completion script for a shell.
pub fn script(shell: ShellKind) -> &'static str {
    match shell {
        ShellKind::Bash => BASH,
        ShellKind::Zsh => ZSH,
        ShellKind::Fish => FISH,
    }
}

/// `__complete --line`: the word being completed (first line), then its candidates.
pub fn complete_line(line: &str, names: &mut Names) -> Vec<String> {
    let start = line.rfind(char::is_whitespace).map(|i| i + 1).unwrap_or(0);
    let prior: Vec<&str> = line[..start].split_whitespace().collect();
    let word = &line[start..];
    let mut out = vec![word.to_string()];
    out.extend(candidates(&prior, word, names));
    out
}

/// What kind of names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Kind {
    Zone,
    Cluster,
    Host,
    HostIp,
}

impl Kind {
    fn key(self) -> &'static str {
        match self {
            Kind::Zone => "zone",
            Kind::Cluster => "cluster",
            Kind::Host => "host",
            Kind::HostIp => "hostIp",
        }
    }
}

/// The cache file: per server, per kind, when fetched and what.
#[derive(Debug, Default, Serialize, Deserialize)]
struct NameCache {
    #[serde(default)]
    servers: BTreeMap<String, BTreeMap<String, Cached>>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Cached {
    /// Epoch milliseconds.
    at: i64,
    names: Vec<String>,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// `$XDG_CACHE_HOME/hostplane`, else `$HOME/.cache/hostplane`.
fn cache_dir() -> Option<PathBuf> {
    if let Some(x) = std::env::var_os("XDG_CACHE_HOME").filter(|x| !x.is_empty()) {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Some(p.join("hostplane"));
        }
    }
    std::env::var_os("HOME")
        .filter(|h| !h.is_empty())
        .map(|h| PathBuf::from(h).join(".cache").join("hostplane"))
}

/// Zone, cluster and host names of one server, for completion.
pub struct Names {
    server: Option<String>,
    fetched: BTreeMap<Kind, Vec<String>>,
    offline: bool,
}

impl Names {
    /// Names from `server` (None: the default server, as for every command).
    pub fn new(server: Option<String>) -> Names {
        Names {
            server,
            fetched: BTreeMap::new(),
            offline: false,
        }
    }

    /// No server: only what is known without one (for tests).
    pub fn offline() -> Names {
        Names {
            server: None,
            fetched: BTreeMap::new(),
            offline: true,
        }
    }

    /// The names of a kind; empty when they cannot be had.
    pub fn get(&mut self, kind: Kind) -> Vec<String> {
        if self.offline {
            return Vec::new();
        }
        if let Some(v) = self.fetched.get(&kind) {
            return v.clone();
        }
        let v = self.load(kind).unwrap_or_default();
        self.fetched.insert(kind, v.clone());
        v
    }

    fn load(&mut self, kind: Kind) -> Option<Vec<String>> {
        let conn = Conn::open(self.server.as_deref()).ok()?;
        let server = conn.server.clone();
        let path = cache_dir().map(|d| d.join("names.json"));
        let mut cache: NameCache = path
            .as_ref()
            .and_then(|p| std::fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default();
        if let Some(c) = cache
            .servers
            .get(&server)
            .and_then(|m| m.get(kind.key()))
            .filter(|c| (now_ms() - c.at).unsigned_abs() < NAMES_TTL.as_millis() as u64)
        {
            return Some(c.names.clone());
        }
        let fetched = fetch(&conn, kind)?;
        let at = now_ms();
        let entry = cache.servers.entry(server).or_default();
        for (k, names) in fetched {
            entry.insert(k.key().to_string(), Cached { at, names });
        }
        let names = entry.get(kind.key()).map(|c| c.names.clone());
        if let Some(p) = path {
            save(&p, &cache);
        }
        names
    }
}

/// One query for a kind (hosts: names and IPs at once), with the saved session, no prompts.
fn fetch(conn: &Conn, kind: Kind) -> Option<Vec<(Kind, Vec<String>)>> {
    let mut client = Client::with_timeout(&conn.server, FETCH_TIMEOUT).ok()?;
    client.session = conn.saved()?.session.clone().into();
    let (api, fields) = match kind {
        Kind::Zone => ("QueryZone", vec!["name"]),
        Kind::Cluster => ("QueryCluster", vec!["name"]),
        Kind::Host | Kind::HostIp => ("QueryHost", vec!["name", "managementIp"]),
    };
    let q = QueryArgs {
        fields: Some(fields.iter().map(|f| f.to_string()).collect()),
        limit: Some(5000),
        ..Default::default()
    };
    let body = client
        .call(&apis::find(api)?.query_request(&q), &mut |_| {})
        .ok()?;
    let items = super::items_of(&body);
    let column = |f: &str| -> Vec<String> {
        let mut v: Vec<String> = items
            .iter()
            .filter_map(|i| i.get(f).and_then(Value::as_str).map(str::to_string))
            .collect();
        v.sort();
        v.dedup();
        v
    };
    Some(match kind {
        Kind::Zone => vec![(Kind::Zone, column("name"))],
        Kind::Cluster => vec![(Kind::Cluster, column("name"))],
        Kind::Host | Kind::HostIp => vec![
            (Kind::Host, column("name")),
            (Kind::HostIp, column("managementIp")),
        ],
    })
}

fn save(path: &std::path::Path, cache: &NameCache) {
    let Some(dir) = path.parent() else { return };
    if std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o700)
        .create(dir)
        .is_err()
    {
        return;
    }
    let tmp = dir.join(format!(".names.json.{}", std::process::id()));
    let _ = std::fs::remove_file(&tmp);
    let written = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(&tmp)
        .and_then(|mut f| {
            use std::io::Write;
            f.write_all(&serde_json::to_vec(cache).unwrap_or_default())
        });
    if written.is_ok() {
        let _ = std::fs::rename(&tmp, path);
    } else {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The saved servers (for `--server`).
fn saved_servers() -> Vec<String> {
    SessionFile::load().servers.keys().cloned().collect()
}

/// The global options and whether they take a value.
const GLOBAL_OPTIONS: &[(&str, bool)] = &[("--server", true), ("--output", true), ("-o", true)];

/// What may come at `word`, given the words before it.
pub fn candidates(prior: &[&str], word: &str, names: &mut Names) -> Vec<String> {
    // Global options do not count as words of the command.
    let mut rest: Vec<&str> = Vec::new();
    let mut skip = false;
    for w in prior {
        if skip {
            skip = false;
            continue;
        }
        match *w {
            "-o" | "--output" | "--server" => skip = true,
            w if w.starts_with("--output=") || w.starts_with("--server=") => {}
            w => rest.push(w),
        }
    }
    match prior.last() {
        Some(&"-o") | Some(&"--output") => {
            return starting(["table", "json", "yaml"].map(String::from), word)
        }
        Some(&"--server") => return starting(saved_servers(), word),
        _ => {}
    }
    if let Some(v) = word.strip_prefix("--output=") {
        return starting(
            ["table", "json", "yaml"].map(|f| format!("--output={f}")),
            &format!("--output={v}"),
        );
    }
    let Some(first) = rest.first().copied() else {
        if word.starts_with('-') {
            return starting(options_of(&[]), word);
        }
        let names = apis::all().map(|a| a.spec.name.to_string());
        let commands = COMMANDS.iter().map(|c| c.to_string());
        return starting_ci(commands.chain(names), word);
    };
    if apis::find(first).is_some() && !is_command(first) {
        let api = apis::find(first).expect("found");
        if word.starts_with('-') {
            return starting(global_options(), word);
        }
        return api_candidates(&api, word, names);
    }
    if !is_command(first) {
        return Vec::new();
    }
    // A command: its subcommand path, then options or positionals.
    let (path, positionals, pending) = command_path(&rest);
    if let Some(opt) = pending {
        return option_values(&opt, word, names);
    }
    if word.starts_with('-') {
        return starting(options_of(&path), word);
    }
    let sub = |list: &[&str]| starting(list.iter().map(|s| s.to_string()), word);
    match (path.as_slice(), positionals.as_slice()) {
        (["api"] | ["apis"], []) => starting_ci(apis::all().map(|a| a.spec.name.to_string()), word),
        (["api"], [name, ..]) => match apis::find(name) {
            Some(api) => api_candidates(&api, word, names),
            None => Vec::new(),
        },
        ([c], []) if subcommands(c).is_some() => sub(&subcommands(c).expect("has subcommands")),
        (["completions"], []) => sub(&["bash", "zsh", "fish"]),
        (["zone", "rm" | "delete"], []) => starting(names.get(Kind::Zone), word),
        (["cluster", "rm" | "delete"], []) => starting(names.get(Kind::Cluster), word),
        (
            ["host", "rm" | "delete" | "show" | "reconnect" | "maintain" | "enable" | "disable"],
            [],
        ) => {
            let mut v = names.get(Kind::Host);
            v.extend(names.get(Kind::HostIp));
            starting(v, word)
        }
        (["config", "set"], []) => starting(
            DEFS.iter().map(|d| format!("{}.{}", d.category, d.name)),
            word,
        ),
        (["config", "set"], [key]) => {
            let values: Vec<String> = DEFS
                .iter()
                .find(|d| format!("{}.{}", d.category, d.name) == *key)
                .map(|d| match d.check {
                    Check::Bool => vec!["true".into(), "false".into()],
                    Check::OneOf(v) => v.iter().map(|s| s.to_string()).collect(),
                    Check::Path if d.name == "takeOverFlagPath" => {
                        vec!["~/.hostplane/takeOver".into(), d.default.into()]
                    }
                    _ => vec![d.default.to_string()],
                })
                .unwrap_or_default();
            starting(values, word)
        }
        ([res, "list" | "ls"], _) => {
            let api = match *res {
                "host" => "QueryHost",
                "zone" => "QueryZone",
                "cluster" => "QueryCluster",
                "config" => "QueryGlobalConfig",
                _ => return Vec::new(),
            };
            match apis::find(api) {
                Some(api) => api_candidates(&api, word, names),
                None => Vec::new(),
            }
        }
        _ => Vec::new(),
    }
}

fn is_command(w: &str) -> bool {
    COMMANDS.contains(&w) && w != "serve"
}

/// The subcommands of a command, when it has some.
fn subcommands(command: &str) -> Option<Vec<&'static str>> {
    let cmd = Cli::command();
    let c = cmd.find_subcommand(command)?;
    let subs: Vec<&'static str> = c
        .get_subcommands()
        .filter(|s| !s.is_hide_set())
        .map(|s| leak(s.get_name()))
        .collect();
    (!subs.is_empty()).then_some(subs)
}

/// clap hands out names borrowed from a command built on the spot; the set is small and fixed.
fn leak(s: &str) -> &'static str {
    use std::sync::Mutex;
    static NAMES: Mutex<Vec<&'static str>> = Mutex::new(Vec::new());
    let mut names = NAMES.lock().expect("names");
    if let Some(n) = names.iter().find(|n| **n == s) {
        return n;
    }
    let n: &'static str = Box::leak(s.to_string().into_boxed_str());
    names.push(n);
    n
}

/// Walk the command words: the subcommand path (`["host", "rm"]`, aliases resolved), the
/// positional words after it, and the option whose value comes next (if the last word is an
/// option that takes one).
fn command_path(rest: &[&str]) -> (Vec<&'static str>, Vec<String>, Option<String>) {
    let root = Cli::command();
    let mut cmd = &root;
    let mut path = Vec::new();
    let mut positionals = Vec::new();
    let mut pending: Option<String> = None;
    for w in rest {
        if pending.take().is_some() {
            continue;
        }
        if w.starts_with('-') {
            if !w.contains('=') && takes_value(cmd, w) {
                pending = Some(w.to_string());
            }
            continue;
        }
        if positionals.is_empty() {
            if let Some(sub) = cmd.find_subcommand(w) {
                path.push(leak(sub.get_name()));
                cmd = sub;
                continue;
            }
        }
        positionals.push(w.to_string());
    }
    (path, positionals, pending)
}

/// Whether an option of `cmd` (or a global one) takes a value.
fn takes_value(cmd: &clap::Command, flag: &str) -> bool {
    if let Some((_, v)) = GLOBAL_OPTIONS.iter().find(|(f, _)| *f == flag) {
        return *v;
    }
    cmd.get_arguments().any(|a| {
        let long = a.get_long().map(|l| format!("--{l}"));
        let short = a.get_short().map(|s| format!("-{s}"));
        (long.as_deref() == Some(flag) || short.as_deref() == Some(flag))
            && a.get_action().takes_values()
    })
}

fn global_options() -> Vec<String> {
    vec!["--server".into(), "--output".into(), "-o".into()]
}

/// The `--options` of the command at `path` (and the global ones).
fn options_of(path: &[&str]) -> Vec<String> {
    let root = Cli::command();
    let mut cmd = &root;
    for p in path {
        match cmd.find_subcommand(p) {
            Some(c) => cmd = c,
            None => break,
        }
    }
    let mut v: Vec<String> = cmd
        .get_arguments()
        .filter(|a| !a.is_hide_set() && !a.is_positional())
        .filter_map(|a| a.get_long().map(|l| format!("--{l}")))
        .collect();
    v.extend(global_options());
    v.extend(["--help".to_string()]);
    v
}

/// Values of the option before the cursor.
fn option_values(opt: &str, word: &str, names: &mut Names) -> Vec<String> {
    let valid = |api: &str, param: &str| -> Vec<String> {
        hostplane_server::domain::api::by_name(api)
            .and_then(|a| a.param(param))
            .map(|p| p.valid_values.iter().map(|s| s.to_string()).collect())
            .unwrap_or_default()
    };
    let values = match opt {
        "--zone" => names.get(Kind::Zone),
        "--cluster" => names.get(Kind::Cluster),
        "--user" => vec!["root".into()],
        "--port" => vec!["22".into()],
        "--hypervisor-type" => valid("CreateCluster", "hypervisorType"),
        "--architecture" => valid("CreateCluster", "architecture"),
        "-u" => vec!["admin".into()],
        _ => Vec::new(),
    };
    starting(values, word)
}

/// The names a `...Uuid` parameter or field can be given as (the CLI resolves them).
fn names_for(target: &str, names: &mut Names) -> Vec<String> {
    match target {
        "Zone" => names.get(Kind::Zone),
        "Cluster" => names.get(Kind::Cluster),
        "Host" => names.get(Kind::Host),
        _ => Vec::new(),
    }
}

fn api_candidates(api: &RestApi, word: &str, names: &mut Names) -> Vec<String> {
    let resource = api.spec.query.and_then(catalogue::resource);
    if let Some((key, value)) = word.split_once('=') {
        // The operator may be `!=`, `?=`, `~=`, ...: complete after the last `=`.
        let (key, op_prefix) = match key.char_indices().last() {
            Some((i, '!' | '?' | '~' | '<' | '>')) => {
                let k = &key[..i];
                let k = k.strip_suffix('!').unwrap_or(k);
                (k, &word[k.len()..word.len() - value.len()])
            }
            _ => (key, "="),
        };
        let values: Vec<String> = match (resource, key) {
            (Some(_), "sortDirection") => vec!["asc".into(), "desc".into()],
            (Some(_), "count" | "replyWithCount") => vec!["true".into(), "false".into()],
            (Some(r), "sortBy") => r.fields.iter().map(|f| f.name.to_string()).collect(),
            (Some(r), "fields") => {
                // Complete the last item of the comma list.
                let (done, _) = value.rsplit_once(',').unwrap_or(("", value));
                let lead = if done.is_empty() {
                    String::new()
                } else {
                    format!("{done},")
                };
                r.fields
                    .iter()
                    .map(|f| format!("{lead}{}", f.name))
                    .collect()
            }
            (Some(r), path) => match check::leaf_of(r, path) {
                Some((leaf_res, leaf)) => {
                    if let Some(known) = check::known_values(leaf_res.name, &leaf) {
                        known.iter().map(|s| s.to_string()).collect()
                    } else if let Some(t) = check::uuid_target(&leaf) {
                        names_for(t, names)
                    } else if leaf == "name" {
                        names_for(leaf_res.name, names)
                    } else if leaf == "managementIp" && leaf_res.name == "Host" {
                        names.get(Kind::HostIp)
                    } else {
                        Vec::new()
                    }
                }
                None => Vec::new(),
            },
            (None, k) => match api.spec.param(k) {
                Some(p) if !p.valid_values.is_empty() => {
                    p.valid_values.iter().map(|v| v.to_string()).collect()
                }
                Some(p) if p.ty == ParamType::Bool => vec!["true".into(), "false".into()],
                Some(p) => match p.resource {
                    Some(Res::Zone) => names.get(Kind::Zone),
                    Some(Res::Cluster) => names.get(Kind::Cluster),
                    Some(Res::Host) => names.get(Kind::Host),
                    None if k == "uuid" && api.spec.name.contains("Host") => names.get(Kind::Host),
                    None if k == "uuid" && api.spec.name.contains("Cluster") => {
                        names.get(Kind::Cluster)
                    }
                    None if k == "uuid" && api.spec.name.contains("Zone") => names.get(Kind::Zone),
                    None => Vec::new(),
                },
                None => Vec::new(),
            },
        };
        return starting(
            values.into_iter().map(|v| format!("{key}{op_prefix}{v}")),
            word,
        );
    }
    match resource {
        Some(r) => {
            let mut c = field_paths(r, word);
            c.extend(QUERY_OPTIONS.iter().map(|o| format!("{o}=")));
            starting(c, word)
        }
        None => starting(api.spec.params.iter().map(|p| format!("{}=", p.name)), word),
    }
}

/// `name=`, `cluster.`, `cluster.zone.name=`: the fields reachable from `resource` along
/// the expansions already typed in `word`.
fn field_paths(resource: &'static hostplane_query::Resource, word: &str) -> Vec<String> {
    let segments: Vec<&str> = word.split('.').collect();
    let mut res = resource;
    for seg in &segments[..segments.len() - 1] {
        match res
            .expansions
            .iter()
            .find(|e| e.name == *seg)
            .and_then(|e| catalogue::resource(e.target))
        {
            Some(r) => res = r,
            None => return Vec::new(),
        }
    }
    let base: String = segments[..segments.len() - 1]
        .iter()
        .map(|s| format!("{s}."))
        .collect();
    let mut out: Vec<String> = res
        .fields
        .iter()
        .map(|f| format!("{base}{}=", f.name))
        .collect();
    out.extend(res.expansions.iter().map(|e| format!("{base}{}.", e.name)));
    if base.is_empty() && res.tag_resource_type.is_some() {
        out.push(format!("{}=", hostplane_query::SYSTEM_TAG_FIELD));
        out.push(format!("{}=", hostplane_query::USER_TAG_FIELD));
    }
    out
}

fn starting(items: impl IntoIterator<Item = String>, word: &str) -> Vec<String> {
    let mut v: Vec<String> = items.into_iter().filter(|c| c.starts_with(word)).collect();
    v.sort();
    v.dedup();
    v
}

fn starting_ci(items: impl Iterator<Item = String>, word: &str) -> Vec<String> {
    let w = word.to_ascii_lowercase();
    let mut v: Vec<String> = items
        .filter(|c| c.to_ascii_lowercase().starts_with(&w))
        .collect();
    v.sort();
    v.dedup();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c(prior: &[&str], word: &str) -> Vec<String> {
        candidates(prior, word, &mut Names::offline())
    }

    #[test]
    fn completes_names_parameters_and_fields() {
        assert!(c(&[], "QueryH").contains(&"QueryHost".to_string()));
        assert!(c(&[], "queryh").contains(&"QueryHost".to_string()));
        assert!(c(&[], "ho").contains(&"host".to_string()));
        assert_eq!(
            c(&["api"], "AddK"),
            vec!["AddKVMHost", "AddKVMHostFromConfigFile"]
        );
        assert!(c(&["AddKVMHost"], "man").contains(&"managementIp=".to_string()));
        assert!(c(&["QueryHost"], "st").contains(&"status=".to_string()));
        assert!(c(&["QueryHost"], "st").contains(&"start=".to_string()));
        assert!(c(&["QueryHost"], "clu").contains(&"cluster.".to_string()));
        assert_eq!(c(&["QueryHost"], "cluster.na"), vec!["cluster.name="]);
        assert!(c(&["QueryHost"], "cluster.zone.").contains(&"cluster.zone.name=".to_string()));
        assert_eq!(
            c(&["QueryHost"], "sortDirection=d"),
            vec!["sortDirection=desc"]
        );
        assert!(c(&["QueryHost"], "fields=uuid,na").contains(&"fields=uuid,name".to_string()));
        assert_eq!(
            c(&["ChangeHostState"], "stateEvent=m"),
            vec!["stateEvent=maintain"]
        );
        assert!(c(&["host", "list"], "managementI").contains(&"managementIp=".to_string()));
        assert_eq!(c(&["host"], "rec"), vec!["reconnect"]);
        assert_eq!(c(&["-o"], "y"), vec!["yaml"]);
        assert!(c(&["-o", "json"], "QueryZ").contains(&"QueryZone".to_string()));
    }

    #[test]
    fn completes_options_and_values() {
        assert_eq!(
            c(&["host", "add", "10.0.0.5"], "--c"),
            vec!["--cluster".to_string()]
        );
        assert!(c(&["host", "reconnect", "h1"], "--").contains(&"--repin-host-key".to_string()));
        assert!(c(&["cluster", "rm"], "--").contains(&"--yes".to_string()));
        assert!(c(&["host", "list"], "-").contains(&"--output".to_string()));
        assert_eq!(
            c(&["host", "list"], "status=Conn"),
            vec!["status=Connected", "status=Connecting"]
        );
        assert_eq!(c(&["host", "list"], "state!=M"), vec!["state!=Maintenance"]);
        assert_eq!(
            c(&["QueryCluster"], "hypervisorType=K"),
            vec!["hypervisorType=KVM"]
        );
        assert_eq!(
            c(&["host", "list"], "cluster.state=D"),
            vec!["cluster.state=Disabled"]
        );
        assert_eq!(
            c(&["cluster", "create", "c1", "--architecture"], "aa"),
            vec!["aarch64"]
        );
        assert_eq!(c(&["completions"], "f"), vec!["fish"]);
        assert_eq!(c(&["account"], ""), vec!["passwd"]);
        assert!(c(&["config", "set"], "kvm.take").contains(&"kvm.takeOverFlagPath".to_string()));
        assert_eq!(
            c(
                &["config", "set", "host.connection.autoReconnectOnError"],
                ""
            ),
            vec!["false", "true"]
        );
        assert!(c(&[], "comp").contains(&"completions".to_string()));
        assert!(!c(&[], "__").contains(&"__complete".to_string()));
        let mut names = Names::offline();
        assert_eq!(
            complete_line("host list status=Con", &mut names),
            vec!["status=Con", "status=Connected", "status=Connecting"]
        );
        assert_eq!(
            complete_line("zone ", &mut names),
            vec!["", "create", "list", "rm"]
        );
    }
}
