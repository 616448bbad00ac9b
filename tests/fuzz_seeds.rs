//! Runs every fuzz entry point over every file of its seed corpus in
//! `fuzz/seeds/<target>/`, so plain `cargo test` keeps the seeds (and the
//! reproducers of fixed crashes, `crash-*`) green without cargo-fuzz.

use std::fs;
use std::panic;
use std::path::PathBuf;

fn run_seeds(target: &str, entry: fn(&[u8])) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fuzz").join("seeds").join(target);
    let mut files: Vec<PathBuf> = fs::read_dir(&dir)
        .unwrap_or_else(|e| panic!("seed folder {}: {e}", dir.display()))
        .map(|e| e.expect("directory entry").path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no seeds in {}", dir.display());
    let mut failed = Vec::new();
    for file in &files {
        let data = fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        if panic::catch_unwind(|| entry(&data)).is_err() {
            failed.push(file.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{target}: {} of {} seeds panicked: {failed:#?}", failed.len(), files.len());
}

#[test]
fn capture_reader_seeds() {
    run_seeds("capture_reader", ftpcap::fuzzing::capture_reader);
}

#[test]
fn link_decode_seeds() {
    run_seeds("link_decode", ftpcap::fuzzing::link_decode);
}

#[test]
fn line_framer_seeds() {
    run_seeds("line_framer", ftpcap::fuzzing::line_framer);
}

#[test]
fn reassembler_seeds() {
    run_seeds("reassembler", ftpcap::fuzzing::reassembler);
}

#[test]
fn session_seeds() {
    run_seeds("session", ftpcap::fuzzing::session);
}

#[test]
fn pipeline_seeds() {
    run_seeds("pipeline", ftpcap::fuzzing::pipeline);
}

#[test]
fn data_address_seeds() {
    run_seeds("data_address", ftpcap::fuzzing::data_address);
}

#[test]
fn tls_records_seeds() {
    run_seeds("tls_records", ftpcap::fuzzing::tls_records);
}

#[test]
fn fragments_seeds() {
    run_seeds("fragments", ftpcap::fuzzing::fragments);
}
