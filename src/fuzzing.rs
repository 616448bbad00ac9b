//! Entry points shared by the cargo-fuzz targets in `fuzz/` and by the
//! seed-corpus tests, so plain `cargo test` keeps every seed green.
//! Each function must never panic, whatever the bytes.
