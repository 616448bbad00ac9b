//! Scale-out as docs/scale-out.md describes it ("Scale-out beyond one machine"):
//! split the captures under `samples/real/` into separate runs of the built
//! `ftpcap` (one capture per run, and slices of several captures per run),
//! merge each report by keeping the first file's header and dropping the first
//! physical line of every other file (what `awk 'FNR==1 && NR!=1 {next} {print}'`
//! does), and check the merge against one run over all captures:
//!
//! * the merged CSV parses as RFC 4180 with exactly one header, even though
//!   reply cells hold newlines;
//! * its rows equal the single run's once each capture's session numbers are
//!   shifted by one offset (separate runs restart `session` at 1);
//! * (`capture`, `session`) is unique in the merged sessions report, while
//!   `session` alone is not.

use std::collections::{BTreeMap, HashSet};
use std::path::{Path, PathBuf};
use std::process::Command;

const REPORTS: [&str; 3] = ["report", "transfers", "sessions"];

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn real_captures() -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(root().join("samples/real"))
        .expect("samples/real")
        .flatten()
        .map(|e| e.path())
        .filter(|p| matches!(p.extension().and_then(|e| e.to_str()), Some("pcap" | "pcapng")))
        .map(|p| p.strip_prefix(root()).unwrap().to_string_lossy().into_owned())
        .collect();
    v.sort();
    v
}

/// One run of ftpcap over `captures`; returns the three reports' bytes in `REPORTS` order.
fn run(captures: &[String], dir: &Path, name: &str) -> [Vec<u8>; 3] {
    let paths = REPORTS.map(|r| dir.join(format!("{name}.{r}.csv")));
    let out = Command::new(env!("CARGO_BIN_EXE_ftpcap"))
        .current_dir(root())
        .args(["--quiet", "--jobs", "1", "-o"])
        .arg(&paths[0])
        .arg("--transfers")
        .arg(&paths[1])
        .arg("--sessions")
        .arg(&paths[2])
        .arg("--")
        .args(captures)
        .output()
        .expect("run ftpcap");
    assert_eq!(out.status.code(), Some(0), "{captures:?}: {}", String::from_utf8_lossy(&out.stderr));
    paths.map(|p| std::fs::read(p).expect("report written"))
}

/// Keep the first part whole; drop the first physical line (the header) of every other part.
fn merge(parts: &[Vec<u8>]) -> Vec<u8> {
    let mut all = Vec::new();
    for (i, part) in parts.iter().enumerate() {
        let body = if i == 0 {
            &part[..]
        } else {
            let nl = part.iter().position(|&b| b == b'\n').expect("header line");
            assert!(!part[..nl].contains(&b'"'), "header is one physical line");
            &part[nl + 1..]
        };
        all.extend_from_slice(body);
    }
    all
}

/// Header and records of one CSV report.
fn parse(csv_text: &[u8]) -> (Vec<String>, Vec<Vec<String>>) {
    let mut r = csv::Reader::from_reader(csv_text);
    let header = r.headers().expect("header").iter().map(String::from).collect();
    let rows = r.records().map(|rec| rec.expect("valid CSV").iter().map(String::from).collect()).collect();
    (header, rows)
}

/// First session number of each capture in a sessions report.
fn first_sessions(sessions_csv: &[u8]) -> BTreeMap<String, i64> {
    let mut first = BTreeMap::new();
    for row in parse(sessions_csv).1 {
        let s: i64 = row[1].parse().expect("session number");
        first.entry(row[0].clone()).and_modify(|f: &mut i64| *f = (*f).min(s)).or_insert(s);
    }
    first
}

fn check_split(captures: &[String], per_run: usize, single: &[Vec<u8>; 3], dir: &Path) {
    let runs: Vec<[Vec<u8>; 3]> =
        captures.chunks(per_run).enumerate().map(|(i, slice)| run(slice, dir, &format!("part-{i}"))).collect();
    let merged: Vec<Vec<u8>> = (0..3).map(|k| merge(&runs.iter().map(|r| r[k].clone()).collect::<Vec<_>>())).collect();

    let single_first = first_sessions(&single[2]);
    let merged_first = first_sessions(&merged[2]);
    assert_eq!(single_first.keys().collect::<Vec<_>>(), merged_first.keys().collect::<Vec<_>>());
    let offset: BTreeMap<&String, i64> = single_first.iter().map(|(c, f)| (c, f - merged_first[c])).collect();

    for (k, name) in REPORTS.iter().enumerate() {
        let (header, rows) = parse(&merged[k]);
        let (single_header, mut single_rows) = parse(&single[k]);
        assert_eq!(header, single_header, "{name}, {per_run} per run: header");
        assert!(rows.iter().all(|r| *r != header), "{name}, {per_run} per run: a second header among the rows");
        let (cap, ses) =
            (header.iter().position(|h| h == "capture").unwrap(), header.iter().position(|h| h == "session").unwrap());
        let mut shifted: Vec<Vec<String>> = rows
            .iter()
            .map(|r| {
                let mut r = r.clone();
                r[ses] = (r[ses].parse::<i64>().unwrap() + offset[&r[cap]]).to_string();
                r
            })
            .collect();
        shifted.sort();
        single_rows.sort();
        assert!(!shifted.is_empty(), "{name}: no rows");
        assert_eq!(shifted, single_rows, "{name}, {per_run} per run: rows differ from one run over all captures");
        if *name == "sessions" {
            let keys: HashSet<(&String, &String)> = rows.iter().map(|r| (&r[cap], &r[ses])).collect();
            assert_eq!(keys.len(), rows.len(), "{per_run} per run: (capture, session) not unique");
            if per_run < captures.len() {
                let sessions: HashSet<&String> = rows.iter().map(|r| &r[ses]).collect();
                assert!(sessions.len() < rows.len(), "session alone should repeat across runs");
            }
        }
    }
}

#[test]
fn split_runs_merge_to_the_single_run() {
    let captures = real_captures();
    assert!(captures.len() >= 20, "samples missing: {captures:?}");
    let dir = std::env::temp_dir().join(format!("ftpcap-scale-out-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let single = run(&captures, &dir, "single");
    for per_run in [1, 10] {
        check_split(&captures, per_run, &single, &dir);
    }
    std::fs::remove_dir_all(&dir).ok();
}
