fn main() {
    std::process::exit(divergo::cli::main());
}
