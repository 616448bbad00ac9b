//! Link and network layers: from a captured frame to a TCP segment.
//!
//! Link headers etherparse does not know (Linux cooked v1/v2, BSD NULL and
//! LOOP) are stripped here to an EtherType; etherparse's lax slicer does the
//! rest so frames cut by the snaplen still yield the bytes they hold.

use super::tunnel::{self, Encapsulation};
use etherparse::{EtherType, LaxNetSlice, LaxSlicedPacket, TransportSlice};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// LINKTYPE_ values handled.
pub mod linktype {
    pub const NULL: i32 = 0;
    pub const ETHERNET: i32 = 1;
    pub const RAW_12: i32 = 12;
    pub const RAW_14: i32 = 14;
    pub const RAW: i32 = 101;
    pub const LOOP: i32 = 108;
    pub const LINUX_SLL: i32 = 113;
    pub const IPV4: i32 = 228;
    pub const IPV6: i32 = 229;
    pub const LINUX_SLL2: i32 = 276;
}

/// TCP flags that matter to reassembly.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TcpFlags {
    pub syn: bool,
    pub ack: bool,
    pub fin: bool,
    pub rst: bool,
}

/// A TCP segment as far as the frame holds it.
#[derive(Debug, Clone)]
pub struct TcpSegment<'a> {
    pub src: IpAddr,
    pub dst: IpAddr,
    pub src_port: u16,
    pub dst_port: u16,
    pub seq: u32,
    pub ack: u32,
    pub flags: TcpFlags,
    /// The payload bytes present in the capture.
    pub payload: &'a [u8],
    /// Payload bytes the segment carried but the snaplen cut off.
    pub missing_tail: u32,
    /// The tunnel layers it came in; None for traffic captured directly
    /// (boxed: a segment is built and moved for every frame, and a tunnel
    /// description inline made that cost 4% more instructions on plain
    /// traffic).
    pub encap: Option<Box<Encapsulation>>,
}

/// Why a frame gave no TCP segment (counted, never fatal).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SkipReason {
    UnsupportedLinkType,
    NotIp,
    NotTcp,
    IpFragment,
    Malformed,
    TunnelTooDeep,
}

impl SkipReason {
    pub fn label(&self) -> &'static str {
        match self {
            SkipReason::UnsupportedLinkType => "unsupported link type",
            SkipReason::NotIp => "not IP",
            SkipReason::NotTcp => "not TCP",
            SkipReason::IpFragment => "IP fragment",
            SkipReason::Malformed => "malformed or truncated headers",
            SkipReason::TunnelTooDeep => "tunnels nested too deep",
        }
    }
}

fn be16(d: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*d.get(at)?, *d.get(at + 1)?]))
}

/// BSD address family values for IPv4 and the various IPv6 ones.
pub(super) fn ethertype_from_af(af: u32) -> Option<EtherType> {
    match af {
        2 => Some(EtherType::IPV4),
        10 | 24 | 28 | 30 => Some(EtherType::IPV6),
        _ => None,
    }
}

/// Offset of the network header and its EtherType for the link layers
/// whose header length is fixed or easily read.
pub(super) fn network_start(linktype: i32, data: &[u8]) -> Option<(usize, u16)> {
    use linktype::*;
    match linktype {
        ETHERNET => {
            let mut at = 12;
            let mut et = be16(data, at)?;
            // Up to three VLAN tags (802.1Q, QinQ, the older 0x9100).
            for _ in 0..3 {
                if matches!(et, 0x8100 | 0x88a8 | 0x9100) {
                    at += 4;
                    et = be16(data, at)?;
                }
            }
            Some((at + 2, et))
        }
        RAW | RAW_12 | RAW_14 | IPV4 | IPV6 => match data.first()? >> 4 {
            4 => Some((0, 0x0800)),
            6 => Some((0, 0x86dd)),
            _ => None,
        },
        LINUX_SLL => Some((16, be16(data, 14)?)),
        LINUX_SLL2 => Some((20, be16(data, 0)?)),
        _ => None,
    }
}

/// [`peek_tcp_ports_at`] from the start of a frame (the tests' way in;
/// [`decode_tcp_wanted`] is the analysis's).
#[cfg(test)]
fn peek_tcp_ports(linktype: i32, data: &[u8]) -> Result<Option<(u16, u16)>, SkipReason> {
    let Some((at, ethertype)) = network_start(linktype, data) else {
        return Ok(None);
    };
    peek_tcp_ports_at(data, at, ethertype)
}

