//! Hardware statuses: the rules that turn the fact script's raw `hw.*` readings into
//! Normal / Error / Unknown, each with the reading that decided it (host-facts.md, "Hardware
//! statuses").
//!
//! Pure functions only. "Unknown" means the host exposed nothing to judge by; this module must
//! never guess Normal from an absence of data, and never talk to a host.
//!
//! Reading formats (one line per item, repeated keys):
//! - `hw.cpu.present` / `hw.cpu.online`: kernel CPU lists (`0-3,6`); `hw.cpu.smt`: smt/control;
//!   `hw.cpu.mce`: `ras-mc-ctl --summary` lines mentioning MCE.
//! - `hw.edac`: `<mc> <ue_count|->`.
//! - `hw.disk`: `<dev> <device/state|->`; `hw.smart`: `<dev> <PASSED|OK|FAILED...|unavailable>`.
//! - `hw.nic`: `<iface> <flags hex|-> <carrier|->` (physical NICs only).
//! - `hw.gpu`: `<pci addr> <class> <vendor> <driver|-> <power/runtime_status|->` (display-class PCI
//!   devices); `hw.gpu.smi.exit` + `hw.gpu.smi`: `nvidia-smi --query-gpu` exit status and lines.
//! - `hw.psu`: `<name> <type> <online|->`; `hw.psu.ipmi`: `ipmitool sdr type "Power Supply"` lines.
//! - `hw.fan`: `<hwmonN/fanM> <input|-> <min|-> <alarm|->`.
//! - `hw.temp`: `<hwmonN/tempM> <input|-> <crit_alarm|->`; `hw.thermal`: `<zone> <temp|-> <critical trip|->`.
//! - `hw.mdstat`: the lines of /proc/mdstat.

use std::collections::BTreeSet;

use crate::facts::Readings;

/// One hardware status, as ZStack names its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum HwStatus {
    Normal,
    Error,
    #[default]
    Unknown,
}

impl HwStatus {
    /// `"Normal"`, `"Error"` or `"Unknown"`.
    pub fn as_str(self) -> &'static str {
        match self {
            HwStatus::Normal => "Normal",
            HwStatus::Error => "Error",
            HwStatus::Unknown => "Unknown",
        }
    }
}

/// A status and the reading that decided it (short, for logs and events).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HwCheck {
    pub status: HwStatus,
    pub reason: String,
}

impl HwCheck {
    fn normal(reason: impl Into<String>) -> HwCheck {
        HwCheck {
            status: HwStatus::Normal,
            reason: reason.into(),
        }
    }
    fn error(reason: impl Into<String>) -> HwCheck {
        HwCheck {
            status: HwStatus::Error,
            reason: reason.into(),
        }
    }
    fn unknown(reason: impl Into<String>) -> HwCheck {
        HwCheck {
            status: HwStatus::Unknown,
            reason: reason.into(),
        }
    }
}

/// The nine hardware statuses of a host.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HwStatuses {
    pub cpu: HwCheck,
    pub memory: HwCheck,
    pub disk: HwCheck,
    pub nic: HwCheck,
    pub gpu: HwCheck,
    pub power_supply: HwCheck,
    pub fan: HwCheck,
    pub raid: HwCheck,
    pub temperature: HwCheck,
}

pub(crate) fn judge(r: &Readings) -> HwStatuses {
    HwStatuses {
        cpu: cpu(r),
        memory: memory(r),
        disk: disk(r),
        nic: nic(r),
        gpu: gpu(r),
        power_supply: power_supply(r),
        fan: fan(r),
        raid: raid(r),
        temperature: temperature(r),
    }
}

/// Split a reading into whitespace-separated fields.
fn fields(s: &str) -> Vec<&str> {
    s.split_whitespace().collect()
}

/// A field that is `-` (unreadable) becomes `None`.
fn val(s: Option<&&str>) -> Option<String> {
    s.filter(|v| **v != "-").map(|v| v.to_string())
}

fn num(s: Option<&&str>) -> Option<i64> {
    val(s).and_then(|v| v.trim().parse().ok())
}

