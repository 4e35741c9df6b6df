//! Host facts: [`FACT_SCRIPT`] (one POSIX `sh` script, run in one exec, printing `key=value`
//! lines) and [`parse_facts`] (pure: turns those lines into [`Facts`]).
//!
//! The script only reads; hardware sources are printed as raw readings (`hw.*` keys) and judged in
//! Rust by [`crate::hw`], so every rule is unit-testable with made-up readings. The sources of each
//! fact are listed in the crate README. For a login that is not root but may use sudo
//! ([`crate::Privilege::Sudo`]), the root-only sources are read by the sudo'd helper's `facts`
//! operation ([`crate::sudo`]) alongside the script, and its lines join the script's. This module
//! must never: write on the host, need any tool
//! beyond coreutils, util-linux, grep and sed (everything else is optional and only makes a fact
//! absent), guess a value the host did not print, or fail a parse because a line is missing.

use std::collections::HashMap;

use crate::connect::Session;
use crate::error::{tail, SshError};
use crate::exec::ExecOutput;
use crate::hw::{self, HwStatuses};
use crate::sudo::{checked, Access, Op, Privilege};

/// The fact script. First line: the marker `# hostplane-facts v1` (a simulator recognises it).
pub const FACT_SCRIPT: &str = include_str!("facts.sh");

/// The marker on the first line of [`FACT_SCRIPT`].
pub const FACT_SCRIPT_MARKER: &str = "# hostplane-facts v1";

/// What a host told us about itself. `None` / `false` when the host did not say.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Facts {
    /// Logical CPUs (`nproc --all`, else `processor` lines in /proc/cpuinfo).
    pub cpu_num: Option<i64>,
    /// lscpu `Socket(s)`, else distinct `physical id`s, else 1 (when any CPU fact was printed).
    pub cpu_sockets: Option<i64>,
    /// lscpu `Model name`, else /proc/cpuinfo `model name`.
    pub cpu_model: Option<String>,
    /// `"vmx"` or `"svm"` from the first CPU's flags.
    pub hvm: Option<String>,
    /// `ept` or `npt` in the first CPU's flags (or `vmx flags`).
    pub ept: bool,
    /// `/dev/kvm` is a character device.
    pub dev_kvm: bool,
    /// /proc/meminfo `MemTotal` × 1024.
    pub mem_total_bytes: Option<i64>,
    /// `uname -m`.
    pub architecture: Option<String>,
    pub hostname: Option<String>,
    /// os-release `ID` (else redhat-release / lsb_release).
    pub os_distribution: Option<String>,
    /// os-release `VERSION_ID`.
    pub os_version: Option<String>,
    /// `VERSION_CODENAME`, else the part of `PRETTY_NAME` (or `VERSION`) in parentheses, else
    /// `"Core"` (ZStack's default) when the distribution is known.
    pub os_release: Option<String>,
    /// `uname -r`.
    pub kernel: Option<String>,
    pub libvirt_version: Option<String>,
    pub qemu_version: Option<String>,
    pub nqn: Option<String>,
    /// /etc/machine-id, else DMI product_uuid.
    pub machine_id: Option<String>,
    pub system_manufacturer: Option<String>,
    pub system_product_name: Option<String>,
    pub system_serial_number: Option<String>,
    pub bios_version: Option<String>,
    /// BMC address from `ipmitool lan print` (root, with an IPMI device); `0.0.0.0` counts as none.
    pub ipmi_address: Option<String>,
    pub is_root: bool,
    /// Facts that exist on the host but are readable by root only (e.g. `dmi.product_serial`).
    pub needs_root: Vec<String>,
    pub hw: HwStatuses,
    /// The last ~2 KiB of the script's stderr.
    pub stderr_tail: String,
    /// Why the root-only facts could not be read through sudo (they are then in `needs_root`).
    pub root_facts_error: Option<String>,
}

