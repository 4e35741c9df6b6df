//! What the CLI shows: tables, JSON, YAML, errors and the progress spinner.
//!
//! - `-o table` (the default): query results as a table with columns chosen per resource
//!   (or the `fields=` given), memory in human units, the host status in colour when stdout
//!   is a terminal; a single inventory as `field  value` lines.
//! - `-o json` / `-o yaml`: the raw inventories (a query's `inventories` list, an action's
//!   `inventory` object, else the whole answer without `schema`).
//! - Errors as `code: description`, then details, step, reason and hint, on stderr.
//! - A spinner with the API name, the elapsed time and the current step, on stderr, only when
//!   stderr is a terminal.
//!
//! This module never makes HTTP calls (names of referenced resources are looked up by the
//! caller and handed in) and never prints a parameter value that was not in an answer.

use std::collections::HashMap;
use std::io::IsTerminal;
use std::time::Duration;

use comfy_table::{Attribute, Cell, Color, ContentArrangement, Table};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::{Map, Value};

use super::client::{ApiError, JobProgress};
use super::Failure;

/// The `-o` choices.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, clap::ValueEnum)]
pub enum Format {
    #[default]
    Table,
    Json,
    Yaml,
}

/// How output looks on this terminal.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub format: Format,
    /// Colours on stdout (a terminal, and `NO_COLOR` unset).
    pub color: bool,
    /// Colours on stderr.
    pub err_color: bool,
    /// A spinner on stderr.
    pub spinner: bool,
}

impl Style {
    pub fn detect(format: Format) -> Style {
        let no_color = std::env::var_os("NO_COLOR").is_some_and(|v| !v.is_empty());
        let err_tty = std::io::stderr().is_terminal();
        Style {
            format,
            color: std::io::stdout().is_terminal() && !no_color,
            err_color: err_tty && !no_color,
            spinner: err_tty,
        }
    }
}

/// The part of an answer `-o json`/`-o yaml` prints.
pub fn machine_value(body: &Value) -> Value {
    let Some(obj) = body.as_object() else {
        return body.clone();
    };
    if let Some(items) = obj.get("inventories") {
        if !obj.contains_key("total") {
            return items.clone();
        }
    }
    if let Some(inv) = obj.get("inventory") {
        return inv.clone();
    }
    let mut m = obj.clone();
    m.remove("schema");
    Value::Object(m)
}

/// `value` as JSON (pretty) or YAML, ending with a newline.
pub fn serialize(value: &Value, format: Format) -> String {
    match format {
        Format::Yaml => serde_norway::to_string(value).unwrap_or_else(|e| format!("# {e}\n")),
        _ => format!(
            "{}\n",
            serde_json::to_string_pretty(value).expect("JSON values serialise")
        ),
    }
}

/// One column of a table.
#[derive(Debug, Clone)]
pub struct Column {
    pub field: String,
    pub header: String,
}

fn col(field: &str, header: &str) -> Column {
    Column {
        field: field.into(),
        header: header.into(),
    }
}

/// The columns a resource shows by default (the `spec.query` resource name).
pub fn default_columns(resource: &str) -> Option<Vec<Column>> {
    Some(match resource {
        "Host" => vec![
            col("uuid", "UUID"),
            col("name", "NAME"),
            col("managementIp", "MANAGEMENT IP"),
            col("status", "STATUS"),
            col("state", "STATE"),
            col("cpuNum", "CPUS"),
            col("totalMemoryCapacity", "MEMORY"),
            col("clusterUuid", "CLUSTER"),
        ],
        "Cluster" => vec![
            col("uuid", "UUID"),
            col("name", "NAME"),
            col("state", "STATE"),
            col("hypervisorType", "HYPERVISOR"),
            col("architecture", "ARCH"),
            col("zoneUuid", "ZONE"),
        ],
        "Zone" => vec![
            col("uuid", "UUID"),
            col("name", "NAME"),
            col("state", "STATE"),
            col("isDefault", "DEFAULT"),
            col("description", "DESCRIPTION"),
        ],
        "GlobalConfig" => vec![
            col("category", "CATEGORY"),
            col("name", "NAME"),
            col("value", "VALUE"),
            col("defaultValue", "DEFAULT"),
        ],
        "ManagementNode" => vec![
            col("uuid", "UUID"),
            col("hostName", "HOST NAME"),
            col("joinDate", "JOINED"),
            col("heartBeat", "HEARTBEAT"),
        ],
        _ => return None,
    })
}

