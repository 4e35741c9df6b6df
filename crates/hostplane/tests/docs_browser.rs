//! `/docs` in a real browser without network access: Debian's headless `chromium`, driven by
//! its `chromedriver` over plain WebDriver HTTP, loads the API reference from a real
//! `hostplane serve`. Every request to anywhere but the server goes to a proxy that does not
//! exist, so a page that needed a CDN would fail. The test checks that Swagger UI renders one
//! block per operation of `/zstack/v1/openapi.json` (AddKVMHost among them, with its
//! parameters once opened), that every resource the page loaded came from the server, and that
//! the browser logged no error (a Content-Security-Policy violation would be one).

use std::net::TcpListener;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use hostplane_testkit::server::Server;
use reqwest::blocking::Client;
use serde_json::{json, Value};

const CHROMIUM: &str = "/usr/bin/chromium";
const CHROMEDRIVER: &str = "/usr/bin/chromedriver";

/// chromedriver and one headless session; both end on drop.
struct Browser {
    driver: Child,
    session: String,
    http: Client,
}

impl Browser {
    fn start() -> Browser {
        for bin in [CHROMIUM, CHROMEDRIVER] {
            assert!(
                Path::new(bin).exists(),
                "{bin} is missing: apt-get install chromium chromium-driver (.ci/run installs them)"
            );
        }
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
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
        while !http
            .get(format!("{url}/status"))
            .send()
            .ok()
            .and_then(|r| r.json::<Value>().ok())
            .is_some_and(|v| v["value"]["ready"] == true)
        {
            assert!(Instant::now() < deadline, "chromedriver did not start");
            std::thread::sleep(Duration::from_millis(50));
        }
        // No network: every host but the server's loopback address goes to a dead proxy, and
        // names do not resolve.
        let caps = json!({"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:loggingPrefs": {"browser": "ALL"},
            "goog:chromeOptions": {
                "binary": CHROMIUM,
                "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                         "--window-size=1280,900", "--no-first-run", "--disable-extensions",
                         "--disable-background-networking", "--disable-component-update",
                         "--disable-sync", "--no-default-browser-check",
                         "--proxy-server=http://127.0.0.1:9", "--proxy-bypass-list=127.0.0.1",
                         "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE 127.0.0.1"],
            },
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
            .unwrap_or_else(|| panic!("no session: {r}"));
        Browser {
            driver,
            session: format!("{url}/session/{session}"),
            http,
        }
    }

    fn post(&self, path: &str, body: Value) -> Value {
        let r: Value = self
            .http
            .post(format!("{}{path}", self.session))
            .json(&body)
            .send()
            .unwrap_or_else(|e| panic!("WebDriver {path}: {e}"))
            .json()
            .unwrap();
        assert!(r["value"].get("error").is_none(), "WebDriver {path}: {r}");
        r["value"].clone()
    }

    fn script(&self, js: &str) -> Value {
        self.post("/execute/sync", json!({"script": js, "args": []}))
    }

    /// Wait (bounded) until `js` returns something truthy; returns it.
    fn wait_for(&self, js: &str, what: &str) -> Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let v = self.script(js);
            if !(v.is_null() || v == false || v == 0) {
                return v;
            }
            assert!(Instant::now() < deadline, "{what}: not within 60 s");
            std::thread::sleep(Duration::from_millis(200));
        }
    }

    /// The browser's console log so far (chromedriver's log endpoint).
    fn console(&self) -> Vec<Value> {
        self.post("/se/log", json!({"type": "browser"}))
            .as_array()
            .cloned()
            .unwrap_or_default()
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        let _ = self.http.delete(&self.session).send();
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}

#[test]
fn docs_load_offline_in_headless_chromium() {
    let server = Server::start(
        Path::new(env!("CARGO_BIN_EXE_hostplane")),
        Default::default(),
    );
    let doc: Value = Client::new()
        .get(format!("{}/zstack/v1/openapi.json", server.base))
        .send()
        .unwrap()
        .json()
        .unwrap();
    let operations: usize = doc["paths"]
        .as_object()
        .unwrap()
        .values()
        .map(|item| item.as_object().unwrap().len())
        .sum();

    let b = Browser::start();
    b.post("/url", json!({"url": format!("{}/docs", server.base)}));
    let rendered = b.wait_for(
        &format!(
            "const n = document.querySelectorAll('.opblock').length; return n >= {operations} ? n : 0;"
        ),
        "Swagger UI rendering every operation",
    );
    assert_eq!(rendered, json!(operations));
    let title = b.script("return document.querySelector('.info .title')?.textContent || ''");
    assert!(title.as_str().unwrap().contains("hostplane"), "{title}");

    // AddKVMHost: its block, opened, lists its parameters' schema.
    b.script(
        "document.querySelector('[id^=\"operations-hosts-AddKVMHost\"] .opblock-summary-control').click(); return 1;",
    );
    let body = b.wait_for(
        "const o = document.querySelector('[id^=\"operations-hosts-AddKVMHost\"]'); \
         return o && o.textContent.includes('managementIp') ? o.textContent : '';",
        "AddKVMHost's parameters",
    );
    assert!(body.as_str().unwrap().contains("clusterUuid"), "{body}");

    // Everything came from the server, and nothing went wrong.
    let origins = b.script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);",
    );
    for url in origins.as_array().unwrap() {
        assert!(
            url.as_str().unwrap().starts_with(&server.base),
            "the page loaded {url} from elsewhere"
        );
    }
    let errors: Vec<Value> = b
        .console()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "browser console: {errors:#?}");
}
