//! The `hostplane` binary: `serve` runs the server; every other command is the client
//! (see `hostplane_cli`). Exit codes: 0 success, 1 API error, 2 usage error, 130 interrupted.
//!
//! `serve` is parsed on its own ([`hostplane_cli::ServeCli`]), so it takes only server options
//! and its `--help` lists only those. The server logs to stdout, in colour only when stdout is
//! a terminal (and never with `NO_COLOR` or `HOSTPLANE_LOG_FORMAT=json`).

use std::io::{IsTerminal, Write};

mod logging;

use clap::Parser;
use hostplane_cli::{Cli, Command, ServeCli};

fn main() {
    let argv: Vec<std::ffi::OsString> = std::env::args_os().collect();
    if argv.get(1).is_some_and(|a| a == "serve") {
        let serve = ServeCli::parse_from(argv.iter().skip(1));
        std::process::exit(serve_main(serve));
    }
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(_) => {
            eprintln!(
                "error: `serve` takes only server options (see `hostplane serve --help`); \
                 put it first: `hostplane serve --listen ...`"
            );
            std::process::exit(2)
        }
        command => std::process::exit(hostplane_cli::run(cli.global, command)),
    }
}

fn serve_main(serve: ServeCli) -> i32 {
    let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
    let filter = || {
        tracing_subscriber::EnvFilter::try_from_env("HOSTPLANE_LOG")
            .unwrap_or_else(|_| "info".into())
    };
    // JSON lines with HOSTPLANE_LOG_FORMAT=json (never coloured); else text, coloured only on
    // a terminal.
    if !logging::init_json(filter()) {
        tracing_subscriber::fmt()
            .with_env_filter(filter())
            .with_ansi(std::io::stdout().is_terminal() && !no_color)
            .log_internal_errors(false)
            .init();
    }
    let run = tokio::runtime::Runtime::new()
        .map_err(anyhow::Error::from)
        .and_then(|rt| {
            let r = rt.block_on(hostplane_server::server::serve(serve.args.into()));
            // A blocking task still running (a name lookup) must not hold the exit.
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            r
        });
    match run {
        Ok(()) => 0,
        Err(e) => {
            let _ = writeln!(std::io::stderr(), "hostplane serve: {e:#}");
            1
        }
    }
}
