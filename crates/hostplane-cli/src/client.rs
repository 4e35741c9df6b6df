//! The HTTP side of the CLI: one REST call to a hostplane (or ZStack) server, with job polling.
//!
//! A synchronous API answers 200 (result) or 503 (`{"error": ErrorCode}`). An asynchronous one
//! answers 202 `{"location", "apiTimeout"}`; the job is then polled (`GET location`: 202 while
//! running, with the current step in the `X-Job-Step` header when the server knows it; 200
//! with the result; 503 with the error) until it ends or its timeout passes.
//! Protocol errors (400/404/405) come back as plain text.
//!
//! This module never reads the terminal, never prints, never decides an exit code, and never
//! keeps a password: [`Client::log_in`] hashes the password it is handed (ZStack clients send
//! the SHA-512 hex digest) and drops it.

use std::time::{Duration, Instant};

use reqwest::blocking::Client as Http;
use reqwest::Method;
use serde_json::{json, Map, Value};

/// One REST call, as built by [`super::apis`].
#[derive(Debug, Clone)]
pub struct Request {
    /// The API's name (for messages and the spinner).
    pub api: &'static str,
    pub method: Method,
    /// The path after `/zstack/v1`, variables filled in and escaped.
    pub path: String,
    pub query: Vec<(String, String)>,
    pub body: Option<Value>,
    pub needs_session: bool,
}

/// ZStack's `ErrorCode`, as the server sent it.
#[derive(Debug, Clone, PartialEq)]
pub struct ApiError {
    pub code: String,
    pub description: String,
    pub details: String,
    pub cause: Option<Box<ApiError>>,
    /// Machine-readable extras: `step`, `hint`, `reason`, ...
    pub opaque: Map<String, Value>,
}

impl ApiError {
    pub fn from_json(v: &Value) -> ApiError {
        let s = |k: &str| {
            v.get(k)
                .and_then(Value::as_str)
                .unwrap_or_default()
                .to_string()
        };
        ApiError {
            code: s("code"),
            description: s("description"),
            details: s("details"),
            cause: v
                .get("cause")
                .filter(|c| c.is_object())
                .map(|c| Box::new(ApiError::from_json(c))),
            opaque: v
                .get("opaque")
                .and_then(Value::as_object)
                .cloned()
                .unwrap_or_default(),
        }
    }

    /// A string from `opaque` (`step`, `hint`, ...), looked up down the cause chain.
    pub fn opaque_str(&self, key: &str) -> Option<&str> {
        let mut e = Some(self);
        while let Some(x) = e {
            if let Some(s) = x.opaque.get(key).and_then(Value::as_str) {
                return Some(s);
            }
            e = x.cause.as_deref();
        }
        None
    }

    /// ID.1001: the session is missing, unknown or expired.
    pub fn is_invalid_session(&self) -> bool {
        self.code == "ID.1001"
    }
}

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ClientError {
    /// The API failed: HTTP 503 with an ErrorCode.
    Api(Box<ApiError>),
    /// A protocol error: any other status, with the server's text.
    Http { status: u16, text: String },
    /// The server could not be reached, or answered something unreadable, or the job ran
    /// past its timeout.
    Transport(String),
}

/// What a running job looks like to the caller's progress display.
#[derive(Debug, Clone)]
pub struct JobProgress<'a> {
    pub api: &'a str,
    pub elapsed: Duration,
    /// The current step, when the server reports one in its 202 answer.
    pub step: Option<String>,
    /// The job's uuid (the last part of its location).
    pub job: Option<&'a str>,
}

/// The job uuid of a location (`http://mn:8080/zstack/v1/api-jobs/<uuid>`), or the text itself
/// when it is no location (a bare uuid).
pub fn job_id(location: &str) -> &str {
    location
        .rsplit_once("/api-jobs/")
        .map(|(_, id)| id)
        .unwrap_or(location)
        .trim_matches('/')
}

/// A client of one server.
pub struct Client {
    http: Http,
    /// `http://host:port`, without `/zstack` or a trailing slash.
    pub base: String,
    /// The session uuid sent as `Authorization: OAuth <uuid>`.
    pub session: Option<String>,
}

