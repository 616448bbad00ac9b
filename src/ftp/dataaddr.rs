//! Data-connection addresses announced on the control channel:
//! `PORT h1,h2,h3,h4,p1,p2` (RFC 959), `EPRT |af|addr|port|` (RFC 2428),
//! the `227` reply to PASV (with or without parentheses, as real servers
//! send it) and the `229` reply to EPSV (`(|||port|)`). Every number is
//! range-checked; anything malformed gives `None`, never a panic.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};

/// Parses up to `N` comma-separated decimal numbers 0..=255 starting at the
/// beginning of `s`; returns them and the rest.
fn byte_list<const N: usize>(s: &str) -> Option<[u8; N]> {
    let mut out = [0u8; N];
    let mut parts = s.split(',');
    for slot in out.iter_mut() {
        let p = parts.next()?.trim();
        if p.is_empty() || p.len() > 3 || !p.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        *slot = p.parse::<u16>().ok().filter(|v| *v <= 255)? as u8;
    }
    if parts.next().is_some() {
        return None;
    }
    Some(out)
}

fn six_to_addr(n: [u8; 6]) -> SocketAddr {
    SocketAddr::new(IpAddr::V4(Ipv4Addr::new(n[0], n[1], n[2], n[3])), u16::from(n[4]) << 8 | u16::from(n[5]))
}

/// `PORT` argument: `h1,h2,h3,h4,p1,p2`.
pub fn parse_port(arg: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(arg).ok()?.trim();
    byte_list::<6>(s).map(six_to_addr)
}

/// `EPRT` argument: `<d>af<d>addr<d>port<d>` with any printable delimiter.
pub fn parse_eprt(arg: &[u8]) -> Option<SocketAddr> {
    let s = std::str::from_utf8(arg).ok()?.trim();
    let d = s.chars().next()?;
    if !(33..=126).contains(&(d as u32)) || d.is_ascii_digit() {
        return None;
    }
    let fields: Vec<&str> = s.split(d).collect();
    // "", af, addr, port, ""
    if fields.len() != 5 || !fields[0].is_empty() || !fields[4].is_empty() {
        return None;
    }
    let port = parse_port_number(fields[3])?;
    let ip: IpAddr = match fields[1] {
        "1" => IpAddr::V4(fields[2].parse().ok()?),
        "2" => IpAddr::V6(fields[2].parse().ok()?),
        _ => return None,
    };
    Some(SocketAddr::new(ip, port))
}

fn parse_port_number(s: &str) -> Option<u16> {
    if s.is_empty() || s.len() > 5 || !s.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    s.parse::<u16>().ok().filter(|p| *p != 0)
}

/// The address in a `227` reply: the first run of six comma-separated
/// numbers anywhere in the text (`227 Entering Passive Mode (h1,…,p2).`,
/// `227 Entering passive mode h1,…,p2`, `227 =h1,…,p2`).
///
/// Linear in the text's length (a long multi-line 227 is hostile input):
/// each byte is looked at a bounded number of times, see [`pasv_scan`].
pub fn parse_pasv_reply(text: &[u8]) -> Option<SocketAddr> {
    pasv_scan(text, &mut 0)
}

/// [`parse_pasv_reply`], counting in `work` the bytes it looks at (the
/// linearity test's measure).
///
/// A candidate starts at a digit not preceded by a digit and runs to the
/// end of its stretch of digits, commas and spaces, trailing commas and
/// spaces dropped; it is the address when it is exactly six numbers. Every
/// start inside one stretch ends at the same place, so at most one of them
/// can hold exactly six comma-separated parts: the last group of digits of
/// the sixth part from the stretch's end. That one start is checked per
/// stretch, instead of every start against the whole rest of the stretch.
fn pasv_scan(text: &[u8], work: &mut usize) -> Option<SocketAddr> {
    let s = String::from_utf8_lossy(text);
    let body = s.get(3..).unwrap_or("").as_bytes();
    let in_stretch = |b: u8| b.is_ascii_digit() || b == b',' || b == b' ';
    let mut i = 0;
    while i < body.len() {
        *work += 1;
        if !body[i].is_ascii_digit() {
            i += 1;
            continue;
        }
        let mut end = i;
        while end < body.len() && in_stretch(body[end]) {
            *work += 1;
            end += 1;
        }
        if let Some(n) = six_at_end(&body[i..end], work) {
            return Some(six_to_addr(n));
        }
        i = end;
    }
    None
}

