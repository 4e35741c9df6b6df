//! Just enough of the W3C WebDriver protocol to drive Debian's `chromium` through its
//! `chromedriver`: a session with a 1280×800 headless window (optionally with no network but
//! loopback), navigation, finding elements by CSS, clicks, typing, reading text and
//! attributes, running a script, the browser's log, and PNG screenshots. Plain HTTP + JSON with
//! reqwest, so the tests need no WebDriver crate. The console's tests and the `/docs` test
//! both use it.

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::blocking::Client;
use serde_json::{json, Value};

pub const CHROMIUM: &str = "/usr/bin/chromium";
pub const CHROMEDRIVER: &str = "/usr/bin/chromedriver";
const ELEMENT_KEY: &str = "element-6066-11e4-a52e-4f735466cecf";

/// A chromedriver process and one browser session; both end on drop.
pub struct Browser {
    driver: Child,
    base: String,
    http: Client,
}

/// An element found on the page.
#[derive(Clone, Debug)]
pub struct El(String);

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

impl Browser {
    /// Start chromedriver and a headless Chromium with a 1280×800 window. Fails (never skips)
    /// when either is missing.
    pub fn start() -> Browser {
        Browser::start_with(&[])
    }

    /// [`Browser::start`] with no network but 127.0.0.1: every other host goes to a proxy that
    /// does not exist and names do not resolve, so a page that needs a CDN fails.
    pub fn start_offline() -> Browser {
        Browser::start_with(&[
            "--proxy-server=http://127.0.0.1:9",
            "--proxy-bypass-list=127.0.0.1",
            "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--no-default-browser-check",
        ])
    }

