//! Which URLs a webhook may be sent to, and an HTTP client that only ever connects to those.
//!
//! A webhook URL comes from an API caller, and hostplane then makes requests to it from inside
//! the management network: without a check, a caller could make the server reach its own
//! loopback services or a cloud's metadata service (OWASP API7, server-side request forgery).
//! So every target address is checked against the rules of the global config
//! `rest.webhook.allowedNetworks` ([`crate::netrules`], the same rules as `X-Web-Hook`): by
//! default
//!
//! - a target whose address is loopback (127.0.0.0/8, ::1), link-local (169.254.0.0/16, which
//!   holds the metadata services, fe80::/10), unspecified (0.0.0.0, ::), multicast or
//!   broadcast is refused — IPv4-mapped IPv6 addresses are checked as their IPv4 address;
//! - a host name is resolved and refused if *any* of its addresses is such an address (GitLab's
//!   rule), and the connection is made to the addresses that were checked: [`client`] resolves
//!   through [`GuardedResolver`], so a name that answers differently the second time (DNS
//!   rebinding) cannot slip through, and a failed lookup is a refusal, not a pass;
//! - redirects are never followed (a redirect is another target, unchecked).
//!
//! Private ranges (10/8, 172.16/12, 192.168/16) are allowed: webhook receivers of an on-premise
//! fleet manager live there. Only `http` and `https` URLs are accepted, without user info;
//! `https` certificates are verified against the system's CA certificates.
//!
//! This module is shared by every webhook hostplane sends (host event subscriptions; the
//! `X-Web-Hook` of async calls can use [`check_url`] and [`client`] the same way). It never logs
//! a URL's query string or user info, and never sends anything itself.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::Url;

use crate::netrules::NetRules;

/// Why a URL is not a webhook target.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Refused {
    #[error("the webhook URL is not a valid URL: {0}")]
    BadUrl(String),
    #[error("the webhook URL must be http:// or https://")]
    Scheme,
    #[error("the webhook URL must not carry a user name or password")]
    UserInfo,
    #[error(
        "the webhook target {0} is not an allowed target (loopback, link-local, unspecified and \
         multicast addresses are refused unless the global config rest.webhook.allowedNetworks \
         allows them)"
    )]
    Local(IpAddr),
    #[error("the webhook target's name {0} does not resolve")]
    Resolve(String),
}

/// Whether an address is local in the sense of this module: refused by the default rules.
pub fn is_local(ip: IpAddr) -> bool {
    !crate::netrules::allowed_by_default(ip)
}

/// Parse and check a URL: scheme, no user info, and a literal address that is not local
/// (names are checked when resolved: [`check_url`] or [`client`]).
pub fn parse(url: &str, rules: &NetRules) -> Result<Url, Refused> {
    let u = Url::parse(url.trim()).map_err(|e| Refused::BadUrl(e.to_string()))?;
    if u.scheme() != "http" && u.scheme() != "https" {
        return Err(Refused::Scheme);
    }
    if !u.username().is_empty() || u.password().is_some() {
        return Err(Refused::UserInfo);
    }
    match u.host() {
        None => return Err(Refused::BadUrl("no host".into())),
        Some(url::Host::Ipv4(ip)) if !rules.allows(IpAddr::V4(ip)) => {
            return Err(Refused::Local(IpAddr::V4(ip)))
        }
        Some(url::Host::Ipv6(ip)) if !rules.allows(IpAddr::V6(ip)) => {
            return Err(Refused::Local(IpAddr::V6(ip)))
        }
        _ => {}
    }
    Ok(u)
}

/// [`parse`], then resolve a host name and check every address (for a subscription, when it
/// is created; deliveries check again through [`client`]).
pub async fn check_url(url: &str, rules: &NetRules) -> Result<Url, Refused> {
    let u = parse(url, rules)?;
    if let Some(url::Host::Domain(name)) = u.host() {
        resolve_checked(name, rules).await?;
    }
    Ok(u)
}

/// Resolve a name; refused if it has no address or the rules refuse any of its addresses.
pub async fn resolve_checked(name: &str, rules: &NetRules) -> Result<Vec<SocketAddr>, Refused> {
    let addrs: Vec<SocketAddr> = tokio::net::lookup_host((name, 0))
        .await
        .map_err(|_| Refused::Resolve(name.to_string()))?
        .collect();
    if addrs.is_empty() {
        return Err(Refused::Resolve(name.to_string()));
    }
    if let Some(a) = addrs.iter().find(|a| !rules.allows(a.ip())) {
        return Err(Refused::Local(a.ip()));
    }
    Ok(addrs)
}

