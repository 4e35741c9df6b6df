//! The `hostplane` binary: `serve` runs the server; every other command is the client
//! (see `hostplane_cli`). Exit codes: 0 success, 1 API error, 2 usage error.

use clap::Parser;
use hostplane_cli::{Cli, Command};

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => {
            tracing_subscriber::fmt()
                .with_env_filter(
                    tracing_subscriber::EnvFilter::try_from_env("HOSTPLANE_LOG")
                        .unwrap_or_else(|_| "info".into()),
                )
                .init();
            let rt = tokio::runtime::Runtime::new()?;
            let r = rt.block_on(hostplane_server::server::serve(args.into()));
            // A blocking task still running (a name lookup) must not hold the exit.
            rt.shutdown_timeout(std::time::Duration::from_secs(1));
            r
        }
        command => std::process::exit(hostplane_cli::run(cli.global, command)),
    }
}
