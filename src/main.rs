//! Thin binary: parse flags, run, exit with the documented code.

use clap::Parser;

/// Rows and replies are many small, short-lived strings; mimalloc serves
/// them markedly faster than the system allocator (see the README's
/// Performance section).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let args = ftpcap::cli::Args::parse();
    std::process::exit(ftpcap::cli::run(args));
}
