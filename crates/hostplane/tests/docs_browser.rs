//! `/docs` in a real browser without network access: Debian's headless `chromium`, driven by
//! its `chromedriver` over plain WebDriver HTTP (`hostplane_testkit::webdriver`), loads the API
//! reference from a real `hostplane serve`. Every request to anywhere but the server goes to a
//! proxy that does not exist, so a page that needed a CDN would fail. The test checks that
//! Swagger UI renders one block per operation of `/zstack/v1/openapi.json` (AddKVMHost among
//! them, with its parameters once opened), that every resource the page loaded came from the
//! server, and that the browser logged no error (a Content-Security-Policy violation would be
//! one).

use std::path::Path;
use std::time::Duration;

use hostplane_testkit::server::Server;
use hostplane_testkit::webdriver::Browser;
use reqwest::blocking::Client;
use serde_json::{json, Value};

const WITHIN: Duration = Duration::from_secs(60);

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

    let b = Browser::start_offline();
    b.goto(&format!("{}/docs", server.base));
    let rendered = b.wait_script(
        &format!(
            "const n = document.querySelectorAll('.opblock').length; return n >= {operations} ? n : 0;"
        ),
        "Swagger UI rendering every operation",
        WITHIN,
    );
    assert_eq!(rendered, json!(operations));
    let title = b.script(
        "return document.querySelector('.info .title')?.textContent || ''",
        json!([]),
    );
    assert!(title.as_str().unwrap().contains("hostplane"), "{title}");

    // AddKVMHost: its block, opened, lists its parameters' schema.
    b.script(
        "document.querySelector('[id^=\"operations-hosts-AddKVMHost\"] .opblock-summary-control').click(); return 1;",
        json!([]),
    );
    let body = b.wait_script(
        "const o = document.querySelector('[id^=\"operations-hosts-AddKVMHost\"]'); \
         return o && o.textContent.includes('managementIp') ? o.textContent : '';",
        "AddKVMHost's parameters",
        WITHIN,
    );
    assert!(body.as_str().unwrap().contains("clusterUuid"), "{body}");

    // Everything came from the server, and nothing went wrong.
    let origins = b.script(
        "return performance.getEntriesByType('resource').map(e => e.name).concat([location.href]);",
        json!([]),
    );
    for url in origins.as_array().unwrap() {
        assert!(
            url.as_str().unwrap().starts_with(&server.base),
            "the page loaded {url} from elsewhere"
        );
    }
    let errors: Vec<Value> = b
        .log()
        .into_iter()
        .filter(|e| e["level"] == "SEVERE" || e["level"] == "WARNING")
        .collect();
    assert!(errors.is_empty(), "browser console: {errors:#?}");
}
