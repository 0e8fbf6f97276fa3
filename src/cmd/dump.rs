//! `lvstop dump`: every service and realserver with exact counters and rates,
//! and the director's interface load, as a table or JSON.

use crate::cli::DumpArgs;
use crate::{config, ipvs, model, report, sys};

/// Print the dump.
pub fn run(args: &DumpArgs) -> anyhow::Result<i32> {
    let json = args.json;
    // The configuration's [nic] limits are what --load needs: without it, and
    // without a file named (--config, LVSTOP_CONFIG), which is checked all
    // the same, none is read (a plain dump starts as cheaply as it can).
    let named = config::is_named(args.config.path.as_deref());
    let policy = (args.load || named).then(|| config::load(args.config.path.as_deref())).transpose()?.map(|c| c.nic);
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    // Interface rates need two readings, a second apart: only when asked (--load),
    // the table being read meanwhile.
    let window = args.load.then(sys::load::LoadWindow::open);
    let mut backend = ipvs::Backend::open()?;
    let snap = backend.snapshot()?;
    let load = window.zip(policy.as_ref()).map(|(w, policy)| w.close(policy, &snap.vips(), &snap.rips()));
    if json {
        // Streamed: the document of a large table is never held whole.
        use std::io::Write as _;
        let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
        match report::write_dump_json(&mut out, &snap, load.as_ref()).and_then(|()| out.flush()) {
            Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                return Err(anyhow::Error::new(e).context("cannot write to standard output"))
            }
            _ => {}
        }
    } else {
        super::print_out(&report::dump_text(&snap))?;
        if let (Some(l), Some(policy)) = (&load, &policy) {
            super::print_out(&report::director_text(l, policy.show_idle))?;
        }
    }
    if let model::Source::Procfs { reason } = &snap.source {
        crate::say!("lvstop: {reason}");
    }
    Ok(0)
}
