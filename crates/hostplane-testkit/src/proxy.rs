//! A TCP proxy a test controls: a server's database connections go through it, and the test
//! cuts them — every open connection is shut down and new ones are closed at once, as when the
//! network between a management node and its database fails — and lets them through again.
//! Only the proxied process is affected; the database and everyone else's connections are not.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

struct State {
    target: SocketAddr,
    cut: AtomicBool,
    stop: AtomicBool,
    /// Both sides of every open connection, to shut them down on a cut.
    open: Mutex<Vec<TcpStream>>,
}

pub struct TcpProxy {
    pub port: u16,
    state: Arc<State>,
    accept: Option<std::thread::JoinHandle<()>>,
}

impl TcpProxy {
    /// Listen on a free port of 127.0.0.1 and forward to `target`.
    pub fn start(target: SocketAddr) -> TcpProxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the proxy");
        listener.set_nonblocking(true).unwrap();
        let port = listener.local_addr().unwrap().port();
        let state = Arc::new(State {
            target,
            cut: AtomicBool::new(false),
            stop: AtomicBool::new(false),
            open: Mutex::new(Vec::new()),
        });
        let st = state.clone();
        let accept = std::thread::spawn(move || {
            while !st.stop.load(Ordering::SeqCst) {
                match listener.accept() {
                    Ok((client, _)) => {
                        if st.cut.load(Ordering::SeqCst) {
                            let _ = client.shutdown(Shutdown::Both);
                            continue;
                        }
                        let _ = client.set_nonblocking(false);
                        let Ok(server) =
                            TcpStream::connect_timeout(&st.target, Duration::from_secs(5))
                        else {
                            continue;
                        };
                        let _ = client.set_nodelay(true);
                        let _ = server.set_nodelay(true);
                        {
                            let mut open = st.open.lock().unwrap();
                            open.retain(|s| s.peer_addr().is_ok());
                            open.push(client.try_clone().unwrap());
                            open.push(server.try_clone().unwrap());
                        }
                        pipe(client.try_clone().unwrap(), server.try_clone().unwrap());
                        pipe(server, client);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                        std::thread::sleep(Duration::from_millis(5));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        TcpProxy {
            port,
            state,
            accept: Some(accept),
        }
    }

    /// `postgres://...` URL `url` with its host and port replaced by this proxy's.
    pub fn url_for(&self, url: &str) -> String {
        let (scheme, rest) = url.split_once("://").expect("a URL");
        let (auth_host, path) = rest.split_once('/').unwrap_or((rest, ""));
        let user = auth_host
            .rsplit_once('@')
            .map(|(u, _)| format!("{u}@"))
            .unwrap_or_default();
        format!("{scheme}://{user}127.0.0.1:{}/{path}", self.port)
    }

    /// Cut every connection and refuse new ones until [`TcpProxy::restore`].
    pub fn cut(&self) {
        self.state.cut.store(true, Ordering::SeqCst);
        for s in self.state.open.lock().unwrap().drain(..) {
            let _ = s.shutdown(Shutdown::Both);
        }
    }

    /// Let connections through again.
    pub fn restore(&self) {
        self.state.cut.store(false, Ordering::SeqCst);
    }
}

fn pipe(mut from: TcpStream, mut to: TcpStream) {
    std::thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Write);
    });
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.state.stop.store(true, Ordering::SeqCst);
        self.cut();
        if let Some(t) = self.accept.take() {
            let _ = t.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwards_cuts_and_restores() {
        let echo = TcpListener::bind("127.0.0.1:0").unwrap();
        let target = echo.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in echo.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut buf = [0u8; 64];
                    while let Ok(n) = s.read(&mut buf) {
                        if n == 0 || s.write_all(&buf[..n]).is_err() {
                            break;
                        }
                    }
                });
            }
        });
        let p = TcpProxy::start(target);
        let roundtrip = |c: &mut TcpStream| -> bool {
            c.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
            let mut b = [0u8; 2];
            c.write_all(b"hi").is_ok() && c.read_exact(&mut b).is_ok() && &b == b"hi"
        };
        let mut c = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        assert!(roundtrip(&mut c));
        p.cut();
        assert!(!roundtrip(&mut c), "an open connection is cut");
        let mut d = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        assert!(!roundtrip(&mut d), "a new connection is closed");
        p.restore();
        let mut e = TcpStream::connect(("127.0.0.1", p.port)).unwrap();
        assert!(roundtrip(&mut e));
        assert_eq!(
            p.url_for("postgres://postgres@127.0.0.1:5432/hp_x"),
            format!("postgres://postgres@127.0.0.1:{}/hp_x", p.port)
        );
    }
}
