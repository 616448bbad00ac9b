//! Tunnel headers, so that mirrored traffic is analysed as if captured
//! directly: VXLAN, GENEVE, GRE (with GRETAP and ERSPAN II/III), IP in IP,
//! MPLS label stacks and PPPoE sessions (802.1Q/QinQ tags inside any of
//! them are the link decoder's). etherparse decodes the inner layers; this
//! module only finds where they start.
//!
//! Each function is a small view over `&[u8]`: it reads fixed offsets with
//! bounds checks and answers `None` for anything short or unexpected, so a
//! corrupt or hostile header is "not a tunnel", never a panic.

use super::link::linktype;
use std::fmt;

/// Most tunnel layers unwrapped around one frame; a frame nested deeper is
/// skipped (counted).
pub const MAX_LAYERS: usize = 8;

/// One tunnel layer and what identifies it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tunnel {
    Vxlan {
        vni: u32,
    },
    Geneve {
        vni: u32,
    },
    /// GRE carrying IP; `key` when the K flag is set.
    Gre {
        key: Option<u32>,
    },
    /// GRE carrying Ethernet (transparent Ethernet bridging).
    Gretap {
        key: Option<u32>,
    },
    Erspan2 {
        session: u16,
    },
    Erspan3 {
        session: u16,
    },
    /// IP in IP (protocol 4: IPv4 inside, 41: IPv6 inside).
    IpInIp {
        inner_v6: bool,
    },
    /// The top label of an MPLS stack.
    Mpls {
        label: u32,
    },
    Pppoe {
        session: u16,
    },
}

impl fmt::Display for Tunnel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match *self {
            Tunnel::Vxlan { vni } => write!(f, "vxlan(vni={vni})"),
            Tunnel::Geneve { vni } => write!(f, "geneve(vni={vni})"),
            Tunnel::Gre { key: Some(k) } => write!(f, "gre(key={k})"),
            Tunnel::Gre { key: None } => write!(f, "gre"),
            Tunnel::Gretap { key: Some(k) } => write!(f, "gretap(key={k})"),
            Tunnel::Gretap { key: None } => write!(f, "gretap"),
            Tunnel::Erspan2 { session } => write!(f, "erspan2(session={session})"),
            Tunnel::Erspan3 { session } => write!(f, "erspan3(session={session})"),
            Tunnel::IpInIp { inner_v6: false } => write!(f, "ipip"),
            Tunnel::IpInIp { inner_v6: true } => write!(f, "ip6in"),
            Tunnel::Mpls { label } => write!(f, "mpls(label={label})"),
            Tunnel::Pppoe { session } => write!(f, "pppoe(session={session})"),
        }
    }
}

/// The tunnel layers around a segment, outermost first.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Encapsulation {
    layers: [Option<Tunnel>; MAX_LAYERS],
    len: u8,
}

impl Encapsulation {
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Adds a layer inside the ones there; false when there is no room.
    pub fn push(&mut self, layer: Tunnel) -> bool {
        let Some(slot) = self.layers.get_mut(usize::from(self.len)) else { return false };
        *slot = Some(layer);
        self.len += 1;
        true
    }

    pub fn layers(&self) -> impl Iterator<Item = Tunnel> + '_ {
        self.layers.iter().take(usize::from(self.len)).flatten().copied()
    }
}

/// The layers joined by `/`, outermost first (empty for none).
impl fmt::Display for Encapsulation {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, layer) in self.layers().enumerate() {
            if i > 0 {
                f.write_str("/")?;
            }
            write!(f, "{layer}")?;
        }
        Ok(())
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

fn be32(d: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_be_bytes([*d.get(at)?, *d.get(at + 1)?, *d.get(at + 2)?, *d.get(at + 3)?]))
}

/// The VXLAN ports: IANA's and the Linux kernel's default.
const VXLAN_PORTS: [u16; 2] = [4789, 8472];
const GENEVE_PORT: u16 = 6081;

/// The frame inside one tunnel layer of `data` (a frame of `link`): the
/// inner frame's link type (Ethernet or raw IP), its bytes, and the layer.
/// None when `data` is not a tunnel packet this module knows.
pub fn unwrap(link: i32, data: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    let (at, ethertype) = network_start(link, data)?;
    let net = data.get(at..)?;
    match ethertype {
        0x0800 | 0x86dd => ip(net),
        0x8847 | 0x8848 => mpls(net),
        0x8864 => pppoe(net),
        _ => None,
    }
}

