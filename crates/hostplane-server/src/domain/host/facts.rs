//! What a connect learned about a host, and whether the host may join its cluster.
//!
//! [`check`] runs the admission checks, each with its own error, step name and fix:
//! virtualization (vmx/svm in the CPU flags or `/dev/kvm`), memory above `kvm.reservedMemory`,
//! the cluster's architecture, and (for new adds) an OS equal to the cluster's other hosts'.
//! [`save`] writes the facts as inventory columns (capacity = cpuNum × the over-provisioning
//! ratio), as inherent system tags (`os::distribution::...`, `hvm::vmx`, `sshHostKey::...`),
//! and the hardware statuses; the first host of a cluster without an architecture gives it one.

use hostplane_ssh::{Facts, HwStatus};

use super::HOST_VO;
use crate::domain::global_config::keys;
use crate::domain::App;
use crate::error::{Error, Result};
use crate::store::hosts::{ConnectFacts, HostRow};
use crate::time::now_ms;

fn refuse(step: &str, reason: &str, details: String, hint: &str) -> Error {
    Error::operation(format!("{details}. Step [{step}] failed; fix: {hint}"))
        .with_opaque("step", step)
        .with_opaque("reason", reason)
        .with_opaque("hint", hint)
}

/// The admission checks, in order: the first refusal, as a connect reports it.
pub async fn check(app: &App, h: &HostRow, f: &Facts, new_add: bool) -> Result<()> {
    match refusals(app, h, f, new_add).await?.into_iter().next() {
        Some(e) => Err(e),
        None => Ok(()),
    }
}

/// Every admission check that refuses the host (CheckKVMHost reports them all; a connect
/// stops at the first). Each check is independent of the others' outcome.
pub async fn refusals(app: &App, h: &HostRow, f: &Facts, new_add: bool) -> Result<Vec<Error>> {
    let mut out = Vec::new();
    if f.hvm.is_none() && !f.dev_kvm {
        out.push(refuse(
            "check-virtualization",
            "HOST.PREFLIGHT.NO_VIRTUALIZATION",
            format!(
                "host[ip:{}] cannot run KVM: cannot find either 'vmx' or 'svm' in /proc/cpuinfo, and /dev/kvm does not exist",
                h.management_ip
            ),
            "enable virtualization (Intel VT-x / AMD-V, or nested virtualization for a VM) in the BIOS/UEFI or hypervisor, then load the module (modprobe kvm_intel or modprobe kvm_amd) so /dev/kvm appears",
        ));
    }
    let reserved = app.configs.get(keys::KVM_RESERVED_MEMORY).0;
    match f.mem_total_bytes {
        None => out.push(refuse(
            "check-memory",
            "HOST.PREFLIGHT.MEMORY_UNKNOWN",
            format!("cannot read MemTotal from /proc/meminfo on host[ip:{}]", h.management_ip),
            "make /proc/meminfo readable for the login user",
        )),
        Some(total) if total < reserved => out.push(refuse(
            "check-memory",
            "HOST.PREFLIGHT.MEMORY_TOO_LOW",
            format!(
                "The host[uuid:{}]'s available memory capacity[{total}] is lower than the reserved capacity[{reserved}]",
                h.uuid
            ),
            "give the host more memory, or lower the global config kvm.reservedMemory",
        )),
        Some(_) => {}
    }
    match f.architecture.as_deref() {
        None => out.push(refuse(
            "check-architecture",
            "HOST.PREFLIGHT.NO_ARCHITECTURE",
            format!(
                "after connecting, host[name:{}, ip:{}] returns a null architecture",
                h.name, h.management_ip
            ),
            "make `uname -m` work for the login user",
        )),
        Some(arch) => {
            let cluster = app
                .store
                .cluster_get(&h.cluster_uuid)
                .await?
                .ok_or_else(|| {
                    Error::not_found(format!("cluster[uuid:{}] is not existing", h.cluster_uuid))
                })?;
            if let Some(carch) = cluster.architecture.as_deref() {
                if carch != arch {
                    out.push(refuse(
                        "check-architecture",
                        "HOST.PREFLIGHT.ARCH_MISMATCH",
                        format!(
                            "cluster[uuid:{}]'s architecture is {carch}, not match the host[name:{}, ip:{}] architecture {arch}",
                            cluster.uuid, h.name, h.management_ip
                        ),
                        "add the host to a cluster of its own architecture",
                    ));
                }
            }
        }
    }
    if new_add {
        let os = (
            f.os_distribution.as_deref(),
            f.os_release.as_deref(),
            f.os_version.as_deref(),
        );
        if let (Some(d), Some(r), Some(v)) = os {
            let mine = format!("{d};{r};{v}");
            // ZStack compares with one other host: the oldest that is not Connecting and knows its OS.
            if let Some((pd, pr, pv)) = app.store.host_os_peer(&h.cluster_uuid, &h.uuid).await? {
                let theirs = format!("{pd};{pr};{pv}");
                if theirs != mine {
                    out.push(refuse(
                        "check-os",
                        "HOST.PREFLIGHT.OS_MISMATCH",
                        format!(
                            "cluster[uuid:{}] already has host with os version[{theirs}], but new added host[name:{}, ip:{}] has different host os version[{mine}]",
                            h.cluster_uuid, h.name, h.management_ip
                        ),
                        "add the host to a cluster whose hosts run the same OS release",
                    ));
                }
            }
        } else {
            out.push(refuse(
                "check-os",
                "HOST.PREFLIGHT.OS_UNKNOWN",
                format!(
                    "the operation system[{:?}] of host[name:{}, ip:{}] is invalid",
                    os, h.name, h.management_ip
                ),
                "the host needs an /etc/os-release with ID and VERSION_ID",
            ));
        }
    }
    Ok(out)
}

