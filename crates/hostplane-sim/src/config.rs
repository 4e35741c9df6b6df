//! What to simulate: groups of hosts (an address range or a port range), their login, facts and
//! starting faults. Read from a JSON file or built from command-line flags; [`SimConfig::expand`]
//! turns it into one [`HostSpec`] per host and refuses duplicates.
//!
//! Every field has a default, so `{"groups": [{"count": 1000}]}` is a complete configuration:
//! 1,000 Ubuntu 22.04 x86_64 hosts with 32 CPUs, 2 sockets, 256 GiB and VT-x, on 127.1.0.1,
//! 127.1.0.2, ... port 2222, user `root`, password `password`.

use std::collections::HashSet;
use std::net::{Ipv4Addr, SocketAddr};
use std::sync::Arc;

use serde::{Deserialize, Serialize};

/// The whole simulator.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SimConfig {
    /// Host keys are derived from this seed, each host's address and its key generation, so a
    /// restarted simulator presents the same keys (pins stay valid).
    pub key_seed: String,
    /// Where the HTTP control interface listens (None: no control interface).
    pub control: Option<SocketAddr>,
    /// How long a rejected login takes (OpenSSH delays failures by 2-3 s).
    pub auth_rejection_ms: u64,
    /// Offer the post-quantum key exchange of OpenSSH 9.9+ (mlkem768x25519) first. Off: the
    /// curve25519 of the OpenSSH versions KVM hosts run today (it costs both sides far less).
    pub post_quantum_kex: bool,
    pub groups: Vec<HostGroup>,
}

impl SimConfig {
    /// `count` hosts with the default facts, from `base` on, each on a free port of its own
    /// address (the address tells the port).
    pub fn hosts(count: u32, base: Ipv4Addr) -> SimConfig {
        SimConfig {
            groups: vec![HostGroup {
                count,
                base,
                port: 0,
                ..Default::default()
            }],
            ..Default::default()
        }
    }
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            key_seed: "hostplane-sim".into(),
            control: None,
            auth_rejection_ms: 300,
            post_quantum_kex: false,
            groups: Vec::new(),
        }
    }
}

/// How the hosts of a group are spread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Vary {
    /// One address per host from `base` up (last octets 0 and 255 are skipped), all on `port`.
    #[default]
    Ip,
    /// All on `base`, ports `port`, `port + 1`, ...
    Port,
}

/// `count` hosts that look alike.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct HostGroup {
    pub count: u32,
    pub base: Ipv4Addr,
    /// 0: any free port (with `vary: ip`); the host's address then tells the port.
    pub port: u16,
    pub vary: Vary,
    pub username: String,
    pub password: String,
    /// OpenSSH public key lines (`ssh-ed25519 AAAA...`) that may log in instead of the password.
    pub authorized_keys: Vec<String>,
    pub facts: SimFacts,
    /// Faults the hosts start with.
    pub faults: Faults,
}

impl Default for HostGroup {
    fn default() -> Self {
        HostGroup {
            count: 1,
            base: Ipv4Addr::new(127, 1, 0, 1),
            port: 2222,
            vary: Vary::Ip,
            username: "root".into(),
            password: "password".into(),
            authorized_keys: Vec::new(),
            facts: SimFacts::default(),
            faults: Faults::default(),
        }
    }
}

/// What a host says about itself when hostplane collects its facts.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct SimFacts {
    pub cpu_num: u32,
    pub sockets: u32,
    pub cpu_model: String,
    /// Total memory: bytes, or a size such as `256G`, `512M` (powers of 1024).
    pub memory: String,
    /// os-release `ID`, `VERSION_ID` and `VERSION_CODENAME`.
    pub os_id: String,
    pub os_version: String,
    pub os_release: String,
    /// `uname -m`.
    pub arch: String,
    /// `vmx`, `svm`, or `none` (no CPU flag and no /dev/kvm: the host cannot run KVM).
    pub virtualization: String,
    /// `ept`/`npt` in the CPU flags.
    pub ept: bool,
    pub kernel: String,
    /// None: `sim-<address with dashes>`.
    pub hostname: Option<String>,
    pub libvirt_version: String,
    pub qemu_version: String,
    pub manufacturer: String,
    pub product_name: String,
    /// Raw `key=value` lines printed before the generated ones (they win: the first value of a
    /// key counts), e.g. `hw.fan=hwmon1/fan1 0 600 1` to make the fan status Error.
    pub extra: Vec<String>,
}

