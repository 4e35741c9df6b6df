//! Ctrl-C (SIGINT) in the client.
//!
//! - A command that is following a job (an async API: `host add`, `zone create`, ...) says,
//!   when interrupted, that the job goes on in the server and how to follow it
//!   (`hostplane job <uuid>`), then exits 130. The server is never asked to stop anything: it
//!   has no API for that, and an add half-undone is worse than one finished.
//! - Any other command exits 130 at once. A password prompt has turned echo off; the terminal
//!   is put back as it was first.
//! - `hostplane shell` ignores SIGINT: at its prompt Ctrl-C is a key (it clears the line), and
//!   while a line runs, the line runs in a child process of its own, which gets the signal.
//!
//! The signal handler only writes one byte to a pipe (async-signal-safe); a thread reads it
//! and does the rest. Nothing here makes an HTTP call or prints anything but the notice above.

use std::io::Read;
use std::os::fd::IntoRawFd;
use std::sync::atomic::{AtomicBool, AtomicI32, Ordering};
use std::sync::{Mutex, Once};

use nix::sys::signal::{sigaction, SaFlags, SigAction, SigHandler, SigSet, Signal};
use nix::sys::termios::{tcgetattr, tcsetattr, SetArg, Termios};

/// The exit code of an interrupted command (128 + SIGINT), as shells report it.
pub const EXIT_INTERRUPTED: i32 = 130;

static WRITE_FD: AtomicI32 = AtomicI32::new(-1);
static IGNORE: AtomicBool = AtomicBool::new(false);
static JOB: Mutex<Option<Job>> = Mutex::new(None);
static TTY: Mutex<Option<Termios>> = Mutex::new(None);

/// The job a command is following.
#[derive(Debug, Clone)]
struct Job {
    api: String,
    id: String,
    /// `--server URL` to repeat in the advice, when one was given.
    server: Option<String>,
}

extern "C" fn on_sigint(_: nix::libc::c_int) {
    let fd = WRITE_FD.load(Ordering::Relaxed);
    if fd >= 0 {
        // SAFETY: write(2) is async-signal-safe; the buffer is a static byte.
        unsafe {
            nix::libc::write(fd, b"!".as_ptr().cast(), 1);
        }
    }
}

/// Take over SIGINT for this process (once).
pub fn install() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        let Ok((read, write)) = nix::unistd::pipe() else {
            return;
        };
        let stdin = std::io::stdin();
        if let Ok(t) = tcgetattr(&stdin) {
            *TTY.lock().expect("tty lock") = Some(t);
        }
        WRITE_FD.store(write.into_raw_fd(), Ordering::Relaxed);
        let spawned = std::thread::Builder::new()
            .name("sigint".into())
            .spawn(move || {
                let mut pipe = std::fs::File::from(read);
                let mut byte = [0u8; 1];
                while pipe.read(&mut byte).is_ok_and(|n| n == 1) {
                    on_interrupt();
                }
            });
        if spawned.is_err() {
            return;
        }
        let action = SigAction::new(
            SigHandler::Handler(on_sigint),
            SaFlags::SA_RESTART,
            SigSet::empty(),
        );
        // SAFETY: the handler only calls write(2).
        let _ = unsafe { sigaction(Signal::SIGINT, &action) };
    });
}

/// From now on, Ctrl-C does not end this process (`hostplane shell`).
pub fn ignore() {
    install();
    IGNORE.store(true, Ordering::Relaxed);
}

/// The command is now following this job.
pub fn following(api: &str, id: &str, server: Option<&str>) {
    let mut job = JOB.lock().expect("job lock");
    if job.as_ref().is_none_or(|j| j.id != id) {
        *job = Some(Job {
            api: api.to_string(),
            id: id.to_string(),
            server: server.map(str::to_string),
        });
    }
}

/// The job ended (or failed to start).
pub fn done() {
    *JOB.lock().expect("job lock") = None;
}

/// Give the SIGINT handler time to end the process (after a read that Ctrl-C cut short).
pub fn wait_for_exit() {
    std::thread::sleep(std::time::Duration::from_secs(2));
}

/// What the user reads when a job goes on without them.
pub fn notice(api: &str, id: &str, server: Option<&str>) -> String {
    let server = server.map(|s| format!(" --server {s}")).unwrap_or_default();
    format!(
        "hostplane: interrupted; {api} goes on in the server (job {id}).\n\
         Follow it with: hostplane{server} job {id}\n"
    )
}

fn on_interrupt() {
    if IGNORE.load(Ordering::Relaxed) {
        return;
    }
    if let Some(t) = TTY.lock().expect("tty lock").as_ref() {
        let stdin = std::io::stdin();
        let _ = tcsetattr(&stdin, SetArg::TCSANOW, t);
    }
    let job = JOB.lock().expect("job lock").clone();
    let mut text = String::from("\n");
    if let Some(j) = job {
        text.push_str(&notice(&j.api, &j.id, j.server.as_deref()));
    }
    // One write, so the text is not torn by a spinner redrawing on another thread.
    let stderr = std::io::stderr();
    let _ = nix::unistd::write(&stderr, text.as_bytes());
    std::process::exit(EXIT_INTERRUPTED);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_notice_says_how_to_follow() {
        assert_eq!(
            notice("AddKVMHost", "abc", None),
            "hostplane: interrupted; AddKVMHost goes on in the server (job abc).\n\
             Follow it with: hostplane job abc\n"
        );
        assert!(notice("AddKVMHost", "abc", Some("http://mn:8080"))
            .contains("hostplane --server http://mn:8080 job abc"));
    }
}
