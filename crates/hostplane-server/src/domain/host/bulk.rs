//! ZStack's bulk host APIs: AddKVMHostFromConfigFile, CheckKVMHostConfigFile and GetHostTask.
//!
//! - The host file (`hostInfo`, base64) is a CSV with a header row; see [`parse_host_file`]
//!   for the columns (docs/api.md describes the format). Every row is validated on its own: a
//!   bad row fails that row with its line and reason, the rest go on.
//! - AddKVMHostFromConfigFile adds every valid row with AddKVMHost's own code
//!   ([`super::add::add_kvm_host`]), so the adds run bounded by `host.add.parallelismDegree`
//!   and a failed add is rolled back exactly as a single one. The reply is ZStack's
//!   `results: [{ip, success, error}]` (plus hostplane's `line`, `name`, `hostUuid`). While it
//!   runs, the job's step is its progress: `rows <done>/<total> (added <a>, failed <f>)`.
//! - CheckKVMHostConfigFile validates every row without adding; with hostplane's
//!   `checkHosts=true` it also runs CheckKVMHost ([`super::check`]) for every valid row. Any
//!   problem fails the call (as in ZStack) with every bad row in the details and all results in
//!   the error's `opaque.results`; a good file answers `{results: [...]}`.
//! - GetHostTask: the host tasks running (adds, reconnects) of the hosts asked for, with their
//!   step, in ZStack's `ChainInfo` shape.
//!
//! A password from the file never appears in a result, an error or a log line: errors name the
//! line and the column, never the value of a secret column.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use base64::Engine as _;
use futures::stream::{FuturesUnordered, StreamExt};
use serde::Deserialize;
use serde_json::{json, Map, Value};

use super::add::{add_kvm_host, AddKvmHost};
use super::check;
use crate::domain::api::{self, operation};
use crate::domain::global_config::keys;
use crate::domain::validate::{is_hostname, is_ipv4};
use crate::domain::{jobs, App, Output};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// The columns hostplane reads, and the other names each accepts (compared without case,
/// spaces, `_` or `-`).
const COLUMNS: &[(&str, &[&str])] = &[
    (
        "managementIp",
        &["ip", "hostIp", "managementAddress", "address"],
    ),
    ("sshPort", &["port"]),
    ("username", &["user", "userName", "login"]),
    ("password", &["passwd", "pwd"]),
    ("clusterUuid", &[]),
    ("clusterName", &["cluster"]),
    ("name", &["hostName"]),
    ("description", &["desc"]),
    ("tags", &["userTags"]),
    ("systemTags", &[]),
    ("hostKeyFingerprint", &["fingerprint"]),
];

fn norm(s: &str) -> String {
    s.chars()
        .filter(|c| !matches!(c, ' ' | '_' | '-'))
        .flat_map(char::to_lowercase)
        .collect()
}

fn column_of(header: &str) -> Option<&'static str> {
    let h = norm(header);
    COLUMNS
        .iter()
        .find(|(name, aliases)| norm(name) == h || aliases.iter().any(|a| norm(a) == h))
        .map(|(name, _)| *name)
}

/// One data row of a host file: its line number and its cells by column.
#[derive(Debug, Clone, Default)]
pub struct Row {
    pub line: usize,
    pub cells: HashMap<&'static str, String>,
}