/// A cheap look at a frame whose network header starts at `at` and carries
/// `ethertype`, before any full decoding: `Ok(Some(ports))` for a plain TCP
/// segment (source, destination), `Err` when the frame is certainly not
/// TCP, `Ok(None)` when only [`decode_tcp`] can tell (IPv6 extension
/// headers, IP fragments, unusual link layers). Lets the caller skip most
/// non-FTP traffic at a fraction of the cost of full slicing.
fn peek_tcp_ports_at(data: &[u8], at: usize, ethertype: u16) -> Result<Option<(u16, u16)>, SkipReason> {
    let ports_at = |off: usize| -> Option<(u16, u16)> { Some((be16(data, off)?, be16(data, off + 2)?)) };
    match ethertype {
        0x0800 => {
            let Some(&vihl) = data.get(at) else { return Ok(None) };
            let ihl = (vihl & 0x0f) as usize * 4;
            let (Some(&proto), Some(frag)) = (data.get(at + 9), be16(data, at + 6)) else {
                return Ok(None);
            };
            if vihl >> 4 != 4 || ihl < 20 || frag & 0x3fff != 0 {
                return Ok(None);
            }
            if proto != 6 {
                return Err(SkipReason::NotTcp);
            }
            Ok(ports_at(at + ihl))
        }
        0x86dd => match data.get(at + 6) {
            Some(6) => Ok(ports_at(at + 40)),
            // UDP, ICMPv6, no next header: certainly not TCP.
            Some(17 | 58 | 59) => Err(SkipReason::NotTcp),
            _ => Ok(None),
        },
        0x0806 | 0x88cc | 0x8035 => Err(SkipReason::NotIp),
        _ => Ok(None),
    }
}

/// The common case decoded by hand: IPv4 (not fragmented) or IPv6 without
/// extension headers, carrying TCP, on a link layer [`network_start`] knows.
/// etherparse's lax slicer handles everything else; this path exists because
/// it costs a fraction of the full slicing on small frames.
fn decode_plain_tcp(linktype: i32, data: &[u8]) -> Option<TcpSegment<'_>> {
    let (at, ethertype) = network_start(linktype, data)?;
    decode_plain_tcp_at(data, at, ethertype)
}

/// [`decode_plain_tcp`] past the link layer (see [`peek_tcp_ports_at`]).
fn decode_plain_tcp_at(data: &[u8], at: usize, ethertype: u16) -> Option<TcpSegment<'_>> {
    let ip = data.get(at..)?;
    let (src, dst, claimed_total, l4) = match ethertype {
        0x0800 => {
            let vihl = *ip.first()?;
            let ihl = (vihl & 0x0f) as usize * 4;
            if vihl >> 4 != 4 || ihl < 20 || ip.len() < ihl || ip[9] != 6 || be16(ip, 6)? & 0x3fff != 0 {
                return None;
            }
            let total = be16(ip, 2)? as usize;
            if total < ihl {
                return None;
            }
            let src = IpAddr::V4(Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]));
            let dst = IpAddr::V4(Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]));
            (src, dst, total - ihl, ihl)
        }
        0x86dd => {
            if ip.len() < 40 || ip[0] >> 4 != 6 || ip[6] != 6 {
                return None;
            }
            let payload_len = be16(ip, 4)? as usize;
            if payload_len == 0 {
                return None;
            }
            let mut a = [0u8; 16];
            a.copy_from_slice(&ip[8..24]);
            let mut b = [0u8; 16];
            b.copy_from_slice(&ip[24..40]);
            (IpAddr::V6(Ipv6Addr::from(a)), IpAddr::V6(Ipv6Addr::from(b)), payload_len, 40)
        }
        _ => return None,
    };
    // Bytes of the IP payload present (the IP length wins over link padding).
    let present = ip.len().saturating_sub(l4).min(claimed_total);
    let tcp = &ip[l4..l4 + present];
    let off = (*tcp.get(12)? >> 4) as usize * 4;
    if off < 20 || tcp.len() < off || claimed_total < off {
        return None;
    }
    let flags = tcp[13];
    let payload = &tcp[off..];
    Some(TcpSegment {
        src,
        dst,
        src_port: be16(tcp, 0)?,
        dst_port: be16(tcp, 2)?,
        seq: u32::from_be_bytes([tcp[4], tcp[5], tcp[6], tcp[7]]),
        ack: u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]),
        flags: TcpFlags {
            syn: flags & 0x02 != 0,
            ack: flags & 0x10 != 0,
            fin: flags & 0x01 != 0,
            rst: flags & 0x04 != 0,
        },
        payload,
        missing_tail: (claimed_total - off - payload.len()) as u32,
        encap: None,
    })
}

