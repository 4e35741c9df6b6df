//! `hostplane host add --from-file` and `hostplane host check`: many hosts from one CSV host
//! file (AddKVMHostFromConfigFile, CheckKVMHostConfigFile), and the checks of one host
//! (CheckKVMHost) with every finding.
//!
//! The file is sent as it is (base64, as ZStack's SDK sends it); the server parses it. While an
//! add runs, one progress bar counts the rows done (the job's step,
//! `rows <done>/<total> (added <a>, failed <f>)`); at the end a table has one line per row:
//! added with the host's uuid, or failed with the step and the fix. Nothing printed ever
//! contains a password from the file: only the server's results are shown, and they carry none.

use std::path::{Path, PathBuf};
use std::time::Duration;

use base64::Engine as _;
use clap::Args;
use comfy_table::{ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{json, Map, Value};

use super::output::{self, Format};
use super::shortcuts::find;
use super::{apis, session, Ctx, Failure};

/// `hostplane host check`.
#[derive(Args, Debug)]
pub struct HostCheckArgs {
    /// The host's management IP (or host name); not with --from-file.
    #[arg(required_unless_present = "from_file", conflicts_with = "from_file")]
    pub ip: Option<String>,
    /// Check every host of a CSV host file (see `hostplane host add --from-file`).
    #[arg(long, value_name = "FILE")]
    pub from_file: Option<PathBuf>,
    /// With --from-file: check the rows only, without logging in to the hosts.
    #[arg(long, requires = "from_file")]
    pub rows_only: bool,
    /// The cluster (name or uuid).
    #[arg(long, required_unless_present = "from_file")]
    pub cluster: Option<String>,
    /// The SSH user.
    #[arg(long, default_value = "root")]
    pub user: String,
    /// The SSH port.
    #[arg(long, default_value_t = 22)]
    pub port: u16,
    /// Read the SSH password from the first line of stdin (else it is prompted for).
    #[arg(long)]
    pub password_stdin: bool,
    /// Log in with this private key instead of a password.
    #[arg(long, value_name = "FILE")]
    pub private_key: Option<PathBuf>,
    /// The host key to expect (SHA256:...).
    #[arg(long, value_name = "SHA256:...")]
    pub host_key_fingerprint: Option<String>,
}

fn call_api(
    ctx: &mut Ctx,
    api: &str,
    params: Value,
    progress: &mut dyn FnMut(&str),
) -> Result<Value, Failure> {
    let api = apis::find(api).expect("the bulk APIs exist");
    let params: Map<String, Value> = match params {
        Value::Object(m) => m.into_iter().filter(|(_, v)| !v.is_null()).collect(),
        _ => Map::new(),
    };
    let req = api.request(params).map_err(Failure::Usage)?;
    let conn = ctx.conn()?;
    Ok(conn.client.call(&req, &mut |p| {
        if let Some(s) = &p.step {
            progress(s)
        }
    })?)
}

fn read_file(path: &Path) -> Result<(String, usize), Failure> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| Failure::Usage(format!("cannot read {}: {e}", path.display())))?;
    let rows = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.trim_start().starts_with('#'))
        .count()
        .saturating_sub(1);
    Ok((
        base64::engine::general_purpose::STANDARD.encode(text.as_bytes()),
        rows,
    ))
}

/// `rows 12/200 (added 10, failed 2)` → (12, "added 10, failed 2").
fn parse_progress(step: &str) -> Option<(u64, String)> {
    let rest = step.strip_prefix("rows ")?;
    let (done, rest) = rest.split_once('/')?;
    let detail = rest
        .split_once(" (")
        .map(|(_, d)| d.trim_end_matches(')').to_string())
        .unwrap_or_default();
    Some((done.parse().ok()?, detail))
}

fn new_table() -> Table {
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled)
        .force_no_tty();
    t
}

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        v => v.to_string(),
    }
}

/// One row of a result table: line, IP, name, outcome, step, and the fix (or the host uuid).
fn result_cells(r: &Value, ok_word: &str) -> Vec<String> {
    let ok = r["success"] == true;
    let e = &r["error"];
    vec![
        s(&r["line"]),
        s(&r["ip"]),
        s(&r["name"]),
        if ok { ok_word.into() } else { "failed".into() },
        if ok {
            String::new()
        } else {
            s(&e["opaque"]["step"])
        },
        if ok {
            s(&r["hostUuid"])
        } else {
            let hint = s(&e["opaque"]["hint"]);
            let details = s(&e["details"]);
            if hint.is_empty() {
                details
            } else {
                format!("{details} — fix: {hint}")
            }
        },
    ]
}

fn print_results(ctx: &Ctx, results: &[Value], ok_word: &str, last: &str) {
    let mut t = new_table();
    t.set_header(vec!["LINE", "IP", "NAME", "RESULT", "STEP", last]);
    for r in results {
        t.add_row(result_cells(r, ok_word));
    }
    ctx.print(&format!("{}\n", t.to_string().trim_end()));
}

