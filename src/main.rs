//! The `stratus` binary: parses the command line and hands it to the library.

mod malloc;

fn main() {
    malloc::keep_large_blocks_mapped();
    std::process::exit(stratus::cli::main());
}
