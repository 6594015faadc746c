//! Which URLs a partner may register as a webhook endpoint, and which addresses a delivery may
//! connect to: nothing that reaches into the partner's, AWS's or this service's own network.
//!
//! Two checks, because a name can change what it points to. When an endpoint is registered its URL
//! must be `https`, with a host, no user or password, and no fragment; a host written as an
//! address must be a public one, and a name must not be one that only resolves inside a network
//! (`localhost`, `*.internal`, `*.local`...). Before every delivery the name is resolved and every
//! address it gives must be public (one private answer among public ones refuses them all, or a
//! name could be made to answer both); the delivery then connects to the addresses checked, never
//! resolving again, so a second answer (DNS rebinding) cannot slip in. Redirects are not followed.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use reqwest::Url;

/// The longest endpoint URL accepted.
const MAX_URL_LEN: usize = 2048;

/// Why an endpoint URL or an address it resolved to is refused; each is shown to the partner.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointRefused {
    #[error("the endpoint must be an absolute https URL of at most 2048 characters")]
    NotHttps,
    #[error("the endpoint URL must not carry a user, a password or a fragment")]
    Credentials,
    #[error("the endpoint's host is not reachable from the internet")]
    NotPublic,
}

/// A registered endpoint: an `https` URL whose host, as written, is not an internal one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EndpointUrl(Url);

impl EndpointUrl {
    pub fn parse(text: &str) -> Result<EndpointUrl, EndpointRefused> {
        if text.len() > MAX_URL_LEN {
            return Err(EndpointRefused::NotHttps);
        }
        let url = Url::parse(text).map_err(|_| EndpointRefused::NotHttps)?;
        // Percent-encoding can make the stored form longer than what was typed.
        if url.scheme() != "https" || url.cannot_be_a_base() || url.as_str().len() > MAX_URL_LEN {
            return Err(EndpointRefused::NotHttps);
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(EndpointRefused::Credentials);
        }
        // The parser already turned every spelling of an address (`0x7f.1`, `2130706433`) into its
        // dotted or bracketed form.
        let host = url.host_str().unwrap_or_default();
        let public = match host.trim_start_matches('[').trim_end_matches(']').parse::<IpAddr>() {
            Ok(address) => is_public(address),
            Err(_) => is_public_name(host),
        };
        if !public || url.port() == Some(0) {
            return Err(EndpointRefused::NotPublic);
        }
        Ok(EndpointUrl(url))
    }

    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The host to resolve before each delivery: a name, or an address without IPv6's brackets.
    pub fn host(&self) -> &str {
        self.0.host_str().unwrap_or_default().trim_start_matches('[').trim_end_matches(']')
    }

    pub fn port(&self) -> u16 {
        self.0.port_or_known_default().unwrap_or(443)
    }
}

/// Names that resolve only inside a network, or that are not names at all.
fn is_public_name(name: &str) -> bool {
    let name = name.trim_end_matches('.').to_ascii_lowercase();
    // RFC 6761 and 9476's special-use names, and what hosts files and home routers use.
    const INTERNAL_SUFFIXES: [&str; 13] = [
        ".localhost",
        ".local",
        ".internal",
        ".localdomain",
        ".localdomain4",
        ".localdomain6",
        ".home.arpa",
        ".intranet",
        ".lan",
        ".test",
        ".invalid",
        ".example",
        ".alt",
    ];
    name.contains('.')
        && name != "localhost"
        && !INTERNAL_SUFFIXES.iter().any(|suffix| name.ends_with(suffix))
        // Reverse-lookup zones are not hosts; a name ending in digits may be an address in disguise.
        && !name.ends_with(".arpa")
        && !name.rsplit('.').next().is_some_and(|tld| tld.bytes().all(|b| b.is_ascii_digit()))
}

/// The addresses a delivery may connect to: all of what the name resolved to, if every one is
/// public; otherwise none.
pub fn public_addresses(resolved: &[IpAddr]) -> Result<&[IpAddr], EndpointRefused> {
    if !resolved.is_empty() && resolved.iter().all(|address| is_public(*address)) {
        Ok(resolved)
    } else {
        Err(EndpointRefused::NotPublic)
    }
}

/// Whether `address` is one the internet routes to a host (IANA's special-purpose registries).
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => is_public_v6(v6),
    }
}

fn is_public_v4(address: Ipv4Addr) -> bool {
    let [a, b, c, _] = address.octets();
    let special = a == 0                            // "this network"
        || a == 10                                  // private
        || (a == 100 && (64..128).contains(&b))     // carrier-grade NAT
        || a == 127                                 // loopback
        || (a == 169 && b == 254)                   // link-local, the instance metadata service
        || (a == 172 && (16..32).contains(&b))      // private
        || (a == 192 && b == 0 && c == 0)           // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2)           // documentation
        || (a == 192 && b == 88 && c == 99)         // 6to4 relay anycast
        || (a == 192 && b == 168)                   // private
        || (a == 198 && (18..20).contains(&b))      // benchmarking
        || (a == 198 && b == 51 && c == 100)        // documentation
        || (a == 203 && b == 0 && c == 113)         // documentation
        || a >= 224; // multicast, reserved, broadcast
    !special
}

