//! Thin binary: parse flags, run, exit with the documented code.

use clap::Parser;

fn main() {
    let args = ftpcap::cli::Args::parse();
    std::process::exit(ftpcap::cli::run(args));
}
