//! The built `ftpcap` binary on the adversarial captures in
//! `samples/hostile/` (made by `samples/scripts/gen_hostile.py`).
//!
//! For every capture, in every output mode (CSV, CSV with the transfers and
//! sessions reports, JSON lines, transcript of session 1): no panic, the
//! documented exit code, no raw ESC byte on stdout, stderr or in a report,
//! the exact number of rows, the problem line and the warning kinds of the
//! summary. For `inert-output.pcap`, the exact text of the formula, escape
//! and PASS cells in CSV and JSONL. The whole CSV of each is also pinned by
//! `tests/cli.rs` (`exact_rows_for_every_sample`, a golden file).
//!
//! The expectations here are written by hand from what the generator puts
//! in each capture (`gen_hostile.py`), not blessed from ftpcap's output.

use std::path::PathBuf;
use std::process::{Command, Output};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ftpcap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ftpcap")).current_dir(root()).args(args).output().expect("run ftpcap")
}

/// (capture, exit code, rows, start of the problem line after `FILE: `,
/// warning kinds in the summary line).
const CASES: &[(&str, i32, usize, &str, &[&str])] = &[
    ("caplen-4gib.pcap", 1, 2, "corrupt capture at byte 1777: record claims 4294967295 captured bytes", &[]),
    ("cut-in-block.pcapng", 1, 2, "capture is truncated: last record cut at byte 2008", &[]),
    ("cut-in-header.pcap", 1, 2, "capture is truncated: last record cut at byte 1777", &[]),
    ("endless-line.pcap", 0, 2, "", &["line over length cap"]),
    ("holes.pcap", 0, 2000, "", &["gap in stream", "pending command cap hit", "reply without command"]),
    ("html-markup.pcap", 0, 5, "", &["command not in server's HELP list"]),
    ("huge-reply.pcap", 0, 2, "", &["command not in server's HELP list", "reply line cap hit"]),
    ("inert-output.pcap", 0, 10, "", &[]),
    ("one-byte-segments.pcap", 0, 2, "", &[]),
    ("overlap-disagree.pcap", 0, 1, "", &["multi-line reply code mismatch", "overlapping bytes differ"]),
    (
        "pcapng-epb-caplen.pcapng",
        1,
        2,
        "corrupt capture at byte 2100: enhanced packet block claims 4294967040 captured bytes",
        &[],
    ),
    ("pcapng-epb-huge.pcapng", 1, 2, "corrupt capture at byte 2100: block claims 4294967280 bytes", &[]),
    ("pcapng-epb-tiny.pcapng", 1, 2, "corrupt capture at byte 2100: enhanced packet block of 20 bytes", &[]),
    (
        "pcapng-epb-trailer.pcapng",
        1,
        2,
        "corrupt capture at byte 2100: inconsistent block: its length fields disagree",
        &[],
    ),
    ("pcapng-short-block-min.pcapng", 1, 0, "corrupt capture at byte 28: block length 8", &[]),
    ("pcapng-short-block.pcapng", 1, 2, "corrupt capture at byte 2100: block length 8", &[]),
    (
        "real-proftpd-both.pcap",
        1,
        2,
        "capture is truncated",
        &["command not in server's HELP list", "gap in stream", "unparsable server line"],
    ),
    (
        // One flipped caplen bit: the 82 bytes of that record are skipped
        // and the other 47 records read (issue 13); every row of the
        // intact capture (`samples/real/proftpd-help.pcap`) is found.
        "real-proftpd-flips.pcap",
        1,
        3,
        "corrupt capture: 1 damaged region(s), 82 bytes in all, skipped",
        &["capture resynchronised after corrupt bytes", "timestamp earlier than the frame before"],
    ),
    (
        // Two flipped bits make two frames IP fragments (issue 13: held for
        // reassembly, never complete, instead of skipped frames).
        "real-pure-ftpd-flips.pcap",
        0,
        0,
        "",
        &["fragmented datagram incomplete", "gap in stream", "overlapping bytes differ", "unparsable server line"],
    ),
    ("real-pyftpdlib-both.pcap", 1, 0, "capture is truncated", &["gap in stream", "reply without command"]),
    ("real-vsftpd-cut.pcap", 1, 0, "capture is truncated", &[]),
    ("real-vsftpd-flips.pcap", 0, 0, "", &["gap in stream"]),
    ("seq-wrap-reply.pcap", 0, 2, "", &[]),
    ("syn-flood.pcap", 0, 2, "", &[]),
    ("time-backwards.pcap", 0, 2, "", &["timestamp earlier than the frame before"]),
];

fn no_esc(what: &str, bytes: &[u8]) {
    assert!(!bytes.contains(&0x1b), "raw ESC in {what}: {}", String::from_utf8_lossy(bytes));
}

