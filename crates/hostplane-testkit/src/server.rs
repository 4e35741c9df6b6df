//! A `hostplane serve` process for tests: its own data directory, a free port on 127.0.0.1,
//! SQLite or a PostgreSQL URL, killed on drop (its data directory is kept if the test failed,
//! with the path printed, so the log and database can be read).

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
        let data_dir = std::env::temp_dir().join(format!(
            "hostplane-test-{}-{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst)
        ));
        let _ = std::fs::remove_dir_all(&data_dir);
        std::fs::create_dir_all(&data_dir).unwrap();
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
        let deadline = Instant::now() + Duration::from_secs(30);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("hostplane exited ({status}) at start-up:\n{}", self.log());
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!(
            "hostplane did not start listening within 30 s:\n{}",
            self.log()
        );
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

    pub fn log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }
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
