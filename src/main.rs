fn main() {
    std::process::exit(camguard::cli::main(std::env::args_os().skip(1).collect()));
}
