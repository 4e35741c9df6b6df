//! A small async ZStack REST client: log in, submit async APIs and poll their jobs, query.

use std::time::{Duration, Instant};

use anyhow::{bail, Context};
use reqwest::Method;
use serde_json::{json, Value};
use sha2::Digest;

#[derive(Clone)]
pub struct Api {
    pub base: String,
    pub session: String,
    pub http: reqwest::Client,
}

impl Api {
    pub fn client() -> reqwest::Client {
        reqwest::Client::builder()
            .timeout(Duration::from_secs(120))
            .pool_max_idle_per_host(256)
            .build()
            .expect("http client")
    }

    pub async fn login(base: &str) -> anyhow::Result<Api> {
        let http = Self::client();
        let pw = hex::encode(sha2::Sha512::digest(b"password"));
        let r: Value = http
            .put(format!("{base}/zstack/v1/accounts/login"))
            .json(&json!({"logInByAccount": {"accountName": "admin", "password": pw}}))
            .send()
            .await?
            .json()
            .await?;
        let session = r["inventory"]["uuid"]
            .as_str()
            .with_context(|| format!("login failed: {r}"))?
            .to_string();
        Ok(Api {
            base: base.to_string(),
            session,
            http,
        })
    }

    /// A request to `/zstack/v1{path}`: (status, body).
    pub async fn req(
        &self,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> anyhow::Result<(u16, Value)> {
        let mut r = self
            .http
            .request(method, format!("{}/zstack/v1{path}", self.base))
            .header("Authorization", format!("OAuth {}", self.session));
        if let Some(b) = body {
            r = r.json(&b);
        }
        let resp = r.send().await?;
        let status = resp.status().as_u16();
        let text = resp.text().await?;
        Ok((
            status,
            serde_json::from_str(&text).unwrap_or(Value::String(text)),
        ))
    }

    /// Submit an async API; the job's location.
    pub async fn submit(&self, method: Method, path: &str, body: Value) -> anyhow::Result<String> {
        let (status, b) = self.req(method, path, Some(body)).await?;
        if status != 202 {
            bail!("{path}: expected 202, got {status}: {b}");
        }
        Ok(b["location"].as_str().context("no location")?.to_string())
    }

    /// Poll a job every `every` until it is done (bounded by `within`).
    pub async fn wait(
        &self,
        location: &str,
        every: Duration,
        within: Duration,
    ) -> anyhow::Result<Value> {
        let deadline = Instant::now() + within;
        loop {
            let resp = self
                .http
                .get(location)
                .header("Authorization", format!("OAuth {}", self.session))
                .send()
                .await?;
            if resp.status().as_u16() != 202 {
                return Ok(resp.json().await?);
            }
            if Instant::now() > deadline {
                bail!("job {location} still running after {within:?}");
            }
            tokio::time::sleep(every).await;
        }
    }

    pub async fn call(&self, method: Method, path: &str, body: Value) -> anyhow::Result<Value> {
        let loc = self.submit(method, path, body).await?;
        let r = self
            .wait(&loc, Duration::from_millis(20), Duration::from_secs(120))
            .await?;
        if let Some(e) = r.get("error") {
            bail!("{path} failed: {e}");
        }
        Ok(r)
    }

    pub async fn create_zone(&self, name: &str) -> anyhow::Result<String> {
        let r = self
            .call(Method::POST, "/zones", json!({"params": {"name": name}}))
            .await?;
        Ok(r["inventory"]["uuid"]
            .as_str()
            .context("zone uuid")?
            .to_string())
    }

    pub async fn create_cluster(&self, zone: &str, name: &str) -> anyhow::Result<String> {
        let r = self
            .call(
                Method::POST,
                "/clusters",
                json!({"params": {"name": name, "zoneUuid": zone, "hypervisorType": "KVM"}}),
            )
            .await?;
        Ok(r["inventory"]["uuid"]
            .as_str()
            .context("cluster uuid")?
            .to_string())
    }

    pub async fn set_config(&self, category: &str, name: &str, value: &str) -> anyhow::Result<()> {
        self.call(
            Method::PUT,
            &format!("/global-configurations/{category}/{name}/actions"),
            json!({"updateGlobalConfig": {"value": value}}),
        )
        .await?;
        Ok(())
    }

    /// `GET /hosts?...&count=true` → the total.
    pub async fn count_hosts(&self, q: &str) -> anyhow::Result<i64> {
        let (s, b) = self
            .req(Method::GET, &format!("/hosts?{q}&count=true"), None)
            .await?;
        if s != 200 {
            bail!("count hosts: {s} {b}");
        }
        b["total"].as_i64().context("no total")
    }

    /// A host's status.
    pub async fn host_status(&self, uuid: &str) -> anyhow::Result<String> {
        let (_, b) = self
            .req(Method::GET, &format!("/hosts/{uuid}"), None)
            .await?;
        Ok(b["inventories"][0]["status"]
            .as_str()
            .unwrap_or("?")
            .to_string())
    }
}

/// Wait until `GET {base}/zstack/v1/management-nodes/ready` answers; the time it took.
pub async fn wait_ready(base: &str, within: Duration) -> anyhow::Result<Duration> {
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .build()?;
    let t = Instant::now();
    loop {
        if let Ok(r) = http
            .get(format!("{base}/zstack/v1/management-nodes/ready"))
            .send()
            .await
        {
            if r.status().is_success() {
                return Ok(t.elapsed());
            }
        }
        if t.elapsed() > within {
            bail!("{base} did not answer within {within:?}");
        }
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}
