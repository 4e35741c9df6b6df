//! A program on a pseudo-terminal, for what only a terminal shows: prompts, Ctrl-C, colours,
//! Tab completion. The child gets a new session with the pty as its controlling terminal, so
//! `\x03` written to the master sends SIGINT to its foreground process group, as a keyboard
//! would. Output (echo included: the pty echoes what is typed) is collected by a thread.

use std::io::{Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::process::CommandExt;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use nix::pty::{openpty, Winsize};

pub struct Pty {
    master: std::fs::File,
    child: Child,
    out: Arc<Mutex<Vec<u8>>>,
}

impl Pty {
    /// Start `cmd` on a fresh 50x200 terminal.
    pub fn spawn(cmd: &mut Command) -> Pty {
        let size = Winsize {
            ws_row: 50,
            ws_col: 200,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        let pty = openpty(Some(&size), None).expect("openpty");
        let slave: OwnedFd = pty.slave;
        let io = |fd: &OwnedFd| Stdio::from(fd.try_clone().expect("dup the pty"));
        cmd.stdin(io(&slave)).stdout(io(&slave)).stderr(io(&slave));
        // SAFETY: only async-signal-safe calls between fork and exec.
        unsafe {
            cmd.pre_exec(|| {
                nix::unistd::setsid().map_err(std::io::Error::from)?;
                if nix::libc::ioctl(0, nix::libc::TIOCSCTTY as _, 0) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let child = cmd.spawn().expect("start the program on the pty");
        drop(slave);
        let master = std::fs::File::from(pty.master);
        let out = Arc::new(Mutex::new(Vec::new()));
        let mut reader = master.try_clone().expect("dup the pty master");
        let sink = out.clone();
        std::thread::spawn(move || {
            let mut buf = [0u8; 4096];
            // EIO once the last process holding the terminal is gone.
            while let Ok(n) = reader.read(&mut buf) {
                if n == 0 {
                    break;
                }
                sink.lock().unwrap().extend_from_slice(&buf[..n]);
            }
        });
        Pty { master, child, out }
    }

    /// Type `s` (a `\r` is Enter).
    pub fn send(&mut self, s: &str) {
        self.master
            .write_all(s.as_bytes())
            .expect("write to the pty");
        self.master.flush().unwrap();
    }

    /// Type a line and Enter.
    pub fn line(&mut self, s: &str) {
        self.send(&format!("{s}\r"));
    }

    /// Answer a password prompt that was just shown: a moment first, so that the program has
    /// turned echo off (as a person would take), then the line.
    pub fn secret(&mut self, s: &str) {
        std::thread::sleep(Duration::from_millis(200));
        self.line(s);
    }

    /// Ctrl-C.
    pub fn ctrl_c(&mut self) {
        self.send("\x03");
    }

    /// Everything the program wrote so far (ANSI sequences and all).
    pub fn output(&self) -> String {
        String::from_utf8_lossy(&self.out.lock().unwrap()).into_owned()
    }

    /// Wait until the output after byte `from` contains `needle`; the position after it.
    pub fn expect_from(&self, from: usize, needle: &str, within: Duration) -> usize {
        let deadline = Instant::now() + within;
        loop {
            {
                let out = self.out.lock().unwrap();
                let text = String::from_utf8_lossy(out.get(from..).unwrap_or_default());
                if let Some(i) = text.find(needle) {
                    return from + text[..i].len() + needle.len();
                }
            }
            assert!(
                Instant::now() < deadline,
                "no {needle:?} on the terminal within {within:?}; it shows:\n{}",
                self.output()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Wait until the output contains `needle` anywhere.
    pub fn expect(&self, needle: &str) -> usize {
        self.expect_from(0, needle, Duration::from_secs(30))
    }

    /// Wait for the program to exit; its exit code (-signal when killed) and all its output.
    pub fn wait(mut self, within: Duration) -> (i32, String) {
        let deadline = Instant::now() + within;
        loop {
            if let Some(st) = self.child.try_wait().unwrap() {
                use std::os::unix::process::ExitStatusExt;
                // Let the reader drain what is left.
                std::thread::sleep(Duration::from_millis(100));
                let code = st.code().unwrap_or_else(|| -st.signal().unwrap_or(0));
                return (code, self.output());
            }
            if Instant::now() > deadline {
                let _ = self.child.kill();
                panic!(
                    "the program did not exit within {within:?}; it shows:\n{}",
                    self.output()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }
}

impl Drop for Pty {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
