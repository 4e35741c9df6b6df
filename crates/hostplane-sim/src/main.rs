//! `hostplane-sim`: start simulated KVM hosts (see the crate docs and docs/simulator.md).

use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::Arc;

use clap::Parser;
use hostplane_sim::config::{Faults, HostGroup, SimConfig, SimFacts, Vary};
use hostplane_sim::Sim;

#[derive(Parser, Debug)]
#[command(
    name = "hostplane-sim",
    version,
    about = "Simulated KVM hosts that speak real SSH, for hostplane labs, demos and benchmarks"
)]
struct Args {
    /// A JSON configuration (see docs/simulator.md); the host flags below are then ignored.
    #[arg(long)]
    config: Option<PathBuf>,
    /// How many hosts.
    #[arg(long, default_value_t = 10)]
    hosts: u32,
    /// The first host's address; the others follow (or share it, with --vary port).
    #[arg(long, default_value = "127.1.0.1")]
    base: Ipv4Addr,
    /// The SSH port (the first port with --vary port).
    #[arg(long, default_value_t = 2222)]
    port: u16,
    /// One address per host (`ip`) or one port per host on the base address (`port`).
    #[arg(long, value_enum, default_value = "ip")]
    vary: VaryArg,
    #[arg(long, default_value = "root")]
    user: String,
    #[arg(long, default_value = "password")]
    password: String,
    /// Logical CPUs per host.
    #[arg(long, default_value_t = 32)]
    cpus: u32,
    #[arg(long, default_value_t = 2)]
    sockets: u32,
    /// Memory per host (e.g. 256G, 512M).
    #[arg(long, default_value = "256G")]
    memory: String,
    /// OS as id:version:release, e.g. ubuntu:22.04:jammy or rocky:9.3:Blue-Onyx.
    #[arg(long, default_value = "ubuntu:22.04:jammy")]
    os: String,
    #[arg(long, default_value = "x86_64")]
    arch: String,
    /// vmx, svm or none.
    #[arg(long, default_value = "vmx")]
    virtualization: String,
    /// Faults every host starts with: comma-separated from down, refuse-auth, hang, drop.
    #[arg(long, default_value = "")]
    faults: String,
    /// Delay every login and command answer by this many milliseconds.
    #[arg(long, default_value_t = 0)]
    slow_ms: u64,
    /// Where the HTTP control interface listens (e.g. 127.0.0.1:18200).
    #[arg(long)]
    control: Option<SocketAddr>,
    /// Host keys derive from this seed and the host's address: same seed, same keys.
    #[arg(long)]
    key_seed: Option<String>,
    /// Print every host's address and host key fingerprint at start.
    #[arg(long)]
    print_hosts: bool,
    /// Offer OpenSSH 9.9's post-quantum key exchange (mlkem768x25519) first.
    #[arg(long)]
    post_quantum_kex: bool,
}

#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum VaryArg {
    Ip,
    Port,
}

fn config(a: &Args) -> anyhow::Result<SimConfig> {
    let mut cfg = match &a.config {
        Some(path) => SimConfig::from_json(&std::fs::read_to_string(path)?)
            .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?,
        None => {
            let mut os = a.os.splitn(3, ':');
            let (id, version, release) = (
                os.next().unwrap_or("ubuntu"),
                os.next().unwrap_or("22.04"),
                os.next().unwrap_or("Core"),
            );
            let mut faults = Faults {
                slow_ms: a.slow_ms,
                ..Default::default()
            };
            for f in a.faults.split(',').map(str::trim).filter(|f| !f.is_empty()) {
                match f {
                    "down" => faults.down = true,
                    "refuse-auth" => faults.refuse_auth = true,
                    "hang" => faults.hang = true,
                    "drop" => faults.drop = true,
                    other => {
                        anyhow::bail!("unknown fault {other:?} (down, refuse-auth, hang, drop)")
                    }
                }
            }
            SimConfig {
                groups: vec![HostGroup {
                    count: a.hosts,
                    base: a.base,
                    port: a.port,
                    vary: match a.vary {
                        VaryArg::Ip => Vary::Ip,
                        VaryArg::Port => Vary::Port,
                    },
                    username: a.user.clone(),
                    password: a.password.clone(),
                    authorized_keys: Vec::new(),
                    facts: SimFacts {
                        cpu_num: a.cpus,
                        sockets: a.sockets,
                        memory: a.memory.clone(),
                        os_id: id.into(),
                        os_version: version.into(),
                        os_release: release.into(),
                        arch: a.arch.clone(),
                        virtualization: a.virtualization.clone(),
                        ..Default::default()
                    },
                    faults,
                }],
                ..Default::default()
            }
        }
    };
    if a.control.is_some() {
        cfg.control = a.control;
    }
    if let Some(s) = &a.key_seed {
        cfg.key_seed = s.clone();
    }
    if a.post_quantum_kex {
        cfg.post_quantum_kex = true;
    }
    Ok(cfg)
}

fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_env("HOSTPLANE_SIM_LOG")
                .unwrap_or_else(|_| "info".into()),
        )
        .init();
    let args = Args::parse();
    let cfg = config(&args)?;
    tokio::runtime::Runtime::new()?.block_on(async move {
        let started = std::time::Instant::now();
        let sim = Arc::new(Sim::start(cfg.clone()).await?);
        let hosts = sim.hosts();
        let (first, last) = match (hosts.first(), hosts.last()) {
            (Some(f), Some(l)) => (f.address(), l.address()),
            _ => anyhow::bail!("no hosts configured"),
        };
        if args.print_hosts {
            for h in hosts {
                println!(
                    "{} {} {}",
                    h.address(),
                    h.username,
                    h.host_key_fingerprint()
                );
            }
        }
        let n = hosts.len();
        if let Some(addr) = cfg.control {
            sim.serve_control(addr).await?;
        }
        tracing::info!(
            hosts = n,
            first = %first,
            last = %last,
            control = ?sim.control_addr().map(|a| format!("http://{a}")),
            startup_ms = started.elapsed().as_millis() as u64,
            "simulated hosts are up"
        );
        println!(
            "hostplane-sim: {n} hosts {first} .. {last}, control {}",
            sim.control_addr()
                .map(|a| format!("http://{a}"))
                .unwrap_or_else(|| "off".into())
        );
        shutdown().await;
        tracing::info!("stopping");
        Ok(())
    })
}

async fn shutdown() {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())
        .expect("SIGTERM handler");
    tokio::select! {
        _ = tokio::signal::ctrl_c() => {}
        _ = term.recv() => {}
    }
}
