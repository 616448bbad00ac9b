//! The analyst's day (issue 15), run on the built CLI: the session index,
//! Community IDs, JSONL numbers, the frame filters, closed pipes, --help.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn ftpcap(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_ftpcap")).current_dir(root()).args(args).output().expect("run ftpcap")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn transcript_without_a_session_lists_the_sessions() {
    let o = ftpcap(&["transcript", "-q", "samples/real/vsftpd-pipelined.pcap", "samples/generated/ipv6.pcap"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert_eq!(
        stdout(&o),
        "\
session  client -> server                                 user              start                        commands   214   503  ended
      1  127.0.0.1:52130 -> 127.0.0.1:21                  ftptest           2026-11-25T00:13:48.061729Z         7     1     1  quit
      2  [2001:db8::1]:53141 -> [2001:db8::2]:21          anonymous         2026-03-01T12:00:00.001106Z         5     1     1  quit

2 session(s); `ftpcap transcript --session N CAPTURE` prints one
"
    );
}

#[test]
fn a_session_out_of_range_is_a_usage_error_naming_the_range() {
    let o = ftpcap(&[
        "transcript",
        "-q",
        "--session",
        "99",
        "samples/real/vsftpd-pipelined.pcap",
        "samples/generated/ipv6.pcap",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(o.stdout, b"");
    assert_eq!(
        stderr(&o),
        "ftpcap: --session 99: no such session (sessions are 1 to 2; `ftpcap transcript CAPTURE` lists them)\n"
    );
    let o = ftpcap(&["transcript", "-q", "--endpoint", "192.0.2.1", "samples/real/vsftpd-pipelined.pcap"]);
    assert_eq!(o.status.code(), Some(2));
    assert_eq!(
        stderr(&o),
        "ftpcap: --endpoint: no session has that end (the only session is 1; `ftpcap transcript CAPTURE` lists them)\n"
    );
}

/// The reference vector (Python `communityid`) for 127.0.0.1:52130 -> :21.
const PIPELINED_ID: &str = "1:X6RTRwgfiCUtlVfjqPByXQ8sJHw=";

#[test]
fn community_ids_on_every_report() {
    let o = ftpcap(&["-q", "--format", "jsonl", "samples/real/vsftpd-pipelined.pcap", "--sessions", "/dev/stderr"]);
    assert_eq!(o.status.code(), Some(0));
    let ids = |text: &str| -> Vec<String> {
        text.lines()
            .map(|l| {
                serde_json::from_str::<serde_json::Value>(l).unwrap()["community_id"].as_str().unwrap().to_string()
            })
            .collect()
    };
    assert_eq!(ids(&stdout(&o)), vec![PIPELINED_ID, PIPELINED_ID]);
    assert_eq!(ids(&stderr(&o)), vec![PIPELINED_ID]);
    // Transfers: the data connection's (127.0.0.1:50008 -> :40020 by the
    // reference), empty when none was seen.
    let o = ftpcap(&["-q", "samples/real/vsftpd-ftplib.pcap", "-o", "/dev/null", "--transfers", "-"]);
    let text = stdout(&o);
    let rows: Vec<&str> = text.lines().map(|l| l.rsplit(',').next().unwrap()).collect();
    assert_eq!(rows, vec!["community_id", "1:LEZ04RLgjIxnRl3+DNie5ofIzhQ=", "1:xTHMwmsNWTI2dJWsT3JhYHO043M=", ""]);
}

#[test]
fn jsonl_durations_are_numbers_and_csv_keeps_six_decimals() {
    let o =
        ftpcap(&["-q", "--format", "jsonl", "samples/real/vsftpd-ftplib.pcap", "-o", "/dev/null", "--sessions", "-"]);
    let row: serde_json::Value = serde_json::from_str(stdout(&o).trim()).unwrap();
    assert_eq!(row["duration_s"], serde_json::json!(0.071324));
    assert_eq!(row["commands"], serde_json::json!(12));
    let o = ftpcap(&["-q", "samples/real/vsftpd-ftplib.pcap", "-o", "/dev/null", "--sessions", "-"]);
    assert!(stdout(&o).contains(",54,0.071324,ftptest,"), "{}", stdout(&o));
}

/// Rows of the incident report, without the header.
fn incident_frames(args: &[&str]) -> Vec<String> {
    let o = ftpcap(args);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let mut r = csv::Reader::from_reader(o.stdout.as_slice());
    r.records().map(|rec| rec.unwrap()[1].to_string()).collect()
}

#[test]
fn host_and_time_filters_keep_the_frame_numbers() {
    let cap = "samples/real/vsftpd-pipelined.pcap";
    assert_eq!(incident_frames(&["-q", cap]), vec!["16", "26"]);
    assert_eq!(incident_frames(&["-q", cap, "--host", "127.0.0.1"]), vec!["16", "26"]);
    assert_eq!(incident_frames(&["-q", cap, "--host", "10.0.0.0/8", "--host", "127.0.0.0/8"]), vec!["16", "26"]);
    assert_eq!(incident_frames(&["-q", cap, "--host", "10.0.0.0/8"]), Vec::<String>::new());
    // Frame 16 is stamped 00:13:48.118032Z, frame 26 .118090Z: the window
    // ending between them keeps the first row, with its own frame number.
    assert_eq!(incident_frames(&["-q", cap, "--until", "2026-11-25T00:13:48.118050Z"]), vec!["16"]);
    assert_eq!(incident_frames(&["-q", cap, "--until", "1795565628.118050"]), vec!["16"]);
    assert_eq!(incident_frames(&["-q", cap, "--since", "2026-11-25T02:13:00+02:00"]), vec!["16", "26"]);
    assert_eq!(incident_frames(&["-q", cap, "--since", "2026-11-25T00:13:49Z"]), Vec::<String>::new());
    for (args, err) in [
        (&["--host", "10.0.0.0/33"][..], "ftpcap: --host: `10.0.0.0/33`: the prefix must be 0 to 32\n"),
        (
            &["--since", "yesterday"][..],
            "ftpcap: --since: `yesterday` is not an RFC 3339 time (2026-11-25T00:13:48Z) or epoch seconds\n",
        ),
        (&["--since", "2", "--until", "1"][..], "ftpcap: --until: must not be before --since\n"),
    ] {
        let o = ftpcap(&[&[cap][..], args].concat());
        assert_eq!(o.status.code(), Some(2));
        assert_eq!(stderr(&o), err);
    }
}

#[test]
fn a_closed_pipe_is_exit_0_for_every_format_and_report() {
    for format in ["csv", "jsonl"] {
        for report in [
            &["--codes", "1xx,2xx,3xx,4xx,5xx"][..],
            &["-o", "/dev/null", "--sessions", "-"],
            &["-o", "/dev/null", "--transfers", "-"],
        ] {
            let mut child = Command::new(env!("CARGO_BIN_EXE_ftpcap"))
                .current_dir(root())
                .args(["-q", "-j", "1", "--format", format, "samples/"])
                .args(report)
                .stdout(Stdio::piped())
                .stderr(Stdio::null())
                .spawn()
                .unwrap();
            let mut first = String::new();
            BufReader::new(child.stdout.take().unwrap()).read_line(&mut first).unwrap();
            assert!(!first.is_empty());
            // The reader is gone: what ftpcap writes next meets a closed pipe.
            assert_eq!(child.wait().unwrap().code(), Some(0), "{format} {report:?}");
        }
    }
}

#[test]
fn help_puts_the_common_options_first_in_headed_groups() {
    let help = stdout(&ftpcap(&["--help"]));
    let at = |s: &str| help.find(s).unwrap_or_else(|| panic!("{s} not in --help"));
    assert!(at("Reports:") < at("-o, --output"));
    for (a, b) in [
        ("-o, --output", "--codes"),
        ("--codes", "--transfers"),
        ("--transfers", "--sessions"),
        ("--sessions", "--format"),
        ("--format", "Input:"),
        ("Input:", "--port"),
        ("--port", "Limits"),
        ("Limits", "--max-flows"),
    ] {
        assert!(at(a) < at(b), "{a} before {b}");
    }
}

#[test]
fn server_software_from_reply_wording_when_the_banner_is_lost() {
    // The capture starts mid-session, after the greeting; the wording of
    // its 503 says vsftpd.
    let o = ftpcap(&["-q", "samples/generated/midstream.pcap", "-o", "/dev/null", "--sessions", "-"]);
    let mut r = csv::Reader::from_reader(o.stdout.as_slice());
    let software: Vec<String> = r.records().map(|rec| rec.unwrap()[12].to_string()).collect();
    assert_eq!(software, vec!["vsFTPd (from its 503 reply)"]);
}