/// `hostplane host add --from-file FILE`
pub fn host_add_from_file(ctx: &mut Ctx, path: &Path) -> Result<(), Failure> {
    let (host_info, rows) = read_file(path)?;
    let bar = ctx.style.spinner.then(|| {
        let bar = ProgressBar::new(rows as u64);
        bar.set_style(
            ProgressStyle::with_template("{bar:30.cyan/blue} {pos}/{len} hosts {msg} {elapsed}")
                .expect("valid template"),
        );
        bar.enable_steady_tick(Duration::from_millis(200));
        bar
    });
    let body = call_api(
        ctx,
        "AddKVMHostFromConfigFile",
        json!({ "hostInfo": host_info }),
        &mut |step| {
            if let (Some(bar), Some((done, detail))) = (&bar, parse_progress(step)) {
                bar.set_position(done);
                bar.set_message(detail);
            }
        },
    );
    if let Some(bar) = bar {
        bar.finish_and_clear();
    }
    let body = body?;
    let results = body["results"].as_array().cloned().unwrap_or_default();
    let failed = results.iter().filter(|r| r["success"] != true).count();
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &output::machine_value(&body),
            ctx.style.format,
        ));
    } else {
        print_results(ctx, &results, "added", "FIX / HOST UUID");
        ctx.print(&format!(
            "{} added, {failed} failed, of {} rows.\n",
            results.len() - failed,
            results.len()
        ));
    }
    if failed > 0 {
        return Err(Failure::Other(format!(
            "{failed} of {} hosts were not added; fix their rows and add the file again (added hosts are skipped as already managed)",
            results.len()
        )));
    }
    Ok(())
}

/// `hostplane host check`
pub fn host_check(ctx: &mut Ctx, a: HostCheckArgs) -> Result<(), Failure> {
    match &a.from_file {
        Some(path) => check_file(ctx, path, !a.rows_only),
        None => check_one(ctx, a),
    }
}

fn check_file(ctx: &mut Ctx, path: &Path, check_hosts: bool) -> Result<(), Failure> {
    let (host_info, _) = read_file(path)?;
    let r = call_api(
        ctx,
        "CheckKVMHostConfigFile",
        json!({ "hostInfo": host_info, "checkHosts": check_hosts }),
        &mut |_| {},
    );
    let (results, err) = match r {
        Ok(body) => (
            body["results"].as_array().cloned().unwrap_or_default(),
            None,
        ),
        Err(Failure::Api(e)) => match e.opaque.get("results").and_then(Value::as_array) {
            Some(rs) => (rs.clone(), Some(Failure::Api(e.clone()))),
            None => return Err(Failure::Api(e)),
        },
        Err(f) => return Err(f),
    };
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(
            &json!({ "results": results }),
            ctx.style.format,
        ));
    } else {
        print_results(ctx, &results, "ready", "FIX");
        let bad = results.iter().filter(|r| r["success"] != true).count();
        ctx.print(&format!(
            "{} ready, {bad} not ready, of {} rows.\n",
            results.len() - bad,
            results.len()
        ));
    }
    match err {
        Some(_) => Err(Failure::Other(
            "some hosts of the file are not ready; nothing was added".into(),
        )),
        None => Ok(()),
    }
}

fn check_one(ctx: &mut Ctx, a: HostCheckArgs) -> Result<(), Failure> {
    let ip = a.ip.clone().unwrap_or_default();
    let cluster = find(ctx, "Cluster", a.cluster.as_deref().unwrap_or_default())?;
    let (password, private_key) = match &a.private_key {
        Some(p) => {
            let key = std::fs::read_to_string(p)
                .map_err(|e| Failure::Usage(format!("cannot read the key {}: {e}", p.display())))?;
            let pass = if a.password_stdin {
                session::read_stdin_line("key passphrase")?
            } else {
                String::new()
            };
            (pass, Some(key))
        }
        None => (
            session::read_secret(
                &format!("SSH password for {}@{ip}", a.user),
                a.password_stdin,
                "use --password-stdin or --private-key",
            )?,
            None,
        ),
    };
    let body = call_api(
        ctx,
        "CheckKVMHost",
        json!({
            "name": ip,
            "managementIp": ip,
            "clusterUuid": cluster.uuid,
            "username": a.user,
            "password": password,
            "sshPort": a.port,
            "privateKey": private_key,
            "hostKeyFingerprint": a.host_key_fingerprint,
        }),
        &mut |_| {},
    )?;
    let ready = body["ready"] == true;
    if ctx.style.format != Format::Table {
        ctx.print(&output::serialize(&body, ctx.style.format));
    } else {
        let mut t = new_table();
        t.set_header(vec!["STEP", "VERDICT", "VALUE", "REASON / FIX"]);
        for f in body["findings"].as_array().cloned().unwrap_or_default() {
            let why = match (s(&f["details"]), s(&f["hint"])) {
                (d, h) if h.is_empty() => d,
                (d, h) => format!("{d} — fix: {h}"),
            };
            t.add_row(vec![s(&f["step"]), s(&f["verdict"]), s(&f["value"]), why]);
        }
        ctx.print(&format!("{}\n", t.to_string().trim_end()));
        ctx.print(if ready {
            "Ready: the host can be added.\n"
        } else {
            "Not ready: fix the failed checks above.\n"
        });
    }
    if ready {
        Ok(())
    } else {
        Err(Failure::Other(format!("host {ip} is not ready")))
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn progress_steps() {
        assert_eq!(
            super::parse_progress("rows 12/200 (added 10, failed 2)"),
            Some((12, "added 10, failed 2".into()))
        );
        assert_eq!(super::parse_progress("ssh-login"), None);
    }
}
