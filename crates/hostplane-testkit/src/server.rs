//! A `hostplane serve` process for tests: its own data directory, a free port on 127.0.0.1,
//! SQLite or a PostgreSQL URL, killed on drop (its data directory is kept if the test failed,
//! with the path printed, so the log and database can be read).
//!
//! It can be killed (SIGKILL: a crash), stopped gracefully (SIGTERM) and started again on the
//! same port and data; and looked into from outside as an operator would: its open file
//! descriptors and sockets (`/proc`), and its runtime counters (SIGUSR1 logs them).

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

#[derive(Debug, Clone, Default)]
pub struct ServerOptions {
    /// None: the embedded SQLite in the data directory.
    pub database_url: Option<String>,
    /// Extra environment (e.g. HOSTPLANE_ADMIN_PASSWORD).
    pub env: Vec<(String, String)>,
    /// Run in this (existing, empty) directory instead of a new one under the temp directory:
    /// say, a small file system a test can fill.
    pub data_dir: Option<PathBuf>,
}

pub struct Server {
    pub port: u16,
    pub base: String,
    pub data_dir: PathBuf,
    bin: PathBuf,
    opts: ServerOptions,
    child: Option<Child>,
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Server {
    /// Start the server binary `bin` and wait until it answers.
    pub fn start(bin: &Path, opts: ServerOptions) -> Server {
        static N: AtomicU32 = AtomicU32::new(0);
        let data_dir = match &opts.data_dir {
            Some(dir) => dir.clone(),
            None => {
                let dir = std::env::temp_dir().join(format!(
                    "hostplane-test-{}-{}",
                    std::process::id(),
                    N.fetch_add(1, Ordering::SeqCst)
                ));
                let _ = std::fs::remove_dir_all(&dir);
                std::fs::create_dir_all(&dir).unwrap();
                dir
            }
        };
        let port = free_port();
        let mut s = Server {
            port,
            base: format!("http://127.0.0.1:{port}"),
            data_dir,
            bin: bin.to_path_buf(),
            opts,
            child: None,
        };
        s.spawn();
        s
    }

    fn spawn(&mut self) {
        self.spawn_process();
        self.wait_ready(Duration::from_secs(30));
    }

    /// Start the process without waiting for it.
    fn spawn_process(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.data_dir.join("server.log"))
            .unwrap();
        let mut cmd = Command::new(&self.bin);
        cmd.arg("serve")
            .arg("--listen")
            .arg(format!("127.0.0.1:{}", self.port))
            .arg("--data-dir")
            .arg(&self.data_dir)
            .env("HOSTPLANE_LOG", "info,hostplane=debug")
            .env_remove("HOSTPLANE_DATABASE_URL")
            .env_remove("HOSTPLANE_ADMIN_PASSWORD")
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log);
        if let Some(url) = &self.opts.database_url {
            cmd.arg("--database-url").arg(url);
        }
        for (k, v) in &self.opts.env {
            cmd.env(k, v);
        }
        self.child = Some(cmd.spawn().expect("start hostplane"));
    }

    /// Wait until IsReadyToGo answers 200 (the port opens first; the API serves once the store
    /// is open).
    pub fn wait_ready(&mut self, within: Duration) {
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if self.ready() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("hostplane exited ({status}) at start-up:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("hostplane was not ready within {within:?}:\n{}", self.log());
    }

    /// Whether `GET /zstack/v1/management-nodes/ready` answers 200 now.
    pub fn ready(&self) -> bool {
        self.status_of("/zstack/v1/management-nodes/ready") == Some(200)
    }

    /// The HTTP status of a GET on `path`, if anything answered within 2 s.
    pub fn status_of(&self, path: &str) -> Option<u16> {
        use std::io::{Read, Write};
        let mut c = TcpStream::connect(("127.0.0.1", self.port)).ok()?;
        c.set_read_timeout(Some(Duration::from_secs(2))).ok()?;
        write!(c, "GET {path} HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n").ok()?;
        let mut head = [0u8; 12];
        c.read_exact(&mut head).ok()?;
        std::str::from_utf8(&head[9..12]).ok()?.parse().ok()
    }

    /// SIGKILL: what a crash or power loss looks like.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// SIGTERM, as an operator stops the server; waits (bounded) for it to exit. True when it
    /// exited by itself within `within`, else it is killed.
    pub fn stop(&mut self, within: Duration) -> bool {
        let Some(mut c) = self.child.take() else {
            return true;
        };
        // SAFETY: kill(2) on our own child's pid.
        unsafe {
            libc::kill(c.id() as i32, libc::SIGTERM);
        }
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(_)) = c.try_wait() {
                return true;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        false
    }

    /// Start again on the same port, data directory and database.
    pub fn restart(&mut self) {
        self.kill();
        self.spawn();
    }

    /// Start again (after [`Server::kill`] or [`Server::terminate`]) without waiting: the
    /// caller watches the start.
    pub fn start_again_no_wait(&mut self) {
        self.kill();
        self.spawn_process();
    }

    /// The process id, while it runs.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(|c| c.id())
    }

    /// SIGTERM, then wait up to `within` for the exit. None: still running (then killed).
    pub fn terminate(&mut self, within: Duration) -> Option<std::process::ExitStatus> {
        let mut c = self.child.take()?;
        let _ = Command::new("kill")
            .args(["-TERM", &c.id().to_string()])
            .status();
        let deadline = Instant::now() + within;
        while Instant::now() < deadline {
            if let Ok(Some(st)) = c.try_wait() {
                return Some(st);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = c.kill();
        let _ = c.wait();
        None
    }

    /// What each file descriptor of the process points at (`socket:[…]`, a path, …).
    pub fn open_fd_targets(&self) -> Vec<String> {
        let Some(p) = self.pid() else { return vec![] };
        std::fs::read_dir(format!("/proc/{p}/fd"))
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|e| std::fs::read_link(e.path()).ok())
            .map(|t| t.display().to_string())
            .collect()
    }

    /// How many file descriptors the process has open, not counting its SQLite database's
    /// files: the store's pool opens and closes connections as the load comes and goes (within
    /// its bound), which is not a leak.
    pub fn open_fds(&self) -> usize {
        let store = self.data_dir.join("hostplane.db").display().to_string();
        self.open_fd_targets()
            .iter()
            .filter(|t| !t.starts_with(&store))
            .count()
    }

    /// The TCP connections the process holds whose remote address starts with `prefix`
    /// (e.g. `127.79.`), from its descriptors and the kernel's socket tables.
    pub fn tcp_connections_to(&self, prefix: &str) -> usize {
        let Some(pid) = self.pid() else { return 0 };
        let inodes: std::collections::HashSet<String> =
            std::fs::read_dir(format!("/proc/{pid}/fd"))
                .into_iter()
                .flatten()
                .flatten()
                .filter_map(|e| std::fs::read_link(e.path()).ok())
                .filter_map(|l| {
                    l.to_string_lossy()
                        .strip_prefix("socket:[")
                        .and_then(|r| r.strip_suffix(']'))
                        .map(str::to_string)
                })
                .collect();
        let table = std::fs::read_to_string(format!("/proc/{pid}/net/tcp")).unwrap_or_default();
        table
            .lines()
            .skip(1)
            .filter(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 9 && inodes.contains(f[9]) && hex_ip(f[2]).starts_with(prefix)
            })
            .count()
    }

    /// The runtime counters the server logs on SIGUSR1: `tasks`, `tracked`, `connects`,
    /// `jobs`.
    pub fn counters(&self) -> std::collections::HashMap<String, u64> {
        let Some(pid) = self.pid() else {
            return Default::default();
        };
        let before = self.log().matches("runtime counters").count();
        let _ = Command::new("kill")
            .args(["-USR1", &pid.to_string()])
            .status();
        let deadline = Instant::now() + Duration::from_secs(5);
        while Instant::now() < deadline {
            let log = self.log();
            if log.matches("runtime counters").count() > before {
                let line = log
                    .lines()
                    .rev()
                    .find(|l| l.contains("runtime counters"))
                    .map(strip_ansi)
                    .unwrap();
                return line
                    .split_whitespace()
                    .filter_map(|w| w.split_once('='))
                    .filter_map(|(k, v)| Some((k.to_string(), v.parse().ok()?)))
                    .collect();
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("no runtime counters logged after SIGUSR1");
    }

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }
}

/// A log line without its colour codes.
fn strip_ansi(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        if c == '\u{1b}' {
            for d in chars.by_ref() {
                if d.is_ascii_alphabetic() {
                    break;
                }
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// `0100007F:0016` (a /proc/net/tcp address) → `127.0.0.1`.
fn hex_ip(a: &str) -> String {
    let ip = a.split(':').next().unwrap_or("");
    let n = u32::from_str_radix(ip, 16).unwrap_or(0).to_le_bytes();
    format!("{}.{}.{}.{}", n[0], n[1], n[2], n[3])
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
        if std::thread::panicking() {
            eprintln!(
                "hostplane test server data kept in {} (server.log inside)",
                self.data_dir.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.data_dir);
        }
    }
}
