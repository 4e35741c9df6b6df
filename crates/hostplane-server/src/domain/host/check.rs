//! CheckKVMHost (a hostplane addition): every admission check of AddKVMHost for one host,
//! with every finding at once, and no host created.
//!
//! It runs the same code as a connect ([`super::connect`]: the SSH login and its error
//! mapping, `check-sudo` through [`Session::check_access`], the takeover decision, the fact
//! script, and [`super::facts::refusals`], of which a connect reports the first), so a check and
//! an add can never disagree. Where a connect stops at the first failure, the check goes on with
//! every check that does not depend on the failed one, and marks the others `skipped`.
//!
//! It must never write: no row, no tag, no takeover flag on the host (the check reads the flag
//! with the read-only helper run of `check_access` and collects facts with it). A password never
//! appears in a finding.
//!
//! Findings: `{step, verdict, value?, reason?, hint?, details?}` with verdict `pass`, `fail`,
//! `warn` (reported, does not block an add: a hostname another managed host reports) or
//! `skipped` (a check it depends on failed). `ready` is true when nothing failed.

use std::sync::Arc;
use std::time::Duration;

use hostplane_ssh::{Credential, Facts, Session};
use serde::Serialize;
use serde_json::{Map, Value};

use super::add::AddKvmHost;
use super::connect::{check_takeover, ssh_error, sudo_step, Mode};
use super::{connect_options, facts, port_open, CONNECTING, ENABLED};
use crate::domain::api::operation;
use crate::domain::global_config::keys;
use crate::domain::validate::{is_hostname, is_ipv4};
use crate::domain::{new_uuid, App, Output};
use crate::error::{Error, Result};
use crate::store::hosts::HostRow;
use crate::time::now_ms;

/// The longest a check waits for the SSH port (a connect waits `kvm.testSshPortOpenTimeout`).
const PORT_WAIT: Duration = Duration::from_secs(3);

/// The order checks run and are reported in.
pub const STEPS: &[&str] = &[
    "check-parameters",
    "check-managed-ip",
    "wait-for-ssh-port",
    "ssh-login",
    "check-sudo",
    "check-takeover",
    "collect-facts",
    "check-virtualization",
    "check-memory",
    "check-architecture",
    "check-os",
    "check-hostname",
];

/// One check's outcome.
#[derive(Debug, Clone, Serialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Finding {
    pub step: String,
    pub verdict: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub value: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hint: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub details: Option<String>,
}

impl Finding {
    fn pass(step: &str, value: Option<String>) -> Finding {
        Finding {
            step: step.into(),
            verdict: "pass",
            value,
            reason: None,
            hint: None,
            details: None,
        }
    }
    fn skipped(step: &str, because: &str) -> Finding {
        Finding {
            step: step.into(),
            verdict: "skipped",
            value: None,
            reason: None,
            hint: None,
            details: Some(format!("not checked: {because} failed")),
        }
    }
    /// A failure from the error a connect would answer with.
    fn fail(step: &str, e: &Error, value: Option<String>) -> Finding {
        let op = |k: &str| {
            e.opaque
                .as_ref()
                .and_then(|o| o.get(k))
                .and_then(Value::as_str)
                .map(str::to_string)
        };
        Finding {
            step: op("step").unwrap_or_else(|| step.to_string()),
            verdict: "fail",
            value,
            reason: op("reason").or_else(|| Some(e.code.parts().0.to_string())),
            hint: op("hint"),
            details: Some(e.details.clone()),
        }
    }
}

/// What a check found for one host.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Report {
    pub management_ip: String,
    pub ready: bool,
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn failures(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.verdict == "fail")
    }
    pub fn to_json(&self) -> Map<String, Value> {
        match serde_json::to_value(self) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        }
    }
}

/// APICheckKVMHostMsg's parameters: exactly AddKVMHost's.
#[derive(Debug, serde::Deserialize)]
#[serde(transparent)]
pub struct CheckKvmHost(pub AddKvmHost);

operation!(CheckKvmHost => check_kvm_host);

/// hostplane: APICheckKVMHostMsg, POST /v1/hosts/kvm/check — every finding, nothing written.
pub async fn check_kvm_host(app: &Arc<App>, p: CheckKvmHost) -> Result<Output> {
    let report = check(app, &p.0).await?;
    Ok(Output::Fields {
        fields: report.to_json(),
        success: false,
    })
}