impl Session {
    /// Run [`FACT_SCRIPT`] in one exec (bounded by `command_timeout`) and parse it.
    /// Fails with [`SshError::Command`] only when the script printed no fact at all (e.g. the
    /// login shell could not run it).
    pub async fn collect_facts(&self) -> Result<Facts, SshError> {
        self.facts_of(self.exec(FACT_SCRIPT).await?, None)
    }

    /// [`Session::collect_facts`] for a login whose [`Access`] was checked: with
    /// [`Privilege::Sudo`] the root-only facts are read at the same time (another channel) by
    /// the helper through sudo, and `needs_root` is then empty. A failure of that part does not
    /// fail the collection: it is in [`Facts::root_facts_error`] and the facts stay in
    /// `needs_root`.
    pub async fn collect_facts_with(&self, access: &Access) -> Result<Facts, SshError> {
        if access.privilege != Privilege::Sudo {
            return self.collect_facts().await;
        }
        let (user, root) = tokio::join!(
            self.exec(FACT_SCRIPT),
            // The helper for the same flag path: the text a sudoers rule names.
            self.run_helper(&access.flag_path, Op::Facts, true)
        );
        let root = root.and_then(|run| checked(Op::Facts, &run.out));
        self.facts_of(user?, Some(root))
    }

    fn facts_of(
        &self,
        out: ExecOutput,
        root: Option<Result<ExecOutput, SshError>>,
    ) -> Result<Facts, SshError> {
        if !out.stdout.lines().any(|l| l.starts_with("id.uid=")) {
            return Err(SshError::Command {
                cmd_name: "collect facts",
                exit_status: out.exit_status,
                stderr_tail: tail(&out.stderr, 512),
            });
        }
        match root {
            None => Ok(parse_facts(&out.stdout, &out.stderr)),
            Some(Ok(r)) => Ok(parse_facts(
                &format!("{}{}", out.stdout, r.stdout),
                &out.stderr,
            )),
            Some(Err(e)) => {
                tracing::debug!(host = %self.host(), error = %e, "root facts through sudo failed");
                let mut f = parse_facts(&out.stdout, &out.stderr);
                f.root_facts_error = Some(e.to_string());
                Ok(f)
            }
        }
    }
}

/// Lines of `key=value`; a key may repeat (hardware readings). Lines without `=` are ignored.
#[derive(Debug, Default)]
pub(crate) struct Readings {
    map: HashMap<String, Vec<String>>,
}

impl Readings {
    pub(crate) fn parse(stdout: &str) -> Readings {
        let mut map: HashMap<String, Vec<String>> = HashMap::new();
        for line in stdout.lines() {
            let line = line.trim_end_matches('\r');
            if let Some((k, v)) = line.split_once('=') {
                let k = k.trim();
                if !k.is_empty() && !k.contains(char::is_whitespace) {
                    map.entry(k.to_string()).or_default().push(v.to_string());
                }
            }
        }
        Readings { map }
    }

    /// The first value of `key`, trimmed, if not empty.
    pub(crate) fn first(&self, key: &str) -> Option<&str> {
        self.map
            .get(key)
            .and_then(|v| v.first())
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }

    /// Every value of `key` (raw), in output order.
    pub(crate) fn all(&self, key: &str) -> &[String] {
        self.map.get(key).map(Vec::as_slice).unwrap_or(&[])
    }

    fn int(&self, key: &str) -> Option<i64> {
        self.first(key).and_then(|s| s.parse().ok())
    }

    fn string(&self, key: &str) -> Option<String> {
        self.first(key).map(str::to_string)
    }

    /// An os-release style value with its quotes removed.
    fn unquoted(&self, key: &str) -> Option<String> {
        self.first(key)
            .map(unquote)
            .filter(|s| !s.is_empty())
            .map(str::to_string)
    }
}

fn unquote(s: &str) -> &str {
    let s = s.trim();
    for q in ['"', '\''] {
        if s.len() >= 2 && s.starts_with(q) && s.ends_with(q) {
            return &s[1..s.len() - 1];
        }
    }
    s
}

