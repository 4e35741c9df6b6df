//! `hostplane shell`: one session, many commands, like zstack-cli.
//!
//! A line is an API call in zstack-cli's form (`QueryHost status=Connected`) or any client
//! command (`host list`, `api CreateZone name=z1`, `-o json zone list`). Words are split as a
//! POSIX shell would (quotes, backslashes). Tab completes command and API names, then the
//! API's parameters (`name=`), a query's fields (`cluster.name=`, following expansions) and
//! options, and known values (`sortDirection=desc`, `stateEvent=maintain`). History is kept
//! in `<config dir>/history` (mode 0600).
//!
//! A failed line prints its error and the shell goes on. The shell never exits the process
//! on a command's error and never records a line that holds a secret parameter in history.

use std::os::unix::fs::PermissionsExt;

use clap::Parser;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use super::apis::{self, RestApi};
use super::args::{split_words, QUERY_OPTIONS};
use super::{execute, output, session, Cli, Command, Ctx, Failure, GlobalArgs};
use hostplane_server::domain::api::ParamType;
use hostplane_server::domain::catalogue;

const COMMANDS: &[&str] = &[
    "api", "apis", "cluster", "config", "exit", "help", "host", "login", "logout", "quit", "zone",
];

const HELP: &str = "\
Type an API call as in zstack-cli, or a hostplane command:
  QueryHost status=Connected cluster.name~=prod% sortBy=name limit=10
  CreateZone name=z1
  host list 'cpuNum>=4'        host add 10.0.0.5 --cluster c1 --user root
  zone create z1               cluster create c1 --zone z1
  -o json QueryZone            apis QueryHost (its fields)
Tab completes names, parameters and fields. `exit` or Ctrl-D leaves.
";

/// Run the shell until `exit` or end of input.
pub fn run(ctx: &mut Ctx) -> Result<(), Failure> {
    let outer = ctx.global.clone();
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(2000)
        .map_err(|e| Failure::Other(e.to_string()))?
        .build();
    let mut ed: Editor<Completion, DefaultHistory> =
        Editor::with_config(config).map_err(|e| Failure::Other(e.to_string()))?;
    ed.set_helper(Some(Completion));
    let history = session::ensure_config_dir().ok().map(|d| d.join("history"));
    if let Some(h) = &history {
        let _ = ed.load_history(h);
    }
    if session::interactive() {
        let server = ctx.conn()?.server.clone();
        eprintln!(
            "hostplane shell on {server}; `help` for examples, Tab completes, Ctrl-D leaves."
        );
    }
    loop {
        let line = match ed.readline("hostplane> ") {
            Ok(l) => l,
            Err(ReadlineError::Interrupted) => continue,
            Err(ReadlineError::Eof) => break,
            Err(e) => return Err(Failure::Other(format!("reading the line: {e}"))),
        };
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let words = match split_words(line) {
            Ok(w) => w,
            Err(e) => {
                eprint!(
                    "{}",
                    output::failure_text(&Failure::Usage(e), ctx.style.err_color)
                );
                continue;
            }
        };
        if !holds_secret(&words) {
            let _ = ed.add_history_entry(line);
        }
        match words[0].as_str() {
            "exit" | "quit" => break,
            "help" | "?" => {
                print!("{HELP}");
                continue;
            }
            _ => {}
        }
        run_line(ctx, &outer, words);
    }
    if let Some(h) = &history {
        if ed.save_history(h).is_ok() {
            let _ = std::fs::set_permissions(h, std::fs::Permissions::from_mode(0o600));
        }
    }
    Ok(())
}

/// One line: parsed as a `hostplane` command line; the shell's own `--server`/`-o` apply
/// unless the line gives its own.
fn run_line(ctx: &mut Ctx, outer: &GlobalArgs, words: Vec<String>) {
    let argv = std::iter::once("hostplane".to_string()).chain(words);
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return;
        }
    };
    if matches!(cli.command, Command::Shell | Command::Serve(_)) {
        eprintln!("error: not inside the shell");
        return;
    }
    let global = GlobalArgs {
        server: cli.global.server.or_else(|| outer.server.clone()),
        output: cli.global.output.or(outer.output),
    };
    ctx.set_global(&global);
    if let Err(f) = execute(ctx, cli.command) {
        eprint!("{}", output::failure_text(&f, ctx.style.err_color));
    }
}

/// Whether a line carries a secret parameter's value (kept out of history).
fn holds_secret(words: &[String]) -> bool {
    let api = match words.first().map(String::as_str) {
        Some("api") => words.get(1).and_then(|n| apis::find(n)),
        Some(n) => apis::find(n),
        None => None,
    };
    let Some(api) = api else { return false };
    words.iter().any(|w| {
        w.split_once('=').is_some_and(|(k, v)| {
            api.spec.param(k.trim()).is_some_and(|p| p.secret) && v != "-" && !v.starts_with('@')
        })
    })
}

/// Tab completion.
pub struct Completion;

impl Completer for Completion {
    type Candidate = Pair;

    fn complete(
        &self,
        line: &str,
        pos: usize,
        _ctx: &rustyline::Context<'_>,
    ) -> rustyline::Result<(usize, Vec<Pair>)> {
        let before = &line[..pos];
        let start = before
            .rfind(char::is_whitespace)
            .map(|i| i + 1)
            .unwrap_or(0);
        let prior: Vec<&str> = before[..start].split_whitespace().collect();
        let pairs = candidates(&prior, &before[start..])
            .into_iter()
            .map(|c| Pair {
                display: c.clone(),
                replacement: c,
            })
            .collect();
        Ok((start, pairs))
    }
}