impl Default for SimFacts {
    fn default() -> Self {
        SimFacts {
            cpu_num: 32,
            sockets: 2,
            cpu_model: "Intel(R) Xeon(R) Gold 6338 CPU @ 2.00GHz".into(),
            memory: "256G".into(),
            os_id: "ubuntu".into(),
            os_version: "22.04".into(),
            os_release: "jammy".into(),
            arch: "x86_64".into(),
            virtualization: "vmx".into(),
            ept: true,
            kernel: "5.15.0-91-generic".into(),
            hostname: None,
            libvirt_version: "8.0.0".into(),
            qemu_version: "6.2.0".into(),
            manufacturer: "hostplane".into(),
            product_name: "Simulated KVM Host".into(),
            extra: Vec::new(),
        }
    }
}

impl SimFacts {
    /// Memory in bytes (checked by [`SimConfig::expand`]).
    pub fn memory_bytes(&self) -> Option<u64> {
        parse_size(&self.memory)
    }

    fn check(&self) -> Result<(), String> {
        if self.memory_bytes().is_none() {
            return Err(format!(
                "memory {:?} is not a size such as 256G or 1073741824",
                self.memory
            ));
        }
        if !matches!(self.virtualization.as_str(), "vmx" | "svm" | "none") {
            return Err(format!(
                "virtualization {:?} must be vmx, svm or none",
                self.virtualization
            ));
        }
        if self.cpu_num == 0 || self.sockets == 0 {
            return Err("cpuNum and sockets must be at least 1".into());
        }
        Ok(())
    }
}

/// The faults a host can show. All off by default.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct Faults {
    /// The port is closed and open connections are cut (a host that died or rebooted).
    pub down: bool,
    /// Every login is rejected (a changed password).
    pub refuse_auth: bool,
    /// TCP is accepted but SSH never answers; commands on open sessions never finish (a hung
    /// host).
    pub hang: bool,
    /// Logins work, but the connection is cut when a command is requested; open connections
    /// are cut at once.
    pub drop: bool,
    /// Every login and command answer is delayed this long.
    pub slow_ms: u64,
    /// The host goes down and comes up again every this many milliseconds (0: no flapping):
    /// a host in a reboot loop, or a flaky link. `down` shows the phase it is in.
    pub flap_ms: u64,
}

/// A change of faults sent to the control interface; fields left out stay as they are.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, rename_all = "camelCase", deny_unknown_fields)]
pub struct FaultChange {
    pub down: Option<bool>,
    pub refuse_auth: Option<bool>,
    pub hang: Option<bool>,
    pub drop: Option<bool>,
    pub slow_ms: Option<u64>,
    /// Start (> 0) or stop (0: the host stays up) flapping.
    pub flap_ms: Option<u64>,
    /// Present a new host key from now on (a reinstalled host).
    pub rotate_key: bool,
    /// Forget every takeover flag (what a reboot does to /var/run).
    pub clear_flags: bool,
}

/// One host, after expansion.
#[derive(Debug, Clone)]
pub struct HostSpec {
    pub index: usize,
    pub ip: Ipv4Addr,
    pub port: u16,
    pub username: String,
    pub password: String,
    pub authorized_keys: Arc<Vec<String>>,
    pub facts: Arc<SimFacts>,
    pub faults: Faults,
}

impl SimConfig {
    /// Read a JSON configuration file.
    pub fn from_json(text: &str) -> anyhow::Result<SimConfig> {
        Ok(serde_json::from_str(text)?)
    }