/// The text inside the last `( ... )` of `s`, if any.
fn in_parens(s: &str) -> Option<String> {
    let open = s.rfind('(')?;
    let close = s[open..].find(')')? + open;
    let inner = s[open + 1..close].trim();
    (!inner.is_empty()).then(|| inner.to_string())
}

/// `qemu-img version 7.2.19 (Debian ...)` → `7.2.19`; `9.0.0` → `9.0.0`;
/// `libvirtd (libvirt) 9.0.0` → `9.0.0`.
fn version_from_line(line: &str) -> Option<String> {
    let words: Vec<&str> = line.split_whitespace().collect();
    let pick = match words.iter().position(|w| w.eq_ignore_ascii_case("version")) {
        Some(i) => words.get(i + 1).copied(),
        None => words
            .iter()
            .rev()
            .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
            .copied(),
    }?;
    let v = pick.trim_end_matches([',', ';']);
    v.starts_with(|c: char| c.is_ascii_digit())
        .then(|| v.to_string())
}

/// Parse the fact script's output. Pure: unknown keys are ignored, missing lines leave a fact
/// `None`, and hardware statuses are judged from the `hw.*` readings.
pub fn parse_facts(stdout: &str, stderr: &str) -> Facts {
    let r = Readings::parse(stdout);

    let cpu_num = r
        .int("cpu.nproc")
        .filter(|n| *n > 0)
        .or_else(|| r.int("cpu.processors").filter(|n| *n > 0));
    let cpu_sockets = r
        .int("lscpu.sockets")
        .filter(|n| *n > 0)
        .or_else(|| r.int("cpuinfo.physical_ids").filter(|n| *n > 0))
        .or_else(|| cpu_num.map(|_| 1));
    let cpu_model = r
        .string("lscpu.model")
        .or_else(|| r.string("cpuinfo.model"));

    let flags: Vec<&str> = r
        .first("cpuinfo.flags")
        .map(|f| f.split_whitespace().collect())
        .unwrap_or_default();
    let hvm = ["vmx", "svm"]
        .into_iter()
        .find(|f| flags.contains(f))
        .map(str::to_string);
    let ept = flags.contains(&"ept") || flags.contains(&"npt");

    let mem_total_bytes = r
        .int("mem.total_kb")
        .filter(|kb| *kb > 0)
        .map(|kb| kb.saturating_mul(1024));

    let (os_distribution, os_version, os_release) = os_facts(&r);

    let machine_id = r
        .string("machine_id")
        .or_else(|| r.string("dmi.product_uuid"));
    let ipmi_address = r
        .string("ipmi.ip")
        .filter(|ip| ip != "0.0.0.0" && ip.parse::<std::net::IpAddr>().is_ok());

    let mut needs_root: Vec<String> = r
        .all("needs_root")
        .iter()
        .map(|s| s.trim().to_string())
        .filter(|s| !s.is_empty())
        .collect();
    needs_root.dedup();
    // The sudo'd helper read every root-only source (crate::sudo, `facts`).
    if r.first("root.facts") == Some("1") {
        needs_root.clear();
    }

    Facts {
        cpu_num,
        cpu_sockets,
        cpu_model,
        hvm,
        ept,
        dev_kvm: r.first("dev.kvm") == Some("1"),
        mem_total_bytes,
        architecture: r.string("uname.m"),
        hostname: r.string("hostname"),
        os_distribution,
        os_version,
        os_release,
        kernel: r.string("uname.r"),
        libvirt_version: r.first("libvirt.version_line").and_then(version_from_line),
        qemu_version: r.first("qemu.version_line").and_then(version_from_line),
        nqn: r.string("nvme.hostnqn"),
        machine_id,
        system_manufacturer: r.string("dmi.sys_vendor"),
        system_product_name: r.string("dmi.product_name"),
        system_serial_number: r.string("dmi.product_serial"),
        bios_version: r.string("dmi.bios_version"),
        ipmi_address,
        is_root: r.first("id.uid") == Some("0"),
        needs_root,
        hw: hw::judge(&r),
        stderr_tail: tail(stderr, 2048),
        root_facts_error: None,
    }
}