/// Decodes one frame down to TCP if its ports are `wanted` (source,
/// destination): `Ok(None)` for a TCP segment between other ports.
/// `peek_tcp_ports_at` and [`decode_tcp`] in one, reading the link and IP
/// headers once for the common frames: it skips what they skip, for the
/// same reasons.
#[inline]
pub fn decode_tcp_wanted(
    linktype: i32,
    data: &[u8],
    wanted: impl Fn(u16, u16) -> bool,
) -> Result<Option<TcpSegment<'_>>, SkipReason> {
    match decode_unwrapped_wanted(linktype, data, &wanted) {
        Err(e) if maybe_tunnel(e) => {
            through_tunnels(linktype, data, e, &mut |lt, d| decode_unwrapped_wanted(lt, d, &wanted))
        }
        other => other,
    }
}

/// Frames that fail to decode for these reasons may be tunnel packets
/// (UDP, GRE and IP in IP are "not TCP"; MPLS and PPPoE "not IP").
fn maybe_tunnel(e: SkipReason) -> bool {
    matches!(e, SkipReason::NotTcp | SkipReason::NotIp | SkipReason::Malformed)
}

/// Decodes the frame inside the tunnel layers of `data` with `decode`,
/// one layer at a time (up to [`tunnel::MAX_LAYERS`]); `first` is why the
/// frame itself did not decode, returned when it is no tunnel.
fn through_tunnels<'a>(
    linktype: i32,
    data: &'a [u8],
    first: SkipReason,
    decode: &mut dyn FnMut(i32, &'a [u8]) -> Result<Option<TcpSegment<'a>>, SkipReason>,
) -> Result<Option<TcpSegment<'a>>, SkipReason> {
    let mut encap = Encapsulation::default();
    let (mut link, mut frame, mut why) = (linktype, data, first);
    loop {
        let Some((inner_link, inner, layer)) = tunnel::unwrap(link, frame) else {
            return Err(why);
        };
        if !encap.push(layer) {
            return Err(SkipReason::TunnelTooDeep);
        }
        match decode(inner_link, inner) {
            Ok(Some(mut seg)) => {
                seg.encap = Some(Box::new(encap));
                return Ok(Some(seg));
            }
            Ok(None) => return Ok(None),
            Err(e) => (link, frame, why) = (inner_link, inner, e),
        }
    }
}

/// [`decode_tcp_wanted`] for a frame not wrapped in a tunnel.
#[inline]
fn decode_unwrapped_wanted<'a>(
    linktype: i32,
    data: &'a [u8],
    wanted: &impl Fn(u16, u16) -> bool,
) -> Result<Option<TcpSegment<'a>>, SkipReason> {
    if let Some((at, ethertype)) = network_start(linktype, data) {
        if let Some((src, dst)) = peek_tcp_ports_at(data, at, ethertype)? {
            if !wanted(src, dst) {
                return Ok(None);
            }
            if let Some(seg) = decode_plain_tcp_at(data, at, ethertype) {
                return Ok(Some(seg));
            }
        }
    }
    let seg = decode_unwrapped(linktype, data)?;
    Ok(wanted(seg.src_port, seg.dst_port).then_some(seg))
}

/// Decodes one frame of the given link type down to TCP, through tunnels.
pub fn decode_tcp(linktype: i32, data: &[u8]) -> Result<TcpSegment<'_>, SkipReason> {
    match decode_unwrapped(linktype, data) {
        Err(e) if maybe_tunnel(e) => {
            let seg = through_tunnels(linktype, data, e, &mut |lt, d| decode_unwrapped(lt, d).map(Some))?;
            seg.ok_or(SkipReason::Malformed)
        }
        other => other,
    }
}

/// [`decode_tcp`] for a frame not wrapped in a tunnel.
fn decode_unwrapped(linktype: i32, data: &[u8]) -> Result<TcpSegment<'_>, SkipReason> {
    if let Some(seg) = decode_plain_tcp(linktype, data) {
        return Ok(seg);
    }
    decode_tcp_etherparse(linktype, data)
}