/// Run every check for the host `p` would add. `Err` only when the server itself fails.
pub async fn check(app: &Arc<App>, p: &AddKvmHost) -> Result<Report> {
    let mut out = Vec::new();
    let ip = p.management_ip.trim().to_string();
    let port = p.ssh_port.unwrap_or(22);
    let user = p.username.clone();

    // check-parameters: the address, the cluster.
    let mut problems = Vec::new();
    if !is_ipv4(&ip) && !is_hostname(&ip) {
        problems.push(format!(
            "managementIp[{ip}] is neither an IPv4 address nor a valid hostname"
        ));
    }
    if !(1..=65535).contains(&port) {
        problems.push(format!("sshPort[{port}] is not in [1, 65535]"));
    }
    let cluster = app.store.cluster_get(&p.cluster_uuid).await?;
    match &cluster {
        None => problems.push(format!("cluster[uuid:{}] is not existing", p.cluster_uuid)),
        Some(c) if c.hypervisor_type != "KVM" => problems.push(format!(
            "cluster[uuid:{}] hypervisorType is {}, not KVM",
            c.uuid, c.hypervisor_type
        )),
        Some(_) => {}
    }
    let params_ok = problems.is_empty();
    if params_ok {
        out.push(Finding::pass(
            "check-parameters",
            Some(format!("{ip}:{port}, user {user}")),
        ));
    } else {
        out.push(Finding {
            step: "check-parameters".into(),
            verdict: "fail",
            value: None,
            reason: Some("HOST.PREFLIGHT.BAD_PARAMETERS".into()),
            hint: Some(
                "give a valid IPv4 address or hostname, a port in [1, 65535] and the uuid of a KVM cluster".into(),
            ),
            details: Some(problems.join("; ")),
        });
    }

    // check-managed-ip
    match app.store.host_uuid_by_ip(&ip).await? {
        Some(uuid) => out.push(Finding {
            step: "check-managed-ip".into(),
            verdict: "fail",
            value: Some(uuid.clone()),
            reason: Some("HOST.PREFLIGHT.IP_MANAGED".into()),
            hint: Some(format!(
                "{ip} is already managed here as host {uuid}; delete that host first, or reconnect it instead"
            )),
            details: Some(format!("there has been a kvm host having management ip[{ip}]")),
        }),
        None => out.push(Finding::pass("check-managed-ip", None)),
    }

    let h = HostRow {
        uuid: p.resource_uuid.clone().unwrap_or_else(new_uuid),
        zone_uuid: cluster
            .as_ref()
            .map(|c| c.zone_uuid.clone())
            .unwrap_or_default(),
        cluster_uuid: p.cluster_uuid.clone(),
        name: p.name.clone(),
        management_ip: ip.clone(),
        state: ENABLED.into(),
        status: CONNECTING.into(),
        username: Some(user.clone()),
        ssh_port: Some(port),
        credential: None,
        host_key_fingerprint: p.host_key_fingerprint.clone(),
        architecture: None,
        os_distribution: None,
        os_release: None,
        os_version: None,
        last_op_date: now_ms(),
    };
    let mode = Mode {
        new_add: true,
        ..Mode::default()
    };
    let rest_skipped = |out: &mut Vec<Finding>, because: &str| {
        let from = out.len();
        for s in &STEPS[from.min(STEPS.len())..] {
            out.push(Finding::skipped(s, because));
        }
    };

    // wait-for-ssh-port: a short wait; a check answers in seconds.
    let port16 = port.clamp(1, 65535) as u16;
    let mut opts = connect_options(app, p.host_key_fingerprint.clone());
    opts.port_wait = opts.port_wait.min(PORT_WAIT);
    if !port_open(app, &ip, port16, opts.tcp_connect_timeout.min(PORT_WAIT)).await {
        let e = ssh_error(
            &h,
            &user,
            port16,
            hostplane_ssh::SshError::PortClosed {
                host: ip.clone(),
                port: port16,
                waited: opts.tcp_connect_timeout.min(PORT_WAIT),
            },
            mode,
        );
        out.push(Finding::fail(
            "wait-for-ssh-port",
            &e,
            Some("closed".into()),
        ));
        rest_skipped(&mut out, "wait-for-ssh-port");
        return Ok(report(ip, out));
    }
    out.push(Finding::pass("wait-for-ssh-port", Some("open".into())));

    // ssh-login (with verify-host-key when a fingerprint is expected)
    let cred = match p.private_key.as_deref().filter(|k| !k.trim().is_empty()) {
        Some(pem) => Credential::PrivateKey {
            pem: pem.to_string(),
            passphrase: Some(p.password.clone()).filter(|s| !s.is_empty()),
        },
        None => Credential::Password(p.password.clone()),
    };
    let session = match Session::connect(&ip, port16, &user, &cred, &opts).await {
        Ok(s) => s,
        Err(e) => {
            let e = ssh_error(&h, &user, port16, e, mode);
            out.push(Finding::fail("ssh-login", &e, None));
            rest_skipped(&mut out, "ssh-login");
            return Ok(report(ip, out));
        }
    };
    out.push(Finding::pass(
        "ssh-login",
        Some(session.host_key_fingerprint().to_string()),
    ));
    let result = on_session(app, &h, &session, &mut out, params_ok).await;
    session.close().await;
    result?;
    Ok(report(ip, out))
}

