//! OpenSSH `sshd` test hosts: each [`SshdHost`] is a real `/usr/sbin/sshd` on its own 127.0.0.x
//! address and port, with its own ed25519 host key and its own Unix user (`hpt<pid>x<n>`, shell
//! `/bin/sh`) with its own password — or, with [`Login::Root`], `root` itself, with a password
//! known only inside the host's namespace. Synchronous, std only; needs root, openssh-server and
//! (for root hosts) openssl.
//!
//! # How a host is made
//! - The user is created with `useradd -m` + `chpasswd` and removed with `userdel -r -f` on drop.
//!   All user-database edits of all test processes are serialised by `flock` on
//!   `$TMPDIR/hostplane-testkit/users.lock`. Users and sshd processes left behind by test
//!   processes that died (SIGKILL) are swept the next time any process starts a host.
//! - sshd runs as `unshare --pid --fork --kill-child --mount --uts --propagation private sh -c
//!   '<fake setup>; exec /usr/sbin/sshd -D -e -f <cfg>'`. It is PID 1 of its own PID namespace, so
//!   [`SshdHost::stop`] kills it *and every login session* at once (an open client connection
//!   drops, as when a real host dies). Its log is `<dir>/sshd.log` ([`SshdHost::log`]).
//! - Config: `ListenAddress <ip>`, `Port <port>`, own `HostKey`, `PidFile none`,
//!   `PasswordAuthentication yes`, `KbdInteractiveAuthentication no`, `PubkeyAuthentication yes`,
//!   `UsePAM yes`, `StrictModes no`, `AllowUsers <user>`, `UseDNS no`.
//!
//! # Who logs in ([`Login`])
//! - [`Login::User`] (default): the fresh user above; no sudo setup of its own.
//! - [`Login::Root`]: `root`, with a password of its own: inside the namespace only, `/etc` is
//!   overlaid (read-only) with a copy of `/etc/shadow` whose root hash is replaced (`openssl
//!   passwd -6`), so the machine's root password is never touched. `PermitRootLogin yes`; authorized keys go to
//!   `<dir>/root_authorized_keys`, never to `/root/.ssh`.
//! - [`Login::Sudo`]: the fresh user plus a sudo setup ([`Sudo`]): inside the namespace only,
//!   `/etc` is overlaid (read-only) with a copy of the machine's `/etc/sudoers` plus the setup's
//!   lines (checked with `visudo -c` first). An overlay, not a bind mount of the file: the kernel
//!   drops a file bind mount when another process replaces the file (useradd does, for shadow). Nothing is written to `/etc/sudoers.d`: the copy
//!   lives in the host's directory and goes with it (stale ones with the sweep below). Needs the
//!   `sudo` package.
//! - Root and sudo hosts get a private `/run` and `/var/lib/sudo`: writable overlays whose
//!   writes land in `<dir>/run-upper` and `<dir>/sudo-upper`, so the takeover flag at its
//!   default path (`/var/run/zstack/takeOver`), sudo's timestamps and lecture marks stay
//!   inside the test. [`SshdHost::host_sh`] runs a command as root inside the host's namespace
//!   to look at them.
//!
//! # Fake facts ([`FakeFacts`]), all inside the host's own mount/UTS namespace
//! - CPU flags: `/proc/cpuinfo` is bind-mounted with a copy of the real one whose `flags` and
//!   `vmx flags` lines have `vmx`, `svm`, `ept` and `npt` removed (`hide_virtualization`) or
//!   `vmx ept` added (`add_vmx`).
//! - **No virtualisation** (`hide_virtualization`): the cpuinfo above, and `/dev/kvm` hidden: a
//!   directory `<dir>/dev` is filled with copies (`cp -a`) of `null zero full random urandom tty
//!   ptmx`, the symlinks `fd stdin stdout stderr`, and empty `pts`/`shm` directories on which the
//!   real `/dev/pts` and `/dev/shm` are bind-mounted; then `mount --rbind <dir>/dev /dev`. Inside,
//!   `test -c /dev/kvm` is false; outside nothing changes.
//! - Memory: `/proc/meminfo` bind-mounted with a copy whose `MemTotal` is replaced.
//! - OS: `/etc/os-release` bind-mounted with the given text.
//! - Hostname: `hostname <name>` in the UTS namespace (so `hostname` and
//!   `/proc/sys/kernel/hostname` agree).
//! - Architecture and any other command: fake executables are laid over `/usr/local/bin` (first in
//!   sshd's default PATH) with a read-only overlayfs, so the real `/usr/local/bin` stays visible
//!   underneath. The fake `uname` prints the arch for `-m`/`-p`/`-i` and runs the real `uname`
//!   otherwise.
//! - Any existing file ([`FakeFacts::files`]: bind mount of the given contents) and any existing
//!   directory ([`FakeFacts::overlays`]: read-only overlayfs with a directory of yours on top; this
//!   works on sysfs, e.g. a fake `hwmon` tree laid over `/sys/class`). procfs cannot be overlaid, so
//!   a file missing from `/proc` (e.g. `/proc/mdstat` without the md driver) cannot be faked.

