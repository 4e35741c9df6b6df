//! Processes under test: the `hostplane serve` server and the `hostplane-sim` simulator, each
//! a child with its own log, stopped (SIGTERM, then SIGKILL) when dropped; and what /proc says
//! about a process (CPU time, RSS) and about the machine.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{bail, Context};

/// A child process killed on drop.
pub struct Proc {
    pub name: &'static str,
    pub child: Child,
    pub log: PathBuf,
}

impl Proc {
    pub fn spawn(name: &'static str, mut cmd: Command, log: &Path) -> anyhow::Result<Proc> {
        let out = std::fs::File::create(log)?;
        cmd.stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let child = cmd.spawn().with_context(|| format!("start {name}"))?;
        Ok(Proc {
            name,
            child,
            log: log.to_path_buf(),
        })
    }

    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// Fail if the process has exited (with the tail of its log).
    pub fn check_alive(&mut self) -> anyhow::Result<()> {
        if let Some(status) = self.child.try_wait()? {
            bail!(
                "{} exited ({status}); log tail:\n{}",
                self.name,
                tail(&self.log, 3000)
            );
        }
        Ok(())
    }

    /// SIGTERM, wait up to 5 s, then SIGKILL.
    pub fn stop(&mut self) {
        if self.child.try_wait().ok().flatten().is_some() {
            return;
        }
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(self.child.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            if self.child.try_wait().ok().flatten().is_some() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Drop for Proc {
    fn drop(&mut self) {
        self.stop();
    }
}

pub fn tail(path: &Path, n: usize) -> String {
    let s = std::fs::read_to_string(path).unwrap_or_default();
    let start = s.len().saturating_sub(n);
    let start = (start..s.len())
        .find(|i| s.is_char_boundary(*i))
        .unwrap_or(s.len());
    s[start..].to_string()
}

/// CPU time (user + system) of a process so far.
pub fn cpu_time(pid: u32) -> anyhow::Result<Duration> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // Fields after the command name (which may contain spaces) start after the last ')'.
    let rest = stat
        .rsplit_once(')')
        .map(|(_, r)| r)
        .context("unreadable stat")?;
    let f: Vec<&str> = rest.split_whitespace().collect();
    // rest[0] is field 3 (state); utime is field 14, stime field 15.
    let utime: u64 = f.get(11).context("no utime")?.parse()?;
    let stime: u64 = f.get(12).context("no stime")?.parse()?;
    Ok(Duration::from_secs_f64(
        (utime + stime) as f64 / clock_ticks(),
    ))
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let t = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if t > 0 {
        t as f64
    } else {
        100.0
    }
}

/// Resident set size in MiB (VmRSS).
pub fn rss_mib(pid: u32) -> anyhow::Result<f64> {
    status_mib(pid, "VmRSS:")
}

/// A `kB` field of `/proc/<pid>/status` in MiB (`VmRSS:`, `RssAnon:`, `RssFile:`).
pub fn status_mib(pid: u32, field: &str) -> anyhow::Result<f64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    let kb: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix(field))
        .with_context(|| format!("no {field}"))?
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()?;
    Ok(kb / 1024.0)
}

/// Samples a process's CPU and RSS over a window.
pub struct Meter {
    pid: u32,
    start_cpu: Duration,
    start: Instant,
    rss: Vec<f64>,
    anon: Vec<f64>,
}

impl Meter {
    pub fn start(pid: u32) -> anyhow::Result<Meter> {
        Ok(Meter {
            pid,
            start_cpu: cpu_time(pid)?,
            start: Instant::now(),
            rss: vec![rss_mib(pid)?],
            anon: vec![status_mib(pid, "RssAnon:")?],
        })
    }

    pub fn sample(&mut self) {
        if let Ok(r) = rss_mib(self.pid) {
            self.rss.push(r);
        }
        if let Ok(r) = status_mib(self.pid, "RssAnon:") {
            self.anon.push(r);
        }
    }

    /// (CPU seconds used, wall seconds, mean RSS MiB, max RSS MiB)
    pub fn finish(mut self) -> anyhow::Result<MeterResult> {
        self.sample();
        let cpu = cpu_time(self.pid)?.saturating_sub(self.start_cpu);
        let wall = self.start.elapsed();
        let mean = self.rss.iter().sum::<f64>() / self.rss.len().max(1) as f64;
        let max = self.rss.iter().cloned().fold(0.0, f64::max);
        let anon = self.anon.iter().sum::<f64>() / self.anon.len().max(1) as f64;
        Ok(MeterResult {
            cpu_s: cpu.as_secs_f64(),
            wall_s: wall.as_secs_f64(),
            rss_mean_mib: mean,
            rss_max_mib: max,
            anon_mean_mib: anon,
        })
    }
}

#[derive(Debug, Clone, Copy)]
pub struct MeterResult {
    pub cpu_s: f64,
    pub wall_s: f64,
    pub rss_mean_mib: f64,
    pub rss_max_mib: f64,
    /// Mean of RssAnon (the heap; RSS also counts file pages, e.g. SQLite's memory map).
    pub anon_mean_mib: f64,
}

impl MeterResult {
    /// Average CPU use as a percentage of one core.
    pub fn cpu_pct(&self) -> f64 {
        100.0 * self.cpu_s / self.wall_s.max(1e-9)
    }
}

/// Raise this process's open-file limit (children inherit it): to 1,048,576 where allowed
/// (root), else the soft limit to the hard one. Returns the soft limit in force.
pub fn raise_fd_limit() -> u64 {
    // SAFETY: getrlimit/setrlimit only read and write the struct passed in.
    unsafe {
        let mut lim = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) != 0 {
            return 0;
        }
        let want = lim.rlim_max.max(1 << 20);
        let raised = libc::rlimit {
            rlim_cur: want,
            rlim_max: want,
        };
        if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
            return want;
        }
        if lim.rlim_cur < lim.rlim_max {
            lim.rlim_cur = lim.rlim_max;
            let _ = libc::setrlimit(libc::RLIMIT_NOFILE, &lim);
        }
        lim.rlim_cur
    }
}

/// What the results are measured on.
pub fn machine() -> serde_json::Value {
    let read = |p: &str| std::fs::read_to_string(p).unwrap_or_default();
    let meminfo = read("/proc/meminfo");
    let mem_kb: u64 = meminfo
        .lines()
        .find_map(|l| l.strip_prefix("MemTotal:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0);
    let cpu_model = read("/proc/cpuinfo")
        .lines()
        .find_map(|l| l.strip_prefix("model name"))
        .map(|v| v.trim_start_matches([' ', '\t', ':']).to_string())
        .unwrap_or_default();
    serde_json::json!({
        "nproc": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "cpuModel": cpu_model,
        "memTotalMiB": mem_kb / 1024,
        "kernel": read("/proc/sys/kernel/osrelease").trim(),
        "hostname": read("/proc/sys/kernel/hostname").trim(),
        "fdLimit": raise_fd_limit(),
    })
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> Vec<f64> {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .filter_map(|v| v.parse().ok())
        .collect()
}

/// The git commit of the working tree, and whether it has uncommitted changes.
pub fn commit(repo: &Path) -> serde_json::Value {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(repo)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let sha = git(&["rev-parse", "HEAD"]).unwrap_or_default();
    let dirty = git(&["status", "--porcelain", "--untracked-files=no"])
        .map(|s| !s.is_empty())
        .unwrap_or(false);
    serde_json::json!({ "sha": sha, "dirty": dirty })
}
