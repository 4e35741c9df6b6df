//! Sessions: where the CLI keeps them, how it logs in, and how it logs in again.
//!
//! The session file is `$XDG_CONFIG_HOME/hostplane/session.json` (else
//! `~/.config/hostplane/session.json`), mode 0600 in a 0700 directory. Per server it holds
//! the account's name and uuid and the session uuid, plus which server was used last; **never
//! a password**. When the server answers ID.1001 (expired or unknown session) the call is made
//! again after a new login, with the password from `HOSTPLANE_PASSWORD` or, on a terminal, a
//! prompt; otherwise the user is told to run `hostplane login`.
//!
//! Passwords are read from stdin (`--password-stdin`), the environment or the terminal, kept
//! only as long as the login takes, and never printed, logged or written anywhere.

use std::collections::BTreeMap;
use std::fs;
use std::io::{BufRead, IsTerminal, Read, Write};
use std::os::unix::fs::{DirBuilderExt, OpenOptionsExt, PermissionsExt};
use std::path::PathBuf;

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::{normalize_server, ApiError, Client, ClientError, JobProgress, Request};
use super::Failure;

/// The server used when neither `--server`, `HOSTPLANE_SERVER` nor a login names one.
pub const DEFAULT_SERVER: &str = "http://127.0.0.1:8080";
/// The account password for non-interactive (re-)logins.
pub const PASSWORD_ENV: &str = "HOSTPLANE_PASSWORD";

/// One saved session.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "camelCase")]
pub struct Saved {
    pub account: String,
    /// The account's uuid (from the login's `accountUuid`), for `account passwd`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub account_uuid: Option<String>,
    pub session: String,
    /// The server's `expiredDate`, for display only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expired_date: Option<String>,
}

/// The session file.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct SessionFile {
    /// The server of the last login: the default for later commands.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub current: Option<String>,
    #[serde(default)]
    pub servers: BTreeMap<String, Saved>,
}

/// `$XDG_CONFIG_HOME/hostplane`, else `$HOME/.config/hostplane`.
pub fn config_dir() -> Result<PathBuf, Failure> {
    if let Some(x) = std::env::var_os("XDG_CONFIG_HOME").filter(|x| !x.is_empty()) {
        let p = PathBuf::from(x);
        if p.is_absolute() {
            return Ok(p.join("hostplane"));
        }
    }
    match std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        Some(h) => Ok(PathBuf::from(h).join(".config").join("hostplane")),
        None => Err(Failure::Other(
            "neither XDG_CONFIG_HOME nor HOME is set: nowhere to keep the session".into(),
        )),
    }
}

/// Create the config directory (0700) if needed.
pub fn ensure_config_dir() -> Result<PathBuf, Failure> {
    let dir = config_dir()?;
    if !dir.is_dir() {
        fs::DirBuilder::new()
            .recursive(true)
            .mode(0o700)
            .create(&dir)
            .map_err(|e| Failure::Other(format!("cannot create {}: {e}", dir.display())))?;
    }
    Ok(dir)
}

impl SessionFile {
    pub fn path() -> Result<PathBuf, Failure> {
        Ok(config_dir()?.join("session.json"))
    }

    /// The file, or an empty one if there is none (or it is unreadable: it is only a cache).
    pub fn load() -> SessionFile {
        Self::path()
            .ok()
            .and_then(|p| fs::read(p).ok())
            .and_then(|b| serde_json::from_slice(&b).ok())
            .unwrap_or_default()
    }

    /// Write it, mode 0600, atomically (a temporary file renamed over the old one).
    pub fn save(&self) -> Result<(), Failure> {
        let dir = ensure_config_dir()?;
        let path = dir.join("session.json");
        let tmp = dir.join(format!(".session.json.{}", std::process::id()));
        let fail =
            |e: std::io::Error| Failure::Other(format!("cannot write {}: {e}", path.display()));
        let _ = fs::remove_file(&tmp);
        let mut f = fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(&tmp)
            .map_err(fail)?;
        let text = serde_json::to_string_pretty(self).expect("serialisable");
        f.write_all(text.as_bytes()).map_err(fail)?;
        f.sync_all().map_err(fail)?;
        fs::set_permissions(&tmp, fs::Permissions::from_mode(0o600)).map_err(fail)?;
        fs::rename(&tmp, &path).map_err(fail)
    }
}

/// A read that failed; one cut short by Ctrl-C is [`Failure::Interrupted`] (the SIGINT handler
/// ends the process with its own words).
fn read_failure(what: &str, e: std::io::Error) -> Failure {
    if e.kind() == std::io::ErrorKind::Interrupted {
        Failure::Interrupted
    } else {
        Failure::Other(format!("reading {what}: {e}"))
    }
}

/// Whether a person is there to answer a prompt.
pub fn interactive() -> bool {
    std::io::stdin().is_terminal() && std::io::stderr().is_terminal()
}

/// One line of stdin without its line end (`--password-stdin`, `password=-`).
pub fn read_stdin_line(what: &str) -> Result<String, Failure> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| read_failure(&format!("{what} from stdin"), e))?;
    let line = line.strip_suffix('\n').unwrap_or(&line);
    let line = line.strip_suffix('\r').unwrap_or(line);
    if line.is_empty() {
        return Err(Failure::Usage(format!("no {what} on stdin")));
    }
    Ok(line.to_string())
}

/// All of stdin (`privateKey=-`).
pub fn read_stdin_all(what: &str) -> Result<String, Failure> {
    let mut s = String::new();
    std::io::stdin()
        .read_to_string(&mut s)
        .map_err(|e| read_failure(&format!("{what} from stdin"), e))?;
    if s.trim().is_empty() {
        return Err(Failure::Usage(format!("no {what} on stdin")));
    }
    Ok(s)
}

