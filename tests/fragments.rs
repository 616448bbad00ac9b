//! IP fragments (issue 13): the built `ftpcap` binary on the fragmented
//! captures in `samples/fragments/` (made by
//! `samples/scripts/gen_fragments.py --set` from real captures, at MTU 68,
//! 128 and 296, with fragments reordered, duplicated and held back).
//!
//! Oracle: the unfragmented source capture. Every row of the incident,
//! transfers and sessions reports must be the source's, column for column
//! but the frame numbers (a reassembled segment gets the number of the
//! fragment that completed it) and the capture's name; and no fragment may
//! be left over.

use std::path::PathBuf;
use std::process::Command;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// (fragmented capture, its source), as `gen_fragments.py` lists them.
const CASES: &[(&str, &str)] = &[
    ("vsftpd-pipelined-mtu68.pcap", "samples/real/vsftpd-pipelined.pcap"),
    ("pyftpdlib-help-mtu68.pcap", "samples/real/pyftpdlib-help.pcap"),
    ("pyftpdlib-help-mtu128.pcap", "samples/real/pyftpdlib-help.pcap"),
    ("pyftpdlib-help-mtu296.pcap", "samples/real/pyftpdlib-help.pcap"),
    ("pure-ftpd-help-mtu296.pcap", "samples/real/pure-ftpd-help.pcap"),
    ("pure-ftpd-lftp-mtu128.pcap", "samples/real/pure-ftpd-lftp.pcap"),
    ("vsftpd-ipv6-epsv-eprt-mtu128.pcap", "samples/transfers/vsftpd-ipv6-epsv-eprt.pcap"),
];

/// Columns that name frames or the capture: they differ by construction.
const FRAME_COLUMNS: &[&str] = &[
    "capture",
    "frame",
    "command_frame",
    "previous_frame",
    "start_frame",
    "end_frame",
    "data_first_frame",
    "data_last_frame",
];

/// A report's rows, each as (column, cell) pairs.
type Rows = Vec<Vec<(String, String)>>;

/// The three reports of one capture (every reply a row), without the frame
/// columns, and standard error.
fn reports(capture: &str, tag: &str) -> ([Rows; 3], String) {
    let tmp = std::env::temp_dir().join(format!("ftpcap-fragments-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (t, s) = (tmp.join("t.csv"), tmp.join("s.csv"));
    let out = Command::new(env!("CARGO_BIN_EXE_ftpcap"))
        .current_dir(root())
        .args([capture, "--codes", "1xx,2xx,3xx,4xx,5xx", "--transfers", t.to_str().unwrap()])
        .args(["--sessions", s.to_str().unwrap()])
        .output()
        .expect("run ftpcap");
    assert_eq!(out.status.code(), Some(0), "{capture}: {}", String::from_utf8_lossy(&out.stderr));
    let table = |bytes: &[u8]| -> Rows {
        let mut r = csv::ReaderBuilder::new().from_reader(bytes);
        let header: Vec<String> = r.headers().unwrap().iter().map(String::from).collect();
        r.records()
            .map(|rec| {
                let rec = rec.unwrap();
                header
                    .iter()
                    .zip(rec.iter())
                    .filter(|(h, _)| !FRAME_COLUMNS.contains(&h.as_str()))
                    .map(|(h, v)| (h.clone(), v.to_string()))
                    .collect()
            })
            .collect()
    };
    let reports = [table(&out.stdout), table(&std::fs::read(&t).unwrap()), table(&std::fs::read(&s).unwrap())];
    std::fs::remove_dir_all(&tmp).ok();
    (reports, String::from_utf8_lossy(&out.stderr).into_owned())
}

#[test]
fn fragmented_captures_give_the_rows_of_their_source() {
    for (i, (fragmented, source)) in CASES.iter().enumerate() {
        let path = format!("samples/fragments/{fragmented}");
        let (want, _) = reports(source, &format!("{i}-source"));
        let (got, stderr) = reports(&path, &format!("{i}-fragments"));
        assert!(!want[0].is_empty(), "{source}: no rows");
        for (name, (w, g)) in ["incidents", "transfers", "sessions"].iter().zip(want.iter().zip(got.iter())) {
            assert_eq!(g.len(), w.len(), "{fragmented}: {name}: {} rows, the source has {}", g.len(), w.len());
            for (n, (wr, gr)) in w.iter().zip(g).enumerate() {
                assert_eq!(gr, wr, "{fragmented}: {name} row {}", n + 1);
            }
        }
        for unwanted in ["fragmented datagram", "fragment cap", "fragment overlap", "IP fragment"] {
            assert!(!stderr.contains(unwanted), "{fragmented}: {stderr}");
        }
    }
}

/// The IP fragments of a capture (IPv4 MF or offset, IPv6 fragment
/// header), by source address, read here without ftpcap.
fn fragments_by_source(capture: &str) -> std::collections::BTreeMap<Vec<u8>, usize> {
    let f = std::fs::read(root().join("samples/fragments").join(capture)).unwrap();
    let (mut at, mut by) = (24, std::collections::BTreeMap::new());
    while at + 16 <= f.len() {
        let caplen = u32::from_le_bytes(f[at + 8..at + 12].try_into().unwrap()) as usize;
        let ip = &f[at + 16 + 14..at + 16 + caplen];
        if ip[0] >> 4 == 4 && u16::from_be_bytes([ip[6], ip[7]]) & 0x3fff != 0 {
            *by.entry(ip[12..16].to_vec()).or_insert(0) += 1;
        } else if ip[0] >> 4 == 6 && ip[6] == 44 {
            *by.entry(ip[8..24].to_vec()).or_insert(0) += 1;
        }
        at += 16 + caplen;
    }
    by
}

#[test]
fn the_set_really_is_fragmented() {
    for (fragmented, _) in CASES {
        let n: usize = fragments_by_source(fragmented).values().sum();
        assert!(n >= 2, "{fragmented}: {n} fragments");
    }
    // The recorded ones: Linux routers fragmented the server's packets and,
    // below 296 (the client's commands are shorter), the client's too.
    // Their rows are checked against the client's log by tests/cli.rs
    // (`real_samples_match_client_logs`).
    for (mtu, sources) in [(296, 1), (128, 2), (68, 2)] {
        let name = format!("real-vsftpd-mtu{mtu}.pcap");
        let by = fragments_by_source(&name);
        assert_eq!(by.len(), sources, "{name}: fragments from {by:?}");
    }
}
