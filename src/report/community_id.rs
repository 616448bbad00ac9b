//! The Community ID flow hash, version 1 (as Zeek, Suricata and Arkime
//! write it), so report rows join with those tools' logs: SHA-1 over the
//! seed, the two endpoints in a fixed order, the protocol and the ports,
//! base64 with padding, behind `1:`.
//! Spec: <https://github.com/corelight/community-id-spec>.

use sha1::{Digest, Sha1};
use std::net::{IpAddr, SocketAddr};

/// IANA protocol number of TCP, the only transport ftpcap reports.
const TCP: u8 = 6;

/// The Community ID v1 (seed 0) of the TCP connection between `a` and `b`,
/// in either order.
pub fn tcp(a: SocketAddr, b: SocketAddr) -> String {
    with_seed(0, a, b, TCP)
}

/// The Community ID v1 with `seed`, for the connection between `a` and `b`
/// over `proto` (a port-carrying protocol).
pub fn with_seed(seed: u16, a: SocketAddr, b: SocketAddr, proto: u8) -> String {
    let key = |s: &SocketAddr| (ip_bytes(s.ip()), s.port());
    // The smaller endpoint (address, then port) goes first, so both
    // directions hash the same.
    let (first, second) = if key(&a) <= key(&b) { (a, b) } else { (b, a) };
    let mut h = Sha1::new();
    h.update(seed.to_be_bytes());
    h.update(ip_bytes(first.ip()));
    h.update(ip_bytes(second.ip()));
    h.update([proto, 0]);
    h.update(first.port().to_be_bytes());
    h.update(second.port().to_be_bytes());
    format!("1:{}", base64(&h.finalize()))
}

/// An address in network byte order: 4 bytes or 16.
fn ip_bytes(ip: IpAddr) -> Vec<u8> {
    match ip {
        IpAddr::V4(v4) => v4.octets().to_vec(),
        IpAddr::V6(v6) => v6.octets().to_vec(),
    }
}

/// Standard base64 (RFC 4648 §4) with `=` padding: 28 characters for a
/// SHA-1; not worth a crate.
fn base64(bytes: &[u8]) -> String {
    const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::with_capacity(bytes.len().div_ceil(3) * 4);
    for chunk in bytes.chunks(3) {
        let n = chunk.iter().enumerate().fold(0u32, |n, (i, &b)| n | u32::from(b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(ALPHABET[(n >> (18 - 6 * i) & 63) as usize] as char);
            } else {
                out.push('=');
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(s: &str) -> SocketAddr {
        s.parse().unwrap()
    }

    /// Vectors from the reference implementation (Python `communityid`
    /// 1.x, `CommunityID().calc(FlowTuple.make_tcp(...))`).
    #[test]
    fn matches_the_reference_implementation() {
        for (a, b, want) in [
            ("128.232.110.120:34855", "66.35.250.204:80", "1:LQU9qZlK+B5F3KDmev6m5PMibrg="),
            ("127.0.0.1:52130", "127.0.0.1:21", "1:X6RTRwgfiCUtlVfjqPByXQ8sJHw="),
            ("[2001:db8::1]:50000", "[2001:db8::2]:21", "1:hmPEucTZ/dsD+gnALwjqdZEoZWo="),
            ("[fe80::1]:21", "[2001:db8::2]:50000", "1:GCHIV6vg/L+vm6TnlMDS1HmIr8o="),
            ("[::1]:40000", "[::1]:21", "1:gBeMdSBtNisIym+wmNBhVjftgZc="),
        ] {
            assert_eq!(tcp(at(a), at(b)), want, "{a} {b}");
            // Either direction: one flow, one id.
            assert_eq!(tcp(at(b), at(a)), want, "{b} {a}");
        }
    }

    #[test]
    fn base64_pads_as_rfc_4648_says() {
        for (input, want) in [
            (&b""[..], ""),
            (b"f", "Zg=="),
            (b"fo", "Zm8="),
            (b"foo", "Zm9v"),
            (b"foob", "Zm9vYg=="),
            (b"fooba", "Zm9vYmE="),
        ] {
            assert_eq!(base64(input), want);
        }
    }
}