/// Ask on the terminal, without echo.
pub fn prompt_secret(prompt: &str) -> Result<String, Failure> {
    let s = rpassword::prompt_password(prompt).map_err(|e| read_failure("the password", e))?;
    if s.is_empty() {
        return Err(Failure::Usage("empty password".into()));
    }
    Ok(s)
}

/// Ask a yes/no question on the terminal (stderr, one line of stdin): yes only for `y`/`yes`.
pub fn ask_yes_no(question: &str) -> Result<bool, Failure> {
    eprint!("{question}");
    let _ = std::io::stderr().flush();
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .map_err(|e| read_failure("the answer", e))?;
    Ok(matches!(
        line.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

/// A secret from stdin (when asked to), else a prompt on a terminal; `how` says what to do
/// instead when there is no terminal.
pub fn read_secret(what: &str, from_stdin: bool, how: &str) -> Result<String, Failure> {
    if from_stdin {
        return read_stdin_line(what);
    }
    if interactive() {
        return prompt_secret(&format!("{what}: "));
    }
    Err(Failure::Usage(format!(
        "no {what}: there is no terminal to ask on; {how}"
    )))
}

/// A connection to one server with its saved session.
pub struct Conn {
    pub client: Client,
    pub server: String,
    saved: Option<Saved>,
}

impl Conn {
    /// `server`: from `--server` / `HOSTPLANE_SERVER`; else the last server logged in to;
    /// else [`DEFAULT_SERVER`].
    pub fn open(server: Option<&str>) -> Result<Conn, Failure> {
        let file = SessionFile::load();
        let server = match server.filter(|s| !s.trim().is_empty()) {
            Some(s) => normalize_server(s).map_err(Failure::Usage)?,
            None => file
                .current
                .clone()
                .unwrap_or_else(|| DEFAULT_SERVER.to_string()),
        };
        let saved = file.servers.get(&server).cloned();
        let mut client = Client::new(&server).map_err(Failure::Usage)?;
        client.session = saved.as_ref().map(|s| s.session.clone());
        Ok(Conn {
            client,
            server,
            saved,
        })
    }

    pub fn saved(&self) -> Option<&Saved> {
        self.saved.as_ref()
    }

    /// Log in and keep the session (and make this server the default).
    pub fn log_in(&mut self, account: &str, password: &str) -> Result<Value, Failure> {
        let (session, inv) = self.client.log_in(account, password)?;
        self.remember(account, &session, &inv)?;
        Ok(inv)
    }

    /// Keep a session obtained by a login.
    pub fn remember(&mut self, account: &str, session: &str, inv: &Value) -> Result<(), Failure> {
        let saved = Saved {
            account: account.to_string(),
            account_uuid: inv
                .get("accountUuid")
                .and_then(Value::as_str)
                .map(str::to_string),
            session: session.to_string(),
            expired_date: inv
                .get("expiredDate")
                .and_then(Value::as_str)
                .map(str::to_string),
        };
        let mut file = SessionFile::load();
        file.current = Some(self.server.clone());
        file.servers.insert(self.server.clone(), saved.clone());
        file.save()?;
        self.client.session = Some(saved.session.clone());
        self.saved = Some(saved);
        Ok(())
    }

    /// Log out on the server and forget the session.
    pub fn log_out(&mut self) -> Result<bool, Failure> {
        let Some(saved) = self.saved.take() else {
            return Ok(false);
        };
        self.client.log_out(&saved.session)?;
        let mut file = SessionFile::load();
        file.servers.remove(&self.server);
        file.save()?;
        self.client.session = None;
        Ok(true)
    }

    /// Make a call; log in again once if the session is missing or has expired.
    pub fn call(
        &mut self,
        req: &Request,
        progress: &mut dyn FnMut(JobProgress<'_>),
    ) -> Result<Value, Failure> {
        if req.needs_session && self.client.session.is_none() {
            self.relogin(None)?;
        }
        match self.client.call(req, progress) {
            Err(ClientError::Api(e)) if e.is_invalid_session() && req.needs_session => {
                self.relogin(Some(*e))?;
                Ok(self.client.call(req, progress)?)
            }
            other => Ok(other?),
        }
    }

    /// A new session for the saved account: the password from `HOSTPLANE_PASSWORD`, else a
    /// prompt on a terminal, else a clear error.
    fn relogin(&mut self, expired: Option<ApiError>) -> Result<(), Failure> {
        let Some(account) = self.saved.as_ref().map(|s| s.account.clone()) else {
            return Err(Failure::Other(format!(
                "not logged in to {}: run `hostplane login` first",
                self.server
            )));
        };
        let password = match std::env::var(PASSWORD_ENV) {
            Ok(p) if !p.is_empty() => p,
            _ if interactive() => {
                eprintln!("hostplane: the session on {} has expired.", self.server);
                prompt_secret(&format!("Password for {account}: "))?
            }
            _ => {
                let mut e = expired.unwrap_or_else(|| ApiError {
                    code: "ID.1001".into(),
                    description: "The session is invalid".into(),
                    details: "no session".into(),
                    cause: None,
                    opaque: Default::default(),
                });
                e.opaque.insert(
                    "hint".into(),
                    format!(
                        "the session of {account} on {} has expired: run `hostplane login` (or set {PASSWORD_ENV}) and try again",
                        self.server
                    )
                    .into(),
                );
                return Err(Failure::Api(Box::new(e)));
            }
        };
        self.log_in(&account, &password)?;
        eprintln!("hostplane: session expired; logged in again as {account}");
        Ok(())
    }
}
