//! A store with many hosts, written directly (batched multi-row INSERTs through the server's own
//! `Store`, so the schema is the migrations'): one zone, 100 clusters, `n` hosts with realistic
//! and varied values, and the 16 inherent system tags a connect writes per host.
//!
//! Host `i` is host `j = i % per_cluster` of cluster `k = i / per_cluster`:
//! name `kvm-{k:02}-{j:04}`, management IP `10.{k}.{j/250}.{j%250+1}` (so `10.1.%` matches the
//! 11 clusters 1 and 10-19), OS by `k % 3` (Ubuntu 22.04 / Rocky 9.3 / Kylin V10), CPUs by
//! `k % 4`, memory by `k % 3`, aarch64 every tenth cluster; 1 host in 50 Disconnected, 1 in 100
//! Disabled, 1 in 200 in Maintenance. The tracker and boot reconnects are switched off in the
//! seeded global configs: these addresses are not reachable and must never be contacted.

use std::path::Path;
use std::time::Instant;

use hostplane_server::domain::global_config::Configs;
use hostplane_server::domain::host::{Crypto, Secret};
use hostplane_server::store::Store;
use rand::{Rng, SeedableRng};
use sqlx::any::AnyArguments;
use sqlx::query::Query;
use sqlx::Any;

pub struct Seeded {
    pub hosts: usize,
    pub clusters: usize,
    pub tags: usize,
    pub seconds: f64,
    /// Every 97th host's uuid (a sample for random lookups).
    pub sample_uuids: Vec<String>,
    pub cluster_names: Vec<String>,
}

const OSES: [(&str, &str, &str); 3] = [
    ("ubuntu", "jammy", "22.04"),
    ("rocky", "Blue Onyx", "9.3"),
    ("kylin", "Lance", "V10"),
];

fn uuid(rng: &mut rand::rngs::StdRng) -> String {
    let b: [u8; 16] = rng.gen();
    hex::encode(b)
}

type Q<'q> = Query<'q, Any, AnyArguments<'q>>;

enum V {
    T(Option<String>),
    I(Option<i64>),
}

fn bind_row<'q>(mut q: Q<'q>, row: Vec<V>) -> Q<'q> {
    for v in row {
        q = match v {
            V::T(s) => q.bind(s),
            V::I(i) => q.bind(i),
        };
    }
    q
}

/// `INSERT INTO t (cols) VALUES (...), (...)` with `$n` placeholders for `rows` rows.
fn insert_sql(table: &str, cols: &[&str], rows: usize) -> String {
    let mut s = format!("INSERT INTO {table} ({}) VALUES ", cols.join(", "));
    let mut n = 1;
    for r in 0..rows {
        if r > 0 {
            s.push_str(", ");
        }
        s.push('(');
        for c in 0..cols.len() {
            if c > 0 {
                s.push_str(", ");
            }
            s.push_str(&format!("${n}"));
            n += 1;
        }
        s.push(')');
    }
    s
}