/// The general decoder: etherparse's lax slicer.
fn decode_tcp_etherparse(linktype: i32, data: &[u8]) -> Result<TcpSegment<'_>, SkipReason> {
    use linktype::*;
    let sliced = match linktype {
        ETHERNET => LaxSlicedPacket::from_ethernet(data).map_err(|_| SkipReason::Malformed)?,
        RAW | RAW_12 | RAW_14 | IPV4 | IPV6 => LaxSlicedPacket::from_ip(data).map_err(|_| SkipReason::Malformed)?,
        LINUX_SLL => {
            let proto = be16(data, 14).ok_or(SkipReason::Malformed)?;
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[16..])
        }
        LINUX_SLL2 => {
            let proto = be16(data, 0).ok_or(SkipReason::Malformed)?;
            if data.len() < 20 {
                return Err(SkipReason::Malformed);
            }
            LaxSlicedPacket::from_ether_type(EtherType(proto), &data[20..])
        }
        NULL | LOOP => {
            let raw = data.get(..4).ok_or(SkipReason::Malformed)?;
            let raw = [raw[0], raw[1], raw[2], raw[3]];
            // NULL is in the writer's byte order, so accept either; LOOP is big-endian.
            let et = if linktype == LOOP {
                ethertype_from_af(u32::from_be_bytes(raw))
            } else {
                ethertype_from_af(u32::from_le_bytes(raw)).or_else(|| ethertype_from_af(u32::from_be_bytes(raw)))
            };
            LaxSlicedPacket::from_ether_type(et.ok_or(SkipReason::NotIp)?, &data[4..])
        }
        _ => return Err(SkipReason::UnsupportedLinkType),
    };
    let net = sliced.net.as_ref().ok_or(SkipReason::NotIp)?;
    let (src, dst, payload) = match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            (IpAddr::V4(Ipv4Addr::from(h.source())), IpAddr::V4(Ipv4Addr::from(h.destination())), v4.payload())
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            (IpAddr::V6(Ipv6Addr::from(h.source())), IpAddr::V6(Ipv6Addr::from(h.destination())), v6.payload())
        }
        LaxNetSlice::Arp(_) => return Err(SkipReason::NotIp),
    };
    if payload.fragmented {
        return Err(SkipReason::IpFragment);
    }
    if payload.ip_number != etherparse::IpNumber::TCP {
        return Err(SkipReason::NotTcp);
    }
    let tcp = match &sliced.transport {
        Some(TransportSlice::Tcp(tcp)) => tcp,
        _ => return Err(SkipReason::Malformed),
    };
    let header_len = tcp.header_slice().len();
    let claimed = ip_payload_claimed_len(net).map(|l| l.saturating_sub(header_len));
    let present = tcp.payload();
    let missing_tail = match claimed {
        Some(c) if payload.incomplete && c > present.len() => (c - present.len()) as u32,
        _ => 0,
    };
    Ok(TcpSegment {
        src,
        dst,
        src_port: tcp.source_port(),
        dst_port: tcp.destination_port(),
        seq: tcp.sequence_number(),
        ack: tcp.acknowledgment_number(),
        flags: TcpFlags { syn: tcp.syn(), ack: tcp.ack(), fin: tcp.fin(), rst: tcp.rst() },
        payload: present,
        missing_tail,
        encap: None,
    })
}

/// The IP packet a frame carries (from its IP header to the end of the
/// frame), on the link types [`decode_tcp`] knows; None for anything else.
/// The way in for [`super::fragments`].
pub fn ip_packet(linktype: i32, data: &[u8]) -> Option<&[u8]> {
    let (at, ethertype) = match linktype {
        linktype::NULL | linktype::LOOP => {
            let raw = data.get(..4)?;
            let raw = [raw[0], raw[1], raw[2], raw[3]];
            let et = if linktype == linktype::LOOP {
                ethertype_from_af(u32::from_be_bytes(raw))
            } else {
                ethertype_from_af(u32::from_le_bytes(raw)).or_else(|| ethertype_from_af(u32::from_be_bytes(raw)))
            };
            (4, et?.0)
        }
        _ => network_start(linktype, data)?,
    };
    matches!(ethertype, 0x0800 | 0x86dd).then(|| data.get(at..)).flatten()
}

