//! `lvstop dump`: every service and realserver with exact counters and rates,
//! and the director's interface load, as a table or JSON.

use crate::cli::DumpArgs;
use crate::model::Part;
use crate::{config, ipvs, model, report, sys};

/// Print the dump.
pub fn run(args: &DumpArgs) -> anyhow::Result<i32> {
    let json = args.json;
    if let Some(name) = &args.director {
        let snap = super::remote_table(name, args.config.path.as_deref())?;
        if json {
            super::print_out(&report::dump_json(&snap, None))?;
        } else {
            super::print_out(&report::dump_text(&snap))?;
        }
        return Ok(0);
    }
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
    // Formatted as it is read; the services are kept only for --load (the
    // interfaces that carry VIPs and reach realservers).
    let keep = window.is_some();
    let source = super::read_overlapped(&mut backend, |parts| -> anyhow::Result<Option<model::Source>> {
        let Some(Part::Head(mut kept)) = parts.next() else { return Ok(None) };
        let load = |kept: &model::Snapshot| {
            window.zip(policy.as_ref()).map(|(w, policy)| w.close(policy, &kept.vips(), &kept.rips()))
        };
        if json {
            // Streamed: the document of a large table is never held whole.
            let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
            let written = (|| -> std::io::Result<bool> {
                let mut doc = report::JsonWriter::start(&mut out, &kept)?;
                for part in parts {
                    match part {
                        Part::Service(s) => {
                            doc.service(&s)?;
                            if keep {
                                kept.services.push(s);
                            }
                        }
                        Part::Totals(totals) => {
                            let load = load(&kept);
                            std::io::Write::flush(doc.finish(totals.as_ref(), load.as_ref())?)?;
                            return Ok(true);
                        }
                        Part::Head(_) => {}
                    }
                }
                Ok(false)
            })();
            match written {
                Ok(false) => return Ok(None),
                Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
                    return Err(anyhow::Error::new(e).context("cannot write to standard output"))
                }
                _ => {}
            }
        } else {
            let mut text = report::TextDump::start(&kept);
            let mut totals = None;
            for part in parts {
                match part {
                    Part::Service(s) => {
                        text.service(&s);
                        if keep {
                            kept.services.push(s);
                        }
                    }
                    Part::Totals(t) => totals = Some(t),
                    Part::Head(_) => {}
                }
            }
            let Some(totals) = totals else { return Ok(None) };
            let tail = match (load(&kept), &policy) {
                (Some(l), Some(policy)) => report::director_text(&l, policy.show_idle),
                _ => String::new(),
            };
            super::stdout_written(text.write(totals.as_ref(), &tail, &mut std::io::stdout().lock()))?;
        }
        Ok(Some(kept.source))
    })??;
    if let Some(model::Source::Procfs { reason }) = &source {
        crate::say!("lvstop: {reason}");
    }
    Ok(0)
}
