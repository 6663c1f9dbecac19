fn main() {
    std::process::exit(divergo::commands::cli::main());
}