/// `managementIp` → `MANAGEMENT IP`, `cluster.name` → `CLUSTER NAME`.
pub fn header_of(field: &str) -> String {
    let mut out = String::new();
    let mut prev_lower = false;
    for c in field.chars() {
        if c == '.' || c == '_' {
            out.push(' ');
            prev_lower = false;
            continue;
        }
        if c.is_uppercase() && prev_lower {
            out.push(' ');
        }
        prev_lower = c.is_lowercase() || c.is_ascii_digit();
        out.extend(c.to_uppercase());
    }
    out
}

/// Columns for explicit `fields=`.
pub fn columns_of_fields(fields: &[String]) -> Vec<Column> {
    fields
        .iter()
        .map(|f| Column {
            field: f.clone(),
            header: header_of(f),
        })
        .collect()
}

/// Columns from the first item's scalar fields (a resource with no default columns).
fn columns_of_item(item: Option<&Value>) -> Vec<Column> {
    item.and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .filter(|(_, v)| !v.is_object() && !v.is_array())
                .map(|(k, _)| Column {
                    field: k.clone(),
                    header: header_of(k),
                })
                .collect()
        })
        .unwrap_or_default()
}

/// `8589934592` → `8.0 GiB`.
pub fn human_bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    if n < 1024 {
        return format!("{n} B");
    }
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    format!("{v:.1} {}", UNITS[unit])
}

fn is_memory(field: &str) -> bool {
    field.ends_with("MemoryCapacity")
}

/// A value as table text: memory in human units, names for referenced uuids, `-` for none.
fn cell_text(field: &str, v: Option<&Value>, names: &HashMap<String, String>) -> String {
    match v {
        None | Some(Value::Null) => "-".into(),
        Some(Value::String(s)) if field.ends_with("Uuid") => {
            names.get(s).cloned().unwrap_or_else(|| s.clone())
        }
        Some(Value::String(s)) if s.is_empty() => "-".into(),
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) if is_memory(field) => match n.as_u64() {
            Some(b) => human_bytes(b),
            None => n.to_string(),
        },
        Some(Value::Array(a)) => a
            .iter()
            .map(|x| match x {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            })
            .collect::<Vec<_>>()
            .join(","),
        Some(other) => other.to_string(),
    }
}

fn status_color(s: &str) -> Option<Color> {
    match s {
        "Connected" => Some(Color::Green),
        "Disconnected" => Some(Color::Red),
        "Connecting" => Some(Color::Yellow),
        _ => None,
    }
}

/// A table of `items`. `names`: uuid → name, shown instead of referenced uuids.
pub fn table(
    items: &[Value],
    columns: Option<Vec<Column>>,
    names: &HashMap<String, String>,
    color: bool,
) -> String {
    let columns = columns.unwrap_or_else(|| columns_of_item(items.first()));
    let mut t = Table::new();
    t.load_preset(comfy_table::presets::NOTHING)
        .set_content_arrangement(ContentArrangement::Disabled);
    if color {
        t.enforce_styling();
    } else {
        t.force_no_tty();
    }
    t.set_header(columns.iter().map(|c| Cell::new(&c.header)));
    for item in items {
        t.add_row(columns.iter().map(|c| {
            let v = lookup(item, &c.field);
            let text = cell_text(&c.field, v, names);
            let mut cell = Cell::new(&text);
            if color && c.field == "status" {
                if let Some(col) = status_color(&text) {
                    cell = cell.fg(col).add_attribute(Attribute::Bold);
                }
            }
            cell
        }));
    }
    for c in t.column_iter_mut() {
        c.set_padding((0, 2));
    }
    let mut s = t.trim_fmt();
    s.push('\n');
    s
}

/// `a.b` looks into nested objects (a `fields=cluster.name` projection).
fn lookup<'a>(item: &'a Value, field: &str) -> Option<&'a Value> {
    item.get(field).or_else(|| {
        let mut v = item;
        for part in field.split('.') {
            v = v.get(part)?;
        }
        Some(v)
    })
}