use std::fs;
use std::io::Read;
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Once;
use std::time::{Duration, Instant};

const SSHD: &str = "/usr/sbin/sshd";
const START_TIMEOUT: Duration = Duration::from_secs(10);

static COUNTER: AtomicU32 = AtomicU32::new(0);
static SWEEP: Once = Once::new();

/// What to start. `Default` gives a host with a free 127.0.0.x address, a free port and the
/// machine's own facts.
#[derive(Debug, Clone, Default)]
pub struct SshdOptions {
    /// Listen address; else a 127.0.0.x (x in 2..=250) unique within this process.
    pub ip: Option<String>,
    /// Port; else a free one.
    pub port: Option<u16>,
    /// Facts that differ from this machine's.
    pub fake: Option<FakeFacts>,
    /// Who logs in, and with which sudo rights.
    pub login: Login,
}

/// Who logs in to a test host (see the module doc).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Login {
    /// A fresh user of its own, no sudo setup.
    #[default]
    User,
    /// root, with a password of its own (a private copy of /etc/shadow).
    Root,
    /// A fresh user with this sudo setup (a private /etc/sudoers).
    Sudo(Sudo),
}

/// A test user's sudo rights, as lines added to a private copy of /etc/sudoers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Sudo {
    /// `<user> ALL=(ALL:ALL) NOPASSWD: ALL`.
    NoPasswd,
    /// `<user> ALL=(ALL:ALL) ALL`, with sudo's lecture on every use (`lecture=always`).
    Password,
    /// No rule at all: sudo is installed but the user may not use it.
    None,
    /// NOPASSWD for all, but `Defaults:<user> requiretty`.
    RequireTty,
    /// These sudoers lines, every `{user}` replaced by the user's name.
    Rules(String),
}

impl Sudo {
    fn lines(&self, user: &str) -> String {
        match self {
            Sudo::NoPasswd => format!("{user} ALL=(ALL:ALL) NOPASSWD: ALL\n"),
            Sudo::Password => {
                format!("Defaults:{user} lecture=always\n{user} ALL=(ALL:ALL) ALL\n")
            }
            Sudo::None => String::new(),
            Sudo::RequireTty => {
                format!("Defaults:{user} requiretty\n{user} ALL=(ALL:ALL) NOPASSWD: ALL\n")
            }
            Sudo::Rules(text) => {
                let mut t = text.replace("{user}", user);
                if !t.ends_with('\n') {
                    t.push('\n');
                }
                t
            }
        }
    }
}

/// Facts the host shows instead of this machine's (see the module doc for how each is made).
#[derive(Debug, Clone, Default)]
pub struct FakeFacts {
    /// `/proc/cpuinfo` without `vmx`/`svm`/`ept`/`npt`, and no `/dev/kvm`.
    pub hide_virtualization: bool,
    /// `/proc/cpuinfo` with `vmx` and `ept` added to the flags (this test machine is a VM whose CPU
    /// shows neither). Ignored with `hide_virtualization`.
    pub add_vmx: bool,
    /// `MemTotal` in kB.
    pub mem_total_kb: Option<u64>,
    /// The full text of `/etc/os-release`.
    pub os_release: Option<String>,
    pub hostname: Option<String>,
    /// What `uname -m` prints.
    pub arch: Option<String>,
    /// `(absolute path of an existing file, contents)`: bind-mounted over it.
    pub files: Vec<(String, String)>,
    /// `(existing directory, your directory)`: your directory's entries are laid over it
    /// (read-only overlayfs), the rest stays visible.
    pub overlays: Vec<(String, PathBuf)>,
    /// `(name, sh script body)`: an executable `/usr/local/bin/<name>` running the body.
    pub commands: Vec<(String, String)>,
}

impl FakeFacts {
    fn is_empty(&self) -> bool {
        !self.hide_virtualization
            && !self.add_vmx
            && self.mem_total_kb.is_none()
            && self.os_release.is_none()
            && self.hostname.is_none()
            && self.arch.is_none()
            && self.files.is_empty()
            && self.overlays.is_empty()
            && self.commands.is_empty()
    }
}