impl Row {
    fn get(&self, col: &str) -> Option<&str> {
        self.cells
            .get(col)
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// Split CSV text into records (RFC 4180: quoted fields, `""` inside quotes, CRLF or LF), each
/// with the line it starts on.
fn csv_records(text: &str) -> std::result::Result<Vec<(usize, Vec<String>)>, String> {
    let mut out = Vec::new();
    let mut line = 1usize;
    let mut start_line = 1usize;
    let mut field = String::new();
    let mut record: Vec<String> = Vec::new();
    let mut quoted = false;
    let mut chars = text.chars().peekable();
    let mut any = false;
    while let Some(c) = chars.next() {
        if quoted {
            match c {
                '"' if chars.peek() == Some(&'"') => {
                    chars.next();
                    field.push('"');
                }
                '"' => quoted = false,
                '\n' => {
                    line += 1;
                    field.push('\n');
                }
                c => field.push(c),
            }
            continue;
        }
        match c {
            '"' if field.trim().is_empty() => {
                field.clear();
                quoted = true;
                any = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                any = true;
            }
            '\r' => {}
            '\n' => {
                if any || !field.is_empty() {
                    record.push(std::mem::take(&mut field));
                    out.push((start_line, std::mem::take(&mut record)));
                }
                any = false;
                line += 1;
                start_line = line;
            }
            c => {
                field.push(c);
                any = true;
            }
        }
    }
    if quoted {
        return Err(format!("line {start_line}: a quoted field is not closed"));
    }
    if any || !field.is_empty() {
        record.push(field);
        out.push((start_line, record));
    }
    Ok(out)
}

/// Read a host file: a CSV whose first (non-comment) row names the columns.
///
/// Columns (any order, case-insensitive): `managementIp` (required), `sshPort` (22), `username`
/// (root), `password`, `clusterUuid` or `clusterName`, `name` (the IP), `description`, `tags`
/// (user tags, `;`-separated), `systemTags` (`;`-separated), `hostKeyFingerprint`. Blank lines
/// and lines starting with `#` are skipped; unknown columns are an error (a typo would silently
/// drop a value).
pub fn parse_host_file(text: &str) -> Result<Vec<Row>> {
    let text = text.strip_prefix('\u{feff}').unwrap_or(text);
    let records = csv_records(text).map_err(|m| bad_file(&m))?;
    let mut records = records.into_iter().filter(|(_, r)| {
        let first = r.first().map(|s| s.trim()).unwrap_or("");
        !(r.iter().all(|c| c.trim().is_empty()) || first.starts_with('#'))
    });
    let Some((hline, header)) = records.next() else {
        return Err(bad_file("the file is empty; it needs a header row (managementIp,sshPort,username,password,clusterUuid,name,...) and a row per host"));
    };
    let mut cols = Vec::new();
    for h in &header {
        match column_of(h) {
            Some(c) if cols.contains(&Some(c)) => {
                return Err(bad_file(&format!("line {hline}: column {c} appears twice")))
            }
            Some(c) => cols.push(Some(c)),
            None if h.trim().is_empty() => cols.push(None),
            None => {
                return Err(bad_file(&format!(
                    "line {hline}: unknown column [{}]; the columns are {}",
                    h.trim(),
                    COLUMNS.iter().map(|c| c.0).collect::<Vec<_>>().join(", ")
                )))
            }
        }
    }
    if !cols.contains(&Some("managementIp")) {
        return Err(bad_file(&format!(
            "line {hline}: the header row has no managementIp column"
        )));
    }
    Ok(records
        .map(|(line, cells)| Row {
            line,
            cells: cols
                .iter()
                .zip(cells)
                .filter_map(|(c, v)| c.map(|c| (c, v)))
                .collect(),
        })
        .collect())
}

fn bad_file(why: &str) -> Error {
    Error::invalid_argument(format!("the host file cannot be read: {why}"))
        .with_opaque("step", "check-file")
        .with_opaque("reason", "HOST.FILE.UNREADABLE")
        .with_opaque(
            "hint",
            "give a CSV file with a header row: managementIp,sshPort,username,password,clusterUuid (or clusterName),name,description,tags",
        )
}

fn decode_host_info(host_info: &str) -> Result<String> {
    let compact: String = host_info.chars().filter(|c| !c.is_whitespace()).collect();
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(compact.as_bytes())
        .or_else(|_| base64::engine::general_purpose::STANDARD_NO_PAD.decode(compact.as_bytes()))
        .map_err(|_| {
            Error::invalid_argument(
                "hostInfo is not base64: it must be the host file encoded in base64",
            )
        })?;
    String::from_utf8(bytes).map_err(|_| Error::invalid_argument("the host file is not UTF-8 text"))
}

/// The error of a row that cannot be added as it is.
fn bad_row(line: usize, why: String, hint: &str) -> Error {
    Error::invalid_argument(format!("line {line} of the host file: {why}"))
        .with_opaque("step", "check-file")
        .with_opaque("reason", "HOST.FILE.BAD_ROW")
        .with_opaque("line", line as i64)
        .with_opaque("hint", hint)
}

/// Looks clusters up once per file.
#[derive(Default)]
struct Clusters {
    by_uuid: HashMap<String, std::result::Result<(), String>>,
    by_name: HashMap<String, std::result::Result<String, String>>,
}

impl Clusters {
    async fn resolve(
        &mut self,
        app: &App,
        row: &Row,
    ) -> Result<std::result::Result<String, String>> {
        if let Some(uuid) = row.get("clusterUuid") {
            if !self.by_uuid.contains_key(uuid) {
                let r = match app.store.cluster_get(uuid).await? {
                    None => Err(format!("cluster[uuid:{uuid}] is not existing")),
                    Some(c) if c.hypervisor_type != "KVM" => Err(format!(
                        "cluster[uuid:{uuid}] hypervisorType is {}, not KVM",
                        c.hypervisor_type
                    )),
                    Some(_) => Ok(()),
                };
                self.by_uuid.insert(uuid.to_string(), r);
            }
            return Ok(self.by_uuid[uuid].clone().map(|_| uuid.to_string()));
        }
        let Some(name) = row.get("clusterName") else {
            return Ok(Err("neither clusterUuid nor clusterName is given".into()));
        };
        if !self.by_name.contains_key(name) {
            let uuids = app.store.cluster_uuids_by_name(name).await?;
            let r = match uuids.as_slice() {
                [] => Err(format!("no cluster is named [{name}]")),
                [one] => match app.store.cluster_get(one).await? {
                    Some(c) if c.hypervisor_type != "KVM" => Err(format!(
                        "cluster[name:{name}] hypervisorType is {}, not KVM",
                        c.hypervisor_type
                    )),
                    _ => Ok(one.clone()),
                },
                many => Err(format!(
                    "{} clusters are named [{name}]; give clusterUuid instead",
                    many.len()
                )),
            };
            self.by_name.insert(name.to_string(), r);
        }
        Ok(self.by_name[name].clone())
    }
}

fn tag_list(s: Option<&str>) -> Vec<String> {
    s.map(|s| {
        s.split(';')
            .map(str::trim)
            .filter(|t| !t.is_empty())
            .map(str::to_string)
            .collect()
    })
    .unwrap_or_default()
}

/// Turn every row into AddKVMHost's parameters, or the reason it cannot be added. Checks, for
/// each row: the address, the port, the login fields and their lengths, the cluster, that the
/// address is not managed already and not in an earlier row.
async fn validate_rows(
    app: &App,
    rows: &[Row],
) -> Result<Vec<(Row, std::result::Result<AddKvmHost, Error>)>> {
    let mut clusters = Clusters::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut out = Vec::with_capacity(rows.len());
    for row in rows {
        let r = validate_row(app, row, &mut clusters, &mut seen).await?;
        out.push((row.clone(), r));
    }
    Ok(out)
}

async fn validate_row(
    app: &App,
    row: &Row,
    clusters: &mut Clusters,
    seen: &mut HashMap<String, usize>,
) -> Result<std::result::Result<AddKvmHost, Error>> {
    let line = row.line;
    let mut why = Vec::new();
    let ip = row.get("managementIp").unwrap_or("").to_string();
    if ip.is_empty() {
        why.push("managementIp is empty".to_string());
    } else if !is_ipv4(&ip) && !is_hostname(&ip) {
        why.push(format!(
            "managementIp[{ip}] is neither an IPv4 address nor a valid hostname"
        ));
    }
    let port = match row.get("sshPort") {
        None => Some(22),
        Some(p) => match p.parse::<i64>() {
            Ok(n) if (1..=65535).contains(&n) => Some(n),
            _ => {
                why.push(format!("sshPort[{p}] is not a port in [1, 65535]"));
                None
            }
        },
    };
    let username = row.get("username").unwrap_or("root").to_string();
    let password = row.cells.get("password").cloned().unwrap_or_default();
    if password.is_empty() {
        why.push("password is empty".into());
    }
    for (col, max) in [
        ("name", 255),
        ("username", 255),
        ("password", 255),
        ("description", 2048),
    ] {
        let len = row.cells.get(col).map(|v| v.chars().count()).unwrap_or(0);
        if len > max {
            why.push(format!("{col} is longer than {max} characters"));
        }
    }
    let cluster = match clusters.resolve(app, row).await? {
        Ok(c) => Some(c),
        Err(e) => {
            why.push(e);
            None
        }
    };
    if !ip.is_empty() {
        if let Some(first) = seen.get(&ip) {
            why.push(format!(
                "managementIp[{ip}] is already in line {first} of the file"
            ));
        } else {
            seen.insert(ip.clone(), line);
            if app.store.host_uuid_by_ip(&ip).await?.is_some() {
                why.push(format!(
                    "there has been a kvm host having management ip[{ip}]"
                ));
            }
        }
    }
    let mut system_tags = tag_list(row.get("systemTags"));
    if why.is_empty() {
        if let Err(e) = crate::domain::validate::check_system_tags(&mut system_tags) {
            why.push(e.details);
        }
    }
    if !why.is_empty() {
        return Ok(Err(bad_row(
            line,
            why.join("; "),
            "fix the row and add the file again (rows that were added are skipped as already managed)",
        )));
    }
    Ok(Ok(AddKvmHost {
        name: row.get("name").unwrap_or(&ip).to_string(),
        description: row.get("description").map(str::to_string),
        management_ip: ip,
        cluster_uuid: cluster.unwrap_or_default(),
        username,
        password,
        ssh_port: port,
        private_key: None,
        host_key_fingerprint: row.get("hostKeyFingerprint").map(str::to_string),
        resource_uuid: None,
        tag_uuids: Vec::new(),
        system_tags,
        user_tags: tag_list(row.get("tags")),
    }))
}

/// One row's outcome in ZStack's `AddHostFromFileResult` shape, plus hostplane's fields.
fn result_json(row: &Row, ip: &str, r: &std::result::Result<Option<String>, Error>) -> Value {
    let mut m = Map::new();
    m.insert("ip".into(), ip.into());
    m.insert("success".into(), r.is_ok().into());
    if let Err(e) = r {
        m.insert("error".into(), e.to_error_code());
    }
    m.insert("line".into(), (row.line as i64).into());
    if let Some(n) = row.get("name").or(Some(ip)) {
        m.insert("name".into(), n.into());
    }
    if let Ok(Some(uuid)) = r {
        m.insert("hostUuid".into(), uuid.clone().into());
    }
    Value::Object(m)
}

/// APIAddKVMHostFromConfigFileMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct AddKvmHostFromConfigFile {
    pub host_info: String,
    pub resource_uuid: Option<String>,
    #[serde(default)]
    pub tag_uuids: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(AddKvmHostFromConfigFile => add_kvm_host_from_config_file);

/// ZStack: APIAddKVMHostFromConfigFileMsg, POST /v1/hosts/kvm/from-file (async)
pub async fn add_kvm_host_from_config_file(
    app: &Arc<App>,
    p: AddKvmHostFromConfigFile,
) -> Result<Output> {
    let rows = parse_host_file(&decode_host_info(&p.host_info)?)?;
    let total = rows.len();
    jobs::step(&format!("rows 0/{total} (added 0, failed 0)"));
    let validated = validate_rows(app, &rows).await?;
    let mut results: Vec<Option<Value>> = vec![None; total];
    let (mut added, mut failed) = (0usize, 0usize);
    let mut running = FuturesUnordered::new();
    for (i, (row, params)) in validated.into_iter().enumerate() {
        let ip = row.get("managementIp").unwrap_or("").to_string();
        match params {
            Err(e) => {
                failed += 1;
                results[i] = Some(result_json(&row, &ip, &Err(e)));
            }
            Ok(params) => {
                let app = app.clone();
                let task = jobs::spawn_part(async move {
                    match add_kvm_host(&app, params).await {
                        Ok(Output::Inventory(inv)) => Ok(inv
                            .json
                            .get("uuid")
                            .and_then(Value::as_str)
                            .map(str::to_string)),
                        Ok(_) => Ok(None),
                        Err(e) => Err(e),
                    }
                });
                running.push(async move { (i, row, ip, task.await) });
            }
        }
    }
    let done_before = failed;
    jobs::step(&format!(
        "rows {done_before}/{total} (added 0, failed {failed})"
    ));
    while let Some((i, row, ip, joined)) = running.next().await {
        let r = joined.unwrap_or_else(|e| Err(Error::internal(format!("the add crashed: {e}"))));
        if r.is_ok() {
            added += 1;
        } else {
            failed += 1;
        }
        results[i] = Some(result_json(&row, &ip, &r));
        jobs::step(&format!(
            "rows {}/{total} (added {added}, failed {failed})",
            added + failed
        ));
    }
    tracing::info!(rows = total, added, failed, "hosts added from a file");
    let mut fields = Map::new();
    fields.insert(
        "results".into(),
        Value::Array(results.into_iter().flatten().collect()),
    );
    Ok(Output::Fields {
        fields,
        success: true,
    })
}

/// APICheckKVMHostConfigFileMsg's parameters, with hostplane's `checkHosts`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct CheckKvmHostConfigFile {
    pub host_info: String,
    /// hostplane: also run CheckKVMHost (SSH and all) for every valid row.
    pub check_hosts: Option<bool>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(CheckKvmHostConfigFile => check_kvm_host_config_file);

/// ZStack: APICheckKVMHostConfigFileMsg, POST /v1/hosts/kvm/from-file/check (sync)
pub async fn check_kvm_host_config_file(
    app: &Arc<App>,
    p: CheckKvmHostConfigFile,
) -> Result<Output> {
    let rows = parse_host_file(&decode_host_info(&p.host_info)?)?;
    let validated = validate_rows(app, &rows).await?;
    let deep = p.check_hosts.unwrap_or(false);
    let limit = app.configs.get(keys::HOST_ADD_PARALLELISM).max(1) as usize;
    let total = validated.len();
    let mut results: Vec<Value> =
        futures::stream::iter(validated.into_iter().map(|(row, params)| {
            let app = app.clone();
            async move {
                let ip = row.get("managementIp").unwrap_or("").to_string();
                let params = match params {
                    Err(e) => return (false, result_json(&row, &ip, &Err(e))),
                    Ok(p) => p,
                };
                if !deep {
                    return (true, result_json(&row, &ip, &Ok(None)));
                }
                match check::check(&app, &params).await {
                    Err(e) => (false, result_json(&row, &ip, &Err(e))),
                    Ok(report) => {
                        let r = if report.ready {
                            Ok(None)
                        } else {
                            let first = report.failures().next().cloned();
                            let steps: Vec<String> = report
                                .failures()
                                .map(|f| {
                                    format!("{}: {}", f.step, f.details.clone().unwrap_or_default())
                                })
                                .collect();
                            let mut e = Error::operation(format!(
                                "line {} of the host file: host {ip} is not ready: {}",
                                row.line,
                                steps.join("; ")
                            ))
                            .with_opaque("line", row.line as i64);
                            if let Some(f) = first {
                                e = e.with_opaque("step", f.step);
                                if let Some(h) = f.hint {
                                    e = e.with_opaque("hint", h);
                                }
                                if let Some(r) = f.reason {
                                    e = e.with_opaque("reason", r);
                                }
                            }
                            Err(e)
                        };
                        let mut v = result_json(&row, &ip, &r);
                        if let Value::Object(m) = &mut v {
                            m.insert("ready".into(), report.ready.into());
                            m.insert("findings".into(), json!(report.findings));
                        }
                        (report.ready, v)
                    }
                }
            }
        }))
        .buffered(limit)
        .map(|(_, v)| v)
        .collect()
        .await;
    let bad: Vec<String> = results
        .iter()
        .filter(|r| r["success"] == false)
        .filter_map(|r| r["error"]["details"].as_str().map(str::to_string))
        .collect();
    if !bad.is_empty() {
        let details = format!(
            "{} of {total} rows of the host file cannot be added: {}",
            bad.len(),
            bad.join(" | ")
        );
        return Err(Error::invalid_argument(details)
            .with_opaque("step", "check-file")
            .with_opaque("results", Value::Array(std::mem::take(&mut results))));
    }
    let mut fields = Map::new();
    fields.insert("results".into(), Value::Array(results));
    Ok(Output::Fields {
        fields,
        success: false,
    })
}

/// APIGetHostTaskMsg's parameters.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase", deny_unknown_fields)]
pub struct GetHostTask {
    pub host_uuids: Vec<String>,
    #[serde(default)]
    pub sync_signatures: Vec<String>,
    #[serde(default)]
    pub system_tags: Vec<String>,
    #[serde(default)]
    pub user_tags: Vec<String>,
}

operation!(GetHostTask => get_host_task);

/// ZStack: APIGetHostTaskMsg, GET /v1/hosts/task-details — the running host tasks (adds,
/// reconnects) of each host asked for, with their step, as ZStack's `ChainInfo`.
pub async fn get_host_task(app: &Arc<App>, p: GetHostTask) -> Result<Output> {
    if p.host_uuids.is_empty() {
        return Err(Error::invalid_argument(
            "field[hostUuids] of message[org.zstack.header.host.APIGetHostTaskMsg] must be a non-empty list",
        ));
    }
    let uuids: Vec<String> = {
        let mut seen = HashSet::new();
        p.host_uuids
            .iter()
            .filter(|u| seen.insert(u.as_str()))
            .cloned()
            .collect()
    };
    for u in &uuids {
        if !app.store.exists("host", u).await? {
            return Err(Error::not_found(format!(
                "invalid field[hostUuids], resource[uuid:{u}, type:HostVO] not found"
            )));
        }
    }
    let tasks = jobs::host_tasks(app, &uuids);
    let now = now_ms();
    let mut results = Map::new();
    for u in &uuids {
        let running: Vec<Value> = tasks
            .get(u)
            .map(|t| {
                let api_class = t
                    .api
                    .as_deref()
                    .and_then(api::by_name)
                    .map(|s| s.msg_class.to_string());
                vec![json!({
                    "name": t.name,
                    "className": "org.zstack.kvm.KVMHost",
                    "index": 0,
                    "pendingTime": 0,
                    "executionTime": (now - t.started_ms).max(0) / 1000,
                    "context": format!("{} of host[uuid:{u}] at step {}", t.name, t.step),
                    "apiId": t.job,
                    "apiName": api_class,
                    "step": t.step,
                })]
            })
            .unwrap_or_default();
        results.insert(
            u.clone(),
            json!({"runningTask": running, "pendingTask": []}),
        );
    }
    let mut fields = Map::new();
    fields.insert("results".into(), Value::Object(results));
    Ok(Output::Fields {
        fields,
        success: true,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_with_quotes_comments_and_aliases() {
        let text = "\u{feff}# hosts\nIP,Port,User,Password,Cluster Name,name\n10.0.0.1,22,root,\"p,w\"\"d\",c1,h1\n\n10.0.0.2,,root,x,c1,\r\n";
        let rows = parse_host_file(text).unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0].line, 3);
        assert_eq!(rows[0].get("managementIp"), Some("10.0.0.1"));
        assert_eq!(rows[0].cells["password"], "p,w\"d");
        assert_eq!(rows[0].get("clusterName"), Some("c1"));
        assert_eq!(rows[1].line, 5);
        assert_eq!(rows[1].get("sshPort"), None);
        assert_eq!(rows[1].get("name"), None);
    }

    #[test]
    fn unknown_or_missing_columns_fail_the_file() {
        let e = parse_host_file("managementIp,pasword\n1.2.3.4,x\n").unwrap_err();
        assert!(
            e.details.contains("unknown column [pasword]"),
            "{}",
            e.details
        );
        let e = parse_host_file("name,password\nh,x\n").unwrap_err();
        assert!(
            e.details.contains("no managementIp column"),
            "{}",
            e.details
        );
        let e = parse_host_file("managementIp\n\"1.2.3.4\n").unwrap_err();
        assert!(e.details.contains("not closed"), "{}", e.details);
    }
}