/// An object as `field  value` lines (a single inventory, or any other answer).
pub fn detail(obj: &Map<String, Value>) -> String {
    let shown = |k: &String| k != "schema" && k != "success";
    let width = obj
        .keys()
        .filter(|k| shown(k))
        .map(|k| k.chars().count())
        .max()
        .unwrap_or(0);
    let mut out = String::new();
    for (k, v) in obj.iter().filter(|(k, _)| shown(k)) {
        let text = match v {
            Value::Null => "-".to_string(),
            Value::String(s) => s.clone(),
            Value::Number(n) if is_memory(k) => match n.as_u64() {
                Some(b) => format!("{n} ({})", human_bytes(b)),
                None => n.to_string(),
            },
            Value::Array(a) if a.iter().all(|x| x.is_string()) => a
                .iter()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(", "),
            other => other.to_string(),
        };
        out.push_str(&format!("{k:<width$}  {text}\n"));
    }
    out
}

/// A failure, readably, for stderr.
pub fn failure_text(f: &Failure, color: bool) -> String {
    let label = if color {
        "\x1b[1;31merror:\x1b[0m"
    } else {
        "error:"
    };
    match f {
        Failure::Usage(m) => format!("{label} {m}\n"),
        Failure::Other(m) => format!("{label} {m}\n"),
        Failure::Http { status, text } => {
            let text = text.trim();
            if text.is_empty() {
                format!("{label} the server answered HTTP {status}\n")
            } else {
                format!("{label} the server answered HTTP {status}: {text}\n")
            }
        }
        Failure::Api(e) => api_error_text(e, label),
        Failure::Interrupted => String::new(),
    }
}

/// ZStack reports some user mistakes as internal errors (SYS.1000): an unknown query field, a
/// state change the state machine has no transition for. The server keeps the code on the
/// wire; the CLI shows them as the mistakes they are.
fn is_user_mistake(e: &ApiError) -> bool {
    e.code == "SYS.1000"
        && [
            "has no field[",
            "no expand query[",
            "cannot find next state",
            " is already in ",
        ]
        .iter()
        .any(|p| e.details.contains(p))
}

fn api_error_text(e: &ApiError, label: &str) -> String {
    let mistake = is_user_mistake(e);
    let mut out = if mistake {
        format!("{label} {}\n", e.details.trim())
    } else {
        format!("{label} {}: {}\n", e.code, e.description)
    };
    let mut line = |k: &str, v: &str| {
        if !v.trim().is_empty() {
            out.push_str(&format!("  {k:<8} {}\n", v.trim()));
        }
    };
    if mistake {
        line(
            "code:",
            &format!("{} (ZStack's code for this mistake)", e.code),
        );
    } else {
        line("details:", &e.details);
    }
    // Cause chain, innermost last.
    let mut cause = e.cause.as_deref();
    while let Some(c) = cause {
        let text = if c.details.is_empty() {
            format!("{}: {}", c.code, c.description)
        } else {
            format!("{}: {}: {}", c.code, c.description, c.details)
        };
        line("cause:", &text);
        cause = c.cause.as_deref();
    }
    for key in ["step", "reason", "stderr"] {
        if let Some(v) = e.opaque_str(key) {
            line(&format!("{key}:"), v);
        }
    }
    if let Some(h) = e.opaque_str("hint") {
        line("hint:", h);
    }
    out
}

/// The spinner of a running job: API name, elapsed time, and the step when known.
pub struct Spinner {
    bar: Option<ProgressBar>,
    ticking: bool,
}

impl Spinner {
    /// A spinner that draws only if `enabled` (stderr is a terminal) and the call is a job.
    pub fn new(enabled: bool) -> Spinner {
        Spinner {
            bar: enabled.then(|| {
                let bar = ProgressBar::new_spinner();
                bar.set_style(
                    ProgressStyle::with_template("{spinner:.cyan} {msg} {elapsed:.dim}")
                        .expect("valid template"),
                );
                bar
            }),
            ticking: false,
        }
    }

    /// Called at every poll of the job.
    pub fn update(&mut self, p: &JobProgress<'_>) {
        if let Some(bar) = &self.bar {
            let msg = match &p.step {
                Some(s) => format!("{} [{s}]", p.api),
                None => p.api.to_string(),
            };
            if bar.message() != msg {
                bar.set_message(msg);
            }
            if !self.ticking {
                bar.enable_steady_tick(Duration::from_millis(100));
                self.ticking = true;
            }
        }
    }