impl Hinter for Completion {
    type Hint = String;
}
impl Highlighter for Completion {}
impl Validator for Completion {}
impl Helper for Completion {}

/// What may come at `word`, given the words before it.
pub fn candidates(prior: &[&str], word: &str) -> Vec<String> {
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
    if matches!(prior.last(), Some(&"-o") | Some(&"--output")) {
        return starting(
            ["table", "json", "yaml"].into_iter().map(String::from),
            word,
        );
    }
    let Some(first) = rest.first().copied() else {
        let names = apis::all().map(|a| a.spec.name.to_string());
        let commands = COMMANDS.iter().map(|c| c.to_string());
        return starting_ci(commands.chain(names), word);
    };
    let api = match first {
        "api" | "apis" if rest.len() == 1 => {
            return starting_ci(apis::all().map(|a| a.spec.name.to_string()), word)
        }
        "api" => rest.get(1).and_then(|n| apis::find(n)),
        "host" | "zone" | "cluster" | "config" => {
            let subs: &[&str] = match first {
                "host" => &[
                    "add",
                    "list",
                    "show",
                    "rm",
                    "reconnect",
                    "maintain",
                    "enable",
                    "disable",
                ],
                "config" => &["list", "set"],
                _ => &["create", "list", "rm"],
            };
            if rest.len() == 1 {
                return starting(subs.iter().map(|s| s.to_string()), word);
            }
            if !matches!(rest[1], "list" | "ls") {
                return Vec::new();
            }
            apis::find(match first {
                "host" => "QueryHost",
                "zone" => "QueryZone",
                "cluster" => "QueryCluster",
                _ => "QueryGlobalConfig",
            })
        }
        name => apis::find(name),
    };
    match api {
        Some(api) => api_candidates(&api, word),
        None => Vec::new(),
    }
}

fn api_candidates(api: &RestApi, word: &str) -> Vec<String> {
    let resource = api.spec.query.and_then(catalogue::resource);
    if let Some((key, value)) = word.split_once('=') {
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
            (Some(_), _) => Vec::new(),
            (None, k) => match api.spec.param(k) {
                Some(p) if !p.valid_values.is_empty() => {
                    p.valid_values.iter().map(|v| v.to_string()).collect()
                }
                Some(p) if p.ty == ParamType::Bool => vec!["true".into(), "false".into()],
                _ => Vec::new(),
            },
        };
        return starting(values.into_iter().map(|v| format!("{key}={v}")), word);
    }
    match resource {
        Some(r) => {
            let mut c = field_paths(r, word);
            c.extend(QUERY_OPTIONS.iter().map(|o| format!("{o}=")));
            starting(c.into_iter(), word)
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

fn starting(items: impl Iterator<Item = String>, word: &str) -> Vec<String> {
    let mut v: Vec<String> = items.filter(|c| c.starts_with(word)).collect();
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

    #[test]
    fn completes_names_parameters_and_fields() {
        assert!(candidates(&[], "QueryH").contains(&"QueryHost".to_string()));
        assert!(candidates(&[], "queryh").contains(&"QueryHost".to_string()));
        assert!(candidates(&[], "ho").contains(&"host".to_string()));
        assert_eq!(
            candidates(&["api"], "AddK"),
            vec!["AddKVMHost", "AddKVMHostFromConfigFile"]
        );
        assert!(candidates(&["AddKVMHost"], "man").contains(&"managementIp=".to_string()));
        assert!(candidates(&["QueryHost"], "st").contains(&"status=".to_string()));
        assert!(candidates(&["QueryHost"], "st").contains(&"start=".to_string()));
        assert!(candidates(&["QueryHost"], "clu").contains(&"cluster.".to_string()));
        assert_eq!(
            candidates(&["QueryHost"], "cluster.na"),
            vec!["cluster.name="]
        );
        assert!(
            candidates(&["QueryHost"], "cluster.zone.").contains(&"cluster.zone.name=".to_string())
        );
        assert_eq!(
            candidates(&["QueryHost"], "sortDirection=d"),
            vec!["sortDirection=desc"]
        );
        assert!(
            candidates(&["QueryHost"], "fields=uuid,na").contains(&"fields=uuid,name".to_string())
        );
        assert_eq!(
            candidates(&["ChangeHostState"], "stateEvent=m"),
            vec!["stateEvent=maintain"]
        );
        assert!(candidates(&["host", "list"], "managementI").contains(&"managementIp=".to_string()));
        assert_eq!(candidates(&["host"], "rec"), vec!["reconnect"]);
        assert_eq!(candidates(&["-o"], "y"), vec!["yaml"]);
        assert!(candidates(&["-o", "json"], "QueryZ").contains(&"QueryZone".to_string()));
    }

    #[test]
    fn secrets_stay_out_of_history() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(holds_secret(&w("AddKVMHost name=h password=x")));
        assert!(holds_secret(&w("api AddKVMHost password=x")));
        assert!(!holds_secret(&w("AddKVMHost password=-")));
        assert!(!holds_secret(&w("QueryHost name=password")));
    }
}