/// Parse a kernel CPU list (`0-3,6,8-9`); `None` if malformed.
fn cpu_list(s: &str) -> Option<BTreeSet<u32>> {
    let mut set = BTreeSet::new();
    for part in s.trim().split(',').filter(|p| !p.is_empty()) {
        match part.split_once('-') {
            Some((a, b)) => {
                let (a, b): (u32, u32) = (a.trim().parse().ok()?, b.trim().parse().ok()?);
                if b < a || b - a > 65536 {
                    return None;
                }
                set.extend(a..=b);
            }
            None => {
                set.insert(part.trim().parse().ok()?);
            }
        }
    }
    Some(set)
}

/// Format a CPU set compactly (`2-3,7`).
fn fmt_cpus(set: &BTreeSet<u32>) -> String {
    let mut out: Vec<String> = Vec::new();
    let mut iter = set.iter().copied().peekable();
    while let Some(start) = iter.next() {
        let mut end = start;
        while iter.peek() == Some(&(end + 1)) {
            end = iter.next().unwrap_or(end);
        }
        out.push(if start == end {
            start.to_string()
        } else {
            format!("{start}-{end}")
        });
    }
    out.join(",")
}

/// Error when a present CPU is offline (unless SMT is switched off, which offlines siblings on
/// purpose) or ras-mc-ctl reports uncorrected machine checks.
fn cpu(r: &Readings) -> HwCheck {
    let mce_bad: Vec<&String> = r
        .all("hw.cpu.mce")
        .iter()
        .filter(|l| {
            let l = l.to_ascii_lowercase();
            l.contains("uncorrect") || l.contains("fatal")
        })
        .collect();
    if let Some(line) = mce_bad.first() {
        return HwCheck::error(format!("machine check: {}", line.trim()));
    }
    let (Some(present), Some(online)) = (r.first("hw.cpu.present"), r.first("hw.cpu.online"))
    else {
        return HwCheck::unknown("no /sys/devices/system/cpu/present or online");
    };
    let (Some(p), Some(o)) = (cpu_list(present), cpu_list(online)) else {
        return HwCheck::unknown(format!(
            "unreadable CPU lists: present={present} online={online}"
        ));
    };
    let offline: BTreeSet<u32> = p.difference(&o).copied().collect();
    if offline.is_empty() {
        return HwCheck::normal(format!("all {} present CPUs online", p.len()));
    }
    let smt = r.first("hw.cpu.smt").unwrap_or("");
    if matches!(smt, "off" | "forceoff") && offline.len() < p.len() {
        return HwCheck::normal(format!(
            "CPUs {} offline with SMT switched off (smt/control={smt})",
            fmt_cpus(&offline)
        ));
    }
    HwCheck::error(format!(
        "CPUs {} present but offline (present={present}, online={online})",
        fmt_cpus(&offline)
    ))
}

/// EDAC memory controllers: any uncorrected error count > 0 is Error.
fn memory(r: &Readings) -> HwCheck {
    let mcs = r.all("hw.edac");
    if mcs.is_empty() {
        return HwCheck::unknown("no EDAC memory controller (no EDAC driver loaded)");
    }
    let mut read = 0;
    for line in mcs {
        let f = fields(line);
        if let Some(ue) = num(f.get(1)) {
            read += 1;
            if ue > 0 {
                return HwCheck::error(format!(
                    "{} ue_count={ue}",
                    f.first().copied().unwrap_or("?")
                ));
            }
        }
    }
    if read == 0 {
        return HwCheck::unknown("EDAC present but no readable ue_count");
    }
    HwCheck::normal(format!("{read} EDAC memory controllers, ue_count=0"))
}