    /// Remove the spinner and, on a terminal, leave a one-line summary.
    pub fn finish(self, api: &str, ok: bool) {
        if let Some(bar) = self.bar {
            let secs = bar.elapsed().as_secs_f64();
            bar.finish_and_clear();
            if self.ticking && secs >= 0.3 {
                eprintln!(
                    "{} {api} {} in {secs:.1}s",
                    if ok { "✓" } else { "✗" },
                    if ok { "done" } else { "failed" }
                );
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn hosts_as_a_table() {
        let items = vec![
            json!({"uuid": "u1", "name": "h1", "managementIp": "127.0.0.2", "status": "Connected",
                   "state": "Enabled", "cpuNum": 4, "totalMemoryCapacity": 8589934592u64,
                   "clusterUuid": "c1"}),
            json!({"uuid": "u2", "name": "h2", "managementIp": "127.0.0.3",
                   "status": "Disconnected", "state": "Maintenance", "clusterUuid": "c9"}),
        ];
        let names = HashMap::from([("c1".to_string(), "prod".to_string())]);
        let t = table(&items, default_columns("Host"), &names, false);
        assert_eq!(
            t,
            "UUID  NAME  MANAGEMENT IP  STATUS        STATE        CPUS  MEMORY   CLUSTER\n\
             u1    h1    127.0.0.2      Connected     Enabled      4     8.0 GiB  prod\n\
             u2    h2    127.0.0.3      Disconnected  Maintenance  -     -        c9\n"
        );
        let colored = table(&items, default_columns("Host"), &names, true);
        assert!(colored.contains("\x1b["), "{colored}");
        let t = table(
            &items,
            Some(columns_of_fields(&["uuid".into(), "managementIp".into()])),
            &names,
            false,
        );
        assert_eq!(t, "UUID  MANAGEMENT IP\nu1    127.0.0.2\nu2    127.0.0.3\n");
        assert_eq!(
            table(&[], default_columns("Zone"), &names, false),
            "UUID  NAME  STATE  DEFAULT  DESCRIPTION\n"
        );
    }

    #[test]
    fn units_headers_values() {
        assert_eq!(human_bytes(512), "512 B");
        assert_eq!(human_bytes(1536), "1.5 KiB");
        assert_eq!(human_bytes(8 * 1024 * 1024 * 1024), "8.0 GiB");
        assert_eq!(header_of("totalMemoryCapacity"), "TOTAL MEMORY CAPACITY");
        assert_eq!(header_of("cluster.name"), "CLUSTER NAME");
        assert_eq!(
            machine_value(&json!({"inventories": [1], "schema": {}})),
            json!([1])
        );
        assert_eq!(
            machine_value(&json!({"inventories": [1], "total": 1})),
            json!({"inventories": [1], "total": 1})
        );
        assert_eq!(
            machine_value(&json!({"inventory": {"a": 1}})),
            json!({"a": 1})
        );
        assert_eq!(machine_value(&json!({"schema": {}})), json!({}));
        assert_eq!(serialize(&json!({"a": [1]}), Format::Yaml), "a:\n- 1\n");
        assert_eq!(
            detail(
                json!({"name": "h", "totalMemoryCapacity": 1024, "success": true})
                    .as_object()
                    .unwrap()
            ),
            "name                 h\ntotalMemoryCapacity  1024 (1.0 KiB)\n"
        );
    }

    #[test]
    fn user_mistakes_are_no_internal_errors() {
        let e = ApiError::from_json(&json!({
            "code": "SYS.1000", "description": "An internal error happened in system",
            "details": "host s6 is already in Maintenance: cannot find next state for current state[Maintenance] on transaction event[preMaintain]",
        }));
        let text = failure_text(&Failure::Api(Box::new(e)), false);
        assert!(
            text.starts_with("error: host s6 is already in Maintenance"),
            "{text}"
        );
        assert!(!text.contains("internal error"), "{text}");
        assert!(text.contains("\n  code:    SYS.1000 "), "{text}");
    }

    #[test]
    fn errors_read_well() {
        let e = ApiError::from_json(&json!({
            "code": "HOST.1003", "description": "An error happened when connecting to host",
            "details": "cannot log in",
            "opaque": {"step": "ssh-login", "reason": "HOST.SSH.AUTH_FAILED", "hint": "check it"}
        }));
        assert_eq!(
            failure_text(&Failure::Api(Box::new(e)), false),
            "error: HOST.1003: An error happened when connecting to host\n  \
             details: cannot log in\n  step:    ssh-login\n  reason:  HOST.SSH.AUTH_FAILED\n  \
             hint:    check it\n"
        );
    }
}
