//! Evidence as it really arrives (issue 13): IP fragments, corrupt capture
//! records, Telnet bytes that are not Telnet. Each test builds its capture
//! here, from a dialogue whose rows are known, and runs the library's
//! analysis on it; the expectations are the dialogue's own (independent
//! oracle), never ftpcap's earlier output.

use ftpcap::analysis::{Analyzer, Collected};
use ftpcap::config::Config;
use ftpcap::diag::Warning;

/// One side of a control connection: who sends, and the bytes.
type Turn<'a> = (bool, &'a [u8]);

const CLIENT: [u8; 4] = [10, 0, 0, 1];
const SERVER: [u8; 4] = [10, 0, 0, 2];

/// The IPv4/TCP packets of a control dialogue, with a handshake, running
/// sequence and acknowledgment numbers (so replies pair with commands by
/// stream position), one segment per turn.
fn dialogue_packets(turns: &[Turn<'_>]) -> Vec<Vec<u8>> {
    let (mut cseq, mut sseq) = (1000u32, 5000u32);
    let mut out = Vec::new();
    let tcp = |from_client: bool, seq: u32, ack: u32| {
        let (src, dst, sp, dp) = if from_client { (CLIENT, SERVER, 40000, 21) } else { (SERVER, CLIENT, 21, 40000) };
        etherparse::PacketBuilder::ipv4(src, dst, 64).tcp(sp, dp, seq, 65535).ack(ack)
    };
    let mut syn = Vec::new();
    etherparse::PacketBuilder::ipv4(CLIENT, SERVER, 64)
        .tcp(40000, 21, cseq - 1, 65535)
        .syn()
        .write(&mut syn, b"")
        .unwrap();
    out.push(syn);
    let mut synack = Vec::new();
    etherparse::PacketBuilder::ipv4(SERVER, CLIENT, 64)
        .tcp(21, 40000, sseq - 1, 65535)
        .syn()
        .ack(cseq)
        .write(&mut synack, b"")
        .unwrap();
    out.push(synack);
    for &(from_client, bytes) in turns {
        let mut p = Vec::new();
        if from_client {
            tcp(true, cseq, sseq).psh().write(&mut p, bytes).unwrap();
            cseq = cseq.wrapping_add(bytes.len() as u32);
        } else {
            tcp(false, sseq, cseq).psh().write(&mut p, bytes).unwrap();
            sseq = sseq.wrapping_add(bytes.len() as u32);
        }
        out.push(p);
    }
    out
}

/// A little-endian µs pcap of raw IP packets, 10 ms apart.
fn pcap(packets: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for v in [0xa1b2c3d4u32, 0x0004_0002, 0, 0, 262_144, 101] {
        out.extend_from_slice(&v.to_le_bytes());
    }
    for (i, p) in packets.iter().enumerate() {
        let usecs = 10_000 * i as u32;
        for v in [1_700_000_000 + usecs / 1_000_000, usecs % 1_000_000, p.len() as u32, p.len() as u32] {
            out.extend_from_slice(&v.to_le_bytes());
        }
        out.extend_from_slice(p);
    }
    out
}

fn analyze(config: Config, capture: Vec<u8>) -> (Collected, Analyzer) {
    let mut a = Analyzer::new(config);
    let c = a.analyze_collect("t", Box::new(std::io::Cursor::new(capture))).expect("a capture");
    (c, a)
}

/// (code, command) of every row.
fn rows(c: &Collected) -> Vec<(u16, String)> {
    c.rows.iter().map(|r| (r.code, r.command().to_string())).collect()
}

mod telnet {
    use super::*;

    #[test]
    fn an_undoubled_iac_sb_in_a_path_does_not_swallow_the_session() {
        // issue 13: Latin-1 "ÿú" in a file name is IAC SB; it swallowed
        // every later byte of the client, so the 503 below was lost.
        let turns: &[Turn<'_>] = &[
            (false, b"220 hi\r\n"),
            (true, b"USER a\r\n"),
            (false, b"331 pw\r\n"),
            (true, b"PASS b\r\n"),
            (false, b"230 in\r\n"),
            (true, b"RETR \xff\xfafile.txt\r\n"),
            (false, b"550 No such file.\r\n"),
            (true, b"RNTO x\r\n"),
            (false, b"503 RNFR first.\r\n"),
            (true, b"QUIT\r\n"),
            (false, b"221 bye\r\n"),
        ];
        let config = Config { codes: [503, 550].into_iter().collect(), ..Config::default() };
        let (c, a) = analyze(config, pcap(&dialogue_packets(turns)));
        assert_eq!(rows(&c), vec![(550, r"RETR \xff\xfafile.txt".to_string()), (503, "RNTO x".into())]);
        assert_eq!(a.summary.warnings.get(Warning::SubnegotiationAsData), 1, "{:?}", a.summary.warnings);
    }
}
