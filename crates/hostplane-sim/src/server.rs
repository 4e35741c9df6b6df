//! The SSH side: one listener task per host and one russh server session per connection.
//!
//! A host's listener follows its faults: `down` closes the port (and cuts open connections),
//! coming back up binds it again. A new connection to a hanging host gets no SSH banner; on a
//! dropping host the connection ends when a command is requested. Commands are answered in the
//! handler when the host is healthy, or from a task of their own when it is slow or hung, so one
//! slow channel never blocks the connection's others.

use std::sync::Arc;
use std::time::Duration;

use russh::keys::PublicKey;
use russh::server::{self, Auth, ChannelOpenHandle, Msg, Session};
use russh::{Channel, ChannelId, MethodKind, MethodSet};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};

use crate::host::{bind_std, Conn as HeldConn, SimHost};
use crate::shell::Output;

/// The longest a hung connection or command is held before the simulator lets it go.
const HANG_BOUND: Duration = Duration::from_secs(600);

/// Accept connections for `host` until the task is aborted, following its `down` fault.
pub(crate) async fn run_listener(host: Arc<SimHost>, first: Option<TcpListener>) {
    let mut changes = host.subscribe();
    let mut listener: Option<Arc<TcpListener>> = first.map(Arc::new);
    host.set_listener(listener.clone());
    loop {
        changes.borrow_and_update();
        if host.faults().down {
            listener = None;
        } else if let Some(l) = host.take_new_listener() {
            listener = TcpListener::from_std(l).ok().map(Arc::new);
            host.set_listener(listener.clone());
        } else if listener.is_none() {
            match bind_std(host.ip, host.port).and_then(TcpListener::from_std) {
                Ok(l) => {
                    listener = Some(Arc::new(l));
                    host.set_listener(listener.clone());
                }
                Err(e) => {
                    tracing::warn!(host = %host.address(), error = %e, "cannot listen again; retrying");
                    tokio::select! {
                        _ = tokio::time::sleep(Duration::from_secs(1)) => {}
                        r = changes.changed() => if r.is_err() { return },
                    }
                    continue;
                }
            }
        }
        match listener.clone() {
            None => {
                if changes.changed().await.is_err() {
                    return;
                }
            }
            Some(l) => {
                tokio::select! {
                    r = l.accept() => match r {
                        Ok((sock, peer)) => {
                            host.counters.accepted.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                            host.saw(peer.ip(), false);
                            let _ = sock.set_nodelay(true);
                            tokio::spawn(serve(host.clone(), sock));
                        }
                        Err(e) => {
                            if !host.faults().down {
                                // Out of descriptors, most likely: let others finish.
                                tracing::warn!(host = %host.address(), error = %e, "accept failed");
                            }
                            tokio::time::sleep(Duration::from_millis(50)).await;
                        }
                    },
                    r = changes.changed() => if r.is_err() { return },
                }
            }
        }
    }
}

/// One connection, from accept to close.
async fn serve(host: Arc<SimHost>, mut sock: TcpStream) {
    if host.faults().hang {
        // A hung host: TCP works, SSH never says a word. Read and discard until the client gives
        // up, a fault change cuts the connection, or the bound passes.
        let release = Arc::new(tokio::sync::Notify::new());
        let id = host.register(HeldConn::Held(release.clone()));
        let mut buf = [0u8; 1024];
        let _ = tokio::time::timeout(HANG_BOUND, async {
            loop {
                tokio::select! {
                    r = sock.read(&mut buf) => match r {
                        Ok(n) if n > 0 => {}
                        _ => break,
                    },
                    _ = release.notified() => break,
                }
            }
        })
        .await;
        host.unregister(id);
        return;
    }
    let peer = sock.peer_addr().map(|a| a.ip()).ok();
    let handler = Conn {
        host: host.clone(),
        peer,
    };
    let Ok(session) = server::run_stream(host.server_config(), sock, handler).await else {
        return;
    };
    let handle = session.handle();
    let id = host.register(crate::host::Conn::Session(handle.clone()));
    // The host went down while the session started.
    if host.faults().down {
        let _ = handle
            .disconnect(
                russh::Disconnect::ByApplication,
                String::new(),
                String::new(),
            )
            .await;
    }
    let _ = session.await;
    host.unregister(id);
}

/// The russh handler of one connection.
struct Conn {
    host: Arc<SimHost>,
    /// The client's address, for the per-address counts.
    peer: Option<std::net::IpAddr>,
}

impl Conn {
    async fn slow(&self) {
        let ms = self.host.faults().slow_ms;
        if ms > 0 {
            tokio::time::sleep(Duration::from_millis(ms)).await;
        }
    }

    fn reject(&self) -> Auth {
        self.host
            .counters
            .rejected_logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut methods = MethodSet::empty();
        methods.push(MethodKind::Password);
        Auth::Reject {
            proceed_with_methods: Some(methods),
            partial_success: false,
        }
    }

    fn accept(&self) -> Auth {
        self.host
            .counters
            .logins
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if let Some(peer) = self.peer {
            self.host.saw(peer, true);
        }
        Auth::Accept
    }
}

impl server::Handler for Conn {
    type Error = russh::Error;

    async fn auth_password(&mut self, user: &str, password: &str) -> Result<Auth, Self::Error> {
        self.slow().await;
        Ok(if self.host.check_password(user, password) {
            self.accept()
        } else {
            self.reject()
        })
    }

    async fn auth_publickey_offered(
        &mut self,
        user: &str,
        offer: server::PublicKeyOffer<'_>,
    ) -> Result<Auth, Self::Error> {
        Ok(if self.host.check_key(user, offer.public_key) {
            Auth::Accept
        } else {
            self.reject()
        })
    }

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: server::VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        self.slow().await;
        let key: &PublicKey = key.public_key;
        Ok(if self.host.check_key(user, key) {
            self.accept()
        } else {
            self.reject()
        })
    }

    async fn channel_open_session(
        &mut self,
        _channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply.accept().await;
        Ok(())
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let faults = self.host.faults();
        if faults.drop {
            // Ending the handler with an error ends the connection.
            return Err(russh::Error::Disconnect);
        }
        session.channel_success(channel)?;
        let cmd = String::from_utf8_lossy(data).into_owned();
        if !faults.hang && faults.slow_ms == 0 {
            let out = self.host.run(&cmd);
            if !out.stdout.is_empty() {
                session.data(channel, out.stdout.into_bytes())?;
            }
            if !out.stderr.is_empty() {
                session.extended_data(channel, 1, out.stderr.into_bytes())?;
            }
            session.exit_status_request(channel, out.status)?;
            session.eof(channel)?;
            session.close(channel)?;
            return Ok(());
        }
        let handle = session.handle();
        let host = self.host.clone();
        tokio::spawn(async move {
            host.wait_while_hung(HANG_BOUND).await;
            let ms = host.faults().slow_ms;
            if ms > 0 {
                tokio::time::sleep(Duration::from_millis(ms)).await;
            }
            let out: Output = host.run(&cmd);
            if !out.stdout.is_empty()
                && handle.data(channel, out.stdout.into_bytes()).await.is_err()
            {
                return;
            }
            if !out.stderr.is_empty() {
                let _ = handle
                    .extended_data(channel, 1, out.stderr.into_bytes())
                    .await;
            }
            let _ = handle.exit_status_request(channel, out.status).await;
            let _ = handle.eof(channel).await;
            let _ = handle.close(channel).await;
        });
        Ok(())
    }
}
