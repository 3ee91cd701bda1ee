//! Reverse proxies the operator trusts (`serve --trusted-proxy ADDR[/PREFIX]`)
//! and the forwarded headers only they may send.
//!
//! - Invariant: `Forwarded` and `X-Forwarded-*` reach no handler unless the
//!   request came from a trusted proxy: [`drop_untrusted_forwarded_headers`]
//!   removes them at the edge (the server's outermost layer), so a client
//!   talking to Sightline directly cannot claim HTTPS (`Secure` cookies, the
//!   `__Host-` names, HSTS) or another client address.

use axum::http::HeaderMap;
use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

/// The request headers a proxy sets about the client and the connection.
pub const FORWARDED_HEADERS: [&str; 4] = [
    "forwarded",
    "x-forwarded-for",
    "x-forwarded-proto",
    "x-forwarded-host",
];

/// One trusted proxy: an address, or a network in CIDR notation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustedProxy {
    network: IpAddr,
    prefix_len: u8,
}

/// An IPv4 address mapped into IPv6 (`::ffff:a.b.c.d`, how a dual-stack
/// listener reports an IPv4 peer) as the IPv4 address; others unchanged.
pub fn canonical(address: IpAddr) -> IpAddr {
    match address {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(address, IpAddr::V4),
        IpAddr::V4(_) => address,
    }
}

impl TrustedProxy {
    /// `192.0.2.10`, `10.0.0.0/8`, `::1`, `fd00::/8`. The address part is
    /// the network (host bits set are refused, so `10.0.0.1/8` is not taken
    /// to mean something it does not say).
    pub fn parse(text: &str) -> Result<TrustedProxy, String> {
        let text = text.trim();
        let (address, prefix) = match text.split_once('/') {
            Some((address, prefix)) => (address, Some(prefix)),
            None => (text, None),
        };
        let network = canonical(
            address
                .parse::<IpAddr>()
                .map_err(|_| format!("{address:?} is not an IP address"))?,
        );
        let bits = if network.is_ipv4() { 32 } else { 128 };
        let prefix_len = match prefix {
            None => bits,
            Some(prefix) => prefix
                .parse::<u8>()
                .ok()
                .filter(|len| *len <= bits)
                .ok_or_else(|| format!("{prefix:?} is not a prefix length of 0 to {bits}"))?,
        };
        let proxy = TrustedProxy {
            network,
            prefix_len,
        };
        if !proxy.contains(network) || masked(network, prefix_len) != network {
            return Err(format!(
                "{text} has host bits set: the network is {}/{prefix_len}",
                masked(network, prefix_len)
            ));
        }
        Ok(proxy)
    }

    /// Whether `address` is this proxy (or in this network).
    pub fn contains(&self, address: IpAddr) -> bool {
        let address = canonical(address);
        address.is_ipv4() == self.network.is_ipv4()
            && masked(address, self.prefix_len) == self.network
    }
}

/// `address` with all but its first `prefix_len` bits cleared.
fn masked(address: IpAddr, prefix_len: u8) -> IpAddr {
    match address {
        IpAddr::V4(v4) => {
            let mask = u32::MAX
                .checked_shl(32 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V4((u32::from(v4) & mask).into())
        }
        IpAddr::V6(v6) => {
            let mask = u128::MAX
                .checked_shl(128 - u32::from(prefix_len))
                .unwrap_or(0);
            IpAddr::V6((u128::from(v6) & mask).into())
        }
    }
}

impl FromStr for TrustedProxy {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        TrustedProxy::parse(text)
    }
}

impl fmt::Display for TrustedProxy {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(formatter, "{}/{}", self.network, self.prefix_len)
    }
}

/// Whether `peer` (the TCP peer; `None` when unknown) is one of `proxies`.
pub fn is_trusted(proxies: &[TrustedProxy], peer: Option<IpAddr>) -> bool {
    peer.is_some_and(|peer| proxies.iter().any(|proxy| proxy.contains(peer)))
}

/// Removes the [`FORWARDED_HEADERS`] from a request whose peer is not a
/// trusted proxy (or is unknown: fail closed). Returns how many were removed.
pub fn drop_untrusted_forwarded_headers(
    proxies: &[TrustedProxy],
    peer: Option<IpAddr>,
    headers: &mut HeaderMap,
) -> usize {
    if is_trusted(proxies, peer) {
        return 0;
    }
    FORWARDED_HEADERS
        .iter()
        .map(|name| headers.remove(*name).map_or(0, |_| 1))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(proxy: &str, address: &str, expected: bool) {
        let proxy = TrustedProxy::parse(proxy).unwrap();
        assert_eq!(
            proxy.contains(address.parse().unwrap()),
            expected,
            "{proxy} contains {address}"
        );
    }

    #[test]
    fn addresses_and_networks_contain_what_they_say() {
        check("127.0.0.1", "127.0.0.1", true);
        check("127.0.0.1", "127.0.0.2", false);
        check("10.0.0.0/8", "10.200.3.4", true);
        check("10.0.0.0/8", "11.0.0.1", false);
        check("10.0.0.0/8", "::ffff:10.1.2.3", true);
        check("0.0.0.0/0", "192.0.2.1", true);
        check("0.0.0.0/0", "::1", false);
        check("::1", "::1", true);
        check("fd00::/8", "fd12::1", true);
        check("fd00::/8", "fe80::1", false);
        check("::ffff:192.0.2.1", "192.0.2.1", true);
    }

    #[test]
    fn malformed_proxies_are_refused() {
        for text in [
            "",
            "proxy.example",
            "10.0.0.0/33",
            "10.0.0.0/",
            "10.0.0.0/x",
            "10.0.0.1/8",
            "::/129",
        ] {
            assert!(TrustedProxy::parse(text).is_err(), "{text:?}");
        }
        assert_eq!(
            TrustedProxy::parse("10.0.0.0/8").unwrap().to_string(),
            "10.0.0.0/8"
        );
    }

    #[test]
    fn forwarded_headers_are_dropped_unless_the_peer_is_trusted() {
        let proxies = [TrustedProxy::parse("192.0.2.0/24").unwrap()];
        let headers = || {
            let mut headers = HeaderMap::new();
            for name in FORWARDED_HEADERS {
                headers.insert(name, "https".parse().unwrap());
            }
            headers.insert("host", "sightline.example".parse().unwrap());
            headers
        };
        let mut direct = headers();
        let dropped = drop_untrusted_forwarded_headers(
            &proxies,
            Some("198.51.100.7".parse().unwrap()),
            &mut direct,
        );
        assert_eq!((dropped, direct.len()), (4, 1));
        let mut unknown = headers();
        assert_eq!(
            drop_untrusted_forwarded_headers(&proxies, None, &mut unknown),
            4
        );
        let mut proxied = headers();
        let dropped = drop_untrusted_forwarded_headers(
            &proxies,
            Some("192.0.2.9".parse().unwrap()),
            &mut proxied,
        );
        assert_eq!((dropped, proxied.len()), (0, 5));
    }
}
