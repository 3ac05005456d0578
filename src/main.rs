//! The `twofold` binary: everything lives in the library; this only hands over the arguments.

fn main() -> std::process::ExitCode {
    twofold::tune_allocator();
    twofold::cli::run()
}
