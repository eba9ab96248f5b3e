//! The `runner` binary: everything happens in the library.

fn main() {
    std::process::exit(runner::main_with_args(std::env::args_os().collect()));
}
