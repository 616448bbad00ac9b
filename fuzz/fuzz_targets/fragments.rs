//! Fuzz target: `ftpcap::fuzzing::fragments` (its doc comment says how the input is read and what it checks).
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    ftpcap::fuzzing::fragments(data);
});
