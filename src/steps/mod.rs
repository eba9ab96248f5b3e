//! Built-in steps (`use = "..."`): each a plain function from input paths to
//! output files, with its own version number (part of the fingerprint).

use std::path::PathBuf;

/// What a built-in step is given: absolute paths.
pub(crate) struct BuiltinCall<'a> {
    /// Every input of the task, in order.
    pub(crate) inputs: &'a [PathBuf],
    /// Where to write; temporary paths that keep the final extension.
    pub(crate) outputs: &'a [PathBuf],
    /// `with = {...}`, already checked by `check_options`.
    pub(crate) options: &'a toml::Table,
}

/// One built-in step.
struct Builtin {
    name: &'static str,
    version: u32,
    check: fn(&toml::Table) -> Result<(), String>,
    run: fn(&BuiltinCall<'_>) -> Result<(), String>,
}

const BUILTINS: &[Builtin] = &[];

fn find(name: &str) -> Option<&'static Builtin> {
    BUILTINS.iter().find(|b| b.name == name)
}

/// Whether `name` is a built-in step.
pub(crate) fn is_builtin(name: &str) -> bool {
    find(name).is_some()
}

/// Names of every built-in step.
pub(crate) fn names() -> Vec<&'static str> {
    BUILTINS.iter().map(|b| b.name).collect()
}

/// The built-in's own version (part of the fingerprint).
pub(crate) fn version(name: &str) -> u32 {
    find(name).map_or(0, |b| b.version)
}

/// Checks `with = {...}` for a built-in at load time.
pub(crate) fn check_options(name: &str, options: &toml::Table) -> Result<(), String> {
    match find(name) {
        Some(b) => (b.check)(options),
        None => Err(format!("unknown built-in step `{name}`")),
    }
}

/// Runs a built-in step; the error is the task's failure message.
pub(crate) fn run(name: &str, call: &BuiltinCall<'_>) -> Result<(), String> {
    match find(name) {
        Some(b) => (b.run)(call),
        None => Err(format!("unknown built-in step `{name}`")),
    }
}
