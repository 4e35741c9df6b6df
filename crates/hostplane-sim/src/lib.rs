//! hostplane-sim: simulated KVM hosts that speak real SSH.
//!
//! Each simulated host is a russh server on its own loopback address (any of 127.0.0.0/8) or
//! port. It accepts a password (or an authorized key), answers hostplane's fact script with
//! configurable facts (CPUs, sockets, memory, OS, architecture, virtualisation), keeps takeover
//! flags in memory, answers `true`, and exits 127 for anything else. Faults — refuse logins,
//! hang, drop connections, answer slowly, present a new host key, go down and come back — can
//! be set at start ([`config::Faults`]) and switched at run time through [`Sim`] or the HTTP
//! control interface ([`control`]). One process (one tokio runtime) serves thousands of hosts.
//!
//! It answers the same fact protocol as a real host (see `hostplane_ssh::FACT_SCRIPT`), so
//! hostplane manages it through its ordinary code path: a lab without hardware for demos and
//! for testing automation, and the load generator of hostplane's benchmarks.
//!
//! ```no_run
//! # async fn demo() -> anyhow::Result<()> {
//! use hostplane_sim::{config::{HostGroup, SimConfig}, Sim};
//! let sim = Sim::start(SimConfig {
//!     groups: vec![HostGroup { count: 100, ..Default::default() }],
//!     ..Default::default()
//! })
//! .await?;
//! println!("{} hosts from {}", sim.hosts().len(), sim.hosts()[0].address());
//! sim.hosts()[3].set_down(true); // host 4 dies; set_down(false) brings it back
//! # Ok(()) }
//! ```
//!
//! Modules: [`config`] (what to simulate), [`facts`] (the fact script's answer), [`shell`]
//! (which commands are understood), [`host`] (one host's state and faults), [`server`] (the
//! SSH listeners and sessions), [`control`] (the HTTP control interface).

pub mod config;
pub mod control;
pub mod facts;
pub mod host;
pub mod server;
pub mod shell;

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

pub use config::{FaultChange, Faults, HostGroup, SimConfig, SimFacts, Vary};
pub use host::{PeerStats, SimHost};

/// A running simulator. Dropping it stops every host and cuts every connection.
pub struct Sim {
    hosts: Vec<Arc<SimHost>>,
    by_addr: HashMap<(Ipv4Addr, u16), usize>,
    tasks: Vec<JoinHandle<()>>,
    control: std::sync::OnceLock<SocketAddr>,
}

/// Totals over all hosts.
#[derive(Debug, Clone, Default, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Stats {
    pub hosts: usize,
    pub up: usize,
    pub connections: usize,
    pub accepted: u64,
    pub logins: u64,
    pub rejected_logins: u64,
    pub commands: u64,
}

impl Sim {
    /// [`Sim::start`] for code that is not async (tests): on a runtime of its own with
    /// `workers` threads, which must outlive the simulator (drop the simulator first).
    pub fn start_blocking(
        cfg: SimConfig,
        workers: usize,
    ) -> anyhow::Result<(tokio::runtime::Runtime, Arc<Sim>)> {
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(workers)
            .enable_all()
            .build()?;
        let sim = rt.block_on(Sim::start(cfg))?;
        Ok((rt, Arc::new(sim)))
    }

    /// Bind every host that is not `down` (a bind failure fails the start), then serve.
    pub async fn start(cfg: SimConfig) -> anyhow::Result<Sim> {
        raise_fd_limit();
        let specs = cfg.expand()?;
        let seed: Arc<str> = cfg.key_seed.clone().into();
        let reject = Duration::from_millis(cfg.auth_rejection_ms);
        let mut sim = Sim {
            hosts: Vec::with_capacity(specs.len()),
            by_addr: HashMap::with_capacity(specs.len()),
            tasks: Vec::with_capacity(specs.len() + 1),
            control: std::sync::OnceLock::new(),
        };
        for spec in &specs {
            let mut spec = spec.clone();
            let listener = if spec.faults.down {
                if spec.port == 0 {
                    anyhow::bail!(
                        "{}: a host on port 0 (any free port) must start up",
                        spec.ip
                    );
                }
                None
            } else {
                let l = host::bind_std(spec.ip, spec.port).map_err(|e| {
                    anyhow::anyhow!("cannot listen on {}:{}: {e}", spec.ip, spec.port)
                })?;
                spec.port = l.local_addr()?.port();
                Some(TcpListener::from_std(l)?)
            };
            let host = Arc::new(SimHost::new(
                &spec,
                seed.clone(),
                reject,
                cfg.post_quantum_kex,
            ));
            let _ = host.me.set(Arc::downgrade(&host));
            if spec.faults.flap_ms > 0 {
                host.apply(&config::FaultChange {
                    flap_ms: Some(spec.faults.flap_ms),
                    ..Default::default()
                });
            }
            sim.by_addr.insert((spec.ip, spec.port), sim.hosts.len());
            sim.tasks
                .push(tokio::spawn(server::run_listener(host.clone(), listener)));
            sim.hosts.push(host);
        }
        Ok(sim)
    }