    fn start_with(extra_args: &[&str]) -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: the console tests need a real browser (apt-get install chromium chromium-driver; .ci/run installs them)"
            );
        }
        let port = free_port();
        let driver = Command::new(CHROMEDRIVER)
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start chromedriver");
        let http = Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .unwrap();
        let url = format!("http://127.0.0.1:{port}");
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Ok(r) = http.get(format!("{url}/status")).send() {
                if r.json::<Value>()
                    .ok()
                    .and_then(|v| v["value"]["ready"].as_bool())
                    == Some(true)
                {
                    break;
                }
            }
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        let mut args = vec![
            "--headless=new",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--window-size=1280,800",
            "--hide-scrollbars",
            "--force-color-profile=srgb",
            "--disable-extensions",
            "--no-first-run",
            "--lang=en-US",
        ];
        args.extend_from_slice(extra_args);
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {"binary": CHROMIUM, "args": args},
        }}});
        let r: Value = http
            .post(format!("{url}/session"))
            .json(&caps)
            .send()
            .expect("new WebDriver session")
            .json()
            .unwrap();
        let session = r["value"]["sessionId"]
            .as_str()
            .unwrap_or_else(|| panic!("no session: {r}"))
            .to_string();
        let b = Browser {
            driver,
            base: format!("{url}/session/{session}"),
            http,
        };
        b.cmd(
            "POST",
            "/window/rect",
            json!({"width": 1280, "height": 800, "x": 0, "y": 0}),
        );
        b
    }

    fn cmd(&self, method: &str, path: &str, body: Value) -> Value {
        self.try_cmd(method, path, body)
            .unwrap_or_else(|e| panic!("WebDriver {method} {path}: {e}"))
    }

    fn try_cmd(&self, method: &str, path: &str, body: Value) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        let req = match method {
            "GET" => self.http.get(url),
            "DELETE" => self.http.delete(url),
            _ => self.http.post(url).json(&body),
        };
        let r: Value = req
            .send()
            .map_err(|e| e.to_string())?
            .json()
            .map_err(|e| e.to_string())?;
        let v = r["value"].clone();
        if let Some(err) = v.get("error").and_then(Value::as_str) {
            return Err(format!(
                "{err}: {}",
                v["message"].as_str().unwrap_or_default()
            ));
        }
        Ok(v)
    }

    pub fn goto(&self, url: &str) {
        self.cmd("POST", "/url", json!({ "url": url }));
    }

    pub fn find_all(&self, css: &str) -> Vec<El> {
        self.try_cmd(
            "POST",
            "/elements",
            json!({"using": "css selector", "value": css}),
        )
        .ok()
        .and_then(|v| v.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e[ELEMENT_KEY].as_str().map(|s| El(s.to_string())))
        .collect()
    }

    pub fn try_find(&self, css: &str) -> Option<El> {
        self.find_all(css).into_iter().next()
    }

    /// Wait (up to `within`) for an element matching `css`.
    pub fn wait(&self, css: &str, within: Duration) -> El {
        let deadline = Instant::now() + within;
        loop {
            if let Some(e) = self.try_find(css) {
                return e;
            }
            assert!(
                Instant::now() < deadline,
                "no element {css} within {within:?}; page text:\n{}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait for the text of `css` to satisfy `ok`; returns it.
    pub fn wait_text(&self, css: &str, within: Duration, ok: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + within;
        let mut last = String::new();
        loop {
            if let Some(e) = self.try_find(css) {
                if let Some(t) = self.try_text(&e) {
                    if ok(&t) {
                        return t;
                    }
                    last = t;
                }
            }
            assert!(
                Instant::now() < deadline,
                "{css} never showed the expected text within {within:?} (last: {last:?}); page text:\n{}",
                self.page_text()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Wait until no element matches `css`.
    pub fn wait_gone(&self, css: &str, within: Duration) {
        let deadline = Instant::now() + within;
        while self.try_find(css).is_some() {
            assert!(
                Instant::now() < deadline,
                "{css} still there after {within:?}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Click the element matching `css`, waiting for it to be there and enabled (and retrying
    /// while the page re-renders under the click).
    pub fn click_css(&self, css: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        loop {
            let e = self.wait(css, Duration::from_secs(10));
            // A disabled button takes the click and does nothing: wait until it is enabled.
            let enabled = self
                .try_cmd("GET", &format!("/element/{}/enabled", e.0), Value::Null)
                .ok()
                .and_then(|v| v.as_bool())
                .unwrap_or(false);
            if !enabled {
                assert!(Instant::now() < deadline, "{css} stayed disabled");
                std::thread::sleep(Duration::from_millis(50));
                continue;
            }
            match self.try_cmd("POST", &format!("/element/{}/click", e.0), json!({})) {
                Ok(_) => return,
                Err(_) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(100));
                }
                Err(err) => panic!("click {css}: {err}"),
            }
        }
    }

    pub fn type_into(&self, e: &El, text: &str) {
        self.cmd(
            "POST",
            &format!("/element/{}/value", e.0),
            json!({ "text": text }),
        );
    }

    /// Replace the value of the input matching `css` as a person does: select all, type.
    /// (WebDriver's clear fires no input event, so a page that re-renders could put the old
    /// value back.)
    pub fn fill(&self, css: &str, text: &str) {
        let e = self.wait(css, Duration::from_secs(10));
        self.type_into(&e, &format!("\u{E009}a\u{E000}\u{E017}{text}"));
    }

    pub fn text(&self, e: &El) -> String {
        self.try_text(e).unwrap_or_default()
    }

    fn try_text(&self, e: &El) -> Option<String> {
        self.try_cmd("GET", &format!("/element/{}/text", e.0), Value::Null)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
    }

    /// The visible text of `css`, once it has some (an element still hidden, e.g. in a dialog
    /// that is opening, reads as empty).
    pub fn text_of(&self, css: &str) -> String {
        self.wait_text(css, Duration::from_secs(10), |t| !t.is_empty())
    }

    pub fn attr(&self, e: &El, name: &str) -> Option<String> {
        self.try_cmd(
            "GET",
            &format!("/element/{}/attribute/{name}", e.0),
            Value::Null,
        )
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
    }

    /// Choose the option with `value` in the `<select>` matching `css`.
    pub fn select(&self, css: &str, value: &str) {
        self.click_css(&format!("{css} option[value=\"{value}\"]"));
    }

    /// Run a script in the page; `arguments` are the args.
    pub fn script(&self, js: &str, args: Value) -> Value {
        self.cmd("POST", "/execute/sync", json!({"script": js, "args": args}))
    }

    /// Run an async script: it ends by calling `arguments[arguments.length - 1](value)`.
    pub fn script_async(&self, js: &str, args: Value) -> Value {
        self.cmd(
            "POST",
            "/execute/async",
            json!({"script": js, "args": args}),
        )
    }

    pub fn page_text(&self) -> String {
        self.try_find("body")
            .and_then(|b| self.try_text(&b))
            .unwrap_or_default()
    }

    /// Press a key (e.g. "\u{E00C}" Escape) in the focused element.
    pub fn key(&self, key: &str) {
        let actions = json!({"actions": [{"type": "key", "id": "kb", "actions": [
            {"type": "keyDown", "value": key}, {"type": "keyUp", "value": key}]}]});
        self.cmd("POST", "/actions", actions);
    }

    /// The browser's log since the last call (chromedriver's log endpoint): entries with
    /// `level` and `message`.
    pub fn log(&self) -> Vec<Value> {
        self.try_cmd("POST", "/se/log", json!({"type": "browser"}))
            .ok()
            .and_then(|v| v.as_array().cloned())
            .unwrap_or_default()
    }

    /// Script errors and Content-Security-Policy violations the page logged since the last
    /// call (failed HTTP answers are not counted, the console shows those itself).
    pub fn page_errors(&self) -> Vec<String> {
        self.log()
            .iter()
            .filter_map(|e| e["message"].as_str().map(str::to_string))
            .filter(|m| {
                m.contains("Uncaught")
                    || m.contains("Content Security Policy")
                    || m.contains("SyntaxError")
                    || m.contains("TypeError")
            })
            .collect()
    }

    /// Wait (bounded) until `js` returns something truthy; returns it.
    pub fn wait_script(&self, js: &str, what: &str, within: Duration) -> Value {
        let deadline = Instant::now() + within;
        loop {
            let v = self.script(js, json!([]));
            if !(v.is_null() || v == false || v == 0 || v == "") {
                return v;
            }
            assert!(Instant::now() < deadline, "{what}: not within {within:?}");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// Emulate the system's colour scheme (`"dark"` or `"light"`) through the DevTools protocol.
    pub fn color_scheme(&self, scheme: &str) {
        self.cmd(
            "POST",
            "/goog/cdp/execute",
            json!({"cmd": "Emulation.setEmulatedMedia",
                   "params": {"features": [{"name": "prefers-color-scheme", "value": scheme}]}}),
        );
    }

    /// A PNG of the viewport.
    pub fn screenshot_png(&self) -> Vec<u8> {
        let v = self.cmd("GET", "/screenshot", Value::Null);
        base64::engine::general_purpose::STANDARD
            .decode(v.as_str().expect("base64 screenshot"))
            .expect("decode screenshot")
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.base).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