fn report(ip: String, findings: Vec<Finding>) -> Report {
    Report {
        management_ip: ip,
        ready: !findings.iter().any(|f| f.verdict == "fail"),
        findings,
    }
}

async fn on_session(
    app: &Arc<App>,
    h: &HostRow,
    session: &Session,
    out: &mut Vec<Finding>,
    params_ok: bool,
) -> Result<()> {
    let flag_path = app.configs.get(keys::KVM_TAKEOVER_FLAG_PATH);
    let access = match session.check_access(&flag_path).await {
        Ok(a) => a,
        Err(e) => {
            let e = sudo_step(h, session.username(), "check-sudo", &flag_path, e);
            out.push(Finding::fail("check-sudo", &e, None));
            for s in &STEPS[out.len()..] {
                out.push(Finding::skipped(s, "check-sudo"));
            }
            return Ok(());
        }
    };
    out.push(Finding::pass(
        "check-sudo",
        Some(access.privilege.as_str().to_string()),
    ));
    let flag_value = match &access.flag {
        Ok(Some(f)) => Some(format!(
            "flag of host {} touched {} s ago",
            f.host_uuid.as_deref().unwrap_or("?"),
            f.age_secs
        )),
        Ok(None) => Some("no flag".into()),
        Err(_) => Some("flag unreadable".into()),
    };
    match check_takeover(app, h, &access.flag, &flag_path).await {
        Ok(()) => out.push(Finding::pass("check-takeover", flag_value)),
        Err(e) => out.push(Finding::fail("check-takeover", &e, flag_value)),
    }
    let f = match session.collect_facts_with(&access).await {
        Ok(f) => f,
        Err(e) => {
            let e = super::connect::ssh_step(h, "collect-facts", e);
            out.push(Finding::fail("collect-facts", &e, None));
            for s in &STEPS[out.len()..] {
                out.push(Finding::skipped(s, "collect-facts"));
            }
            return Ok(());
        }
    };
    out.push(Finding::pass("collect-facts", None));
    let refusals = if params_ok {
        facts::refusals(app, h, &f, true).await?
    } else {
        Vec::new()
    };
    for step in [
        "check-virtualization",
        "check-memory",
        "check-architecture",
        "check-os",
    ] {
        let value = measured(step, &f);
        if !params_ok {
            out.push(Finding {
                value,
                ..Finding::skipped(step, "check-parameters")
            });
            continue;
        }
        match refusals.iter().find(|e| {
            e.opaque
                .as_ref()
                .and_then(|o| o.get("step"))
                .and_then(Value::as_str)
                == Some(step)
        }) {
            Some(e) => out.push(Finding::fail(step, e, value)),
            None => out.push(Finding::pass(step, value)),
        }
    }
    // check-hostname: a warning only, as an add does not refuse it.
    match f.hostname.as_deref().map(str::trim).filter(|s| !s.is_empty()) {
        None => out.push(Finding::pass("check-hostname", None)),
        Some(name) => match app.store.host_by_hostname(name).await? {
            Some((uuid, mip)) if mip != h.management_ip => out.push(Finding {
                step: "check-hostname".into(),
                verdict: "warn",
                value: Some(name.to_string()),
                reason: Some("HOST.PREFLIGHT.HOSTNAME_CLASH".into()),
                hint: Some(format!(
                    "host {uuid} ({mip}) reports the same hostname: if it is the same machine under another address, delete that host first; else give the machines distinct hostnames"
                )),
                details: Some(format!(
                    "hostname {name} is also the hostname of managed host[uuid:{uuid}, ip:{mip}]"
                )),
            }),
            _ => out.push(Finding::pass("check-hostname", Some(name.to_string()))),
        },
    }
    Ok(())
}

/// The value a fact check looked at, as text.
fn measured(step: &str, f: &Facts) -> Option<String> {
    match step {
        "check-virtualization" => Some(match (&f.hvm, f.dev_kvm) {
            (Some(h), true) => format!("{h}, /dev/kvm"),
            (Some(h), false) => h.clone(),
            (None, true) => "/dev/kvm".into(),
            (None, false) => "none".into(),
        }),
        "check-memory" => f.mem_total_bytes.map(|b| format!("{b} bytes")),
        "check-architecture" => f.architecture.clone(),
        "check-os" => match (&f.os_distribution, &f.os_release, &f.os_version) {
            (None, None, None) => None,
            (d, r, v) => Some(format!(
                "{};{};{}",
                d.as_deref().unwrap_or("?"),
                r.as_deref().unwrap_or("?"),
                v.as_deref().unwrap_or("?")
            )),
        },
        _ => None,
    }
}
