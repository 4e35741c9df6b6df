//! Address rules for outbound connections the caller chooses (`X-Web-Hook` targets).
//!
//! A rule list is the value of `rest.webhook.allowedNetworks`: comma-separated CIDRs
//! (`10.0.0.0/8`, `127.0.0.1/32`, `::1/128`; a bare address means one host), each allowing its
//! network, or refusing it when written with a leading `!`. The first rule that contains an
//! address decides; when none does, the built-in rule decides: loopback, link-local
//! (169.254.0.0/16 with the cloud metadata address, fe80::/10), unspecified (0.0.0.0/8, ::)
//! and multicast addresses are refused, everything else (private ranges included) is allowed.
//! So `127.0.0.0/8` widens the default to loopback, and `!10.0.0.0/8` narrows it.
//!
//! IPv4-mapped IPv6 addresses (`::ffff:127.0.0.1`) are judged as the IPv4 address they carry,
//! so they cannot slip past an IPv4 rule. This module knows nothing of HTTP or DNS.

use std::net::IpAddr;

/// One network: an address and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Cidr {
    addr: IpAddr,
    prefix: u8,
}

impl Cidr {
    /// `10.0.0.0/8`, `::1/128`, or a bare address.
    pub fn parse(s: &str) -> Option<Cidr> {
        let s = s.trim();
        let (a, p) = match s.split_once('/') {
            Some((a, p)) => (a, Some(p)),
            None => (s, None),
        };
        let addr: IpAddr = a.trim().parse().ok()?;
        let max = if addr.is_ipv4() { 32 } else { 128 };
        let prefix = match p {
            Some(p) => p.trim().parse::<u8>().ok().filter(|n| *n <= max)?,
            None => max,
        };
        Some(Cidr {
            addr: canonical(addr),
            prefix: if addr.is_ipv4() || !is_mapped(addr) {
                prefix
            } else {
                prefix.saturating_sub(96)
            },
        })
    }

    pub fn contains(&self, ip: IpAddr) -> bool {
        match (self.addr, canonical(ip)) {
            (IpAddr::V4(net), IpAddr::V4(ip)) => {
                let mask = u32::MAX.checked_shl(32 - self.prefix as u32).unwrap_or(0);
                u32::from(net) & mask == u32::from(ip) & mask
            }
            (IpAddr::V6(net), IpAddr::V6(ip)) => {
                let mask = u128::MAX.checked_shl(128 - self.prefix as u32).unwrap_or(0);
                u128::from(net) & mask == u128::from(ip) & mask
            }
            _ => false,
        }
    }
}

fn is_mapped(ip: IpAddr) -> bool {
    matches!(ip, IpAddr::V6(v6) if v6.to_ipv4_mapped().is_some())
}

/// An IPv4-mapped IPv6 address as the IPv4 address it carries.
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// One rule: allow or refuse a network.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Rule {
    pub allow: bool,
    pub net: Cidr,
}

/// A parsed rule list (see the module docs).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct NetRules(pub Vec<Rule>);

impl NetRules {
    /// Parse a rule list; the error names the first entry that is not a CIDR.
    pub fn parse(text: &str) -> Result<NetRules, String> {
        let mut rules = Vec::new();
        for entry in text.split(',').map(str::trim).filter(|e| !e.is_empty()) {
            let (allow, cidr) = match entry.strip_prefix('!') {
                Some(rest) => (false, rest),
                None => (true, entry),
            };
            let net = Cidr::parse(cidr).ok_or_else(|| {
                format!("[{entry}] is not a network such as 10.0.0.0/8, !127.0.0.0/8 or ::1/128")
            })?;
            rules.push(Rule { allow, net });
        }
        Ok(NetRules(rules))
    }

    /// Whether a connection to `ip` is allowed.
    pub fn allows(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        match self.0.iter().find(|r| r.net.contains(ip)) {
            Some(r) => r.allow,
            None => allowed_by_default(ip),
        }
    }
}

/// The built-in rule: no loopback, link-local, unspecified or multicast address.
pub fn allowed_by_default(ip: IpAddr) -> bool {
    match canonical(ip) {
        IpAddr::V4(v4) => {
            !(v4.is_loopback()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.octets()[0] == 0)
        }
        IpAddr::V6(v6) => {
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (v6.segments()[0] & 0xffc0) == 0xfe80)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn default_refuses_local_targets() {
        let r = NetRules::default();
        for refused in [
            "127.0.0.1",
            "127.5.6.7",
            "169.254.169.254",
            "0.0.0.0",
            "224.0.0.1",
            "255.255.255.255",
            "::1",
            "::",
            "fe80::1",
            "ff02::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(!r.allows(ip(refused)), "{refused}");
        }
        for allowed in [
            "10.1.2.3",
            "192.168.1.1",
            "172.16.0.1",
            "8.8.8.8",
            "fd00::1",
        ] {
            assert!(r.allows(ip(allowed)), "{allowed}");
        }
    }

    #[test]
    fn rules_widen_and_narrow_in_order() {
        let r = NetRules::parse("127.0.0.1/32, !10.0.0.0/8, 10.1.0.0/16").unwrap();
        assert!(r.allows(ip("127.0.0.1")));
        assert!(r.allows(ip("::ffff:127.0.0.1")));
        assert!(!r.allows(ip("127.0.0.2")));
        assert!(!r.allows(ip("10.1.2.3")), "the first matching rule decides");
        assert!(r.allows(ip("192.168.0.1")));
        let all = NetRules::parse("!0.0.0.0/0,!::/0").unwrap();
        assert!(!all.allows(ip("8.8.8.8")) && !all.allows(ip("2001:db8::1")));
        let v6 = NetRules::parse("::1").unwrap();
        assert!(v6.allows(ip("::1")));
        assert!(NetRules::parse("").unwrap().0.is_empty());
        assert!(NetRules::parse("10.0.0.0/33").is_err());
        assert!(NetRules::parse("example.com").is_err());
        let mapped = NetRules::parse("::ffff:127.0.0.0/104").unwrap();
        assert!(mapped.allows(ip("127.0.0.9")));
    }
}
