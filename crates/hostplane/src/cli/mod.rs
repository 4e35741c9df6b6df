//! The `hostplane` command line: `serve` starts the server; the client commands talk to a
//! running server over its REST API.

use std::net::SocketAddr;
use std::path::PathBuf;

use clap::{Args, Parser, Subcommand};

use crate::server::ServeConfig;

#[derive(Parser, Debug)]
#[command(
    name = "hostplane",
    version,
    about = "A management server for KVM hosts that speaks ZStack's API"
)]
pub struct Cli {
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Subcommand, Debug)]
pub enum Command {
    /// Start the API server.
    Serve(ServeArgs),
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
    #[arg(long, env = "HOSTPLANE_SECRET_KEY", hide_env_values = true)]
    pub secret_key: Option<String>,
}

impl From<ServeArgs> for ServeConfig {
    fn from(a: ServeArgs) -> Self {
        ServeConfig {
            listen: a.listen,
            data_dir: a.data_dir,
            database_url: a.database_url,
            admin_password: a.admin_password,
            secret_key: a.secret_key,
        }
    }
}