    /// Serve the HTTP control interface on `addr` (port 0: any free port); returns its address.
    pub async fn serve_control(self: &Arc<Self>, addr: SocketAddr) -> anyhow::Result<SocketAddr> {
        let listener = TcpListener::bind(addr).await?;
        let bound = listener.local_addr()?;
        let _ = self.control.set(bound);
        let router = control::router(self.clone());
        tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, router).await {
                tracing::error!(error = %e, "control interface stopped");
            }
        });
        Ok(bound)
    }

    pub fn hosts(&self) -> &[Arc<SimHost>] {
        &self.hosts
    }

    /// The control interface's address, once [`Sim::serve_control`] started it.
    pub fn control_addr(&self) -> Option<SocketAddr> {
        self.control.get().copied()
    }

    /// The host on `ip:port`, or the only host on `ip`.
    pub fn find(&self, addr: &str) -> Option<&Arc<SimHost>> {
        if let Ok(sa) = addr.parse::<std::net::SocketAddrV4>() {
            return self
                .by_addr
                .get(&(*sa.ip(), sa.port()))
                .map(|i| &self.hosts[*i]);
        }
        let ip: Ipv4Addr = addr.parse().ok()?;
        let mut on_ip = self.hosts.iter().filter(|h| h.ip == ip);
        match (on_ip.next(), on_ip.next()) {
            (Some(h), None) => Some(h),
            _ => None,
        }
    }

    /// Hosts named by a selector: `all`, an index (`7`), an index range (`0-9`), an address
    /// (`127.1.0.5` or `127.1.0.5:2222`), or a comma-separated list of these.
    pub fn select(&self, selector: &str) -> Result<Vec<Arc<SimHost>>, String> {
        let mut out: Vec<Arc<SimHost>> = Vec::new();
        for part in selector.split(',').map(str::trim).filter(|p| !p.is_empty()) {
            if part == "all" {
                out.extend(self.hosts.iter().cloned());
            } else if let Ok(i) = part.parse::<usize>() {
                out.push(self.hosts.get(i).cloned().ok_or(format!("no host #{i}"))?);
            } else if let Some((a, b)) = part
                .split_once('-')
                .and_then(|(a, b)| Some((a.parse::<usize>().ok()?, b.parse::<usize>().ok()?)))
            {
                if a > b || b >= self.hosts.len() {
                    return Err(format!(
                        "range {part} is outside 0-{}",
                        self.hosts.len().saturating_sub(1)
                    ));
                }
                out.extend(self.hosts[a..=b].iter().cloned());
            } else {
                out.push(
                    self.find(part)
                        .cloned()
                        .ok_or(format!("no host at {part}"))?,
                );
            }
        }
        if out.is_empty() {
            return Err("the selector names no host".into());
        }
        Ok(out)
    }

    pub fn stats(&self) -> Stats {
        let mut s = Stats {
            hosts: self.hosts.len(),
            ..Default::default()
        };
        for h in &self.hosts {
            if !h.faults().down {
                s.up += 1;
            }
            s.connections += h.connections();
            s.accepted += h.counters.accepted.load(Ordering::Relaxed);
            s.logins += h.counters.logins.load(Ordering::Relaxed);
            s.rejected_logins += h.counters.rejected_logins.load(Ordering::Relaxed);
            s.commands += h.counters.commands.load(Ordering::Relaxed);
        }
        s
    }
}

impl Drop for Sim {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
        for h in &self.hosts {
            h.stop();
        }
    }
}

/// Thousands of hosts need thousands of descriptors: raise the limit, to 1,048,576 where
/// allowed (root), else the soft limit to the hard one.
fn raise_fd_limit() {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return;
        }
        let want = lim.rlim_max.max(1 << 20);
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) != 0 && lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
    }
}
