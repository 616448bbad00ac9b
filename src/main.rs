//! Thin binary: parse flags, run, exit with the documented code.

use clap::Parser;
use ftpcap::driver::{self, exit};

/// Rows and replies are many small, short-lived strings; mimalloc serves
/// them markedly faster than the system allocator (see bench/README.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    let code = match ftpcap::cli::Args::parse().into_run() {
        Ok(run) => driver::run(&run),
        Err(e) => {
            eprintln!("ftpcap: {e:#}");
            exit::FATAL
        }
    };
    std::process::exit(code);
}