/// A resolver that hands reqwest only checked addresses (see the module doc).
#[derive(Debug, Clone)]
pub struct GuardedResolver {
    pub rules: Arc<NetRules>,
}

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let rules = self.rules.clone();
        Box::pin(async move {
            let addrs = resolve_checked(name.as_str(), &rules).await?;
            Ok(Box::new(addrs.into_iter()) as Addrs)
        })
    }
}

/// An HTTP client for webhooks: names resolved through [`GuardedResolver`], no redirects, a
/// bound on each request. Literal-address URLs do not go through a resolver: check them with
/// [`parse`] before each request.
pub fn client(rules: &NetRules, timeout: Duration) -> reqwest::Result<reqwest::Client> {
    reqwest::Client::builder()
        .dns_resolver(Arc::new(GuardedResolver {
            rules: Arc::new(rules.clone()),
        }))
        .redirect(reqwest::redirect::Policy::none())
        .timeout(timeout)
        .connect_timeout(timeout.min(Duration::from_secs(5)))
        .user_agent(concat!("hostplane/", env!("CARGO_PKG_VERSION")))
        .build()
}

/// The URL without its query string, for logs.
pub fn redacted(url: &Url) -> String {
    let mut u = url.clone();
    u.set_query(None);
    u.set_fragment(None);
    u.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rules that let loopback through, as a test receiver on 127.0.0.1 needs.
    fn local() -> NetRules {
        NetRules::parse("127.0.0.0/8,::1/128").unwrap()
    }

    #[test]
    fn local_addresses() {
        for a in [
            "127.0.0.1",
            "127.8.9.10",
            "169.254.169.254",
            "0.0.0.0",
            "255.255.255.255",
            "224.0.0.1",
            "::1",
            "::",
            "fe80::1",
            "::ffff:127.0.0.1",
            "::ffff:169.254.169.254",
        ] {
            assert!(is_local(a.parse().unwrap()), "{a}");
        }
        for a in [
            "10.0.0.1",
            "192.168.1.1",
            "172.16.0.1",
            "8.8.8.8",
            "2001:db8::1",
        ] {
            assert!(!is_local(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn urls() {
        assert!(parse("http://10.0.0.5:8080/hook?x=1", &NetRules::default()).is_ok());
        assert!(parse("https://hooks.example.com/x", &NetRules::default()).is_ok());
        assert_eq!(
            parse("ftp://10.0.0.5/", &NetRules::default()),
            Err(Refused::Scheme)
        );
        assert_eq!(
            parse("http://user:pw@10.0.0.5/", &NetRules::default()),
            Err(Refused::UserInfo)
        );
        assert!(matches!(
            parse("http://127.0.0.1:9/", &NetRules::default()),
            Err(Refused::Local(_))
        ));
        assert!(matches!(
            parse("http://[::ffff:169.254.169.254]/", &NetRules::default()),
            Err(Refused::Local(_))
        ));
        assert!(parse("http://127.0.0.1:9/", &local()).is_ok());
        assert!(matches!(
            parse("not a url", &NetRules::default()),
            Err(Refused::BadUrl(_))
        ));
        let u = parse("http://10.0.0.5/h?token=secret", &NetRules::default()).unwrap();
        assert_eq!(redacted(&u), "http://10.0.0.5/h");
    }

    #[tokio::test]
    async fn names_are_resolved_and_checked() {
        assert!(matches!(
            check_url("http://localhost:9/", &NetRules::default()).await,
            Err(Refused::Local(_))
        ));
        assert!(check_url("http://localhost:9/", &local()).await.is_ok());
        assert!(matches!(
            check_url("http://no-such-name.invalid/", &local()).await,
            Err(Refused::Resolve(_))
        ));
    }

    /// A delivery to a name that resolves to loopback is refused by the client itself.
    #[tokio::test]
    async fn the_client_refuses_what_the_check_refuses() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = l.local_addr().unwrap().port();
        let c = client(&NetRules::default(), Duration::from_secs(2)).unwrap();
        assert!(c
            .get(format!("http://localhost:{port}/"))
            .send()
            .await
            .is_err());
    }
}