fn status_text(s: HwStatus) -> String {
    match s {
        HwStatus::Normal => "Normal",
        HwStatus::Error => "Error",
        HwStatus::Unknown => "Unknown",
    }
    .to_string()
}

/// The inherent system tags a host's facts become.
pub fn fact_tags(f: &Facts, fingerprint: &str) -> Vec<String> {
    let mut tags = Vec::new();
    let mut add = |k: &str, v: &Option<String>| {
        if let Some(v) = v.as_deref().map(str::trim).filter(|v| !v.is_empty()) {
            tags.push(format!("{k}::{v}"));
        }
    };
    add("os::distribution", &f.os_distribution);
    add("os::release", &f.os_release);
    add("os::version", &f.os_version);
    add("hvm", &f.hvm);
    add("ept", &f.ept.then(|| "ept".to_string()));
    add("hostCpuModelName", &f.cpu_model);
    add("kernel::version", &f.kernel);
    add("libvirt::version", &f.libvirt_version);
    add("qemu-img::version", &f.qemu_version);
    add("machineId", &f.machine_id);
    add("systemManufacturer", &f.system_manufacturer);
    add("systemProductName", &f.system_product_name);
    add("systemSerialNumber", &f.system_serial_number);
    add("biosVersion", &f.bios_version);
    add("ipmiAddress", &f.ipmi_address);
    add("sshHostKey", &Some(fingerprint.to_string()));
    tags
}

/// Record a successful connect.
pub async fn save(
    app: &App,
    h: &HostRow,
    f: &Facts,
    fingerprint: &str,
    host_key: &str,
) -> Result<()> {
    let now = now_ms();
    let ratio = app.configs.get(keys::HOST_CPU_OVER_PROVISIONING).max(1);
    let hw = [
        &f.hw.cpu,
        &f.hw.memory,
        &f.hw.disk,
        &f.hw.nic,
        &f.hw.gpu,
        &f.hw.power_supply,
        &f.hw.fan,
        &f.hw.raid,
        &f.hw.temperature,
    ];
    let cf = ConnectFacts {
        architecture: f.architecture.clone(),
        hostname: f.hostname.clone(),
        nqn: f.nqn.clone(),
        os_distribution: f.os_distribution.clone(),
        os_release: f.os_release.clone(),
        os_version: f.os_version.clone(),
        cpu_num: f.cpu_num,
        cpu_sockets: f.cpu_sockets,
        total_cpu: f.cpu_num.map(|n| n * ratio),
        available_cpu: f.cpu_num.map(|n| n * ratio),
        total_memory: f.mem_total_bytes,
        available_memory: f.mem_total_bytes,
        ipmi_address: f
            .ipmi_address
            .clone()
            .filter(|a| crate::domain::validate::is_ipv4(a)),
        ipmi_port: Some(623),
        ipmi_power_status: Some("UN_CONFIGURED".into()),
        hw: hw.map(|s| Some(status_text(s.status))),
        host_key_fingerprint: fingerprint.to_string(),
        host_key: host_key.to_string(),
    };
    if let Some(arch) = &f.architecture {
        app.store
            .cluster_adopt_architecture(&h.cluster_uuid, arch, now)
            .await?;
    }
    let mut tags = fact_tags(f, fingerprint);
    let existing = app.store.tags_of(true, &h.uuid).await?;
    match existing
        .iter()
        .find(|t| t.tag.starts_with("ConnectedTime::"))
    {
        Some(t) => tags.push(t.tag.clone()),
        None => tags.push(format!("ConnectedTime::{now}")),
    }
    app.store
        .tags_replace_inherent(&h.uuid, HOST_VO, &tags, now)
        .await?;
    app.store.host_save_connect(&h.uuid, &cf, now).await?;
    for (name, s) in [
        "cpu",
        "memory",
        "disk",
        "nic",
        "gpu",
        "powerSupply",
        "fan",
        "raid",
        "temperature",
    ]
    .iter()
    .zip(hw)
    {
        if s.status == HwStatus::Error {
            tracing::warn!(host.uuid = %h.uuid, status = %name, reading = %s.reason, "hardware status is Error");
        }
    }
    Ok(())
}
