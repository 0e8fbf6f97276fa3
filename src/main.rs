#![deny(clippy::print_stderr, clippy::print_stdout)]

fn main() {
    let cli = lvstop::cli::Cli::parse_checked();
    match lvstop::run(cli) {
        Ok(code) => std::process::exit(code),
        Err(e) => {
            lvstop::say!("lvstop: {e:#}");
            std::process::exit(1);
        }
    }
}