    /// One spec per host, in group order. Fails on a bad value, an address range that leaves
    /// IPv4 or the port range, or two hosts on the same address and port.
    pub fn expand(&self) -> anyhow::Result<Vec<HostSpec>> {
        let mut out = Vec::new();
        let mut seen = HashSet::new();
        for (g_index, g) in self.groups.iter().enumerate() {
            g.facts
                .check()
                .map_err(|e| anyhow::anyhow!("group {g_index}: {e}"))?;
            let facts = Arc::new(g.facts.clone());
            let keys = Arc::new(g.authorized_keys.clone());
            let mut ip = u32::from(g.base);
            for i in 0..g.count {
                let (addr, port) = match g.vary {
                    Vary::Ip => {
                        while matches!(ip & 0xff, 0 | 255) {
                            ip = ip.checked_add(1).ok_or_else(|| {
                                anyhow::anyhow!("group {g_index}: addresses run out")
                            })?;
                        }
                        let a = Ipv4Addr::from(ip);
                        ip = ip.saturating_add(1);
                        (a, g.port)
                    }
                    Vary::Port => {
                        if g.port == 0 {
                            anyhow::bail!(
                                "group {g_index}: --vary port needs a first port other than 0"
                            );
                        }
                        let p = u16::try_from(u32::from(g.port) + i).map_err(|_| {
                            anyhow::anyhow!("group {g_index}: ports run past 65535")
                        })?;
                        (g.base, p)
                    }
                };
                if !seen.insert((addr, port)) {
                    anyhow::bail!("two simulated hosts on {addr}:{port}");
                }
                out.push(HostSpec {
                    index: out.len(),
                    ip: addr,
                    port,
                    username: g.username.clone(),
                    password: g.password.clone(),
                    authorized_keys: keys.clone(),
                    facts: facts.clone(),
                    faults: g.faults.clone(),
                });
            }
        }
        Ok(out)
    }
}

/// `256G` → 274877906944. Suffixes K, M, G, T (powers of 1024), optional trailing `B`/`iB`.
pub fn parse_size(s: &str) -> Option<u64> {
    let s = s.trim();
    let s = s
        .strip_suffix("iB")
        .or_else(|| s.strip_suffix('B'))
        .unwrap_or(s);
    let (num, mult) = match s.chars().last()? {
        'K' | 'k' => (&s[..s.len() - 1], 1u64 << 10),
        'M' | 'm' => (&s[..s.len() - 1], 1 << 20),
        'G' | 'g' => (&s[..s.len() - 1], 1 << 30),
        'T' | 't' => (&s[..s.len() - 1], 1 << 40),
        _ => (s, 1),
    };
    num.trim().parse::<u64>().ok()?.checked_mul(mult)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sizes() {
        assert_eq!(parse_size("256G"), Some(256 << 30));
        assert_eq!(parse_size("512MiB"), Some(512 << 20));
        assert_eq!(parse_size("1073741824"), Some(1 << 30));
        assert_eq!(parse_size("G"), None);
        assert_eq!(parse_size("-1"), None);
    }

    #[test]
    fn addresses_skip_network_and_broadcast_octets() {
        let cfg = SimConfig {
            groups: vec![HostGroup {
                count: 3,
                base: Ipv4Addr::new(127, 1, 0, 254),
                ..Default::default()
            }],
            ..Default::default()
        };
        let ips: Vec<String> = cfg
            .expand()
            .unwrap()
            .iter()
            .map(|h| h.ip.to_string())
            .collect();
        assert_eq!(ips, ["127.1.0.254", "127.1.1.1", "127.1.1.2"]);
    }

    #[test]
    fn ports_and_duplicates() {
        let g = HostGroup {
            count: 3,
            base: Ipv4Addr::LOCALHOST,
            port: 65534,
            vary: Vary::Port,
            ..Default::default()
        };
        let cfg = SimConfig {
            groups: vec![g.clone()],
            ..Default::default()
        };
        assert!(cfg.expand().is_err(), "65536 is no port");
        let g = HostGroup {
            count: 2,
            port: 3000,
            ..g
        };
        let cfg = SimConfig {
            groups: vec![g.clone(), g],
            ..Default::default()
        };
        assert!(cfg
            .expand()
            .unwrap_err()
            .to_string()
            .contains("two simulated hosts"));
    }

    #[test]
    fn json_defaults_and_unknown_fields() {
        let cfg = SimConfig::from_json(r#"{"groups":[{"count":2,"facts":{"cpuNum":8}}]}"#).unwrap();
        let hosts = cfg.expand().unwrap();
        assert_eq!(hosts.len(), 2);
        assert_eq!(hosts[1].facts.cpu_num, 8);
        assert_eq!(hosts[1].facts.sockets, 2);
        assert_eq!(hosts[0].port, 2222);
        assert!(SimConfig::from_json(r#"{"groups":[{"cuont":2}]}"#).is_err());
        let bad =
            SimConfig::from_json(r#"{"groups":[{"facts":{"virtualization":"kvm"}}]}"#).unwrap();
        assert!(bad.expand().is_err());
    }
}
