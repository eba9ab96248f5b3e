//! Integration tests: the real `runner` binary on real files in temp dirs.
//! One test binary (see casey/just tests/), one module per area.
#![allow(unreachable_pub, dead_code)]

mod support;

mod browser;
mod core;
mod errors;
mod everyday;
mod executor;
mod history;
mod load_errors;
mod plot;
mod python;
mod report;
mod schema;
mod state;
mod tables;
mod trust;
mod trust_plots;
mod trust_python;
mod trust_tables;
mod wal_kept;
