//! The answer to hostplane's fact script: the same `key=value` lines the real script
//! (`hostplane_ssh::FACT_SCRIPT`) prints on a real host, built from a host's [`SimFacts`].
//!
//! The keys are the ones `hostplane_ssh::parse_facts` reads; the hardware readings describe a
//! healthy machine (all nine statuses Normal) unless `extra` lines say otherwise.

use std::fmt::Write;

use crate::config::SimFacts;

/// What differs between hosts of one group.
#[derive(Debug, Clone)]
pub struct Identity<'a> {
    pub is_root: bool,
    pub hostname: &'a str,
    pub machine_id: &'a str,
    pub serial: &'a str,
}

/// The fact script's stdout for this host.
pub fn render(f: &SimFacts, id: &Identity<'_>) -> String {
    let mut o = String::with_capacity(1536);
    for line in &f.extra {
        o.push_str(line);
        o.push('\n');
    }
    let mut kv = |k: &str, v: &str| {
        let _ = writeln!(o, "{k}={v}");
    };
    kv("id.uid", if id.is_root { "0" } else { "1000" });
    let cpus = f.cpu_num.to_string();
    kv("cpu.nproc", &cpus);
    kv("cpu.processors", &cpus);
    kv("lscpu.sockets", &f.sockets.to_string());
    kv("lscpu.model", &f.cpu_model);
    kv("cpuinfo.model", &f.cpu_model);
    kv("cpuinfo.physical_ids", &f.sockets.to_string());
    let has_hvm = f.virtualization != "none";
    let mut flags = String::new();
    if has_hvm {
        flags.push_str(&f.virtualization);
        if f.ept {
            flags.push_str(if f.virtualization == "svm" {
                " npt"
            } else {
                " ept"
            });
        }
    }
    kv("cpuinfo.flags", &flags);
    kv("dev.kvm", if has_hvm { "1" } else { "0" });
    kv(
        "mem.total_kb",
        &(f.memory_bytes().unwrap_or(0) / 1024).to_string(),
    );
    kv("uname.m", &f.arch);
    kv("uname.r", &f.kernel);
    kv("hostname", id.hostname);
    let name = pretty_name(&f.os_id);
    kv(
        "os.PRETTY_NAME",
        &format!("\"{name} {} ({})\"", f.os_version, f.os_release),
    );
    kv("os.VERSION_ID", &format!("\"{}\"", f.os_version));
    kv(
        "os.VERSION",
        &format!("\"{} ({})\"", f.os_version, f.os_release),
    );
    kv("os.VERSION_CODENAME", &f.os_release);
    kv("os.ID", &f.os_id);
    kv(
        "libvirt.version_line",
        &format!("libvirtd (libvirt) {}", f.libvirt_version),
    );
    kv(
        "qemu.version_line",
        &format!("qemu-img version {}", f.qemu_version),
    );
    kv("machine_id", id.machine_id);
    kv("dmi.sys_vendor", &f.manufacturer);
    kv("dmi.product_name", &f.product_name);
    if id.is_root {
        kv("dmi.product_serial", id.serial);
    } else {
        kv("needs_root", "dmi.product_serial");
    }
    kv("dmi.bios_version", "1.0.0");
    let last = f.cpu_num.saturating_sub(1);
    let cpu_list = if last == 0 {
        "0".to_string()
    } else {
        format!("0-{last}")
    };
    kv("hw.cpu.present", &cpu_list);
    kv("hw.cpu.online", &cpu_list);
    kv("hw.edac", "mc0 0");
    kv("hw.disk", "sda running");
    kv("hw.disk", "sdb running");
    kv("hw.nic", "eth0 0x1003 1");
    kv("hw.nic", "eth1 0x1003 1");
    kv("hw.psu", "PSU1 Mains 1");
    kv("hw.psu", "PSU2 Mains 1");
    kv("hw.fan", "hwmon1/fan1 5400 600 0");
    kv("hw.temp", "hwmon0/temp1 45000 0");
    kv("hw.thermal", "thermal_zone0 45000 95000");
    kv("hw.mdstat", "Personalities : [raid1]");
    kv("hw.mdstat", "md0 : active raid1 sdb1[1] sda1[0]");
    kv("hw.mdstat", "      976630464 blocks super 1.2 [2/2] [UU]");
    o
}

fn pretty_name(id: &str) -> String {
    match id {
        "ubuntu" => "Ubuntu".into(),
        "debian" => "Debian GNU/Linux".into(),
        "centos" => "CentOS Linux".into(),
        "rocky" => "Rocky Linux".into(),
        "kylin" => "Kylin Linux Advanced Server".into(),
        "openEuler" | "openeuler" => "openEuler".into(),
        other => {
            let mut c = other.chars();
            match c.next() {
                Some(first) => first.to_uppercase().chain(c).collect(),
                None => "Linux".into(),
            }
        }
    }
}
