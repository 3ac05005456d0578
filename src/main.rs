//! The `twofold` binary: everything lives in the library; this only hands over the arguments.

#![deny(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

fn main() -> std::process::ExitCode {
    twofold::tune_allocator();
    twofold::cli::run()
}