/// (distribution, version, release) from os-release, else redhat-release, else lsb_release.
fn os_facts(r: &Readings) -> (Option<String>, Option<String>, Option<String>) {
    let mut dist = r.unquoted("os.ID");
    let mut version = r.unquoted("os.VERSION_ID");
    let mut release = r
        .unquoted("os.VERSION_CODENAME")
        .or_else(|| r.unquoted("os.PRETTY_NAME").and_then(|p| in_parens(&p)))
        .or_else(|| r.unquoted("os.VERSION").and_then(|p| in_parens(&p)));

    // /etc/redhat-release: "CentOS Linux release 7.9.2009 (Core)"
    if let Some(rh) = r.string("os.redhat_release") {
        if dist.is_none() {
            dist = rh.split_whitespace().next().map(|w| w.to_lowercase());
        }
        if version.is_none() {
            version = rh
                .split_whitespace()
                .find(|w| w.starts_with(|c: char| c.is_ascii_digit()))
                .map(str::to_string);
        }
        if release.is_none() {
            release = in_parens(&rh);
        }
    }
    if dist.is_none() {
        dist = r.string("lsb.id").map(|s| s.to_lowercase());
    }
    if version.is_none() {
        version = r.string("lsb.release");
    }
    if release.is_none() {
        release = r.string("lsb.codename").filter(|c| c != "n/a");
    }
    if release.is_none() && dist.is_some() {
        release = Some("Core".to_string());
    }
    (dist, version, release)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::hw::HwStatus;

    const DEBIAN_VM: &str = "\
id.uid=1001
cpu.nproc=2
cpu.processors=2
lscpu.sockets=1
lscpu.model=Intel(R) Xeon(R) Processor @ 2.10GHz
cpuinfo.model=Intel(R) Xeon(R) Processor
cpuinfo.physical_ids=1
cpuinfo.flags=
dev.kvm=1
mem.total_kb=24668184
uname.m=x86_64
uname.r=6.1.0-18-amd64
hostname=vm
os.PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"
os.VERSION_ID=\"12\"
os.VERSION=\"12 (bookworm)\"
os.VERSION_CODENAME=bookworm
os.ID=debian
qemu.version_line=qemu-img version 7.2.19 (Debian 1:7.2+dfsg-7+deb12u16)
machine_id=3d1219c7c4c5404aaa1f6d2a48adfda4
hw.cpu.present=0-1
hw.cpu.online=0-1
hw.disk=vda -
hw.nic=eth0 0x1003 1
some.future.key=ignored
garbage line without equals
";

    #[test]
    fn parses_a_debian_vm() {
        let f = parse_facts(DEBIAN_VM, "warning: something\n");
        assert_eq!(f.cpu_num, Some(2));
        assert_eq!(f.cpu_sockets, Some(1));
        assert_eq!(
            f.cpu_model.as_deref(),
            Some("Intel(R) Xeon(R) Processor @ 2.10GHz")
        );
        assert_eq!(f.hvm, None);
        assert!(!f.ept);
        assert!(f.dev_kvm);
        assert_eq!(f.mem_total_bytes, Some(24668184 * 1024));
        assert_eq!(f.architecture.as_deref(), Some("x86_64"));
        assert_eq!(f.kernel.as_deref(), Some("6.1.0-18-amd64"));
        assert_eq!(f.hostname.as_deref(), Some("vm"));
        assert_eq!(f.os_distribution.as_deref(), Some("debian"));
        assert_eq!(f.os_version.as_deref(), Some("12"));
        assert_eq!(f.os_release.as_deref(), Some("bookworm"));
        assert_eq!(f.qemu_version.as_deref(), Some("7.2.19"));
        assert_eq!(f.libvirt_version, None);
        assert_eq!(
            f.machine_id.as_deref(),
            Some("3d1219c7c4c5404aaa1f6d2a48adfda4")
        );
        assert!(!f.is_root);
        assert!(f.needs_root.is_empty());
        assert_eq!(f.stderr_tail, "warning: something");
        assert_eq!(f.hw.cpu.status, HwStatus::Normal);
        assert_eq!(f.hw.nic.status, HwStatus::Normal);
        assert_eq!(f.hw.disk.status, HwStatus::Unknown);
        assert_eq!(f.hw.memory.status, HwStatus::Unknown);
    }

    #[test]
    fn empty_output_gives_empty_facts() {
        let f = parse_facts("", "");
        assert_eq!(f.cpu_num, None);
        assert_eq!(f.cpu_sockets, None);
        assert_eq!(f.os_release, None);
        assert!(!f.dev_kvm && !f.ept && !f.is_root);
        assert_eq!(f.hw.cpu.status, HwStatus::Unknown);
    }

    #[test]
    fn virtualization_flags() {
        let f = parse_facts("cpuinfo.flags=vmx ept\n", "");
        assert_eq!((f.hvm.as_deref(), f.ept), (Some("vmx"), true));
        let f = parse_facts("cpuinfo.flags=svm npt\n", "");
        assert_eq!((f.hvm.as_deref(), f.ept), (Some("svm"), true));
        let f = parse_facts("cpuinfo.flags=vmx\n", "");
        assert_eq!((f.hvm.as_deref(), f.ept), (Some("vmx"), false));
    }

    #[test]
    fn cpu_fallbacks() {
        let f = parse_facts(
            "cpu.nproc=\ncpu.processors=8\ncpuinfo.physical_ids=2\ncpuinfo.model=EPYC\n",
            "",
        );
        assert_eq!(f.cpu_num, Some(8));
        assert_eq!(f.cpu_sockets, Some(2));
        assert_eq!(f.cpu_model.as_deref(), Some("EPYC"));
        // lscpu "-" (ARM) and no physical ids → 1
        let f = parse_facts("cpu.nproc=4\nlscpu.sockets=-\ncpuinfo.physical_ids=0\n", "");
        assert_eq!(f.cpu_sockets, Some(1));
    }

    #[test]
    fn os_release_variants() {
        // Rocky: no codename, release from PRETTY_NAME.
        let f = parse_facts(
            "os.ID=\"rocky\"\nos.VERSION_ID=\"9.3\"\nos.PRETTY_NAME=\"Rocky Linux 9.3 (Blue Onyx)\"\n",
            "",
        );
        assert_eq!(f.os_distribution.as_deref(), Some("rocky"));
        assert_eq!(f.os_version.as_deref(), Some("9.3"));
        assert_eq!(f.os_release.as_deref(), Some("Blue Onyx"));
        // openEuler: release from VERSION when PRETTY_NAME has none.
        let f = parse_facts(
            "os.ID=\"openEuler\"\nos.VERSION_ID=\"22.03\"\nos.VERSION=\"22.03 (LTS-SP1)\"\nos.PRETTY_NAME=\"openEuler 22.03\"\n",
            "",
        );
        assert_eq!(f.os_release.as_deref(), Some("LTS-SP1"));
        // Nothing → "Core".
        let f = parse_facts("os.ID=alpine\nos.VERSION_ID=3.19.1\n", "");
        assert_eq!(f.os_release.as_deref(), Some("Core"));
        // CentOS 7 via redhat-release only.
        let f = parse_facts(
            "os.redhat_release=CentOS Linux release 7.9.2009 (Core)\n",
            "",
        );
        assert_eq!(f.os_distribution.as_deref(), Some("centos"));
        assert_eq!(f.os_version.as_deref(), Some("7.9.2009"));
        assert_eq!(f.os_release.as_deref(), Some("Core"));
        // lsb_release only.
        let f = parse_facts("lsb.id=Ubuntu\nlsb.release=22.04\nlsb.codename=jammy\n", "");
        assert_eq!(f.os_distribution.as_deref(), Some("ubuntu"));
        assert_eq!(f.os_version.as_deref(), Some("22.04"));
        assert_eq!(f.os_release.as_deref(), Some("jammy"));
    }

    #[test]
    fn versions() {
        assert_eq!(version_from_line("9.0.0").as_deref(), Some("9.0.0"));
        assert_eq!(
            version_from_line("libvirtd (libvirt) 8.0.0").as_deref(),
            Some("8.0.0")
        );
        assert_eq!(
            version_from_line("QEMU emulator version 6.2.0 (qemu-kvm-6.2.0-11.el8)").as_deref(),
            Some("6.2.0")
        );
        assert_eq!(version_from_line("error: no version"), None);
        let f = parse_facts("libvirt.version_line=9.0.0\n", "");
        assert_eq!(f.libvirt_version.as_deref(), Some("9.0.0"));
    }

    #[test]
    fn identity_and_root() {
        let f = parse_facts(
            "id.uid=0\nnvme.hostnqn=nqn.2014-08.org.nvmexpress:uuid:1\ndmi.product_uuid=ABC\n\
             dmi.sys_vendor=Dell Inc.\ndmi.product_name=PowerEdge R640\ndmi.product_serial=XYZ\n\
             dmi.bios_version=2.1.8\nipmi.ip=10.0.0.9\n",
            "",
        );
        assert!(f.is_root);
        assert_eq!(f.machine_id.as_deref(), Some("ABC"));
        assert_eq!(f.nqn.as_deref(), Some("nqn.2014-08.org.nvmexpress:uuid:1"));
        assert_eq!(f.system_manufacturer.as_deref(), Some("Dell Inc."));
        assert_eq!(f.system_product_name.as_deref(), Some("PowerEdge R640"));
        assert_eq!(f.system_serial_number.as_deref(), Some("XYZ"));
        assert_eq!(f.bios_version.as_deref(), Some("2.1.8"));
        assert_eq!(f.ipmi_address.as_deref(), Some("10.0.0.9"));
        let f = parse_facts(
            "ipmi.ip=0.0.0.0\nneeds_root=dmi.product_serial\nneeds_root=hw.smart\n",
            "",
        );
        assert_eq!(f.ipmi_address, None);
        assert_eq!(f.needs_root, vec!["dmi.product_serial", "hw.smart"]);
    }

    #[test]
    fn root_facts_through_sudo_join_the_script_s() {
        let user = "id.uid=1001\nneeds_root=hw.smart\nneeds_root=dmi\nhw.disk=sda -\n";
        let f = parse_facts(user, "");
        assert_eq!(f.needs_root, vec!["hw.smart", "dmi"]);
        let root = "dmi.product_serial=SN-1\nhw.smart=sda PASSED\nroot.facts=1\n";
        let f = parse_facts(&format!("{user}{root}"), "");
        assert!(f.needs_root.is_empty(), "{:?}", f.needs_root);
        assert!(!f.is_root, "still the login user's uid");
        assert_eq!(f.system_serial_number.as_deref(), Some("SN-1"));
        assert_eq!(f.hw.disk.status, HwStatus::Normal, "{:?}", f.hw.disk);
    }

    #[test]
    fn stderr_tail_is_bounded() {
        let long = "x".repeat(5000);
        assert_eq!(parse_facts("", &long).stderr_tail.len(), 2048);
    }

    #[test]
    fn script_has_the_marker_first() {
        assert_eq!(FACT_SCRIPT.lines().next(), Some(FACT_SCRIPT_MARKER));
    }

    /// The script is POSIX: dash (Debian's sh) parses and runs it, and every line it prints is a
    /// `key=value` line.
    #[test]
    fn script_runs_locally_under_dash() {
        if !std::path::Path::new("/bin/dash").exists() {
            return;
        }
        let out = std::process::Command::new("/bin/dash")
            .arg("-c")
            .arg(FACT_SCRIPT)
            .output()
            .expect("run dash");
        assert!(out.status.success(), "{out:?}");
        let stdout = String::from_utf8(out.stdout).unwrap();
        for line in stdout.lines() {
            assert!(line.contains('='), "not key=value: {line:?}");
        }
        let f = parse_facts(&stdout, "");
        assert!(f.cpu_num.is_some() && f.mem_total_bytes.is_some(), "{f:?}");
    }
}
