//! One module per command: `lib.rs` only dispatches to them.

pub mod agent;
pub mod check;
pub mod conns;
pub mod console;
pub mod diff;
pub mod dump;
pub mod lab;
pub mod save;

use std::io::Write as _;

use anyhow::Context as _;

/// Read the table on a thread of its own and hand its parts to `consume` as
/// they arrive, so that formatting what has been read overlaps the kernel's
/// reading of the rest (`dump` and `save` return as soon as the table is
/// read). The read's error comes first; a `consume` that stops early stops
/// the read.
fn read_overlapped<T>(
    backend: &mut crate::ipvs::Backend,
    consume: impl FnOnce(&mut dyn Iterator<Item = crate::model::Part>) -> T,
) -> anyhow::Result<T> {
    // Parts go over in batches: a wake-up of the other thread per service
    // cost more than formatting it (measured under emulation: a tenth of a
    // text dump's time went to switching threads).
    const BATCH: usize = 64;
    let (tx, rx) = std::sync::mpsc::sync_channel::<Vec<crate::model::Part>>(4);
    std::thread::scope(|scope| {
        let reader = std::thread::Builder::new()
            .name("lvstop-read".into())
            .spawn_scoped(scope, move || {
                let mut batch = Vec::with_capacity(BATCH);
                let read = backend.stream(&mut |part| {
                    batch.push(part);
                    batch.len() < BATCH || tx.send(std::mem::replace(&mut batch, Vec::with_capacity(BATCH))).is_ok()
                });
                if !batch.is_empty() {
                    let _ = tx.send(batch);
                }
                read
            })
            .context("cannot start a thread")?;
        // The receiver is dropped once `consume` returns: a reader still
        // sending then stops.
        let made = consume(&mut rx.into_iter().flatten());
        reader.join().map_err(|_| anyhow::anyhow!("the thread reading the table failed"))??;
        Ok(made)
    })
}

/// Another director's table, read through its agent over ssh (`--director
/// NAME` of dump and save).
fn remote_table(name: &str, config: Option<&std::path::Path>) -> anyhow::Result<crate::model::Snapshot> {
    let cfg = crate::config::load(config)?;
    crate::sys::privilege::keep_only(crate::sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
    Ok(rt.block_on(diff::read_director(name, &cfg))?.snapshot)
}

/// Print a command's output; a closed pipe (`lvstop dump | head`) is not an error.
fn print_out(text: &str) -> anyhow::Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        other => other.context("cannot write to standard output"),
    }
}
