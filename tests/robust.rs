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

mod resync {
    use super::*;
    use std::path::PathBuf;

    fn root() -> PathBuf {
        PathBuf::from(env!("CARGO_MANIFEST_DIR"))
    }

    /// The record offsets of a little-endian classic pcap.
    fn record_offsets(f: &[u8]) -> Vec<usize> {
        let mut at = 24;
        let mut out = Vec::new();
        while at + 16 <= f.len() {
            out.push(at);
            let caplen = u32::from_le_bytes(f[at + 8..at + 12].try_into().unwrap()) as usize;
            at += 16 + caplen;
        }
        out
    }

    /// The length of the longest common subsequence of `a` and `b`: the
    /// rows found alike, in the same order.
    fn common<T: PartialEq>(a: &[T], b: &[T]) -> usize {
        let mut row = vec![0usize; b.len() + 1];
        for x in a {
            let mut diag = 0;
            for (j, y) in b.iter().enumerate() {
                let up = row[j + 1];
                row[j + 1] = if x == y { diag + 1 } else { up.max(row[j]) };
                diag = up;
            }
        }
        row[b.len()]
    }

    /// Every real capture in `samples/real/` (all little-endian µs
    /// Ethernet pcaps) as one: the file header of the first, then all their
    /// records in name order.
    fn real_captures_as_one() -> Vec<u8> {
        let mut names: Vec<PathBuf> = std::fs::read_dir(root().join("samples/real"))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|e| e == "pcap"))
            .collect();
        names.sort();
        let mut out = Vec::new();
        for p in names {
            let f = std::fs::read(&p).unwrap();
            assert_eq!(f[..4], [0xd4, 0xc3, 0xb2, 0xa1], "{}", p.display());
            assert_eq!(u32::from_le_bytes(f[20..24].try_into().unwrap()), 1, "{}", p.display());
            if out.is_empty() {
                out.extend_from_slice(&f[..24]);
            }
            out.extend_from_slice(&f[24..]);
        }
        out
    }

    #[test]
    fn a_few_flipped_bits_in_record_headers_lose_a_few_records_not_the_rest() {
        // issue 13: one flipped caplen bit stopped the reading, losing 73%
        // of a capture. Oracle: the rows of the intact capture.
        let intact = real_captures_as_one();
        let offsets = record_offsets(&intact);
        assert!(offsets.len() >= 1000, "{} records", offsets.len());
        let mut flipped = intact.clone();
        let flip = |f: &mut Vec<u8>, at: usize, bit: u32| {
            let w = u32::from_le_bytes(f[at..at + 4].try_into().unwrap()) ^ (1 << bit);
            f[at..at + 4].copy_from_slice(&w.to_le_bytes());
        };
        let n = offsets.len();
        flip(&mut flipped, offsets[n / 10] + 8, 28); // caplen: 256 MiB more
        flip(&mut flipped, offsets[n / 4] + 8, 11); // caplen: 2 KiB more
        flip(&mut flipped, offsets[n / 3] + 12, 30); // origlen only: harmless
        flip(&mut flipped, offsets[n / 2] + 8, 15); // caplen: 32 KiB more
        flip(&mut flipped, offsets[2 * n / 3] + 8, 17); // caplen: 128 KiB more
        flip(&mut flipped, offsets[3 * n / 4] + 4, 3); // the timestamp's fraction
                                                       // Every reply a row.
        let config = Config { codes: (100..600).collect(), ..Config::default() };
        let (want, _) = analyze(config.clone(), intact);
        let (got, a) = analyze(config, flipped.clone());
        let (want, got) = (rows(&want), rows(&got));
        assert!(want.len() >= 300, "{} rows", want.len());
        // A lost record may lose its rows or, when it held a reply, shift
        // the pairing of a few; everything else is as in the intact capture.
        let alike = common(&got, &want);
        assert!(alike * 100 >= want.len() * 97, "{alike} of {} rows survived", want.len());
        assert!(got.len() <= want.len() + 2, "{} rows, {} in the intact capture", got.len(), want.len());
        assert_eq!(a.summary.warnings.get(Warning::CaptureResynced), 4, "{:?}", a.summary.warnings);
        assert_eq!(a.summary.frames, n as u64 - 4, "four records lost, the others read");

        // The binary says where, goes on, and exits 1 (the capture had a
        // problem).
        let tmp = std::env::temp_dir().join(format!("ftpcap-robust-{}.pcap", std::process::id()));
        std::fs::write(&tmp, &flipped).unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_ftpcap")).arg(&tmp).output().unwrap();
        std::fs::remove_file(&tmp).ok();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{stderr}");
        let skipped = format!("bytes {}..{} skipped: record claims", offsets[n / 10], offsets[n / 10 + 1]);
        assert!(stderr.contains(&skipped), "{stderr}");
        assert!(stderr.contains("corrupt capture: 4 damaged region(s)"), "{stderr}");
    }
}
