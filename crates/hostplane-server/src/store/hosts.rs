//! Hosts: one row per KVM host, with its connection facts, capacity, IPMI and hardware
//! statuses. Credentials arrive here already encrypted by the domain.

use super::Store;

/// What the domain needs to work on a host.
#[derive(Debug, Clone, sqlx::FromRow)]
pub struct HostRow {
    pub uuid: String,
    pub zone_uuid: String,
    pub cluster_uuid: String,
    pub name: String,
    pub management_ip: String,
    pub state: String,
    pub status: String,
    pub username: Option<String>,
    pub ssh_port: Option<i64>,
    /// The encrypted credential (see `domain::host::crypto`).
    pub credential: Option<String>,
    pub host_key_fingerprint: Option<String>,
    pub architecture: Option<String>,
    pub os_distribution: Option<String>,
    pub os_release: Option<String>,
    pub os_version: Option<String>,
    /// Epoch ms of the row's last change (every update sets it).
    pub last_op_date: i64,
}

/// What the ping tracker needs to know of every host each round.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostBrief {
    pub state: String,
    pub status: String,
    pub last_op_date: i64,
}

/// A new host, written as `Connecting` before its first connect.
#[derive(Debug, Clone)]
pub struct NewHost {
    pub uuid: String,
    pub zone_uuid: String,
    pub cluster_uuid: String,
    pub name: String,
    pub description: Option<String>,
    pub management_ip: String,
    pub username: String,
    pub ssh_port: i64,
    pub credential: String,
    pub host_key_fingerprint: Option<String>,
    /// The tags the add names; written with the row, in one transaction.
    pub system_tags: Vec<String>,
    pub user_tags: Vec<String>,
}

/// Everything a successful connect learned about a host.
#[derive(Debug, Clone, Default)]
pub struct ConnectFacts {
    pub architecture: Option<String>,
    pub hostname: Option<String>,
    pub nqn: Option<String>,
    pub os_distribution: Option<String>,
    pub os_release: Option<String>,
    pub os_version: Option<String>,
    pub cpu_num: Option<i64>,
    pub cpu_sockets: Option<i64>,
    pub total_cpu: Option<i64>,
    pub available_cpu: Option<i64>,
    pub total_memory: Option<i64>,
    pub available_memory: Option<i64>,
    pub ipmi_address: Option<String>,
    pub ipmi_port: Option<i64>,
    pub ipmi_power_status: Option<String>,
    /// cpu, memory, disk, nic, gpu, powerSupply, fan, raid, temperature
    pub hw: [Option<String>; 9],
    pub host_key_fingerprint: String,
    pub host_key: String,
}

const HOST_COLUMNS: &str = "uuid, zone_uuid, cluster_uuid, name, management_ip, state, status, username, ssh_port, credential, \
     host_key_fingerprint, architecture, os_distribution, os_release, os_version, last_op_date";