fn is_public_v6(address: Ipv6Addr) -> bool {
    let segments = address.segments();
    // Addresses that carry an IPv4 one are as public as it is: mapped (::ffff:0:0/96), NAT64's
    // well-known prefix (64:ff9b::/96) and 6to4 (2002::/16).
    if let Some(v4) = address.to_ipv4_mapped() {
        return is_public_v4(v4);
    }
    if segments[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        return is_public_v4(embedded_v4(segments[6], segments[7]));
    }
    if segments[0] == 0x2002 {
        return is_public_v4(embedded_v4(segments[1], segments[2]));
    }
    // Only global unicast (2000::/3) is routed; within it, the special blocks are not.
    let global_unicast = segments[0] & 0xe000 == 0x2000;
    // In 2001::/16: the IETF protocol assignments below 2001:200:: (Teredo, ORCHID, benchmarking)
    // and the documentation block 2001:db8::/32; and the newer documentation block 3fff::/20.
    let special = match segments[0] {
        0x2001 => segments[1] < 0x0200 || segments[1] == 0x0db8,
        0x3fff => segments[1] < 0x1000,
        _ => false,
    };
    global_unicast && !special
}

fn embedded_v4(high: u16, low: u16) -> Ipv4Addr {
    let [a, b] = high.to_be_bytes();
    let [c, d] = low.to_be_bytes();
    Ipv4Addr::new(a, b, c, d)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn public_https_endpoints_are_accepted_with_their_host_and_port() {
        let url = EndpointUrl::parse("https://hooks.example.com/registration?source=idp").unwrap();
        assert_eq!((url.host(), url.port()), ("hooks.example.com", 443));
        let on_a_port = EndpointUrl::parse("https://hooks.example.com:8443/in").unwrap();
        assert_eq!(on_a_port.port(), 8443);
        assert!(EndpointUrl::parse("https://93.184.215.14/hook").is_ok());
        let literal = EndpointUrl::parse("https://[2606:2800:21f:cb07:6820:80da:af6b:8b2c]/hook").unwrap();
        assert_eq!(literal.host(), "2606:2800:21f:cb07:6820:80da:af6b:8b2c");
    }

    #[test]
    fn what_is_not_https_or_carries_credentials_is_refused() {
        for text in ["http://hooks.example.com/", "ftp://hooks.example.com/", "hooks.example.com/in", "https://", ""] {
            assert_eq!(EndpointUrl::parse(text), Err(EndpointRefused::NotHttps), "{text}");
        }
        let long = format!("https://hooks.example.com/{}", "a".repeat(2048));
        assert_eq!(EndpointUrl::parse(&long), Err(EndpointRefused::NotHttps));
        // short as typed, too long once percent-encoded
        let encoded = format!("https://hooks.example.com/{}", "é".repeat(700));
        assert_eq!(EndpointUrl::parse(&encoded), Err(EndpointRefused::NotHttps));
        for text in
            ["https://user@hooks.example.com/", "https://u:p@hooks.example.com/", "https://hooks.example.com/#x"]
        {
            assert_eq!(EndpointUrl::parse(text), Err(EndpointRefused::Credentials), "{text}");
        }
    }

    #[test]
    fn internal_hosts_written_in_the_url_are_refused() {
        for text in [
            "https://localhost/",
            "https://LOCALHOST./",
            "https://api.localhost/",
            "https://printer.local/",
            "https://db.internal/",
            "https://ip-10-0-0-1.ec2.internal/",
            "https://router.home.arpa/",
            "https://localhost4.localdomain4/",
            "https://hooks.test/",
            "https://hooks.example.com:0/",
            "https://intranet/",
            "https:///intranet",
            "https://127.0.0.1/",
            "https://10.1.2.3/",
            "https://169.254.169.254/latest/meta-data/",
            "https://0x7f.1/",
            "https://2130706433/",
            "https://[::1]/",
            "https://[::ffff:127.0.0.1]/",
            "https://[fd00:ec2::254]/",
            "https://[fe80::1]/",
        ] {
            assert_eq!(EndpointUrl::parse(text), Err(EndpointRefused::NotPublic), "{text}");
        }
    }

    #[test]
    fn every_special_purpose_address_is_not_public() {
        let special = [
            "0.0.0.0",
            "10.0.0.1",
            "100.64.0.1",
            "100.127.255.254",
            "127.0.0.1",
            "169.254.169.254",
            "172.16.0.1",
            "172.31.255.255",
            "192.0.0.9",
            "192.0.2.1",
            "192.88.99.1",
            "192.168.1.1",
            "198.18.0.1",
            "198.51.100.1",
            "203.0.113.1",
            "224.0.0.1",
            "240.0.0.1",
            "255.255.255.255",
            "::",
            "::1",
            "::ffff:10.0.0.1",
            "64:ff9b::a9fe:a9fe",
            "2002:a9fe:a9fe::1",
            "2001::1",
            "2001:db8::1",
            "fc00::1",
            "fd00:ec2::254",
            "fe80::1",
            "ff02::1",
            "100::1",
            "3fff::1",
        ];
        for text in special {
            assert!(!is_public(text.parse().unwrap()), "{text}");
        }
        let public = [
            "1.1.1.1",
            "8.8.8.8",
            "100.63.255.255",
            "100.128.0.1",
            "172.32.0.1",
            "2606:4700:4700::1111",
            "64:ff9b::808:808",
            "::ffff:8.8.8.8",
        ];
        for text in public {
            assert!(is_public(text.parse().unwrap()), "{text}");
        }
    }

    #[test]
    fn a_name_that_resolves_to_any_private_address_is_refused_whole() {
        let public: IpAddr = "93.184.215.14".parse().unwrap();
        let metadata: IpAddr = "169.254.169.254".parse().unwrap();
        assert_eq!(public_addresses(&[public]), Ok(&[public][..]));
        assert_eq!(public_addresses(&[public, metadata]), Err(EndpointRefused::NotPublic));
        assert_eq!(public_addresses(&[]), Err(EndpointRefused::NotPublic));
    }
}
