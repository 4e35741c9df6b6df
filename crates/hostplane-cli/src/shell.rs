//! `hostplane shell`: one session, many commands, like zstack-cli.
//!
//! A line is an API call in zstack-cli's form (`QueryHost status=Connected`) or any client
//! command (`host list`, `api CreateZone name=z1`, `-o json zone list`). Words are split as a
//! POSIX shell would (quotes, backslashes). Tab completes what [`super::complete`] knows:
//! commands, APIs, options, parameters, fields, enum values and names from the server. History
//! is kept in `<config dir>/history` (mode 0600) and written after every line, so a shell
//! that dies keeps it.
//!
//! On a terminal each line runs as a child `hostplane` process with the terminal to itself:
//! Ctrl-C then ends only that line (a job it started goes on in the server, and the child says
//! how to follow it), and the shell, which ignores SIGINT, goes on. Without a terminal (a
//! script on stdin) lines run in this process, one after the other.
//!
//! A failed line prints its error and the shell goes on. The shell never exits the process
//! on a command's error and never records a line that holds a secret parameter in history.

use std::os::unix::fs::PermissionsExt;
use std::path::Path;

use clap::Parser;
use rustyline::completion::{Completer, Pair};
use rustyline::error::ReadlineError;
use rustyline::highlight::Highlighter;
use rustyline::hint::Hinter;
use rustyline::history::DefaultHistory;
use rustyline::validate::Validator;
use rustyline::{CompletionType, Config, Editor, Helper};

use super::apis;
use super::args::split_words;
use super::complete::{candidates, Names};
use super::{execute, interrupt, output, session, Cli, Command, Ctx, Failure, GlobalArgs};

const HELP: &str = "\
Type an API call as in zstack-cli, or a hostplane command:
  QueryHost status=Connected cluster.name~=prod% sortBy=name limit=10
  CreateZone name=z1
  host list 'cpuNum>=4'        host add 10.0.0.5 --cluster c1 --user root
  zone create z1               cluster create c1 --zone z1
  -o json QueryZone            apis QueryHost (its fields)
Tab completes names, options, parameters, fields and values. Ctrl-C stops the running line;
`exit` or Ctrl-D leaves.
";

/// Run the shell until `exit` or end of input.
pub fn run(ctx: &mut Ctx) -> Result<(), Failure> {
    let outer = ctx.global.clone();
    let interactive = session::interactive();
    let config = Config::builder()
        .completion_type(CompletionType::List)
        .auto_add_history(false)
        .max_history_size(2000)
        .map_err(|e| Failure::Other(e.to_string()))?
        .build();
    let mut ed: Editor<Completion, DefaultHistory> =
        Editor::with_config(config).map_err(|e| Failure::Other(e.to_string()))?;
    ed.set_helper(Some(Completion {
        server: outer.server.clone(),
    }));
    let history = session::ensure_config_dir().ok().map(|d| d.join("history"));
    if let Some(h) = &history {
        let _ = ed.load_history(h);
    }
    if interactive {
        interrupt::ignore();
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
            if let Some(h) = &history {
                save_history(&mut ed, h);
            }
        }
        match words[0].as_str() {
            "exit" | "quit" => break,
            "help" | "?" => {
                print!("{HELP}");
                continue;
            }
            _ => {}
        }
        if interactive {
            run_child(&outer, words);
        } else {
            run_line(ctx, &outer, words);
        }
    }
    if let Some(h) = &history {
        save_history(&mut ed, h);
    }
    Ok(())
}

fn save_history(ed: &mut Editor<Completion, DefaultHistory>, path: &Path) {
    if ed.save_history(path).is_ok() {
        let _ = std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600));
    }
}

/// Parse a line as a `hostplane` command line; None (after saying why) when it is not one a
/// shell may run.
fn parse_line(words: &[String]) -> Option<Cli> {
    let argv = std::iter::once("hostplane".to_string()).chain(words.iter().cloned());
    let cli = match Cli::try_parse_from(argv) {
        Ok(c) => c,
        Err(e) => {
            let _ = e.print();
            return None;
        }
    };
    if matches!(cli.command, Command::Shell | Command::Serve(_)) {
        eprintln!("error: not inside the shell");
        return None;
    }
    Some(cli)
}

/// One line in a child process that has the terminal (interactive shells).
fn run_child(outer: &GlobalArgs, words: Vec<String>) {
    if parse_line(&words).is_none() {
        return;
    }
    let exe = match std::env::current_exe() {
        Ok(e) => e,
        Err(e) => {
            eprintln!("error: cannot find the hostplane program: {e}");
            return;
        }
    };
    let mut cmd = std::process::Command::new(exe);
    // The shell's own options go first; the line's own, later on its command line, win.
    if let Some(s) = &outer.server {
        cmd.arg("--server").arg(s);
    }
    if let Some(o) = outer.output {
        cmd.arg("--output").arg(
            <output::Format as clap::ValueEnum>::to_possible_value(&o)
                .map_or_else(|| "table".to_string(), |v| v.get_name().to_string()),
        );
    }
    cmd.args(&words);
    match cmd.status() {
        Ok(_) => {}
        Err(e) => eprintln!("error: cannot run the line: {e}"),
    }
}

/// One line in this process: parsed as a `hostplane` command line; the shell's own
/// `--server`/`-o` apply unless the line gives its own.
fn run_line(ctx: &mut Ctx, outer: &GlobalArgs, words: Vec<String>) {
    let Some(cli) = parse_line(&words) else {
        return;
    };
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

/// Tab completion, through [`super::complete`].
pub struct Completion {
    /// The shell's `--server` (names are fetched from it).
    server: Option<String>,
}

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
        let mut names = Names::new(self.server.clone());
        let pairs = candidates(&prior, &before[start..], &mut names)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_stay_out_of_history() {
        let w = |s: &str| s.split(' ').map(String::from).collect::<Vec<_>>();
        assert!(holds_secret(&w("AddKVMHost name=h password=x")));
        assert!(holds_secret(&w("api AddKVMHost password=x")));
        assert!(!holds_secret(&w("AddKVMHost password=-")));
        assert!(!holds_secret(&w("QueryHost name=password")));
        assert!(holds_secret(&w("UpdateAccount uuid=x password=y")));
    }
}