/// A running sshd test host. Dropping it stops sshd, deletes the user and removes its files.
#[derive(Debug)]
pub struct SshdHost {
    pub ip: String,
    pub port: u16,
    pub user: String,
    /// The password set at start ([`SshdHost::set_password`] does not update this field).
    pub password: String,
    /// `"SHA256:<base64>"`, as `ssh-keygen -lf` prints it.
    pub host_key_fingerprint: String,
    /// The user's home directory.
    pub home: PathBuf,
    /// This host's own directory (config, host key, log, fakes).
    pub dir: PathBuf,
    child: Option<Child>,
    ns_script: String,
    user_created: bool,
    /// sshd's `VersionAddendum` (appended to its identification line); empty: none.
    version_addendum: String,
    login: Login,
}

impl SshdHost {
    /// Start a host; panics with a clear message if sshd is missing or does not come up in 10 s.
    pub fn start(opts: SshdOptions) -> SshdHost {
        assert!(
            Path::new(SSHD).exists(),
            "{SSHD} is missing: install openssh-server (apt-get install -y openssh-server)"
        );
        SWEEP.call_once(sweep_stale);
        let pid = std::process::id();
        let n = COUNTER.fetch_add(1, Ordering::SeqCst);
        let user = format!("hpt{pid}x{n}");
        let dir = base_dir().join(format!("sshd-{pid}-{n}"));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).expect("create sshd test dir");
        fs::write(dir.join("owner.pid"), pid.to_string()).expect("write owner.pid");

        let password = format!("Hp-{}!", random_hex(8));
        let is_root = opts.login == Login::Root;
        let user = if is_root { "root".to_string() } else { user };
        if !is_root {
            // A user of this name can only be left over from an earlier process with our pid.
            users_locked_quiet(&["userdel", "-r", "-f", &user]);
            users_locked(&[
                "useradd",
                "-m",
                "-s",
                "/bin/sh",
                "-c",
                "hostplane test",
                &user,
            ]);
        }
        let mut host = SshdHost {
            ip: String::new(),
            port: 0,
            user: user.clone(),
            password: password.clone(),
            host_key_fingerprint: String::new(),
            home: PathBuf::from(format!("/home/{user}")),
            dir: dir.clone(),
            child: None,
            ns_script: String::new(),
            user_created: !is_root,
            version_addendum: String::new(),
            login: opts.login.clone(),
        };
        if let Some(home) = home_of(&user) {
            host.home = home;
        }
        host.set_password(&password);
        host.host_key_fingerprint = generate_host_key(&dir);
        host.ns_script =
            login_setup(&dir, &user, &opts.login) + &fake_setup(&dir, opts.fake.as_ref());