/// Physical block devices: state not running/live, or SMART not passing, is Error.
fn disk(r: &Readings) -> HwCheck {
    let disks = r.all("hw.disk");
    if disks.is_empty() {
        return HwCheck::unknown("no physical block devices");
    }
    let mut judged = 0;
    for line in disks {
        let f = fields(line);
        let name = f.first().copied().unwrap_or("?");
        if let Some(state) = val(f.get(1)) {
            judged += 1;
            if state != "running" && state != "live" {
                return HwCheck::error(format!("{name} state={state}"));
            }
        }
    }
    for line in r.all("hw.smart") {
        let f = fields(line);
        let name = f.first().copied().unwrap_or("?");
        let verdict = f.get(1..).map(|v| v.join(" ")).unwrap_or_default();
        match verdict.as_str() {
            "" | "unavailable" => {}
            "PASSED" | "OK" => judged += 1,
            other => return HwCheck::error(format!("{name} SMART health: {other}")),
        }
    }
    if judged == 0 {
        return HwCheck::unknown(format!(
            "{} block devices, none exposes device/state or SMART health",
            disks.len()
        ));
    }
    HwCheck::normal(format!("{} block devices healthy", disks.len()))
}

/// Physical NICs that are administratively up (IFF_UP) must have carrier.
fn nic(r: &Readings) -> HwCheck {
    let nics = r.all("hw.nic");
    if nics.is_empty() {
        return HwCheck::unknown("no physical NICs");
    }
    let mut up = 0;
    for line in nics {
        let f = fields(line);
        let name = f.first().copied().unwrap_or("?");
        let flags = val(f.get(1))
            .and_then(|s| i64::from_str_radix(s.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        if flags & 0x1 == 0 {
            continue;
        }
        up += 1;
        if val(f.get(2)).as_deref() == Some("0") {
            return HwCheck::error(format!("{name} is up but has no carrier"));
        }
    }
    HwCheck::normal(format!(
        "{} physical NICs, {up} up, all up ones have carrier",
        nics.len()
    ))
}

/// GPUs: display-class PCI devices from NVIDIA, AMD or Intel, or any 3D controller (0x0302).
/// Error: a GPU's runtime PM status is `error`, or nvidia-smi fails / reports a lost GPU while
/// NVIDIA GPUs are present.
fn gpu(r: &Readings) -> HwCheck {
    let mut gpus = 0;
    let mut nvidia = 0;
    for line in r.all("hw.gpu") {
        let f = fields(line);
        let addr = f.first().copied().unwrap_or("?");
        let class = f.get(1).copied().unwrap_or("");
        let vendor = f.get(2).copied().unwrap_or("");
        let is_gpu =
            class.starts_with("0x0302") || matches!(vendor, "0x10de" | "0x1002" | "0x8086");
        if !is_gpu {
            continue;
        }
        gpus += 1;
        if vendor == "0x10de" {
            nvidia += 1;
        }
        if val(f.get(4)).as_deref() == Some("error") {
            return HwCheck::error(format!("GPU {addr} runtime power state is error"));
        }
    }
    if nvidia > 0 {
        if let Some(code) = r.first("hw.gpu.smi.exit") {
            let bad_line = r.all("hw.gpu.smi").iter().find(|l| {
                l.contains("ERR!") || l.contains("GPU is lost") || l.contains("Unknown Error")
            });
            if let Some(l) = bad_line {
                return HwCheck::error(format!("nvidia-smi: {}", l.trim()));
            }
            if code != "0" {
                let first = r.all("hw.gpu.smi").first().map(|s| s.trim()).unwrap_or("");
                return HwCheck::error(format!("nvidia-smi exited {code}: {first}"));
            }
        }
    }
    if gpus == 0 {
        return HwCheck::unknown("no GPU");
    }
    HwCheck::normal(format!("{gpus} GPUs, none failed"))
}

/// Mains supplies must be online; IPMI power supply sensors must be ok.
fn power_supply(r: &Readings) -> HwCheck {
    let mut ok = 0;
    for line in r.all("hw.psu") {
        let f = fields(line);
        if f.len() < 3 || f[f.len() - 2] != "Mains" {
            continue;
        }
        let name = f[..f.len() - 2].join(" ");
        match val(f.last()).as_deref() {
            Some("1") => ok += 1,
            Some("0") => return HwCheck::error(format!("{name} (Mains) is offline")),
            _ => {}
        }
    }
    for line in r.all("hw.psu.ipmi") {
        // "PS1 Status       | C8h | ok  | 10.1 | Presence detected"
        let cols: Vec<&str> = line.split('|').map(str::trim).collect();
        if cols.len() < 3 {
            continue;
        }
        let (name, status) = (cols[0], cols[2]);
        let event = cols.get(4).copied().unwrap_or("").to_ascii_lowercase();
        if status == "ns" {
            continue;
        }
        if status != "ok"
            || event.contains("failure")
            || event.contains("ac lost")
            || event.contains("predictive")
        {
            return HwCheck::error(format!(
                "IPMI {name}: {status} {}",
                cols.get(4).unwrap_or(&"")
            ));
        }
        ok += 1;
    }
    if ok == 0 {
        return HwCheck::unknown("no Mains power supply or IPMI power supply sensor exposed");
    }
    HwCheck::normal(format!("{ok} power supplies online"))
}

/// hwmon fans: an alarm, or 0 rpm while a minimum is set, is Error.
fn fan(r: &Readings) -> HwCheck {
    let fans = r.all("hw.fan");
    if fans.is_empty() {
        return HwCheck::unknown("no fan sensors");
    }
    for line in fans {
        let f = fields(line);
        let name = f.first().copied().unwrap_or("?");
        let input = num(f.get(1));
        let min = num(f.get(2));
        let alarm = num(f.get(3));
        if alarm == Some(1) {
            return HwCheck::error(format!("{name} alarm"));
        }
        if input == Some(0) && min.is_some_and(|m| m > 0) {
            return HwCheck::error(format!("{name} reads 0 rpm (min {})", min.unwrap_or(0)));
        }
    }
    HwCheck::normal(format!("{} fans, no alarm", fans.len()))
}

/// /proc/mdstat: a degraded array (`_` in `[UU_]`), a failed member `(F)` or an inactive array is Error.
fn raid(r: &Readings) -> HwCheck {
    let lines = r.all("hw.mdstat");
    let mut arrays = 0;
    let mut current = String::new();
    for line in lines {
        let t = line.trim();
        if let Some((name, rest)) = t.split_once(" : ") {
            if name.starts_with("md") && !name.contains(' ') {
                arrays += 1;
                current = name.to_string();
                if rest.trim_start().starts_with("inactive") {
                    return HwCheck::error(format!("{current} is inactive"));
                }
                if rest.contains("(F)") {
                    return HwCheck::error(format!("{current} has a failed member: {rest}"));
                }
                continue;
            }
        }
        for tok in t.split_whitespace() {
            if let Some(inner) = tok.strip_prefix('[').and_then(|s| s.strip_suffix(']')) {
                if !inner.is_empty()
                    && inner.chars().all(|c| c == 'U' || c == '_')
                    && inner.contains('_')
                {
                    return HwCheck::error(format!("{current} degraded {tok}"));
                }
            }
        }
    }
    if arrays == 0 {
        return HwCheck::unknown("no md arrays");
    }
    HwCheck::normal(format!("{arrays} md arrays complete"))
}

/// A thermal zone at or above its critical trip point, or an hwmon crit alarm, is Error.
fn temperature(r: &Readings) -> HwCheck {
    let zones = r.all("hw.thermal");
    let temps = r.all("hw.temp");
    if zones.is_empty() && temps.is_empty() {
        return HwCheck::unknown("no temperature sensors");
    }
    for line in zones {
        let f = fields(line);
        let name = f.first().copied().unwrap_or("?");
        if let (Some(t), Some(c)) = (num(f.get(1)), num(f.get(2))) {
            if c > 0 && t >= c {
                return HwCheck::error(format!(
                    "{name} at {} °C, critical trip {} °C",
                    t / 1000,
                    c / 1000
                ));
            }
        }
    }
    for line in temps {
        let f = fields(line);
        if num(f.get(2)) == Some(1) {
            return HwCheck::error(format!(
                "{} critical alarm",
                f.first().copied().unwrap_or("?")
            ));
        }
    }
    HwCheck::normal(format!(
        "{} sensors, none critical",
        zones.len() + temps.len()
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn j(lines: &str) -> HwStatuses {
        judge(&Readings::parse(lines))
    }

    fn st(c: &HwCheck) -> HwStatus {
        c.status
    }

    #[test]
    fn cpu_rules() {
        let h = j("hw.cpu.present=0-3\nhw.cpu.online=0-3\n");
        assert_eq!(st(&h.cpu), HwStatus::Normal, "{:?}", h.cpu);
        let h = j("hw.cpu.present=0-3\nhw.cpu.online=0,2-3\n");
        assert_eq!(st(&h.cpu), HwStatus::Error);
        assert!(h.cpu.reason.contains("CPUs 1 "), "{}", h.cpu.reason);
        // SMT off: siblings offline on purpose.
        let h = j("hw.cpu.present=0-7\nhw.cpu.online=0-3\nhw.cpu.smt=off\n");
        assert_eq!(st(&h.cpu), HwStatus::Normal, "{:?}", h.cpu);
        // SMT notsupported does not excuse offline CPUs.
        let h = j("hw.cpu.present=0-7\nhw.cpu.online=0-3\nhw.cpu.smt=notsupported\n");
        assert_eq!(st(&h.cpu), HwStatus::Error);
        // Uncorrected MCE reported by ras-mc-ctl.
        let h = j("hw.cpu.present=0-1\nhw.cpu.online=0-1\nhw.cpu.mce=MCE records summary:\nhw.cpu.mce=2 Uncorrected error errors\n");
        assert_eq!(st(&h.cpu), HwStatus::Error);
        let h = j("hw.cpu.present=0-1\nhw.cpu.online=0-1\nhw.cpu.mce=No MCE errors.\nhw.cpu.mce=3 Corrected error, no action required. errors\n");
        assert_eq!(st(&h.cpu), HwStatus::Normal);
        // Nothing readable.
        assert_eq!(st(&j("").cpu), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.cpu.present=x\nhw.cpu.online=0\n").cpu),
            HwStatus::Unknown
        );
    }

    #[test]
    fn cpu_lists() {
        assert_eq!(
            cpu_list("0-2,5,7-8"),
            Some([0, 1, 2, 5, 7, 8].into_iter().collect())
        );
        assert_eq!(cpu_list(""), Some(BTreeSet::new()));
        assert_eq!(cpu_list("3-1"), None);
        assert_eq!(
            fmt_cpus(&[1, 2, 3, 5, 9, 10].into_iter().collect()),
            "1-3,5,9-10"
        );
    }

    #[test]
    fn memory_rules() {
        assert_eq!(st(&j("").memory), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.edac=mc0 0\nhw.edac=mc1 0\n").memory),
            HwStatus::Normal
        );
        let h = j("hw.edac=mc0 0\nhw.edac=mc1 2\n");
        assert_eq!(st(&h.memory), HwStatus::Error);
        assert_eq!(h.memory.reason, "mc1 ue_count=2");
        assert_eq!(st(&j("hw.edac=mc0 -\n").memory), HwStatus::Unknown);
    }

    #[test]
    fn disk_rules() {
        assert_eq!(st(&j("").disk), HwStatus::Unknown);
        assert_eq!(st(&j("hw.disk=vda -\n").disk), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.disk=sda running\nhw.disk=nvme0n1 live\n").disk),
            HwStatus::Normal
        );
        let h = j("hw.disk=sda running\nhw.disk=sdb offline\n");
        assert_eq!(st(&h.disk), HwStatus::Error);
        assert_eq!(h.disk.reason, "sdb state=offline");
        // SMART only (virtio has no state) passing → Normal; failing → Error.
        assert_eq!(
            st(&j("hw.disk=sda -\nhw.smart=sda PASSED\n").disk),
            HwStatus::Normal
        );
        assert_eq!(
            st(&j("hw.disk=sda running\nhw.smart=sda FAILED!\n").disk),
            HwStatus::Error
        );
        assert_eq!(
            st(&j("hw.disk=sda -\nhw.smart=sda unavailable\n").disk),
            HwStatus::Unknown
        );
    }

    #[test]
    fn nic_rules() {
        assert_eq!(st(&j("").nic), HwStatus::Unknown);
        assert_eq!(st(&j("hw.nic=eth0 0x1003 1\n").nic), HwStatus::Normal);
        let h = j("hw.nic=eth0 0x1003 1\nhw.nic=eth1 0x1003 0\n");
        assert_eq!(st(&h.nic), HwStatus::Error);
        assert_eq!(h.nic.reason, "eth1 is up but has no carrier");
        // Administratively down without carrier is fine.
        assert_eq!(st(&j("hw.nic=eth1 0x1002 -\n").nic), HwStatus::Normal);
    }

    #[test]
    fn gpu_rules() {
        assert_eq!(st(&j("").gpu), HwStatus::Unknown);
        // BMC VGA (ASPEED) is not a GPU.
        assert_eq!(
            st(&j("hw.gpu=0000:03:00.0 0x030000 0x1a03 ast -\n").gpu),
            HwStatus::Unknown
        );
        assert_eq!(
            st(&j("hw.gpu=0000:3b:00.0 0x030200 0x10de nvidia active\nhw.gpu.smi.exit=0\nhw.gpu.smi=0, 00000000:3B:00.0, Tesla T4\n").gpu),
            HwStatus::Normal
        );
        assert_eq!(
            st(&j("hw.gpu=0000:3b:00.0 0x030200 0x10de nvidia error\n").gpu),
            HwStatus::Error
        );
        assert_eq!(
            st(&j("hw.gpu=0000:3b:00.0 0x030200 0x10de nvidia active\nhw.gpu.smi.exit=0\nhw.gpu.smi=Unable to determine the device handle for GPU 0000:3B:00.0: GPU is lost\n").gpu),
            HwStatus::Error
        );
        assert_eq!(
            st(&j("hw.gpu=0000:3b:00.0 0x030200 0x10de nvidia active\nhw.gpu.smi.exit=9\nhw.gpu.smi=NVIDIA-SMI has failed\n").gpu),
            HwStatus::Error
        );
        // nvidia-smi failing without an NVIDIA GPU says nothing about GPUs.
        assert_eq!(
            st(&j("hw.gpu=0000:00:02.0 0x030000 0x8086 i915 active\nhw.gpu.smi.exit=9\n").gpu),
            HwStatus::Normal
        );
        // Passthrough (vfio) AMD GPU counts as present and healthy.
        assert_eq!(
            st(&j("hw.gpu=0000:41:00.0 0x030000 0x1002 vfio-pci -\n").gpu),
            HwStatus::Normal
        );
    }

    #[test]
    fn power_supply_rules() {
        assert_eq!(st(&j("").power_supply), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.psu=BAT0 Battery -\n").power_supply),
            HwStatus::Unknown
        );
        assert_eq!(st(&j("hw.psu=AC Mains 1\n").power_supply), HwStatus::Normal);
        let h = j("hw.psu=AC Mains 1\nhw.psu=AC2 Mains 0\n");
        assert_eq!(st(&h.power_supply), HwStatus::Error);
        assert_eq!(h.power_supply.reason, "AC2 (Mains) is offline");
        assert_eq!(
            st(
                &j("hw.psu.ipmi=PS1 Status       | C8h | ok  | 10.1 | Presence detected\n")
                    .power_supply
            ),
            HwStatus::Normal
        );
        assert_eq!(
            st(&j("hw.psu.ipmi=PS1 Status       | C8h | ok  | 10.1 | Presence detected\nhw.psu.ipmi=PS2 Status       | C9h | ok  | 10.2 | Presence detected, Power Supply AC lost\n").power_supply),
            HwStatus::Error
        );
        assert_eq!(
            st(
                &j("hw.psu.ipmi=PS2 Status       | C9h | cr  | 10.2 | Failure detected\n")
                    .power_supply
            ),
            HwStatus::Error
        );
        assert_eq!(
            st(&j("hw.psu.ipmi=PS3 Status       | CAh | ns  | 10.3 | No Reading\n").power_supply),
            HwStatus::Unknown
        );
    }

    #[test]
    fn fan_rules() {
        assert_eq!(st(&j("").fan), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.fan=hwmon0/fan1 1200 300 0\nhw.fan=hwmon0/fan2 0 0 -\n").fan),
            HwStatus::Normal
        );
        let h = j("hw.fan=hwmon0/fan1 1200 300 1\n");
        assert_eq!(st(&h.fan), HwStatus::Error);
        assert_eq!(h.fan.reason, "hwmon0/fan1 alarm");
        let h = j("hw.fan=hwmon0/fan2 0 300 -\n");
        assert_eq!(st(&h.fan), HwStatus::Error);
        assert_eq!(st(&j("hw.fan=hwmon0/fan3 - - 1\n").fan), HwStatus::Error);
    }

    #[test]
    fn raid_rules() {
        assert_eq!(st(&j("").raid), HwStatus::Unknown);
        assert_eq!(
            st(&j("hw.mdstat=Personalities : \nhw.mdstat=unused devices: <none>\n").raid),
            HwStatus::Unknown
        );
        let ok = "hw.mdstat=Personalities : [raid1]\nhw.mdstat=md0 : active raid1 sdb1[1] sda1[0]\nhw.mdstat=      1048512 blocks super 1.2 [2/2] [UU]\nhw.mdstat=\nhw.mdstat=unused devices: <none>\n";
        assert_eq!(st(&j(ok).raid), HwStatus::Normal);
        let degraded = "hw.mdstat=md0 : active raid1 sda1[0]\nhw.mdstat=      1048512 blocks super 1.2 [2/1] [U_]\n";
        let h = j(degraded);
        assert_eq!(st(&h.raid), HwStatus::Error);
        assert_eq!(h.raid.reason, "md0 degraded [U_]");
        let failed = "hw.mdstat=md1 : active raid1 sdb1[1](F) sda1[0]\nhw.mdstat=      1048512 blocks [2/1] [UU]\n";
        assert_eq!(st(&j(failed).raid), HwStatus::Error);
        let inactive = "hw.mdstat=md2 : inactive sdc[0](S)\n";
        assert_eq!(st(&j(inactive).raid), HwStatus::Error);
        // A resync progress bar is not a degraded marker.
        let resync = "hw.mdstat=md0 : active raid1 sdb1[1] sda1[0]\nhw.mdstat=      1048512 blocks [2/2] [UU]\nhw.mdstat=      [==>..................]  resync = 12.6%\n";
        assert_eq!(st(&j(resync).raid), HwStatus::Normal);
    }

    #[test]
    fn temperature_rules() {
        assert_eq!(st(&j("").temperature), HwStatus::Unknown);
        assert_eq!(
            st(
                &j("hw.thermal=thermal_zone0 45000 105000\nhw.temp=hwmon1/temp1 40000 0\n")
                    .temperature
            ),
            HwStatus::Normal
        );
        let h = j("hw.thermal=thermal_zone0 105000 105000\n");
        assert_eq!(st(&h.temperature), HwStatus::Error);
        assert!(
            h.temperature.reason.contains("105"),
            "{}",
            h.temperature.reason
        );
        assert_eq!(
            st(&j("hw.thermal=thermal_zone0 45000 -\n").temperature),
            HwStatus::Normal
        );
        assert_eq!(
            st(&j("hw.temp=hwmon1/temp2 99000 1\n").temperature),
            HwStatus::Error
        );
    }

    #[test]
    fn status_names() {
        assert_eq!(HwStatus::Normal.as_str(), "Normal");
        assert_eq!(HwStatus::Error.as_str(), "Error");
        assert_eq!(HwStatus::Unknown.as_str(), "Unknown");
    }
}