/// The IP payload length the IP header claims (before snaplen cuts).
fn ip_payload_claimed_len(net: &LaxNetSlice<'_>) -> Option<usize> {
    match net {
        LaxNetSlice::Ipv4(v4) => {
            let h = v4.header();
            let total = h.total_len() as usize;
            let ext = v4.extensions().auth.map(|a| a.slice().len()).unwrap_or(0);
            total.checked_sub(h.slice().len() + ext)
        }
        LaxNetSlice::Ipv6(v6) => {
            let h = v6.header();
            let len = h.payload_length() as usize;
            // Jumbograms (length 0) have no usable claim.
            if len == 0 {
                return None;
            }
            len.checked_sub(v6.extensions().slice().len())
        }
        LaxNetSlice::Arp(_) => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use etherparse::PacketBuilder;

    fn ipv4_tcp(payload: &[u8]) -> Vec<u8> {
        let b = PacketBuilder::ipv4([10, 0, 0, 1], [10, 0, 0, 2], 64).tcp(40000, 21, 1000, 65535).ack(5);
        let mut out = Vec::new();
        b.write(&mut out, payload).unwrap();
        out
    }

    #[test]
    fn raw_ip_and_null_and_sll2() {
        let ip = ipv4_tcp(b"USER a\r\n");
        let seg = decode_tcp(linktype::RAW, &ip).unwrap();
        assert_eq!(seg.payload, b"USER a\r\n");
        assert_eq!((seg.src_port, seg.dst_port, seg.seq), (40000, 21, 1000));

        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        assert_eq!(decode_tcp(linktype::NULL, &null).unwrap().payload, b"USER a\r\n");
        let mut null_be = 2u32.to_be_bytes().to_vec();
        null_be.extend_from_slice(&ip);
        assert_eq!(decode_tcp(linktype::NULL, &null_be).unwrap().payload, b"USER a\r\n");

        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        assert_eq!(decode_tcp(linktype::LINUX_SLL2, &sll2).unwrap().payload, b"USER a\r\n");
    }

    #[test]
    fn snaplen_cut_reports_missing_tail() {
        let ip = ipv4_tcp(b"503 Bad sequence of commands.\r\n");
        let cut = &ip[..ip.len() - 10];
        let seg = decode_tcp(linktype::RAW, cut).unwrap();
        assert_eq!(seg.payload, b"503 Bad sequence of c");
        assert_eq!(seg.missing_tail, 10);
    }

    #[test]
    fn peek_agrees_with_full_decode() {
        let ip = ipv4_tcp(b"x");
        assert_eq!(peek_tcp_ports(linktype::RAW, &ip), Ok(Some((40000, 21))));
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 100, 0x08, 0x00]);
        eth.extend_from_slice(&ip);
        assert_eq!(peek_tcp_ports(linktype::ETHERNET, &eth), Ok(Some((40000, 21))));
        let seg = decode_tcp(linktype::ETHERNET, &eth).unwrap();
        assert_eq!((seg.src_port, seg.dst_port), (40000, 21));
        let mut udp = Vec::new();
        PacketBuilder::ipv4([1, 1, 1, 1], [2, 2, 2, 2], 9).udp(53, 53).write(&mut udp, b"q").unwrap();
        assert_eq!(peek_tcp_ports(linktype::RAW, &udp), Err(SkipReason::NotTcp));
        assert_eq!(peek_tcp_ports(linktype::ETHERNET, &[0u8; 5]), Ok(None));
    }

    #[test]
    fn hand_decoder_agrees_with_etherparse() {
        let frames: Vec<(i32, Vec<u8>)> = {
            let mut v = Vec::new();
            let ip = ipv4_tcp(b"RETR file\r\n");
            v.push((linktype::RAW, ip.clone()));
            v.push((linktype::RAW, ip[..ip.len() - 4].to_vec()));
            let mut eth = vec![0u8; 12];
            eth.extend_from_slice(&[0x08, 0x00]);
            eth.extend_from_slice(&ip);
            eth.extend_from_slice(&[0, 0, 0, 0]); // link padding
            v.push((linktype::ETHERNET, eth));
            let mut six = Vec::new();
            PacketBuilder::ipv6([1; 16], [2; 16], 9).tcp(1, 21, 7, 100).syn().write(&mut six, b"").unwrap();
            v.push((linktype::RAW, six));
            v
        };
        for (lt, f) in frames {
            let a = decode_plain_tcp(lt, &f).expect("plain path");
            let b = decode_tcp_etherparse(lt, &f).unwrap();
            assert_eq!(format!("{a:?}"), format!("{b:?}"));
        }
    }

    proptest::proptest! {
        /// A TCP frame wrapped in any stack of tunnels (up to the depth)
        /// decodes to the same segment, inner addresses and all, and names
        /// its layers outermost first; one layer more is skipped.
        #[test]
        fn tunnels_unwrap_to_the_same_segment(kinds in proptest::collection::vec(0u8..9, 0..=tunnel::MAX_LAYERS + 1), cut in 0usize..12) {
            let ip = ipv4_tcp(b"503 RNFR required first.\r\n");
            let plain = crate::capture::tunnel::tests::ethernet(0x0800, &ip);
            let mut frame = plain.clone();
            for &k in kinds.iter().rev() {
                frame = crate::capture::tunnel::tests::wrap(k, &frame);
            }
            let want = decode_tcp(linktype::ETHERNET, &plain).unwrap();
            let got = decode_tcp(linktype::ETHERNET, &frame);
            let wanted = decode_tcp_wanted(linktype::ETHERNET, &frame, |_, d| d == 21);
            if kinds.len() > tunnel::MAX_LAYERS {
                proptest::prop_assert_eq!(got.unwrap_err(), SkipReason::TunnelTooDeep);
                proptest::prop_assert_eq!(wanted.unwrap_err(), SkipReason::TunnelTooDeep);
            } else {
                let got = got.unwrap();
                proptest::prop_assert_eq!((got.src, got.dst, got.src_port, got.dst_port), (want.src, want.dst, want.src_port, want.dst_port));
                proptest::prop_assert_eq!((got.seq, got.payload, got.missing_tail), (want.seq, want.payload, want.missing_tail));
                proptest::prop_assert_eq!(got.encap.as_ref().map_or(0, |e| e.layers().count()), kinds.len());
                let wanted = wanted.unwrap().expect("port 21 is wanted");
                proptest::prop_assert_eq!(wanted.encap, got.encap);
                proptest::prop_assert!(decode_tcp_wanted(linktype::ETHERNET, &frame, |_, _| false).unwrap().is_none());
            }
            // Cut anywhere: an error or a segment, never a panic.
            let _ = decode_tcp(linktype::ETHERNET, &frame[..frame.len().saturating_sub(cut * 7)]);
        }
    }

    #[test]
    fn ip_packet_finds_the_ip_header_on_every_link_type() {
        let ip = ipv4_tcp(b"x");
        let mut eth = vec![0u8; 12];
        eth.extend_from_slice(&[0x81, 0x00, 0, 7, 0x08, 0x00]);
        eth.extend_from_slice(&ip);
        let mut null = 2u32.to_le_bytes().to_vec();
        null.extend_from_slice(&ip);
        let mut lo = 2u32.to_be_bytes().to_vec();
        lo.extend_from_slice(&ip);
        let mut sll2 = vec![0x08, 0x00];
        sll2.extend_from_slice(&[0u8; 18]);
        sll2.extend_from_slice(&ip);
        for (lt, f) in
            [(linktype::ETHERNET, &eth), (linktype::NULL, &null), (linktype::LOOP, &lo), (linktype::LINUX_SLL2, &sll2)]
        {
            assert_eq!(ip_packet(lt, f), Some(&ip[..]), "link type {lt}");
        }
        assert_eq!(ip_packet(linktype::RAW, &ip), Some(&ip[..]));
        let mut arp = vec![0u8; 12];
        arp.extend_from_slice(&[0x08, 0x06, 0, 1]);
        assert_eq!(ip_packet(linktype::ETHERNET, &arp), None);
        assert_eq!(ip_packet(999, &ip), None);
    }

    #[test]
    fn garbage_is_skipped() {
        assert_eq!(decode_tcp(999, b"abc").unwrap_err(), SkipReason::UnsupportedLinkType);
        assert!(decode_tcp(linktype::ETHERNET, b"abc").is_err());
        assert!(decode_tcp(linktype::LINUX_SLL, b"").is_err());
        assert!(decode_tcp(linktype::LINUX_SLL2, &[8, 0, 1]).is_err());
    }
}