        // Pick an address and port; retry with fresh ones if sshd cannot bind.
        let base = (pid.wrapping_mul(2654435761) % 249) + n;
        for attempt in 0..6u32 {
            host.ip = opts
                .ip
                .clone()
                .unwrap_or_else(|| format!("127.0.0.{}", 2 + (base + attempt * 37) % 249));
            host.port = opts.port.unwrap_or_else(|| free_port(&host.ip));
            host.write_config();
            match host.spawn_and_wait() {
                Ok(()) => return host,
                Err(log) if is_bind_error(&log) && (opts.ip.is_none() || opts.port.is_none()) => {
                    continue
                }
                Err(log) => panic!(
                    "sshd test host on {}:{} did not come up; sshd log:\n{log}",
                    host.ip, host.port
                ),
            }
        }
        panic!("sshd test host: no free address/port after 6 attempts");
    }

    /// Kill sshd and every session it serves (the port closes, open connections drop).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            // Kill the namespace's PID 1 (sshd) directly; unshare then reaps it and exits. The
            // kernel has killed every process of the namespace by the time PID 1 is reaped.
            if let Some(init) = first_child(child.id()) {
                let _ = Command::new("kill")
                    .args(["-KILL", &init.to_string()])
                    .stderr(Stdio::null())
                    .status();
            }
            let deadline = Instant::now() + Duration::from_secs(5);
            loop {
                match child.try_wait() {
                    Ok(Some(_)) => break,
                    Ok(None) if Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(10))
                    }
                    _ => {
                        let _ = child.kill();
                        let _ = child.wait();
                        break;
                    }
                }
            }
            let _ = fs::remove_file(self.dir.join("child.pid"));
            // The listener is gone with the namespace; make sure before returning.
            let deadline = Instant::now() + Duration::from_secs(5);
            while self.accepts() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }

    /// Start sshd again with the same address, port, host key and fakes.
    pub fn restart(&mut self) {
        self.stop();
        if let Err(log) = self.spawn_and_wait() {
            panic!(
                "sshd test host on {}:{} did not come back; sshd log:\n{log}",
                self.ip, self.port
            );
        }
    }

    /// A new host key (new fingerprint), then restart: "the host key changed".
    pub fn regenerate_host_key(&mut self) {
        let _ = fs::remove_file(self.dir.join("hostkey"));
        let _ = fs::remove_file(self.dir.join("hostkey.pub"));
        self.host_key_fingerprint = generate_host_key(&self.dir);
        self.restart();
    }

    /// Another machine on this address: a new host key and another sshd identification line
    /// (`VersionAddendum`), then restart.
    pub fn replace_machine(&mut self, version_addendum: &str) {
        self.version_addendum = version_addendum.to_string();
        self.write_config();
        self.regenerate_host_key();
    }

    /// Change the user's password ("the password changed"). [`SshdHost::password`] keeps the old one.
    /// For a root host, only the namespace's copy of /etc/shadow changes.
    pub fn set_password(&self, pw: &str) {
        if self.login == Login::Root {
            // The private copy of /etc/shadow, rewritten in place (the bind mount sees it).
            write_root_shadow(&self.dir, pw);
            return;
        }
        let line = format!("{}:{}", self.user, pw);
        let lock = lock_file();
        let mut child = Command::new("flock")
            .arg(&lock)
            .arg("chpasswd")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn chpasswd");
        {
            use std::io::Write;
            let mut stdin = child.stdin.take().expect("chpasswd stdin");
            stdin
                .write_all(format!("{line}\n").as_bytes())
                .expect("write to chpasswd");
        }
        let out = child.wait_with_output().expect("wait for chpasswd");
        assert!(
            out.status.success(),
            "chpasswd for {} failed: {}",
            self.user,
            String::from_utf8_lossy(&out.stderr)
        );
    }

    /// Append a public key line to the user's `~/.ssh/authorized_keys`.
    pub fn add_authorized_key(&self, public_key_line: &str) {
        if self.login == Login::Root {
            let path = self.dir.join("root_authorized_keys");
            let mut text = fs::read_to_string(&path).unwrap_or_default();
            text.push_str(public_key_line.trim());
            text.push('\n');
            fs::write(&path, text).expect("write root_authorized_keys");
            return;
        }
        let ssh = self.home.join(".ssh");
        fs::create_dir_all(&ssh).expect("create ~/.ssh");
        let path = ssh.join("authorized_keys");
        let mut text = fs::read_to_string(&path).unwrap_or_default();
        text.push_str(public_key_line.trim());
        text.push('\n');
        fs::write(&path, text).expect("write authorized_keys");
        let owner = format!("{0}:{0}", self.user);
        run_ok(Command::new("chown").args(["-R", &owner]).arg(&ssh));
        let _ = fs::set_permissions(&ssh, fs::Permissions::from_mode(0o700));
        let _ = fs::set_permissions(&path, fs::Permissions::from_mode(0o600));
    }

    /// `ip:port`.
    pub fn addr(&self) -> SocketAddr {
        format!("{}:{}", self.ip, self.port)
            .parse()
            .expect("ip:port")
    }

    /// Whether sshd is running (the child process is alive).
    pub fn is_running(&mut self) -> bool {
        match self.child.as_mut() {
            Some(c) => matches!(c.try_wait(), Ok(None)),
            None => false,
        }
    }

    /// Run `script` with `sh -c` as root inside the host's mount and UTS namespaces (what a
    /// root shell on the host sees: its private /run, its fakes). Panics if it cannot be run.
    pub fn host_sh(&self, script: &str) -> std::process::Output {
        let child = self.child.as_ref().expect("the host is running");
        let init = first_child(child.id()).expect("the host's sshd process");
        Command::new("nsenter")
            .args(["-t", &init.to_string(), "-m", "-u", "sh", "-c", script])
            .output()
            .expect("run nsenter (util-linux)")
    }

    /// sshd's log so far (sshd runs with `-e`, so this is everything it logged).
    pub fn log(&self) -> String {
        fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
    }

    fn accepts(&self) -> bool {
        TcpStream::connect_timeout(&self.addr(), Duration::from_millis(200)).is_ok()
    }

    fn write_config(&self) {
        let d = self.dir.display();
        let cfg = format!(
            "ListenAddress {ip}\nPort {port}\nHostKey {d}/hostkey\nPidFile none\n\
             PasswordAuthentication yes\nKbdInteractiveAuthentication no\nPubkeyAuthentication yes\n\
             AuthorizedKeysFile .ssh/authorized_keys\nUsePAM yes\nStrictModes no\nUseDNS no\n\
             PermitRootLogin {root}\nAllowUsers {user}\nMaxStartups 100:30:200\nMaxSessions 64\n\
             LoginGraceTime 30\nPrintMotd no\nVersionAddendum {addendum}\n{keys}",
            ip = self.ip,
            port = self.port,
            user = self.user,
            root = if self.login == Login::Root { "yes" } else { "no" },
            keys = if self.login == Login::Root {
                format!("Match User root\n    AuthorizedKeysFile {d}/root_authorized_keys\n")
            } else {
                String::new()
            },
            addendum = if self.version_addendum.is_empty() {
                "none"
            } else {
                &self.version_addendum
            },
        );
        fs::write(self.dir.join("sshd_config"), cfg).expect("write sshd_config");
    }

    /// Spawn sshd in its namespaces and wait until the port accepts; `Err(log)` if it exited.
    fn spawn_and_wait(&mut self) -> Result<(), String> {
        fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let cfg = self.dir.join("sshd_config");
        let test = Command::new(SSHD)
            .arg("-t")
            .arg("-f")
            .arg(&cfg)
            .output()
            .expect("run sshd -t");
        if !test.status.success() {
            return Err(format!(
                "sshd -t rejected the config: {}",
                String::from_utf8_lossy(&test.stderr)
            ));
        }
        let log_path = self.dir.join("sshd.log");
        let log = fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("open sshd.log");
        let log_start = fs::metadata(&log_path).map(|m| m.len()).unwrap_or(0);
        let script = format!(
            "set -e\n{}exec {SSHD} -D -e -f {}\n",
            self.ns_script,
            sh_quote(&cfg.display().to_string())
        );
        let child = Command::new("unshare")
            .args([
                "--pid",
                "--fork",
                "--kill-child",
                "--mount",
                "--uts",
                "--propagation",
                "private",
                "/bin/sh",
                "-c",
                &script,
            ])
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log fd"))
            .stderr(log)
            .spawn()
            .expect("spawn unshare (util-linux) for sshd");
        let _ = fs::write(self.dir.join("child.pid"), child.id().to_string());
        self.child = Some(child);

        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if self.accepts() {
                return Ok(());
            }
            let exited = match self.child.as_mut() {
                Some(c) => !matches!(c.try_wait(), Ok(None)),
                None => true,
            };
            if exited || Instant::now() >= deadline {
                self.stop();
                let mut text = String::new();
                if let Ok(mut f) = fs::File::open(&log_path) {
                    let _ = f.read_to_string(&mut text);
                }
                let new = text.get(log_start as usize..).unwrap_or(&text).to_string();
                return Err(if exited {
                    new
                } else {
                    format!("(timed out after {START_TIMEOUT:?})\n{new}")
                });
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for SshdHost {
    fn drop(&mut self) {
        self.stop();
        if self.user_created {
            users_locked_quiet(&["userdel", "-r", "-f", &self.user]);
        }
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// Generate a client key pair with `ssh-keygen` (`kind`: `ed25519`, `rsa`, `ecdsa`), optionally
/// passphrase-protected. Returns `(private key text, public key line)`.
pub fn generate_client_key(kind: &str, passphrase: Option<&str>) -> (String, String) {
    let n = COUNTER.fetch_add(1, Ordering::SeqCst);
    let dir = base_dir().join(format!("clientkey-{}-{n}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).expect("create client key dir");
    let path = dir.join("id");
    run_ok(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                kind,
                "-N",
                passphrase.unwrap_or(""),
                "-C",
                "hostplane-test",
                "-f",
            ])
            .arg(&path),
    );
    let private = fs::read_to_string(&path).expect("read private key");
    let public = fs::read_to_string(dir.join("id.pub")).expect("read public key");
    let _ = fs::remove_dir_all(&dir);
    (private, public.trim().to_string())
}

// ---------------------------------------------------------------------------------------------

fn base_dir() -> PathBuf {
    let d = std::env::temp_dir().join("hostplane-testkit");
    fs::create_dir_all(&d).expect("create testkit temp dir");
    d
}

fn lock_file() -> PathBuf {
    base_dir().join("users.lock")
}

/// Run a user-database command under the shared lock; panic on failure.
fn users_locked(args: &[&str]) {
    let out = Command::new("flock")
        .arg(lock_file())
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("run {args:?}: {e}"));
    assert!(
        out.status.success(),
        "{args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn users_locked_quiet(args: &[&str]) {
    let _ = Command::new("flock")
        .arg(lock_file())
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
}

fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("run {cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn home_of(user: &str) -> Option<PathBuf> {
    let passwd = fs::read_to_string("/etc/passwd").ok()?;
    passwd
        .lines()
        .map(|l| l.split(':').collect::<Vec<_>>())
        .find(|f| f.first() == Some(&user) && f.len() > 5)
        .map(|f| PathBuf::from(f[5]))
}

fn random_hex(bytes: usize) -> String {
    let mut buf = vec![0u8; bytes];
    fs::File::open("/dev/urandom")
        .and_then(|mut f| f.read_exact(&mut buf))
        .expect("read /dev/urandom");
    buf.iter().map(|b| format!("{b:02x}")).collect()
}

/// A fresh ed25519 host key in `dir/hostkey`; returns its SHA256 fingerprint.
fn generate_host_key(dir: &Path) -> String {
    let key = dir.join("hostkey");
    run_ok(
        Command::new("ssh-keygen")
            .args([
                "-q",
                "-t",
                "ed25519",
                "-N",
                "",
                "-C",
                "hostplane-test-host",
                "-f",
            ])
            .arg(&key),
    );
    let out = run_ok(
        Command::new("ssh-keygen")
            .arg("-lf")
            .arg(dir.join("hostkey.pub")),
    );
    out.split_whitespace()
        .nth(1)
        .expect("ssh-keygen -lf output")
        .to_string()
}

fn free_port(ip: &str) -> u16 {
    TcpListener::bind((ip, 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("no free port on {ip}: {e}"))
}

fn is_bind_error(log: &str) -> bool {
    log.contains("Address already in use") || log.contains("Cannot bind any address")
}

/// The first child of `pid` (unshare's forked child = PID 1 of the namespace).
fn first_child(pid: u32) -> Option<u32> {
    let text = fs::read_to_string(format!("/proc/{pid}/task/{pid}/children")).ok()?;
    text.split_whitespace().next()?.parse().ok()
}

fn sh_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

/// Whether `pid` is a live process (not a zombie: PID 1 of some test environments reaps late).
fn pid_alive(pid: u32) -> bool {
    let Ok(stat) = fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    let state = stat
        .rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .unwrap_or("");
    !matches!(state, "Z" | "X" | "x")
}

/// Remove users, sshd processes and directories left by test processes that no longer exist.
fn sweep_stale() {
    let Ok(entries) = fs::read_dir(base_dir()) else {
        return;
    };
    for e in entries.flatten() {
        let name = e.file_name().to_string_lossy().into_owned();
        let Some(rest) = name.strip_prefix("sshd-") else {
            continue;
        };
        let Some(owner) = rest.split('-').next().and_then(|p| p.parse::<u32>().ok()) else {
            continue;
        };
        if pid_alive(owner) {
            continue;
        }
        let dir = e.path();
        if let Some(child) = fs::read_to_string(dir.join("child.pid"))
            .ok()
            .and_then(|s| s.trim().parse::<u32>().ok())
        {
            let cmdline = fs::read(format!("/proc/{child}/cmdline")).unwrap_or_default();
            if String::from_utf8_lossy(&cmdline).contains(&*dir.to_string_lossy()) {
                if let Some(init) = first_child(child) {
                    let _ = Command::new("kill")
                        .args(["-KILL", &init.to_string()])
                        .status();
                }
                let _ = Command::new("kill")
                    .args(["-KILL", &child.to_string()])
                    .status();
            }
        }
        let _ = fs::remove_dir_all(&dir);
    }
    // Users named hpt<pid>x<n> whose process is gone.
    let passwd = fs::read_to_string("/etc/passwd").unwrap_or_default();
    for line in passwd.lines() {
        let user = line.split(':').next().unwrap_or("");
        let Some(rest) = user.strip_prefix("hpt") else {
            continue;
        };
        let Some((pid, n)) = rest.split_once('x') else {
            continue;
        };
        if pid.parse::<u32>().is_err() || n.parse::<u32>().is_err() {
            continue;
        }
        if pid.parse().is_ok_and(|p: u32| !pid_alive(p)) {
            users_locked_quiet(&["userdel", "-r", "-f", user]);
        }
    }
}

/// The shell lines (run inside the namespaces, as root, before exec sshd) for who logs in: a
/// private /etc/shadow for root, a private /etc/sudoers for a sudo setup, and for both a private
/// /run and /var/lib/sudo (writable overlays into the host's directory).
fn login_setup(dir: &Path, user: &str, login: &Login) -> String {
    let mut s = String::new();
    // Files laid over /etc (a read-only overlay: a bind mount of one file would be dropped the
    // moment another test's useradd or chpasswd replaces that file on the machine).
    let etc = dir.join("etc-top");
    match login {
        Login::User => return s,
        Login::Root => {} // etc-top/shadow is written by set_password
        Login::Sudo(setup) => {
            let real = fs::read_to_string("/etc/sudoers").unwrap_or_else(|e| {
                panic!("/etc/sudoers: {e}: install sudo (apt-get install -y sudo)")
            });
            fs::create_dir_all(&etc).expect("create etc-top");
            let path = etc.join("sudoers");
            let text = format!("{real}\n# hostplane test host\n{}", setup.lines(user));
            fs::write(&path, text).expect("write the test sudoers");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o440)).expect("chmod sudoers");
            let check = Command::new("visudo")
                .arg("-cf")
                .arg(&path)
                .output()
                .expect("run visudo (sudo)");
            assert!(
                check.status.success(),
                "the test sudoers does not parse: {}{}\n{}",
                String::from_utf8_lossy(&check.stdout),
                String::from_utf8_lossy(&check.stderr),
                setup.lines(user)
            );
        }
    }
    s += &format!(
        "mount -t overlay hostplane-etc -o {} /etc\n",
        sh_quote(&format!("lowerdir={}:/etc", etc.display()))
    );
    for (target, name) in [("/run", "run"), ("/var/lib/sudo", "sudo")] {
        if !Path::new(target).is_dir() {
            continue;
        }
        let upper = dir.join(format!("{name}-upper"));
        let work = dir.join(format!("{name}-work"));
        fs::create_dir_all(&upper).expect("create overlay upper dir");
        fs::create_dir_all(&work).expect("create overlay work dir");
        s += &format!(
            "mount -t overlay hostplane-{name} -o {} {target}\n",
            sh_quote(&format!(
                "lowerdir={target},upperdir={},workdir={}",
                upper.display(),
                work.display()
            ))
        );
    }
    s
}

/// Write the private copy of /etc/shadow with `password` for root (in place, so the overlay
/// over /etc sees the change).
fn write_root_shadow(dir: &Path, password: &str) {
    use std::io::Write;
    let mut child = Command::new("openssl")
        .args(["passwd", "-6", "-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run openssl passwd");
    child
        .stdin
        .take()
        .expect("openssl stdin")
        .write_all(format!("{password}\n").as_bytes())
        .expect("write to openssl");
    let out = child.wait_with_output().expect("wait for openssl");
    assert!(out.status.success(), "openssl passwd failed");
    let hash = String::from_utf8_lossy(&out.stdout).trim().to_string();
    let real = fs::read_to_string("/etc/shadow").expect("read /etc/shadow");
    let text: String = real
        .lines()
        .map(|l| match l.split_once(':') {
            Some(("root", rest)) => {
                let rest = rest.split_once(':').map(|(_, r)| r).unwrap_or("");
                format!("root:{hash}:{rest}\n")
            }
            _ => format!("{l}\n"),
        })
        .collect();
    let etc = dir.join("etc-top");
    fs::create_dir_all(&etc).expect("create etc-top");
    let path = etc.join("shadow");
    let mut f = fs::OpenOptions::new()
        .create(true)
        .write(true)
        .truncate(true)
        .open(&path)
        .expect("open the test shadow");
    fs::set_permissions(&path, fs::Permissions::from_mode(0o600)).expect("chmod shadow");
    f.write_all(text.as_bytes()).expect("write the test shadow");
}

/// Build the shell lines (run inside the namespaces, as root, before exec sshd) for `fake`, and
/// write the files they mount into `dir`.
fn fake_setup(dir: &Path, fake: Option<&FakeFacts>) -> String {
    let Some(f) = fake.filter(|f| !f.is_empty()) else {
        return String::new();
    };
    let q = |p: &Path| sh_quote(&p.display().to_string());
    let mut s = String::new();

    if let Some(name) = &f.hostname {
        s += &format!("hostname {}\n", sh_quote(name));
    }
    if f.hide_virtualization || f.add_vmx {
        let real = fs::read_to_string("/proc/cpuinfo").expect("read /proc/cpuinfo");
        let text = fake_cpuinfo(&real, f.hide_virtualization);
        let path = dir.join("cpuinfo");
        fs::write(&path, text).expect("write fake cpuinfo");
        s += &format!("mount --bind {} /proc/cpuinfo\n", q(&path));
    }
    if let Some(kb) = f.mem_total_kb {
        let real = fs::read_to_string("/proc/meminfo").expect("read /proc/meminfo");
        let text: String = real
            .lines()
            .map(|l| {
                if l.starts_with("MemTotal:") {
                    format!("MemTotal:       {kb} kB\n")
                } else {
                    format!("{l}\n")
                }
            })
            .collect();
        let path = dir.join("meminfo");
        fs::write(&path, text).expect("write fake meminfo");
        s += &format!("mount --bind {} /proc/meminfo\n", q(&path));
    }
    if let Some(text) = &f.os_release {
        let path = dir.join("os-release");
        fs::write(&path, text).expect("write fake os-release");
        s += &format!("mount --bind {} /etc/os-release\n", q(&path));
    }
    for (i, (target, contents)) in f.files.iter().enumerate() {
        let path = dir.join(format!("file-{i}"));
        fs::write(&path, contents).expect("write fake file");
        s += &format!("mount --bind {} {}\n", q(&path), sh_quote(target));
    }
    for (target, source) in &f.overlays {
        s += &format!(
            "mount -t overlay hostplane-fake -o {} {}\n",
            sh_quote(&format!("lowerdir={}:{target}", source.display())),
            sh_quote(target)
        );
    }
    let mut commands = f.commands.clone();
    if let Some(arch) = &f.arch {
        let real = if Path::new("/usr/bin/uname").exists() {
            "/usr/bin/uname"
        } else {
            "/bin/uname"
        };
        commands.push((
            "uname".into(),
            format!(
                "case \"$1\" in -m|-p|-i) echo {}; exit 0;; esac\nexec {real} \"$@\"\n",
                sh_quote(arch)
            ),
        ));
    }
    if !commands.is_empty() {
        let bin = dir.join("bin");
        fs::create_dir_all(&bin).expect("create fake bin dir");
        for (name, body) in &commands {
            let path = bin.join(name);
            fs::write(&path, format!("#!/bin/sh\n{body}")).expect("write fake command");
            fs::set_permissions(&path, fs::Permissions::from_mode(0o755))
                .expect("chmod fake command");
        }
        fs::create_dir_all("/usr/local/bin").expect("mkdir /usr/local/bin");
        s += &format!(
            "mount -t overlay hostplane-bin -o {} /usr/local/bin\n",
            sh_quote(&format!("lowerdir={}:/usr/local/bin", bin.display()))
        );
    }
    if f.hide_virtualization {
        let dev = dir.join("dev");
        fs::create_dir_all(dev.join("pts")).expect("create fake dev/pts");
        fs::create_dir_all(dev.join("shm")).expect("create fake dev/shm");
        let dq = q(&dev);
        s += &format!(
            "cp -a /dev/null /dev/zero /dev/full /dev/random /dev/urandom /dev/tty /dev/ptmx {dq}/\n\
             ln -sf /proc/self/fd {dq}/fd\n\
             ln -sf /proc/self/fd/0 {dq}/stdin\n\
             ln -sf /proc/self/fd/1 {dq}/stdout\n\
             ln -sf /proc/self/fd/2 {dq}/stderr\n\
             mount --bind /dev/pts {dq}/pts\n\
             mount --bind /dev/shm {dq}/shm\n\
             mount --rbind {dq} /dev\n"
        );
    }
    s
}

/// cpuinfo with the virtualisation flags removed (`hide`) or `vmx ept` added.
fn fake_cpuinfo(real: &str, hide: bool) -> String {
    const VIRT: [&str; 4] = ["vmx", "svm", "ept", "npt"];
    let mut out = String::with_capacity(real.len() + 64);
    for line in real.lines() {
        let is_flags = line.starts_with("flags") || line.starts_with("vmx flags");
        match line.split_once(':') {
            Some((key, value)) if is_flags => {
                let mut words: Vec<&str> = value
                    .split_whitespace()
                    .filter(|w| !VIRT.contains(w))
                    .collect();
                if !hide && line.starts_with("flags") {
                    words.extend(["vmx", "ept"]);
                }
                out += &format!("{key}: {}\n", words.join(" "));
            }
            _ => {
                out += line;
                out.push('\n');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cpuinfo_rewrite() {
        let real = "processor\t: 0\nflags\t\t: fpu vmx sse ept\nvmx flags\t: ept vnmi\n\n";
        let hidden = fake_cpuinfo(real, true);
        assert!(hidden.contains("flags\t\t: fpu sse\n"), "{hidden}");
        assert!(hidden.contains("vmx flags\t: vnmi\n"), "{hidden}");
        let added = fake_cpuinfo("flags\t\t: fpu sse\n", false);
        assert_eq!(added, "flags\t\t: fpu sse vmx ept\n");
    }

    #[test]
    fn quoting() {
        assert_eq!(sh_quote("a'b"), "'a'\\''b'");
    }
}
