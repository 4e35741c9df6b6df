//! The `hostplane` binary: `serve` runs the server; every other command is the client
//! (see `hostplane_cli`). Exit codes: 0 success, 1 API error, 2 usage error.

mod logging;

use clap::Parser;
use hostplane_cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            let filter = || {
                tracing_subscriber::EnvFilter::try_from_env("HOSTPLANE_LOG")
                    .unwrap_or_else(|_| "info".into())
            };
            if !logging::init_json(filter()) {
                tracing_subscriber::fmt().with_env_filter(filter()).init();
            }
            tokio::runtime::Runtime::new()?.block_on(hostplane_server::server::serve(args.into()))
        }
        command => std::process::exit(hostplane_cli::run(cli.global, command)),
    }
}
