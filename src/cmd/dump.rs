//! `lvstop dump`: every service and realserver with exact counters and rates,
//! and the director's interface load, as a table or JSON.

use crate::cli::DumpArgs;
use crate::{config, ipvs, model, report, sys};

/// Print the dump.
pub fn run(args: &DumpArgs) -> anyhow::Result<i32> {
    let json = args.json;
    let policy = config::load(args.config.path.as_deref())?.nic;
    sys::privilege::keep_only(sys::privilege::Needs::Ipvs).map_err(anyhow::Error::msg)?;
    // Interface rates need two readings, a second apart: only when asked (--load),
    // the table being read meanwhile.
    let window = args.load.then(sys::load::LoadWindow::open);
    let mut backend = ipvs::Backend::open()?;
    let snap = backend.snapshot()?;
    let load = window.map(|w| w.close(&policy, &snap.vips(), &snap.rips()));
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
        if let Some(l) = &load {
            super::print_out(&report::director_text(l, policy.show_idle))?;
        }
    }
    if let model::Source::Procfs { reason } = &snap.source {
        crate::say!("lvstop: {reason}");
    }
    Ok(0)
}
