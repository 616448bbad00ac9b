//! `--html FILE` without a browser (tests/html_browser.sh checks it in
//! headless Chromium): the page is written, its totals equal the CSV's, no
//! markup from a capture survives, and it cannot overwrite another output.

use std::path::PathBuf;
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_ftpcap"))
}

fn tmp(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("ftpcap-html-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir.join(name)
}

fn total(page: &str, id: &str) -> u64 {
    let at = page.find(&format!("data-total=\"{id}\"")).unwrap_or_else(|| panic!("no total {id}"));
    let rest = &page[at..];
    let dd = rest.find("<dd>").unwrap() + 4;
    let end = rest[dd..].find('<').unwrap();
    rest[dd..dd + end].parse().unwrap()
}

#[test]
fn hostile_markup_stays_text_and_totals_match_the_csv() {
    let (page, csv) = (tmp("hostile.html"), tmp("hostile.csv"));
    let out = bin()
        .args(["-q", "samples/hostile/html-markup.pcap", "--html"])
        .arg(&page)
        .arg("-o")
        .arg(&csv)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", String::from_utf8_lossy(&out.stderr));
    let page = std::fs::read_to_string(&page).unwrap();
    let csv = std::fs::read_to_string(&csv).unwrap();
    let mut rows = csv::Reader::from_reader(csv.as_bytes());
    let codes: Vec<String> = rows.records().map(|r| r.unwrap()[9].to_string()).collect();
    assert_eq!(codes, ["503", "503", "503", "503", "214"]);
    assert_eq!(total(&page, "incidents"), 5);
    assert_eq!(total(&page, "rows-503"), 4);
    assert_eq!(total(&page, "rows-214"), 1);
    assert_eq!(total(&page, "sessions"), 1);
    // The page's own scripts are three; the wire text is only in the JSON
    // element, with no character that could end it or open markup.
    assert_eq!(page.matches("<script").count(), 3);
    let open = "<script type=\"application/json\" id=\"data\">";
    let start = page.find(open).unwrap() + open.len();
    let len = page[start..].find("</script>").unwrap();
    let data = &page[start..start + len];
    for bad in ['<', '>', '&', '\u{2028}', '\u{2029}'] {
        assert!(!data.contains(bad), "{bad:?} in the page's data");
    }
    assert!(data.contains(r#"\u003cimg src=x onerror=\"document.title='ALERTED'\"\u003e"#));
    let rest = format!("{}{}", &page[..start], &page[start + len..]);
    assert!(!rest.contains("ALERTED"), "wire text outside the data element");
    let json: serde_json::Value = serde_json::from_str(data).unwrap();
    assert_eq!(json["rows"].as_array().unwrap().len(), 5);
    assert_eq!(json["rows"][0][9], "RNTO </script><script>document.title='ALERTED'</script>");
}

#[test]
fn html_cannot_overwrite_another_report() {
    let same = tmp("same.out");
    let out = bin()
        .args(["-q", "samples/real/vsftpd-ftplib.pcap", "--html"])
        .arg(&same)
        .arg("--sessions")
        .arg(&same)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&out.stderr).contains("--html"), "{}", String::from_utf8_lossy(&out.stderr));
    let out = bin()
        .args(["-q", "samples/real/vsftpd-ftplib.pcap", "--html", "samples/real/vsftpd-ftplib.pcap"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    assert!(std::fs::metadata("samples/real/vsftpd-ftplib.pcap").unwrap().len() > 1000);
}
