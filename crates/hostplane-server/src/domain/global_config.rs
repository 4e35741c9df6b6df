//! Global configuration: the keys hostplane honours, each with its default, description and
//! validation, and a live in-memory copy that operations read without touching the store.
//!
//! An update is validated first (a bad value gets SYS.1007 and changes nothing), then written
//! to the store, then to the cache, and then every subscriber (the ping tracker, the job
//! sweeper) is told through a watch channel so that, for example, a new ping interval takes
//! effect at once.

use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::Duration;

use tokio::sync::watch;

use super::api::Params;
use super::{App, Inventory, Output};
use crate::error::{Error, Result};
use crate::store::Store;

/// How a value is checked.
#[derive(Debug, Clone, Copy)]
pub enum Check {
    /// An integer in [min, max].
    Long(i64, i64),
    /// `true` or `false`, any case.
    Bool,
    /// A size: digits with an optional K/M/G/T suffix (bytes).
    Size,
    /// One of these values.
    OneOf(&'static [&'static str]),
    /// A comma-separated list of hostnames or addresses.
    List,
    /// Any text that is an absolute path or starts with `~/`.
    Path,
}

pub struct Def {
    pub category: &'static str,
    pub name: &'static str,
    pub default: &'static str,
    pub description: &'static str,
    pub check: Check,
}

const fn def(
    category: &'static str,
    name: &'static str,
    default: &'static str,
    check: Check,
    description: &'static str,
) -> Def {
    Def {
        category,
        name,
        default,
        description,
        check,
    }
}

const MAX: i64 = i64::MAX;

/// Every key hostplane honours. ZStack's own keys keep ZStack's names and defaults; the ones
/// hostplane adds say so.
pub static DEFS: &[Def] = &[
    def("host", "ping.interval", "60", Check::Long(1, 86400), "seconds between two pings of a host; also the takeover-flag freshness window"),
    def("host", "ping.timeout", "10", Check::Long(1, 3600), "seconds one ping try may take"),
    def("host", "ping.maxFailure", "3", Check::Long(1, 100), "consecutive failed tries before a host is Disconnected"),
    def("host", "ping.sleepPeriodAfterFailure", "1", Check::Long(0, 3600), "seconds between ping tries"),
    def("host", "ping.parallelismDegree", "100", Check::Long(1, 100000), "pings running at once"),
    def("host", "ping.reuseSession", "false", Check::Bool, "hostplane: ping over one persistent SSH session per host, every round (false: log in only every ping.loginEvery rounds and probe sshd in between)"),
    def("host", "ping.loginEvery", "5", Check::Long(1, 1000), "hostplane: without reuseSession, every Nth ping logs in (host key checked, takeover flag refreshed); the others read sshd's identification line, no login (1: log in for every ping)"),
    def("host", "connection.autoReconnectOnError", "true", Check::Bool, "reconnect a host automatically when it answers again after ping failures"),
    def("host", "connection.autoReconnectOnError.maxAttemptsNum", "0", Check::Long(0, MAX), "stop tracking a host after this many failed automatic reconnects (0: never)"),
    def("host", "load.all", "true", Check::Bool, "track every host when the server starts"),
    def("host", "reconnectAllOnBoot", "true", Check::Bool, "reconnect Connecting and Disconnected hosts when the server starts"),
    def("host", "load.parallelismDegree", "100", Check::Long(1, 100000), "reconnects running at once when the server starts"),
    def("host", "cpu.overProvisioning.ratio", "10", Check::Long(1, 1000), "totalCpuCapacity = cpuNum x ratio"),
    def("host", "reportHostCapacityInterval", "30", Check::Long(1, MAX), "minutes between capacity refreshes"),
    def("host", "maintenanceMode.ignoreError", "false", Check::Bool, "ignore VM stop errors when entering maintenance"),
    def("host", "host.maintenance.policy", "StopVmOnMigrationFailure", Check::OneOf(&["StopVmOnMigrationFailure", "JustMigrate"]), "what maintenance does when a VM cannot migrate"),
    def("host", "add.batchLimit", "500", Check::Long(1, 100000), "hosts one batch add may name"),
    def("host", "add.parallelismDegree", "30", Check::Long(1, 100000), "hostplane: AddKVMHost calls connecting at once (ZStack fixes 30)"),
    def("kvm", "reservedMemory", "1G", Check::Size, "memory a host must have above this to be added"),
    def("kvm", "reservedCpu", "512", Check::Long(0, MAX), "CPU reserve (allocation only)"),
    def("kvm", "vm.migrationQuantity", "2", Check::Long(1, 1000), "parallel migrations during maintenance"),
    def("kvm", "host.syncLevel", "10", Check::Long(1, 1000), "per-host operation concurrency"),
    def("kvm", "testSshPortOpenTimeout", "300", Check::Long(1, 86400), "seconds to wait for a host's SSH port during connect"),
    def("kvm", "testSshPortOnConnectTimeout", "2", Check::Long(1, 3600), "seconds one TCP try to the SSH port may take"),
    def("kvm", "checkHostCpuModelName", "false", Check::Bool, "require the same CPU model across a cluster"),
    def("kvm", "host.DNSCheckList", "yahoo.com,google.com,baidu.com", Check::List, "names a new host must resolve (not checked by hostplane: hosts need no internet)"),
    def("kvm", "vmSyncOnHostPing", "true", Check::Bool, "sync VM states on ping (hostplane manages no VMs yet)"),
    def("kvm", "ssh.commandTimeout", "60", Check::Long(1, 3600), "hostplane: seconds one SSH command (facts, flag) may take"),
    def("kvm", "ssh.authTimeout", "30", Check::Long(1, 3600), "hostplane: seconds the SSH handshake and login may take"),
    def("kvm", "takeOverFlagPath", "/var/run/zstack/takeOver", Check::Path, "hostplane: where the takeover flag lives on a host (ZStack's path by default, so hosts of a ZStack are recognised)"),
    def("identity", "session.timeout", "7200", Check::Long(1, MAX), "seconds a session lives"),
    def("identity", "session.maxConcurrent", "500", Check::Long(1, MAX), "sessions an account may hold"),
    def("rest", "completedApi.expiredPeriod", "10800", Check::Long(1, MAX), "seconds the result of a finished job is kept"),
    def("rest", "expiredApi.scanInterval", "3600", Check::Long(1, MAX), "seconds between sweeps of expired job results"),
];