async fn insert_rows(
    tx: &mut sqlx::Transaction<'_, Any>,
    table: &str,
    cols: &[&str],
    rows: Vec<Vec<V>>,
) -> anyhow::Result<()> {
    let per: usize = std::env::var("SEED_ROWS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(50)
        .max(1);
    let mut rows = rows.into_iter().peekable();
    while rows.peek().is_some() {
        let chunk: Vec<Vec<V>> = rows.by_ref().take(per).collect();
        let sql = insert_sql(table, cols, chunk.len());
        let mut q = sqlx::query(&sql);
        for r in chunk {
            q = bind_row(q, r);
        }
        q.execute(&mut **tx).await?;
    }
    Ok(())
}

const HOST_COLS: &[&str] = &[
    "uuid",
    "zone_uuid",
    "cluster_uuid",
    "name",
    "description",
    "management_ip",
    "hypervisor_type",
    "state",
    "status",
    "architecture",
    "hostname",
    "nqn",
    "username",
    "ssh_port",
    "credential",
    "host_key_fingerprint",
    "host_key",
    "os_distribution",
    "os_release",
    "os_version",
    "total_cpu",
    "available_cpu",
    "cpu_num",
    "cpu_sockets",
    "total_memory",
    "available_memory",
    "total_physical_memory",
    "available_physical_memory",
    "ipmi_address",
    "ipmi_username",
    "ipmi_port",
    "ipmi_power_status",
    "cpu_status",
    "memory_status",
    "disk_status",
    "nic_status",
    "gpu_status",
    "power_supply_status",
    "fan_status",
    "raid_status",
    "temperature_status",
    "create_date",
    "last_op_date",
];

const TAG_COLS: &[&str] = &[
    "uuid",
    "resource_uuid",
    "resource_type",
    "tag",
    "inherent",
    "create_date",
    "last_op_date",
];

/// Development shortcut: with `HOSTPLANE_BENCH_SEEDED=<data dir of an earlier seed>`, copy that
/// store instead of seeding (the numbers of a published run always come from a fresh seed).
pub async fn reuse(dir: &Path, n: usize) -> anyhow::Result<Option<Seeded>> {
    let Ok(from) = std::env::var("HOSTPLANE_BENCH_SEEDED") else {
        return Ok(None);
    };
    let started = Instant::now();
    let from = Path::new(&from);
    for f in ["hostplane.db", "hostplane.db-wal", "hostplane.db-shm"] {
        if from.join(f).exists() {
            std::fs::copy(from.join(f), dir.join(f))?;
        }
    }
    let store = Store::open_sqlite(dir).await?;
    let hosts: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM host")
        .fetch_one(store.pool())
        .await?;
    anyhow::ensure!(
        hosts as usize == n,
        "the reused store has {hosts} hosts, not {n}"
    );
    let sample: Vec<String> = sqlx::query_scalar("SELECT uuid FROM host WHERE rowid % 97 = 1")
        .fetch_all(store.pool())
        .await?;
    let cluster_names: Vec<String> = sqlx::query_scalar("SELECT name FROM cluster ORDER BY name")
        .fetch_all(store.pool())
        .await?;
    let tags: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM system_tag")
        .fetch_one(store.pool())
        .await?;
    store.pool().close().await;
    Ok(Some(Seeded {
        hosts: n,
        clusters: cluster_names.len(),
        tags: tags as usize,
        seconds: started.elapsed().as_secs_f64(),
        sample_uuids: sample,
        cluster_names,
    }))
}

/// Seed `dir` (a fresh data directory) with `n` hosts in 100 clusters.
pub async fn seed(dir: &Path, n: usize) -> anyhow::Result<Seeded> {
    seed_with(dir, n, None).await
}

/// Seed `dir` with `n` hosts that refuse connections on `port` of loopback addresses, with
/// sealed credentials and the default configs (the start-up benchmark).
pub async fn seed_unreachable(dir: &Path, n: usize, port: u16) -> anyhow::Result<Seeded> {
    seed_with(dir, n, Some(port)).await
}

async fn seed_with(dir: &Path, n: usize, unreachable: Option<u16>) -> anyhow::Result<Seeded> {
    let started = Instant::now();
    let store = Store::open_sqlite(dir).await?;
    Configs::load(&store).await?;
    let crypto = match unreachable {
        Some(_) => Some(Crypto::load(dir, None)?),
        None => {
            store.global_config_set("host", "load.all", "false").await?;
            store
                .global_config_set("host", "reconnectAllOnBoot", "false")
                .await?;
            None
        }
    };
    let mut rng = rand::rngs::StdRng::seed_from_u64(20261);
    let now = chrono::Utc::now().timestamp_millis();
    let clusters = 100usize;
    let per_cluster = n.div_ceil(clusters);
    let zone = uuid(&mut rng);
    let mut tx = store.pool().begin().await?;
    sqlx::query(
        "INSERT INTO zone (uuid, name, description, state, type, is_default, create_date, last_op_date) \
         VALUES ($1, 'dc-1', 'benchmark zone', 'Enabled', 'zstack', 1, $2, $2)",
    )
    .bind(&zone)
    .bind(now - 400 * 86_400_000)
    .execute(&mut *tx)
    .await?;
    let mut cluster_uuids = Vec::new();
    let mut cluster_names = Vec::new();
    for k in 0..clusters {
        let u = uuid(&mut rng);
        let name = format!("cluster-{k:02}");
        sqlx::query(
            "INSERT INTO cluster (uuid, zone_uuid, name, description, state, hypervisor_type, type, architecture, create_date, last_op_date) \
             VALUES ($1, $2, $3, NULL, 'Enabled', 'KVM', 'zstack', $4, $5, $5)",
        )
        .bind(&u)
        .bind(&zone)
        .bind(&name)
        .bind(if k % 10 == 9 { "aarch64" } else { "x86_64" })
        .bind(now - 390 * 86_400_000)
        .execute(&mut *tx)
        .await?;
        cluster_uuids.push(u);
        cluster_names.push(name);
    }
    tx.commit().await?;

    let mut sample = Vec::new();
    let mut tags_total = 0;
    let batch = 5_000;
    let mut i = 0;
    while i < n {
        let end = (i + batch).min(n);
        let mut hosts = Vec::with_capacity(end - i);
        let mut tags = Vec::with_capacity((end - i) * 16);
        for i in i..end {
            let (k, j) = (i / per_cluster, i % per_cluster);
            let u = uuid(&mut rng);
            if i % 97 == 0 {
                sample.push(u.clone());
            }
            let (os, release, version) = OSES[k % 3];
            let cpus = [32i64, 64, 96, 128][k % 4];
            let mem: i64 = [256i64, 512, 1024][k % 3] << 30;
            let arch = if k % 10 == 9 { "aarch64" } else { "x86_64" };
            let status = if j % 50 == 49 {
                "Disconnected"
            } else {
                "Connected"
            };
            let state = if j % 100 == 98 {
                "Disabled"
            } else if j % 200 == 7 {
                "Maintenance"
            } else {
                "Enabled"
            };
            let name = format!("kvm-{k:02}-{j:04}");
            let created = now - ((n - i) as i64) * 60_000 - 86_400_000;
            let fp = format!("SHA256:{}", uuid(&mut rng));
            let t = |s: &str| V::T(Some(s.to_string()));
            let disk = if i % 500 == 3 { "Error" } else { "Normal" };
            let (ip, port, credential) = match (unreachable, &crypto) {
                (Some(port), Some(c)) => (
                    format!(
                        "127.{}.{}.{}",
                        100 + i / 62_500,
                        (i / 250) % 250,
                        i % 250 + 1
                    ),
                    port as i64,
                    Some(c.seal(&u, &Secret::Password("password".into()))?),
                ),
                _ => (format!("10.{k}.{}.{}", j / 250, j % 250 + 1), 22, None),
            };
            hosts.push(vec![
                t(&u),
                t(&zone),
                t(&cluster_uuids[k]),
                t(&name),
                V::T(None),
                t(&ip),
                t("KVM"),
                t(state),
                t(status),
                t(arch),
                t(&name),
                t(&format!("nqn.2014-08.org.nvmexpress:uuid:{u}")),
                t("root"),
                V::I(Some(port)),
                V::T(credential),
                t(&fp),
                V::T(None),
                t(os),
                t(release),
                t(version),
                V::I(Some(cpus * 10)),
                V::I(Some(cpus * 10 - (rng.gen_range(0..cpus)))),
                V::I(Some(cpus)),
                V::I(Some(if cpus == 128 { 4 } else { 2 })),
                V::I(Some(mem)),
                V::I(Some(mem - rng.gen_range(0..mem / 2))),
                V::I(Some(mem)),
                V::I(Some(mem - rng.gen_range(0..mem / 2))),
                t(&format!("172.16.{k}.{}", j % 250 + 1)),
                V::T(None),
                V::I(Some(623)),
                t("UN_CONFIGURED"),
                t("Normal"),
                t("Normal"),
                t(disk),
                t("Normal"),
                t("Unknown"),
                t("Normal"),
                t("Normal"),
                t("Normal"),
                t("Normal"),
                V::I(Some(created)),
                V::I(Some(created + rng.gen_range(0..86_400_000))),
            ]);
            let model = if arch == "aarch64" {
                "Kunpeng-920"
            } else {
                "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz"
            };
            let mut host_tags = vec![
                format!("os::distribution::{os}"),
                format!("os::release::{release}"),
                format!("os::version::{version}"),
                "hvm::vmx".to_string(),
                "ept::ept".to_string(),
                format!("hostCpuModelName::{model}"),
                "kernel::version::5.15.0-91-generic".to_string(),
                "libvirt::version::8.0.0".to_string(),
                "qemu-img::version::6.2.0".to_string(),
                format!("machineId::{}", uuid(&mut rng)),
                "systemManufacturer::Inspur".to_string(),
                "systemProductName::NF5280M6".to_string(),
                format!("systemSerialNumber::SN{i:08}"),
                "biosVersion::4.1.20".to_string(),
                format!("sshHostKey::{fp}"),
            ];
            if status == "Connected" {
                host_tags.push(format!("ConnectedTime::{}", created + 3_600_000));
            }
            for tag in host_tags {
                tags.push(vec![
                    V::T(Some(uuid(&mut rng))),
                    V::T(Some(u.clone())),
                    V::T(Some("HostVO".into())),
                    V::T(Some(tag)),
                    V::I(Some(1)),
                    V::I(Some(created)),
                    V::I(Some(created)),
                ]);
            }
        }
        tags_total += tags.len();
        let t = Instant::now();
        let mut tx = store.pool().begin().await?;
        // Seeding only: a page cache big enough for the indexes being filled.
        sqlx::query("PRAGMA cache_size = -262144")
            .execute(&mut *tx)
            .await?;
        insert_rows(&mut tx, "host", HOST_COLS, hosts).await?;
        let th = t.elapsed();
        insert_rows(&mut tx, "system_tag", TAG_COLS, tags).await?;
        tx.commit().await?;
        let _ = (th, t);
        i = end;
    }
    store.pool().close().await;
    Ok(Seeded {
        hosts: n,
        clusters,
        tags: tags_total,
        seconds: started.elapsed().as_secs_f64(),
        sample_uuids: sample,
        cluster_names,
    })
}