/// Warning kinds of the `ftpcap: warnings: kind: n, kind: n` summary line.
fn warning_kinds(stderr: &str) -> Vec<String> {
    stderr
        .lines()
        .filter_map(|l| l.strip_prefix("ftpcap: warnings: "))
        .flat_map(|l| l.split(", ").map(|kv| kv.rsplit_once(": ").map_or(kv, |(k, _)| k).to_string()))
        .collect()
}

#[test]
fn every_hostile_capture_is_handled() {
    let dir = root().join("samples/hostile");
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .flatten()
        .map(|e| e.file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".pcap") || n.ends_with(".pcapng"))
        .collect();
    on_disk.sort();
    let mut listed: Vec<String> = CASES.iter().map(|c| c.0.to_string()).collect();
    listed.sort();
    assert_eq!(on_disk, listed, "every capture in samples/hostile/ has a case here");

    let tmp = std::env::temp_dir().join(format!("ftpcap-hostile-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (t, s) = (tmp.join("t"), tmp.join("s"));
    let (t, s) = (t.to_str().unwrap(), s.to_str().unwrap());
    for &(name, code, rows, problem, kinds) in CASES {
        let path = format!("samples/hostile/{name}");
        let runs: [(&str, Vec<&str>); 4] = [
            ("csv", vec![&path]),
            ("csv+reports", vec![&path, "--transfers", t, "--sessions", s]),
            ("jsonl", vec!["--format", "jsonl", &path, "--transfers", t, "--sessions", s]),
            ("transcript", vec!["transcript", "--session", "1", &path]),
        ];
        for (mode, args) in runs {
            let out = ftpcap(&args);
            let what = format!("{name} ({mode})");
            let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
            assert!(!stderr.contains("panicked"), "{what}: {stderr}");
            no_esc(&format!("{what} stdout"), &out.stdout);
            no_esc(&format!("{what} stderr"), &out.stderr);
            if mode != "csv" && mode != "transcript" {
                no_esc(&format!("{what} transfers"), &std::fs::read(t).unwrap());
                no_esc(&format!("{what} sessions"), &std::fs::read(s).unwrap());
            }
            assert_eq!(out.status.code(), Some(code), "{what}: {stderr}");
            let problem_lines: Vec<&str> =
                stderr.lines().filter(|l| l.starts_with(&format!("ftpcap: {path}: "))).collect();
            if problem.is_empty() {
                assert!(problem_lines.is_empty(), "{what}: {stderr}");
            } else {
                assert_eq!(problem_lines.len(), 1, "{what}: one line per problem: {stderr}");
                let text = &problem_lines[0][format!("ftpcap: {path}: ").len()..];
                assert!(text.starts_with(problem), "{what}: {text}");
            }
            let got_kinds = warning_kinds(&stderr);
            assert_eq!(got_kinds, kinds.iter().map(|k| k.to_string()).collect::<Vec<_>>(), "{what}: {stderr}");
            assert!(stderr.contains(&format!(" {rows} row(s)")), "{what}: {stderr}");
            match mode {
                "csv" | "csv+reports" => {
                    let mut r = csv::Reader::from_reader(&out.stdout[..]);
                    let records: Vec<csv::StringRecord> = r.records().collect::<Result<_, _>>().expect("valid CSV");
                    assert_eq!(records.len(), rows, "{what}");
                }
                "jsonl" => {
                    let text = String::from_utf8(out.stdout.clone()).unwrap();
                    for l in text.lines() {
                        serde_json::from_str::<serde_json::Value>(l).expect("valid JSON line");
                    }
                    assert_eq!(text.lines().count(), rows, "{what}");
                }
                _ => {}
            }
        }
    }
    std::fs::remove_dir_all(&tmp).ok();
}

/// Command, reply and user cells of `inert-output.pcap`, in row order.
const INERT: &[(&str, &str)] = &[
    (
        "'=HYPERLINK(\"http://evil.example/\",\"click\")",
        "503 \\x1b[31mBad\\x1b[0m sequence: \"=HYPERLINK(\"http://evil.example/\",\"click\")\"",
    ),
    ("'+cmd|' /C calc'!A0", "503 \\x1b[31mBad\\x1b[0m sequence: \"+cmd|' /C calc'!A0\""),
    ("'@SUM(1+1)*cmd|' /C calc'!A0", "503 \\x1b[31mBad\\x1b[0m sequence: \"@SUM(1+1)*cmd|' /C calc'!A0\""),
    ("'-2+3", "503 \\x1b[31mBad\\x1b[0m sequence: \"-2+3\""),
    ("RNTO a,b\"c", "503 \\x1b[31mBad\\x1b[0m sequence: \"RNTO a,b\"c\""),
    ("RNTO \\x1b[2J\\x1b]0;title\\x07", "503 \\x1b[31mBad\\x1b[0m sequence: \"RNTO \\x1b[2J\\x1b]0;title\\x07\""),
    (
        "RNTO \\xc3(\\x80\\xfe \\u{2028} \\u{9b}31m",
        "503 \\x1b[31mBad\\x1b[0m sequence: \"RNTO \\xc3(\\x80\\xfe \\u{2028} \\u{9b}31m\"",
    ),
    (
        "RNTO nul\\x00del\\x7ftab\\x09cr\\x0dend\\\\x41",
        "503 \\x1b[31mBad\\x1b[0m sequence: \"RNTO nul\\x00del\\x7ftab\\x09cr\\x0dend\\\\x41\"",
    ),
    ("PASS ****", "503 Already logged in \\x1b]0;t\\x07."),
    (
        "HELP",
        "214-The following commands are recognized \\x1b[2J.\n =CMD @SUM \\x1b[2J RETR STOR HELP\n214 Help \\x1b]0;x\\x07OK.",
    ),
];

#[test]
fn hostile_cells_come_out_inert_in_csv_and_jsonl() {
    let path = "samples/hostile/inert-output.pcap";
    let csv_out = ftpcap(&["--quiet", path]);
    let mut r = csv::Reader::from_reader(&csv_out.stdout[..]);
    let csv_rows: Vec<csv::StringRecord> = r.records().map(|r| r.unwrap()).collect();
    let jsonl_out = ftpcap(&["--quiet", "--format", "jsonl", path]);
    let json_rows: Vec<serde_json::Value> =
        String::from_utf8(jsonl_out.stdout).unwrap().lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(csv_rows.len(), INERT.len());
    assert_eq!(json_rows.len(), INERT.len());
    for (i, (command, reply)) in INERT.iter().enumerate() {
        assert_eq!(&csv_rows[i][11], *command, "csv row {i} command");
        assert_eq!(&csv_rows[i][10], *reply, "csv row {i} reply");
        assert_eq!(json_rows[i]["command"], *command, "jsonl row {i} command");
        assert_eq!(json_rows[i]["reply"], *reply, "jsonl row {i} reply");
        assert_eq!(&csv_rows[i][8], "\\x1b[2Jadmin=1+1", "user");
        assert_eq!(&csv_rows[i][18], "vsFTPd 3.0.3", "server software from an escaped banner");
    }
    // The first row's previous command is the masked PASS (which held an ESC
    // and a formula); the previous command of row 2 is a neutralised formula.
    assert_eq!(&csv_rows[0][13], "PASS ****");
    assert_eq!(&csv_rows[1][13], "'=HYPERLINK(\"http://evil.example/\",\"click\")");
    assert_eq!(json_rows[0]["previous_command"], "PASS ****");
    let all = String::from_utf8_lossy(&csv_out.stdout).into_owned();
    assert!(!all.contains("s3cr") && !all.contains("HYPERLINK(\"x\")"), "PASS arguments leaked");

    // Sessions and transfers reports: banner, SYST and the RETR path.
    let tmp = std::env::temp_dir().join(format!("ftpcap-inert-{}", std::process::id()));
    std::fs::create_dir_all(&tmp).unwrap();
    let (t, s) = (tmp.join("t.csv"), tmp.join("s.csv"));
    let out = ftpcap(&["--quiet", path, "--transfers", t.to_str().unwrap(), "--sessions", s.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(0));
    let read = |p: &PathBuf| {
        let mut r = csv::Reader::from_path(p).unwrap();
        let h = r.headers().unwrap().clone();
        let row = r.records().next().unwrap().unwrap();
        move |col: &str| row[h.iter().position(|c| c == col).unwrap()].to_string()
    };
    let session = read(&s);
    assert_eq!(session("banner"), "220 \\x1b]0;owned\\x07vsFTPd 3.0.3 \\x1b[2J");
    assert_eq!(session("syst"), "215 UNIX \\x1b[2J Type: L8");
    assert_eq!(session("user"), "\\x1b[2Jadmin=1+1");
    let transfer = read(&t);
    assert_eq!(transfer("argument"), "'=HYPERLINK(\"x\")\\x1b[2J.txt");
    std::fs::remove_dir_all(&tmp).ok();

    // The transcript: escaped, PASS masked twice.
    let out = ftpcap(&["transcript", "--quiet", "--session", "1", path]);
    let text = String::from_utf8(out.stdout).unwrap();
    assert!(text.contains("C: RNTO \\x1b[2J\\x1b]0;title\\x07\n"), "{text}");
    assert!(text.contains("S: 220 \\x1b]0;owned\\x07vsFTPd 3.0.3 \\x1b[2J\n"), "{text}");
    assert_eq!(text.matches("C: PASS ****\n").count(), 2, "{text}");
    assert!(!text.contains("s3cr"), "{text}");
}
