//! Any bytes as a pipeline file: parse, validate, plan, render the
//! diagnostics. Nothing may panic (issue 5). Run it with `.ci/fuzz` or
//! `cargo +nightly fuzz run load fuzz/seeds tests/errors -- -dict=fuzz/load.dict`.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    runner::fuzz_load(data);
});