fn find(category: &str, name: &str) -> Option<&'static Def> {
    DEFS.iter()
        .find(|d| d.category == category && d.name == name)
}

/// Check a value against its key's rule; the error text says what is accepted.
pub fn check_value(d: &Def, value: &str) -> std::result::Result<String, String> {
    let v = value.trim();
    match d.check {
        Check::Long(lo, hi) => match v.parse::<i64>() {
            Ok(n) if n >= lo && n <= hi => Ok(n.to_string()),
            Ok(n) => Err(format!("{n} is out of range [{lo}, {hi}]")),
            Err(_) => Err(format!(
                "{value} is not a whole number; expected {}",
                whole_number(lo, hi)
            )),
        },
        Check::Bool => super::validate::parse_bool(v)
            .map(|b| b.to_string())
            .ok_or_else(|| format!("{value} is not a boolean; use true or false")),
        Check::Size => parse_size(v)
            .map(|_| v.to_string())
            .ok_or_else(|| format!("{value} is not a size such as 1G, 512M or 1073741824")),
        Check::OneOf(vals) => {
            if vals.contains(&v) {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not one of {vals:?}"))
            }
        }
        Check::List => {
            if v.split(',').all(|s| !s.trim().is_empty()) {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not a comma-separated list"))
            }
        }
        Check::Path => {
            if (v.starts_with('/') || v.starts_with("~/"))
                && !v.contains(['\'', '"', '`', '$', '\n', ';', '&', '|'])
            {
                Ok(v.to_string())
            } else {
                Err(format!("{value} is not an absolute path (or one starting with ~/) without shell metacharacters"))
            }
        }
    }
}

/// What a `Check::Long` accepts, in plain words.
fn whole_number(lo: i64, hi: i64) -> String {
    if hi == MAX {
        format!("a whole number of at least {lo}")
    } else {
        format!("a whole number from {lo} to {hi}")
    }
}

/// `1G` → 1073741824. Suffixes K, M, G, T (powers of 1024), optional trailing `B`.
pub fn parse_size(s: &str) -> Option<i64> {
    let s = s.trim().trim_end_matches(['B', 'b']);
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1i64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.trim()
        .parse::<i64>()
        .ok()
        .filter(|n| *n >= 0)?
        .checked_mul(mult)
}

/// The live configuration.
#[derive(Clone)]
pub struct Configs {
    values: Arc<RwLock<HashMap<String, String>>>,
    changed: Arc<watch::Sender<u64>>,
}

