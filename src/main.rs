// The static router builds only (scripts/package): see unwind-stubs/src/lib.rs.
#[cfg(feature = "unwind-stubs")]
extern crate unwind_stubs;

fn main() {
    std::process::exit(camguard::cli::main(std::env::args_os().skip(1).collect()));
}
