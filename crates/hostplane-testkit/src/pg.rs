//! The PostgreSQL server the suites run against, and a fresh database per test.
//!
//! The server is `HOSTPLANE_TEST_PG_URL` when set (CI's `.ci/run` starts one and sets it).
//! Without it, a developer's run starts a throwaway cluster once per machine under
//! `/tmp/hostplane-testkit-pg` (port 55439, trust auth, fsync off) and leaves it running for
//! the next run. In CI (`CI` set) a missing URL is a failure, never a skip.
//!
//! [`TestDb::create`] makes a uniquely named database and drops it when the test ends.

use std::path::Path;
use std::process::Command;
use std::sync::atomic::{AtomicU32, Ordering};

const LOCAL_DIR: &str = "/tmp/hostplane-testkit-pg";
const LOCAL_PORT: u16 = 55439;

fn psql(url: &str, sql: &str) -> Result<String, String> {
    let out = Command::new("psql")
        .args([url, "-v", "ON_ERROR_STOP=1", "-tAc", sql])
        .output()
        .map_err(|e| format!("cannot run psql: {e}"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    } else {
        Err(String::from_utf8_lossy(&out.stderr).to_string())
    }
}

fn pg_bin(name: &str) -> String {
    for v in ["17", "16", "15", "14", "13"] {
        let p = format!("/usr/lib/postgresql/{v}/bin/{name}");
        if Path::new(&p).exists() {
            return p;
        }
    }
    panic!("PostgreSQL server binaries not found under /usr/lib/postgresql (apt-get install postgresql)");
}

/// The admin URL of the PostgreSQL server to use (starting the local one if needed).
pub fn server_url() -> String {
    if let Ok(u) = std::env::var("HOSTPLANE_TEST_PG_URL") {
        if !u.trim().is_empty() {
            return u;
        }
    }
    if std::env::var_os("CI").is_some() {
        panic!("CI must provide PostgreSQL: set HOSTPLANE_TEST_PG_URL (.ci/run starts a server and sets it)");
    }
    let url = format!("postgres://postgres@127.0.0.1:{LOCAL_PORT}/postgres");
    if psql(&url, "select 1").is_ok() {
        return url;
    }
    // Start a throwaway cluster, serialised across test processes with flock.
    std::fs::create_dir_all(LOCAL_DIR).expect("create pg dir");
    let lock = format!("{LOCAL_DIR}.lock");
    let script = format!(
        "chown postgres: {LOCAL_DIR}; \
         if [ ! -f {LOCAL_DIR}/data/PG_VERSION ]; then su postgres -c '{initdb} -D {LOCAL_DIR}/data -U postgres --auth=trust -E UTF8 --no-sync' >/dev/null; fi; \
         su postgres -c '{pg_ctl} -D {LOCAL_DIR}/data status' >/dev/null 2>&1 || \
         su postgres -c \"{pg_ctl} -D {LOCAL_DIR}/data -l {LOCAL_DIR}/pg.log -o '-c listen_addresses=127.0.0.1 -p {LOCAL_PORT} -k {LOCAL_DIR} -c fsync=off -c max_connections=400' -w start\" >/dev/null 2>&1 </dev/null",
        initdb = pg_bin("initdb"),
        pg_ctl = pg_bin("pg_ctl"),
    );
    let out = Command::new("flock")
        .args([&lock, "sh", "-c", &script])
        .output()
        .expect("flock");
    if !out.status.success() {
        panic!(
            "could not start a local PostgreSQL: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    for _ in 0..50 {
        if psql(&url, "select 1").is_ok() {
            return url;
        }
        std::thread::sleep(std::time::Duration::from_millis(100));
    }
    panic!("the local PostgreSQL did not come up; see {LOCAL_DIR}/pg.log");
}

/// One database for one test, dropped on drop.
pub struct TestDb {
    pub url: String,
    name: String,
    admin: String,
}

impl TestDb {
    pub fn create() -> TestDb {
        static N: AtomicU32 = AtomicU32::new(0);
        let admin = server_url();
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .subsec_nanos();
        let name = format!(
            "hp_test_{}_{}_{}",
            std::process::id(),
            N.fetch_add(1, Ordering::SeqCst),
            nanos
        );
        psql(&admin, &format!("CREATE DATABASE {name}"))
            .unwrap_or_else(|e| panic!("CREATE DATABASE failed: {e}"));
        let base = admin
            .rsplit_once('/')
            .map(|(b, _)| b.to_string())
            .unwrap_or(admin.clone());
        TestDb {
            url: format!("{base}/{name}"),
            name,
            admin,
        }
    }
}

impl Drop for TestDb {
    fn drop(&mut self) {
        let _ = psql(
            &self.admin,
            &format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name),
        );
    }
}

/// A PostgreSQL server of one test's own, for a test that stops and starts it under load (never
/// the shared one other tests use): a fresh cluster under `dir` on a free port, trust auth,
/// fsync off; stopped and removed on drop.
pub struct OwnPg {
    dir: std::path::PathBuf,
    port: u16,
    /// `postgres://postgres@127.0.0.1:<port>/postgres`
    pub url: String,
}

impl OwnPg {
    /// initdb and start a cluster in `dir` (emptied first).
    pub fn start(dir: &Path) -> OwnPg {
        let _ = std::fs::remove_dir_all(dir);
        std::fs::create_dir_all(dir).expect("create the PostgreSQL dir");
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let pg = OwnPg {
            dir: dir.to_path_buf(),
            port,
            url: format!("postgres://postgres@127.0.0.1:{port}/postgres"),
        };
        pg.sh(&format!(
            "chown postgres: {d} && su postgres -c '{initdb} -D {d}/data -U postgres --auth=trust -E UTF8 --no-sync' >/dev/null",
            d = dir.display(),
            initdb = pg_bin("initdb")
        ));
        pg.start_again();
        pg
    }

    fn sh(&self, script: &str) {
        let out = Command::new("sh")
            .args(["-c", script])
            .output()
            .expect("sh");
        assert!(
            out.status.success(),
            "{script}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Start the server (again) and wait until it answers.
    pub fn start_again(&self) {
        self.sh(&format!(
            "su postgres -c \"{pg_ctl} -D {d}/data -l {d}/pg.log -o '-c listen_addresses=127.0.0.1 -p {p} -k {d} -c fsync=off -c max_connections=100' -w start\" >/dev/null </dev/null",
            pg_ctl = pg_bin("pg_ctl"),
            d = self.dir.display(),
            p = self.port
        ));
        for _ in 0..100 {
            if psql(&self.url, "select 1").is_ok() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        panic!(
            "PostgreSQL did not come up; see {}/pg.log",
            self.dir.display()
        );
    }

    /// Stop the server (fast: open connections are cut, as a crash or restart does).
    pub fn stop(&self) {
        self.sh(&format!(
            "su postgres -c '{pg_ctl} -D {d}/data -m fast -w stop' >/dev/null",
            pg_ctl = pg_bin("pg_ctl"),
            d = self.dir.display()
        ));
    }
}

impl Drop for OwnPg {
    fn drop(&mut self) {
        let _ = Command::new("sh")
            .args([
                "-c",
                &format!(
                    "su postgres -c '{} -D {}/data -m immediate stop' >/dev/null 2>&1",
                    pg_bin("pg_ctl"),
                    self.dir.display()
                ),
            ])
            .status();
        if !std::thread::panicking() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}