impl Configs {
    /// Make sure every key is in the store, then load all values.
    pub async fn load(store: &Store) -> anyhow::Result<Configs> {
        for d in DEFS {
            store
                .global_config_ensure(d.category, d.name, d.description, d.default)
                .await?;
        }
        let mut values = HashMap::new();
        for r in store.global_configs_all().await? {
            values.insert(format!("{}.{}", r.category, r.name), r.value);
        }
        Ok(Configs {
            values: Arc::new(RwLock::new(values)),
            changed: Arc::new(watch::channel(0).0),
        })
    }

    /// The value of `category.name` (e.g. `host.ping.interval`).
    pub fn get(&self, key: &str) -> String {
        if let Some(v) = self.values.read().expect("config lock").get(key) {
            return v.clone();
        }
        DEFS.iter()
            .find(|d| format!("{}.{}", d.category, d.name) == key)
            .map(|d| d.default.to_string())
            .unwrap_or_default()
    }
    pub fn int(&self, key: &str) -> i64 {
        self.get(key).parse().unwrap_or(0)
    }
    pub fn bool(&self, key: &str) -> bool {
        self.get(key).eq_ignore_ascii_case("true")
    }
    pub fn secs(&self, key: &str) -> Duration {
        Duration::from_secs(self.int(key).max(0) as u64)
    }
    pub fn size(&self, key: &str) -> i64 {
        parse_size(&self.get(key)).unwrap_or(0)
    }
    /// A receiver that sees a new number after every change.
    pub fn subscribe(&self) -> watch::Receiver<u64> {
        self.changed.subscribe()
    }
    fn set(&self, key: String, value: String) {
        self.values.write().expect("config lock").insert(key, value);
        self.changed.send_modify(|n| *n += 1);
    }
}

/// ZStack: APIUpdateGlobalConfigMsg, PUT /v1/global-configurations/{category}/{name}/actions
pub async fn update_global_config(app: &App, p: &Params) -> Result<Output> {
    let (category, name) = (p.req("category"), p.req("name"));
    let d = find(category, name).ok_or_else(|| {
        Error::invalid_argument(format!(
            "Unable to find GlobalConfig[category: {category}, name: {name}]"
        ))
    })?;
    let value = p.str("value").unwrap_or_default();
    let value = check_value(d, value).map_err(|why| {
        Error::invalid_argument(format!(
            "invalid value for GlobalConfig[category: {category}, name: {name}]: {why}"
        ))
    })?;
    app.store.global_config_set(category, name, &value).await?;
    app.configs.set(format!("{category}.{name}"), value.clone());
    if category == "host" && name == "cpu.overProvisioning.ratio" {
        // Capacity follows the ratio (ZStack recalculates on a change too).
        app.store
            .hosts_apply_cpu_ratio(value.parse().unwrap_or(10), crate::time::now_ms())
            .await?;
    }
    let row = app
        .store
        .global_configs_all()
        .await?
        .into_iter()
        .find(|r| r.category == category && r.name == name)
        .ok_or_else(|| Error::internal("global config vanished"))?;
    let mut json = serde_json::Map::new();
    json.insert("id".into(), row.id.into());
    json.insert("name".into(), row.name.into());
    json.insert("category".into(), row.category.into());
    json.insert("description".into(), row.description.into());
    json.insert("defaultValue".into(), row.default_value.into());
    json.insert("value".into(), row.value.into());
    Ok(Output::Inventory(Inventory {
        class: super::catalogue::GLOBAL_CONFIG_CLASS.into(),
        json,
    }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_are_checked() {
        let interval = find("host", "ping.interval").unwrap();
        assert_eq!(check_value(interval, " 5 ").unwrap(), "5");
        assert!(check_value(interval, "0").is_err());
        assert!(check_value(interval, "abc").is_err());
        let b = find("host", "connection.autoReconnectOnError").unwrap();
        assert_eq!(check_value(b, "FALSE").unwrap(), "false");
        assert!(check_value(b, "yes").is_err());
        assert_eq!(parse_size("1G"), Some(1 << 30));
        assert_eq!(parse_size("512M"), Some(512 << 20));
        assert_eq!(parse_size("1073741824"), Some(1 << 30));
        assert_eq!(parse_size("G"), None);
        let p = find("kvm", "takeOverFlagPath").unwrap();
        assert!(check_value(p, "~/.hostplane/takeOver").is_ok());
        assert!(check_value(p, "/tmp/x; rm -rf /").is_err());
    }
}