/// Where the network layer starts in a frame and its EtherType: the link
/// decoder's, and BSD NULL/LOOP (which it leaves to etherparse) too.
fn network_start(link: i32, data: &[u8]) -> Option<(usize, u16)> {
    use linktype::*;
    if let Some(start) = super::link::network_start(link, data) {
        return Some(start);
    }
    if !matches!(link, NULL | LOOP) {
        return None;
    }
    let af = be32(data, 0)?;
    // NULL is in the writer's byte order, so either; LOOP is big-endian.
    let et = if link == LOOP {
        super::link::ethertype_from_af(af)
    } else {
        super::link::ethertype_from_af(af.swap_bytes()).or_else(|| super::link::ethertype_from_af(af))
    };
    Some((4, et?.0))
}

/// An IPv4 or IPv6 packet carrying a tunnel: IP in IP, GRE, or UDP to a
/// VXLAN or GENEVE port. Fragments are not unwrapped.
fn ip(net: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    let (protocol, payload) = match net.first()? >> 4 {
        4 => {
            let ihl = usize::from(net.first()? & 0x0f) * 4;
            if ihl < 20 || be16(net, 6)? & 0x3fff != 0 {
                return None;
            }
            let total = usize::from(be16(net, 2)?).clamp(ihl, net.len().max(ihl));
            (*net.get(9)?, net.get(ihl..total.min(net.len()))?)
        }
        6 => {
            let len = usize::from(be16(net, 4)?);
            let end = (40 + len).min(net.len());
            (*net.get(6)?, net.get(40..end)?)
        }
        _ => return None,
    };
    match protocol {
        4 => Some((linktype::RAW, payload, Tunnel::IpInIp { inner_v6: false })),
        41 => Some((linktype::RAW, payload, Tunnel::IpInIp { inner_v6: true })),
        47 => gre(payload),
        17 => udp(payload),
        _ => None,
    }
}

/// A UDP datagram to a VXLAN or GENEVE port.
fn udp(dgram: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    let dst = be16(dgram, 2)?;
    let body = dgram.get(8..)?;
    if VXLAN_PORTS.contains(&dst) {
        // RFC 7348: flags (I bit set), 24 reserved bits, VNI, 8 reserved.
        if body.first()? & 0x08 == 0 {
            return None;
        }
        let vni = be32(body, 4)? >> 8;
        return Some((linktype::ETHERNET, body.get(8..)?, Tunnel::Vxlan { vni }));
    }
    if dst == GENEVE_PORT {
        // RFC 8926: version (2 bits, 0) and option length (6 bits, in
        // 4-byte words), flags, protocol type, VNI, reserved, options.
        let first = *body.first()?;
        if first >> 6 != 0 {
            return None;
        }
        let options = usize::from(first & 0x3f) * 4;
        let vni = be32(body, 4)? >> 8;
        let inner = body.get(8 + options..)?;
        let link = match be16(body, 2)? {
            0x6558 => linktype::ETHERNET,
            0x0800 | 0x86dd => linktype::RAW,
            _ => return None,
        };
        return Some((link, inner, Tunnel::Geneve { vni }));
    }
    None
}

/// A GRE packet (RFC 2784, 2890): checksum, key and sequence fields as its
/// flags say; IP, Ethernet (GRETAP) or ERSPAN II/III inside.
fn gre(packet: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    let flags = be16(packet, 0)?;
    // Version 0 only (1 is PPTP's enhanced GRE); no routing field.
    if flags & 0x0007 != 0 || flags & 0x4000 != 0 {
        return None;
    }
    let protocol = be16(packet, 2)?;
    let mut at = 4;
    if flags & 0x8000 != 0 {
        at += 4;
    }
    let key = if flags & 0x2000 != 0 {
        let k = be32(packet, at)?;
        at += 4;
        Some(k)
    } else {
        None
    };
    if flags & 0x1000 != 0 {
        at += 4;
    }
    let inner = packet.get(at..)?;
    match protocol {
        0x0800 | 0x86dd => Some((linktype::RAW, inner, Tunnel::Gre { key })),
        0x6558 => Some((linktype::ETHERNET, inner, Tunnel::Gretap { key })),
        0x88be => {
            // ERSPAN type II: version 1, VLAN, COS/En/T, session id (10
            // bits), reserved, index: 8 bytes.
            let session = be16(inner, 2)? & 0x03ff;
            Some((linktype::ETHERNET, inner.get(8..)?, Tunnel::Erspan2 { session }))
        }
        0x22eb => {
            // ERSPAN type III: 12 bytes, then an 8-byte platform-specific
            // subheader when the O flag (last bit) is set.
            let session = be16(inner, 2)? & 0x03ff;
            let sub = if inner.get(11)? & 0x01 != 0 { 8 } else { 0 };
            Some((linktype::ETHERNET, inner.get(12 + sub..)?, Tunnel::Erspan3 { session }))
        }
        _ => None,
    }
}