/// The six numbers a stretch of digits, commas and spaces (starting with a
/// digit) holds at its end, as [`pasv_scan`] explains.
fn six_at_end(stretch: &[u8], work: &mut usize) -> Option<[u8; 6]> {
    let mut len = stretch.len();
    while len > 0 && matches!(stretch[len - 1], b',' | b' ') {
        *work += 1;
        len -= 1;
    }
    let trimmed = &stretch[..len];
    // The sixth part from the end: between the sixth and fifth commas
    // from the right (or the stretch's start and the fifth).
    let mut commas = 0;
    let mut fifth = None;
    let mut part_start = 0;
    for (at, &b) in trimmed.iter().enumerate().rev() {
        *work += 1;
        if b == b',' {
            commas += 1;
            if commas == 5 {
                fifth = Some(at);
            } else if commas == 6 {
                part_start = at + 1;
                break;
            }
        }
    }
    let part_end = fifth?;
    // Its last group of digits, followed by spaces only.
    let mut at = part_end;
    while at > part_start && trimmed[at - 1] == b' ' {
        *work += 1;
        at -= 1;
    }
    let digits_end = at;
    while at > part_start && trimmed[at - 1].is_ascii_digit() {
        *work += 1;
        at -= 1;
    }
    if at == digits_end {
        return None;
    }
    *work += trimmed.len() - at;
    // The stretch holds ASCII only.
    byte_list::<6>(std::str::from_utf8(&trimmed[at..]).ok()?)
}

/// The port in a `229` reply: `(|||port|)` (any delimiter character).
pub fn parse_epsv_reply(text: &[u8]) -> Option<u16> {
    let s = String::from_utf8_lossy(text);
    let open = s.find('(')?;
    let close = s[open..].find(')')? + open;
    let inner = &s[open + 1..close];
    let d = inner.chars().next()?;
    let fields: Vec<&str> = inner.split(d).collect();
    if fields.len() != 5 || !fields[1].is_empty() || !fields[2].is_empty() {
        return None;
    }
    parse_port_number(fields[3])
}

