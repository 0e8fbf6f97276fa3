//! One module per command: `lib.rs` only dispatches to them.

pub mod check;
pub mod conns;
pub mod console;
pub mod dump;
pub mod lab;
pub mod save;

use std::io::Write as _;

use anyhow::Context as _;

/// Print a command's output; a closed pipe (`lvstop dump | head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