/// `host:port`, `http://host:port/`, `http://host:port/zstack` → `http://host:port`.
pub fn normalize_server(url: &str) -> Result<String, String> {
    let mut s = url.trim().trim_end_matches('/').to_string();
    if s.is_empty() {
        return Err("the server URL is empty".into());
    }
    if !s.contains("://") {
        s = format!("http://{s}");
    }
    if let Some(stripped) = s.strip_suffix("/zstack") {
        s = stripped.to_string();
    }
    let parsed =
        reqwest::Url::parse(&s).map_err(|e| format!("`{url}` is not a server URL: {e}"))?;
    if parsed.scheme() != "http" && parsed.scheme() != "https" {
        return Err(format!("`{url}` is not an http:// URL"));
    }
    Ok(s.trim_end_matches('/').to_string())
}

/// Lower-case hex SHA-512: what ZStack clients send as the password.
pub fn password_digest(password: &str) -> String {
    use sha2::Digest;
    hex::encode(sha2::Sha512::digest(password.as_bytes()))
}

impl Client {
    pub fn new(base: &str) -> Result<Client, String> {
        Self::with_timeout(base, Duration::from_secs(120))
    }

    /// A client whose every request gives up after `timeout` (completion's name fetches).
    pub fn with_timeout(base: &str, timeout: Duration) -> Result<Client, String> {
        let http = Http::builder()
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("cannot build the HTTP client: {e}"))?;
        Ok(Client {
            http,
            base: normalize_server(base)?,
            session: None,
        })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/zstack/v1{path}", self.base)
    }

    /// Make the call; for an asynchronous API, poll its job to the end, telling `progress`
    /// about every poll.
    pub fn call(
        &self,
        req: &Request,
        progress: &mut dyn FnMut(JobProgress<'_>),
    ) -> Result<Value, ClientError> {
        let mut r = self.http.request(req.method.clone(), self.url(&req.path));
        if !req.query.is_empty() {
            r = r.query(&req.query);
        }
        if req.needs_session {
            if let Some(s) = &self.session {
                r = r.header("Authorization", format!("OAuth {s}"));
            }
        }
        if let Some(b) = &req.body {
            r = r
                .header("Content-Type", "application/json;charset=UTF-8")
                .body(b.to_string());
        }
        let started = Instant::now();
        let (status, body, _) = self.send(r)?;
        match status {
            200 => Ok(body),
            202 => {
                let location = body
                    .get("location")
                    .and_then(Value::as_str)
                    .ok_or_else(|| {
                        ClientError::Transport(format!("202 without a job location: {body}"))
                    })?;
                let timeout = body
                    .get("apiTimeout")
                    .and_then(Value::as_u64)
                    .map(Duration::from_millis)
                    .unwrap_or(Duration::from_secs(3 * 3600));
                self.poll(req.api, location, timeout, started, progress)
            }
            _ => Err(error_of(status, body)),
        }
    }

    /// Poll a job until it ends: 50 ms at first, then less and less often, at most 1 s apart.
    fn poll(
        &self,
        api: &str,
        location: &str,
        timeout: Duration,
        started: Instant,
        progress: &mut dyn FnMut(JobProgress<'_>),
    ) -> Result<Value, ClientError> {
        // Follow the job on the server we talk to, whatever host name the location carries.
        let url = match location.find("/v1/api-jobs/") {
            Some(i) => format!("{}/zstack{}", self.base, &location[i..]),
            None => location.to_string(),
        };
        let id = job_id(location);
        let deadline = started + timeout + Duration::from_secs(30);
        let mut wait = Duration::from_millis(50);
        let mut step = None;
        loop {
            progress(JobProgress {
                api,
                elapsed: started.elapsed(),
                step: step.clone(),
                job: Some(id),
            });
            std::thread::sleep(wait);
            wait = (wait * 2).min(Duration::from_secs(1));
            let (status, body, job_step) = self.send(self.http.get(&url))?;
            match status {
                202 => step = job_step.or(step),
                200 => return Ok(body),
                _ => return Err(error_of(status, body)),
            }
            if Instant::now() > deadline {
                return Err(ClientError::Transport(format!(
                    "{api} is still running after {} s (its timeout); the job is {url}",
                    timeout.as_secs()
                )));
            }
        }
    }

    /// Follow a job by its uuid (or location) until it ends: what `hostplane job` does after
    /// a command was interrupted while its job ran.
    pub fn follow(
        &self,
        job: &str,
        progress: &mut dyn FnMut(JobProgress<'_>),
    ) -> Result<Value, ClientError> {
        let location = format!("{}/zstack/v1/api-jobs/{}", self.base, job_id(job));
        self.poll(
            "job",
            &location,
            Duration::from_secs(3 * 3600),
            Instant::now(),
            progress,
        )
    }

    /// Send and read the answer: its status, its body (JSON, or the text as a JSON string)
    /// and the step a running job reports (hostplane's `X-Job-Step` header).
    fn send(
        &self,
        r: reqwest::blocking::RequestBuilder,
    ) -> Result<(u16, Value, Option<String>), ClientError> {
        let resp = r.send().map_err(|e| {
            ClientError::Transport(if e.is_connect() {
                format!(
                    "cannot connect ({}): is `hostplane serve` running there? Another server: \
                     --server URL (or HOSTPLANE_SERVER)",
                    self.base
                )
            } else if e.is_timeout() {
                format!("no answer in time ({})", self.base)
            } else {
                format!("{e} ({})", self.base)
            })
        })?;
        let status = resp.status().as_u16();
        let step = resp
            .headers()
            .get("x-job-step")
            .and_then(|v| v.to_str().ok())
            .map(str::to_string);
        let text = resp
            .text()
            .map_err(|e| ClientError::Transport(format!("reading the answer: {e}")))?;
        let body = serde_json::from_str(&text).unwrap_or(Value::String(text));
        Ok((status, body, step))
    }

    /// `LogInByAccount`: the session uuid and its inventory.
    pub fn log_in(&self, account: &str, password: &str) -> Result<(String, Value), ClientError> {
        let req = Request {
            api: "LogInByAccount",
            method: Method::PUT,
            path: "/accounts/login".into(),
            query: vec![],
            body: Some(json!({"logInByAccount": {
                "accountName": account,
                "password": password_digest(password),
            }})),
            needs_session: false,
        };
        let body = self.call(&req, &mut |_| {})?;
        let inv = body.get("inventory").cloned().unwrap_or(Value::Null);
        match inv.get("uuid").and_then(Value::as_str) {
            Some(u) => Ok((u.to_string(), inv)),
            None => Err(ClientError::Transport(format!(
                "the login answer has no session: {body}"
            ))),
        }
    }

    /// `LogOut` (always succeeds on the server).
    pub fn log_out(&self, session: &str) -> Result<(), ClientError> {
        let req = Request {
            api: "LogOut",
            method: Method::DELETE,
            path: format!("/accounts/sessions/{session}"),
            query: vec![],
            body: None,
            needs_session: false,
        };
        self.call(&req, &mut |_| {}).map(|_| ())
    }
}

fn error_of(status: u16, body: Value) -> ClientError {
    match body.get("error") {
        Some(e) if e.is_object() => ClientError::Api(Box::new(ApiError::from_json(e))),
        _ => ClientError::Http {
            status,
            text: match body {
                Value::String(s) => s,
                other => other.to_string(),
            },
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn server_urls() {
        assert_eq!(
            normalize_server("127.0.0.1:8080").unwrap(),
            "http://127.0.0.1:8080"
        );
        assert_eq!(
            normalize_server("http://mn:8080/zstack/").unwrap(),
            "http://mn:8080"
        );
        assert!(normalize_server("ftp://x").is_err());
        assert!(normalize_server(" ").is_err());
    }

    #[test]
    fn errors_and_opaque() {
        let e = ApiError::from_json(&json!({
            "code": "HOST.1003", "description": "d", "details": "x",
            "cause": {"code": "SYS.1006", "description": "d2", "details": "y",
                      "opaque": {"step": "ssh-login", "hint": "check the password"}}
        }));
        assert_eq!(e.opaque_str("hint"), Some("check the password"));
        assert_eq!(e.cause.as_ref().unwrap().code, "SYS.1006");
        assert!(!e.is_invalid_session());
        assert_eq!(
            error_of(400, Value::String("bad".into())),
            ClientError::Http {
                status: 400,
                text: "bad".into()
            }
        );
        assert_eq!(password_digest("password").len(), 128);
    }
}