/// RFC 1918, loopback, link-local, CGNAT and IPv6 unique-local addresses:
/// an address a client across a NAT usually cannot reach.
pub fn is_private(ip: &IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            v4.is_private() || v4.is_loopback() || v4.is_link_local() || (o[0] == 100 && (64..128).contains(&o[1]))
        }
        IpAddr::V6(v6) => {
            v6.is_loopback() || (v6.segments()[0] & 0xfe00) == 0xfc00 || (v6.segments()[0] & 0xffc0) == 0xfe80
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn port_command() {
        assert_eq!(parse_port(b"127,0,0,1,160,40"), Some("127.0.0.1:41000".parse().unwrap()));
        assert_eq!(parse_port(b"10,0,0,1,0,21"), Some("10.0.0.1:21".parse().unwrap()));
        assert_eq!(parse_port(b"256,0,0,1,1,1"), None);
        assert_eq!(parse_port(b"1,2,3,4,5"), None);
        assert_eq!(parse_port(b"1,2,3,4,5,6,7"), None);
        assert_eq!(parse_port(b"1,2,3,4,5,-6"), None);
        assert_eq!(parse_port(b""), None);
    }

    #[test]
    fn eprt_command() {
        assert_eq!(parse_eprt(b"|1|132.235.1.2|6275|"), Some("132.235.1.2:6275".parse().unwrap()));
        assert_eq!(parse_eprt(b"|2|::1|40000|"), Some("[::1]:40000".parse().unwrap()));
        assert_eq!(parse_eprt(b"!1!10.0.0.1!21!"), Some("10.0.0.1:21".parse().unwrap()));
        assert_eq!(parse_eprt(b"|1|::1|40000|"), None);
        assert_eq!(parse_eprt(b"|3|1.2.3.4|1|"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|70000|"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|0|"), None);
        assert_eq!(parse_eprt(b"|1|1.2.3.4|5"), None);
    }

    #[test]
    fn pasv_replies() {
        let want: SocketAddr = "192.168.1.5:50010".parse().unwrap();
        assert_eq!(parse_pasv_reply(b"227 Entering Passive Mode (192,168,1,5,195,90)."), Some(want));
        assert_eq!(parse_pasv_reply(b"227 Entering passive mode 192,168,1,5,195,90"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 =192,168,1,5,195,90"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 Entering Passive Mode (192,168,1,5,195,900)."), None);
        assert_eq!(parse_pasv_reply(b"227 nothing"), None);
    }

    /// The quadratic scan [`parse_pasv_reply`] replaced: every start
    /// against the whole rest of its stretch. The oracle of the property
    /// test below.
    fn pasv_reference(text: &[u8]) -> Option<SocketAddr> {
        let s = String::from_utf8_lossy(text);
        let body = s.get(3..).unwrap_or("");
        let bytes = body.as_bytes();
        for i in 0..bytes.len() {
            if bytes[i].is_ascii_digit() && (i == 0 || !bytes[i - 1].is_ascii_digit()) {
                let end = bytes[i..]
                    .iter()
                    .position(|b| !(b.is_ascii_digit() || *b == b',' || *b == b' '))
                    .map(|p| i + p)
                    .unwrap_or(bytes.len());
                if let Some(n) = byte_list::<6>(body[i..end].trim_end_matches([',', ' '])) {
                    return Some(six_to_addr(n));
                }
            }
        }
        None
    }

    #[test]
    fn pasv_reply_edges() {
        let want: SocketAddr = "1.2.3.4:1286".parse().unwrap();
        // More than six numbers in one stretch: the last six are taken, as
        // the quadratic scan took them.
        assert_eq!(parse_pasv_reply(b"227 9,1,2,3,4,5,6"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 1,2,3,4,5,6 7"), None);
        assert_eq!(parse_pasv_reply(b"227 (9,1,2,3,4,5,6) (1,2,3,4,5,6)"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 ab 7 1, 2 ,3,4 , 5,6, ,"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 1,2,3,4,5,6"), Some(want));
        assert_eq!(parse_pasv_reply(b"2271,2,3,4,5,6"), Some(want));
        assert_eq!(parse_pasv_reply(b"227 0001,2,3,4,5,6"), None);
        assert_eq!(parse_pasv_reply(b"22"), None);
    }

    #[test]
    fn a_long_227_is_parsed_in_linear_work() {
        // issue 13: a 1000-line 227 made the scan quadratic. Work is
        // counted in bytes looked at, never timed.
        let second: SocketAddr = "2.3.4.5:1543".parse().unwrap();
        for (body, want) in [
            (b"1,".repeat(50_000), Some("1.1.1.1:257".parse().unwrap())),
            (b"1,1000,".repeat(25_000), None),
            (b"1 ".repeat(50_000), None),
            (b"(1,2,3,4,5,6,7)\r\n".repeat(5_000), Some(second)),
            (b"1,2,3,4,5,6 7\r\n".repeat(5_000), None),
        ] {
            let mut text = b"227 ".to_vec();
            text.extend_from_slice(&body);
            let mut work = 0;
            assert_eq!(pasv_scan(&text, &mut work), want);
            assert!(work <= 4 * text.len(), "{work} steps for {} bytes", text.len());
        }
    }

    proptest::proptest! {
        /// The linear scan finds what the quadratic one found.
        #[test]
        fn pasv_scan_agrees_with_the_reference(
            text in proptest::collection::vec(proptest::prop_oneof![
                proptest::strategy::Just(b','), proptest::strategy::Just(b' '), proptest::strategy::Just(b'('),
                b'0'..=b'9', b'0'..=b'3', proptest::prelude::any::<u8>()], 0..80),
        ) {
            proptest::prop_assert_eq!(parse_pasv_reply(&text), pasv_reference(&text));
        }
    }

    #[test]
    fn epsv_replies() {
        assert_eq!(parse_epsv_reply(b"229 Entering Extended Passive Mode (|||6446|)"), Some(6446));
        assert_eq!(parse_epsv_reply(b"229 ok (!!!1234!)"), Some(1234));
        assert_eq!(parse_epsv_reply(b"229 (|||99999|)"), None);
        assert_eq!(parse_epsv_reply(b"229 (|1|1|1|)"), None);
        assert_eq!(parse_epsv_reply(b"229 no parens"), None);
    }

    #[test]
    fn private_addresses() {
        assert!(is_private(&"10.1.2.3".parse().unwrap()));
        assert!(is_private(&"100.64.0.1".parse().unwrap()));
        assert!(!is_private(&"8.8.8.8".parse().unwrap()));
        assert!(is_private(&"fd00::1".parse().unwrap()));
        assert!(!is_private(&"2001:db8::1".parse().unwrap()));
    }
}
