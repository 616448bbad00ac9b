//! Hardware-ceiling baseline for `bench/run.sh`: walk every record of a pcap or
//! pcapng capture with pcap-parser's streaming reader and count records and
//! captured bytes, nothing else (no link, IP or TCP decoding).
//!
//! `cargo build --release --example bare_walk`
//! `target/release/examples/bare_walk FILE...`

use pcap_parser::pcapng::Block;
use pcap_parser::{create_reader, PcapBlockOwned, PcapError};
use std::fs::File;
use std::process::ExitCode;

/// Streaming buffer (records larger than this grow it, up to `MAX_BUFFER`).
const BUFFER: usize = 4 << 20;
const MAX_BUFFER: usize = 64 << 20;

#[derive(Default)]
struct Counts {
    records: u64,
    bytes: u64,
}

fn walk(path: &str) -> Result<Counts, String> {
    let file = File::open(path).map_err(|e| format!("{path}: {e}"))?;
    let mut reader = create_reader(BUFFER, file).map_err(|e| format!("{path}: {e:?}"))?;
    let mut counts = Counts::default();
    let mut stalled = 0u32;
    let mut size = BUFFER;
    loop {
        match reader.next() {
            Ok((offset, block)) => {
                stalled = 0;
                let len = match block {
                    PcapBlockOwned::Legacy(b) => Some(b.caplen),
                    PcapBlockOwned::NG(Block::EnhancedPacket(b)) => Some(b.caplen),
                    PcapBlockOwned::NG(Block::SimplePacket(b)) => Some(b.data.len() as u32),
                    _ => None,
                };
                if let Some(len) = len {
                    counts.records += 1;
                    counts.bytes += u64::from(len);
                }
                reader.consume(offset);
            }
            Err(PcapError::Eof) => return Ok(counts),
            Err(PcapError::Incomplete(_)) => {
                stalled += 1;
                if stalled > 3 {
                    return Err(format!("{path}: truncated after {} records", counts.records));
                }
                reader.refill().map_err(|e| format!("{path}: {e:?}"))?;
            }
            Err(PcapError::UnexpectedEof) => {
                eprintln!("{path}: truncated after {} records", counts.records);
                return Ok(counts);
            }
            Err(PcapError::BufferTooSmall) => {
                // A record larger than the buffer: grow once to the maximum.
                if size >= MAX_BUFFER || !reader.grow(MAX_BUFFER) {
                    return Err(format!("{path}: record larger than {MAX_BUFFER} bytes"));
                }
                size = MAX_BUFFER;
                reader.refill().map_err(|e| format!("{path}: {e:?}"))?;
            }
            Err(e) => return Err(format!("{path}: {e:?}")),
        }
    }
}

fn main() -> ExitCode {
    let paths: Vec<String> = std::env::args().skip(1).collect();
    if paths.is_empty() {
        eprintln!("usage: bare_walk CAPTURE...");
        return ExitCode::from(2);
    }
    let mut status = ExitCode::SUCCESS;
    for path in &paths {
        match walk(path) {
            Ok(c) => println!("{path}\t{} records\t{} bytes", c.records, c.bytes),
            Err(e) => {
                eprintln!("bare_walk: {e}");
                status = ExitCode::FAILURE;
            }
        }
    }
    status
}
