fn main() {
    println!("camguard {}", env!("CARGO_PKG_VERSION"));
}
