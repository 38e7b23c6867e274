//! The `stratus` binary: parses the command line and hands it to the library.

fn main() {
    std::process::exit(stratus::cli::main());
}