/// An MPLS label stack: labels popped to the bottom of the stack, then IP
/// (by its version nibble) or, after a pseudowire control word, Ethernet.
fn mpls(stack: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    let label = be32(stack, 0)? >> 12;
    let mut at = 0;
    // A stack deeper than this is not believed.
    for _ in 0..16 {
        let entry = be32(stack, at)?;
        at += 4;
        if entry & 0x100 != 0 {
            let inner = stack.get(at..)?;
            return match inner.first()? >> 4 {
                4 | 6 => Some((linktype::RAW, inner, Tunnel::Mpls { label })),
                0 => Some((linktype::ETHERNET, inner.get(4..)?, Tunnel::Mpls { label })),
                _ => None,
            };
        }
    }
    None
}

/// A PPPoE session packet (RFC 2516) carrying IPv4 or IPv6 over PPP.
fn pppoe(packet: &[u8]) -> Option<(i32, &[u8], Tunnel)> {
    // Version and type 1, code 0 (session data).
    if *packet.first()? != 0x11 || *packet.get(1)? != 0 {
        return None;
    }
    let session = be16(packet, 2)?;
    let len = usize::from(be16(packet, 4)?);
    let ppp = packet.get(6..(6 + len).min(packet.len()))?;
    match be16(ppp, 0)? {
        0x0021 | 0x0057 => Some((linktype::RAW, ppp.get(2..)?, Tunnel::Pppoe { session })),
        _ => None,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Test helpers that wrap a frame in one tunnel layer each; the
    /// proptest in `link.rs` nests them.
    pub(crate) fn ipv4(protocol: u8, payload: &[u8]) -> Vec<u8> {
        let total = (20 + payload.len()) as u16;
        let mut p = vec![0x45, 0, (total >> 8) as u8, total as u8, 0, 1, 0x40, 0, 64, protocol, 0, 0];
        p.extend_from_slice(&[192, 0, 2, 1, 192, 0, 2, 2]);
        p.extend_from_slice(payload);
        p
    }

    pub(crate) fn ethernet(ethertype: u16, payload: &[u8]) -> Vec<u8> {
        let mut f = vec![2, 0, 0, 0, 0, 1, 2, 0, 0, 0, 0, 2];
        f.extend_from_slice(&ethertype.to_be_bytes());
        f.extend_from_slice(payload);
        f
    }

    fn udp(dst: u16, payload: &[u8]) -> Vec<u8> {
        let len = (8 + payload.len()) as u16;
        let mut u = vec![0xc0, 0x00];
        u.extend_from_slice(&dst.to_be_bytes());
        u.extend_from_slice(&len.to_be_bytes());
        u.extend_from_slice(&[0, 0]);
        u.extend_from_slice(payload);
        u
    }

    /// `frame` (Ethernet) wrapped in the tunnel `kind` (0..9), as an
    /// Ethernet frame.
    pub(crate) fn wrap(kind: u8, frame: &[u8]) -> Vec<u8> {
        let ip_of = |f: &[u8]| f[14..].to_vec();
        // The layers that carry IP cannot carry an MPLS or PPPoE frame:
        // GRETAP carries it instead.
        let carries_ip = matches!(kind % 9, 2 | 6 | 7 | 8);
        let kind = if carries_ip && frame.get(12..14) != Some(&[0x08, 0x00][..]) { 3 } else { kind };
        match kind % 9 {
            0 => {
                let mut v = vec![0x08, 0, 0, 0, 0, 0, 42, 0];
                v.extend_from_slice(frame);
                ethernet(0x0800, &ipv4(17, &udp(4789, &v)))
            }
            1 => {
                // GENEVE with one 4-byte option, Ethernet inside.
                let mut g = vec![0x01, 0, 0x65, 0x58, 0, 0, 7, 0, 0, 1, 2, 1];
                g.extend_from_slice(frame);
                ethernet(0x0800, &ipv4(17, &udp(6081, &g)))
            }
            2 => {
                // GRE with checksum, key and sequence, IPv4 inside.
                let mut g = vec![0xb0, 0, 0x08, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0, 0, 9];
                g.extend_from_slice(&ip_of(frame));
                ethernet(0x0800, &ipv4(47, &g))
            }
            3 => {
                let mut g = vec![0x20, 0, 0x65, 0x58, 0, 0, 0, 6];
                g.extend_from_slice(frame);
                ethernet(0x0800, &ipv4(47, &g))
            }
            4 => {
                let mut g = vec![0x10, 0, 0x88, 0xbe, 0, 0, 0, 1, 0x10, 0, 0, 3, 0, 0, 0, 0];
                g.extend_from_slice(frame);
                ethernet(0x0800, &ipv4(47, &g))
            }
            5 => {
                let mut g = vec![0x10, 0, 0x22, 0xeb, 0, 0, 0, 1, 0x20, 0, 0, 4, 0, 0, 0, 0, 0, 0, 0, 1];
                g.extend_from_slice(&[0; 8]);
                g.extend_from_slice(frame);
                ethernet(0x0800, &ipv4(47, &g))
            }
            6 => ethernet(0x0800, &ipv4(4, &ip_of(frame))),
            7 => {
                // Two labels, then IPv4.
                let mut m = vec![0, 0x06, 0x40, 64, 0, 0x0c, 0x81, 64];
                m.extend_from_slice(&ip_of(frame));
                ethernet(0x8847, &m)
            }
            _ => {
                let ip = ip_of(frame);
                let len = (ip.len() + 2) as u16;
                let mut p = vec![0x11, 0, 0, 17];
                p.extend_from_slice(&len.to_be_bytes());
                p.extend_from_slice(&[0x00, 0x21]);
                p.extend_from_slice(&ip);
                ethernet(0x8864, &p)
            }
        }
    }

    #[test]
    fn each_layer_says_what_it_is() {
        let inner = ethernet(0x0800, &ipv4(6, &[0; 20]));
        let names: Vec<String> =
            (0..9).map(|k| unwrap(linktype::ETHERNET, &wrap(k, &inner)).expect("a tunnel").2.to_string()).collect();
        assert_eq!(
            names,
            [
                "vxlan(vni=42)",
                "geneve(vni=7)",
                "gre(key=5)",
                "gretap(key=6)",
                "erspan2(session=3)",
                "erspan3(session=4)",
                "ipip",
                "mpls(label=100)",
                "pppoe(session=17)"
            ]
        );
    }

    #[test]
    fn short_and_odd_headers_are_not_tunnels() {
        let inner = ethernet(0x0800, &ipv4(6, &[0; 20]));
        for k in 0..9 {
            let full = wrap(k, &inner);
            // Every cut of the outer headers: no panic, and never a tunnel
            // with inner bytes past the frame.
            for cut in 0..full.len().min(90) {
                if let Some((_, inner, _)) = unwrap(linktype::ETHERNET, &full[..cut]) {
                    assert!(inner.len() <= cut);
                }
            }
        }
        // VXLAN without the I flag, GRE version 1 (PPTP), PPPoE discovery.
        let mut v = vec![0, 0, 0, 0, 0, 0, 42, 0];
        v.extend_from_slice(&inner);
        assert!(unwrap(linktype::ETHERNET, &ethernet(0x0800, &ipv4(17, &udp(4789, &v)))).is_none());
        let g = [0x00, 0x01, 0x88, 0x0b, 0, 0, 0, 0];
        assert!(unwrap(linktype::ETHERNET, &ethernet(0x0800, &ipv4(47, &g))).is_none());
        assert!(unwrap(linktype::ETHERNET, &ethernet(0x8864, &[0x11, 0x09, 0, 0, 0, 0])).is_none());
        // Plain UDP (DNS) and TCP are not tunnels.
        assert!(unwrap(linktype::ETHERNET, &ethernet(0x0800, &ipv4(17, &udp(53, b"q")))).is_none());
        assert!(unwrap(linktype::ETHERNET, &inner).is_none());
    }

    #[test]
    fn encapsulation_names_its_layers_outermost_first() {
        let mut e = Encapsulation::default();
        assert_eq!(e.to_string(), "");
        assert!(e.push(Tunnel::Vxlan { vni: 1 }));
        assert!(e.push(Tunnel::Gre { key: None }));
        assert_eq!(e.to_string(), "vxlan(vni=1)/gre");
        for _ in 2..MAX_LAYERS {
            assert!(e.push(Tunnel::IpInIp { inner_v6: false }));
        }
        assert!(!e.push(Tunnel::IpInIp { inner_v6: true }));
    }
}
