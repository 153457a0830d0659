//! The `camguard` binary: `cli` does the work.

// The static router builds only (scripts/package): see static-trims/src/lib.rs.
#[cfg(feature = "static-trims")]
extern crate static_trims;

fn main() {
    std::process::exit(camguard::cli::main(std::env::args_os().skip(1).collect()));
}