impl Store {
    /// Insert a host as Enabled/Connecting, with its tags, in one transaction (a crash leaves
    /// both or neither). A second row for the same management IP (or uuid) is refused by the
    /// database's unique index.
    pub async fn host_insert(&self, h: &NewHost, now: i64) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        sqlx::query(
            "INSERT INTO host (uuid, zone_uuid, cluster_uuid, name, description, management_ip, hypervisor_type, state, status, \
             username, ssh_port, credential, host_key_fingerprint, create_date, last_op_date) \
             VALUES ($1, $2, $3, $4, $5, $6, 'KVM', 'Enabled', 'Connecting', $7, $8, $9, $10, $11, $11)",
        )
        .bind(&h.uuid)
        .bind(&h.zone_uuid)
        .bind(&h.cluster_uuid)
        .bind(&h.name)
        .bind(&h.description)
        .bind(&h.management_ip)
        .bind(&h.username)
        .bind(h.ssh_port)
        .bind(&h.credential)
        .bind(&h.host_key_fingerprint)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        for (system, tags) in [(true, &h.system_tags), (false, &h.user_tags)] {
            super::tags::add_tags_in(&mut tx, system, &h.uuid, "HostVO", tags, false, now).await?;
        }
        tx.commit().await
    }

    pub async fn host_get(&self, uuid: &str) -> sqlx::Result<Option<HostRow>> {
        let sql = format!("SELECT {HOST_COLUMNS} FROM host WHERE uuid = $1");
        sqlx::query_as(&sql)
            .bind(uuid)
            .fetch_optional(self.pool())
            .await
    }

    pub async fn host_uuid_by_ip(&self, ip: &str) -> sqlx::Result<Option<String>> {
        sqlx::query_scalar("SELECT uuid FROM host WHERE management_ip = $1")
            .bind(ip)
            .fetch_optional(self.pool())
            .await
    }

    /// A managed host whose reported hostname is `hostname`: (uuid, management IP).
    pub async fn host_by_hostname(&self, hostname: &str) -> sqlx::Result<Option<(String, String)>> {
        sqlx::query_as("SELECT uuid, management_ip FROM host WHERE hostname = $1 LIMIT 1")
            .bind(hostname)
            .fetch_optional(self.pool())
            .await
    }

    /// Set the connection status; returns the previous one (None: no such host).
    pub async fn host_set_status(
        &self,
        uuid: &str,
        status: &str,
        now: i64,
    ) -> sqlx::Result<Option<String>> {
        let old: Option<String> = sqlx::query_scalar("SELECT status FROM host WHERE uuid = $1")
            .bind(uuid)
            .fetch_optional(self.pool())
            .await?;
        let Some(old) = old else { return Ok(None) };
        if old != status {
            sqlx::query("UPDATE host SET status = $1, last_op_date = $2 WHERE uuid = $3")
                .bind(status)
                .bind(now)
                .bind(uuid)
                .execute(self.pool())
                .await?;
        }
        Ok(Some(old))
    }

    /// Set a host's status where it differs; false when the host is gone or had it already.
    /// One statement (the tracker writes thousands of these when hosts die together).
    pub async fn host_change_status(
        &self,
        uuid: &str,
        status: &str,
        now: i64,
    ) -> sqlx::Result<bool> {
        let r = sqlx::query(
            "UPDATE host SET status = $1, last_op_date = $2 WHERE uuid = $3 AND status <> $1",
        )
        .bind(status)
        .bind(now)
        .bind(uuid)
        .execute(self.pool())
        .await?;
        Ok(r.rows_affected() > 0)
    }

    pub async fn host_set_state(&self, uuid: &str, state: &str, now: i64) -> sqlx::Result<()> {
        sqlx::query("UPDATE host SET state = $1, last_op_date = $2 WHERE uuid = $3")
            .bind(state)
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Record a successful connect: facts, capacity, statuses, the pinned key, Connected.
    pub async fn host_save_connect(
        &self,
        uuid: &str,
        f: &ConnectFacts,
        now: i64,
    ) -> sqlx::Result<()> {
        let mut q = sqlx::query(
            "UPDATE host SET architecture = $1, hostname = $2, nqn = $3, os_distribution = $4, os_release = $5, os_version = $6, \
             cpu_num = $7, cpu_sockets = $8, total_cpu = $9, available_cpu = $10, total_memory = $11, available_memory = $12, \
             total_physical_memory = $11, available_physical_memory = $12, ipmi_address = $13, ipmi_port = $14, ipmi_power_status = $15, \
             cpu_status = $16, memory_status = $17, disk_status = $18, nic_status = $19, gpu_status = $20, power_supply_status = $21, \
             fan_status = $22, raid_status = $23, temperature_status = $24, host_key_fingerprint = $25, host_key = $26, \
             status = 'Connected', last_op_date = $27 WHERE uuid = $28",
        )
        .bind(&f.architecture)
        .bind(&f.hostname)
        .bind(&f.nqn)
        .bind(&f.os_distribution)
        .bind(&f.os_release)
        .bind(&f.os_version)
        .bind(f.cpu_num)
        .bind(f.cpu_sockets)
        .bind(f.total_cpu)
        .bind(f.available_cpu)
        .bind(f.total_memory)
        .bind(f.available_memory)
        .bind(&f.ipmi_address)
        .bind(f.ipmi_port)
        .bind(&f.ipmi_power_status);
        for s in &f.hw {
            q = q.bind(s.clone());
        }
        q.bind(&f.host_key_fingerprint)
            .bind(&f.host_key)
            .bind(now)
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Recompute CPU capacity from a new over-provisioning ratio.
    pub async fn hosts_apply_cpu_ratio(&self, ratio: i64, now: i64) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE host SET total_cpu = cpu_num * $1, available_cpu = cpu_num * $1, last_op_date = $2 WHERE cpu_num IS NOT NULL",
        )
        .bind(ratio)
        .bind(now)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Apply the fields that are `Some`.
    #[allow(clippy::too_many_arguments)]
    pub async fn host_update(
        &self,
        uuid: &str,
        name: Option<&str>,
        description: Option<&str>,
        management_ip: Option<&str>,
        username: Option<&str>,
        credential: Option<&str>,
        ssh_port: Option<i64>,
        now: i64,
    ) -> sqlx::Result<()> {
        sqlx::query(
            "UPDATE host SET name = COALESCE($1, name), description = COALESCE($2, description), \
             management_ip = COALESCE($3, management_ip), username = COALESCE($4, username), \
             credential = COALESCE($5, credential), ssh_port = COALESCE($6, ssh_port), last_op_date = $7 WHERE uuid = $8",
        )
        .bind(name)
        .bind(description)
        .bind(management_ip)
        .bind(username)
        .bind(credential)
        .bind(ssh_port)
        .bind(now)
        .bind(uuid)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Forget a host's pinned key (the next connect pins what it sees).
    pub async fn host_clear_pin(&self, uuid: &str) -> sqlx::Result<()> {
        sqlx::query("UPDATE host SET host_key_fingerprint = NULL, host_key = NULL WHERE uuid = $1")
            .bind(uuid)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Delete a host row and its tags.
    pub async fn host_delete(&self, uuid: &str) -> sqlx::Result<()> {
        let mut tx = self.pool().begin().await?;
        delete_host_in(&mut tx, uuid).await?;
        tx.commit().await
    }

    pub async fn host_uuids_in_cluster(&self, cluster_uuid: &str) -> sqlx::Result<Vec<String>> {
        sqlx::query_scalar("SELECT uuid FROM host WHERE cluster_uuid = $1")
            .bind(cluster_uuid)
            .fetch_all(self.pool())
            .await
    }

    /// State, status and last change of every host, by uuid: one statement for the ping
    /// tracker's whole round instead of one read per host and ping.
    pub async fn host_briefs(&self) -> sqlx::Result<Vec<(String, HostBrief)>> {
        let rows: Vec<(String, String, String, i64)> =
            sqlx::query_as("SELECT uuid, state, status, last_op_date FROM host")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(uuid, state, status, last_op_date)| {
                let brief = HostBrief {
                    state,
                    status,
                    last_op_date,
                };
                (uuid, brief)
            })
            .collect())
    }

    /// The hosts left Connecting (a connect was cut off), and whether each ever connected.
    pub async fn hosts_connecting(&self) -> sqlx::Result<Vec<(String, bool)>> {
        let rows: Vec<(String, Option<i64>)> =
            sqlx::query_as("SELECT uuid, cpu_num FROM host WHERE status = 'Connecting'")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(uuid, cpu_num)| (uuid, cpu_num.is_some()))
            .collect())
    }

    /// Every host with its state, status, and whether it ever connected (for start-up).
    pub async fn hosts_all(&self) -> sqlx::Result<Vec<(String, String, String, bool)>> {
        let rows: Vec<(String, String, String, Option<i64>)> =
            sqlx::query_as("SELECT uuid, state, status, cpu_num FROM host")
                .fetch_all(self.pool())
                .await?;
        Ok(rows
            .into_iter()
            .map(|(uuid, state, status, cpu_num)| (uuid, state, status, cpu_num.is_some()))
            .collect())
    }

    /// The OS (distribution, release, version) of the oldest other host of the cluster that is
    /// not Connecting and knows all three: the one a new host's OS is compared with. One row,
    /// whatever the size of the cluster.
    pub async fn host_os_peer(
        &self,
        cluster_uuid: &str,
        exclude: &str,
    ) -> sqlx::Result<Option<(String, String, String)>> {
        sqlx::query_as(
            "SELECT os_distribution, os_release, os_version FROM host \
             WHERE cluster_uuid = $1 AND uuid <> $2 AND status <> 'Connecting' \
             AND os_distribution IS NOT NULL AND os_release IS NOT NULL AND os_version IS NOT NULL \
             ORDER BY create_date LIMIT 1",
        )
        .bind(cluster_uuid)
        .bind(exclude)
        .fetch_optional(self.pool())
        .await
    }
}

/// Delete a host row and its tags on `conn`, inside the caller's transaction (never a row
/// without its tags or tags without their row).
pub(super) async fn delete_host_in(conn: &mut sqlx::AnyConnection, uuid: &str) -> sqlx::Result<()> {
    super::tags::delete_tags_of(conn, uuid).await?;
    sqlx::query("DELETE FROM host WHERE uuid = $1")
        .bind(uuid)
        .execute(&mut *conn)
        .await?;
    Ok(())
}
