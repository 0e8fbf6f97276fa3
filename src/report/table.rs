//! The `lvstop dump` table: ipvsadm-like columns with exact numbers and rates.

use std::fmt::Write as _;

use crate::model::ipvsadm::{service_options, OptionStyle};
use crate::model::{Counters, Destination, Rates, Service, Snapshot, Source};

const HEAD: [&str; 17] = [
    "Prot LocalAddress:Port / -> RemoteAddress:Port",
    "Sched/Fwd",
    "Weight",
    "ActConn",
    "InActConn",
    "PersConn",
    "Thresh U/L",
    "Conns",
    "InPkts",
    "OutPkts",
    "InBytes",
    "OutBytes",
    "CPS",
    "InPPS",
    "OutPPS",
    "InBPS",
    "OutBPS",
];

/// One row's cells, written one after another into one string (a table of
/// 50 000 realservers is 850 000 cells: one allocation a row, not one a cell).
struct Cells {
    text: String,
    ends: [usize; HEAD.len()],
    n: usize,
}

impl Cells {
    fn new() -> Self {
        Cells { text: String::with_capacity(128), ends: [0; HEAD.len()], n: 0 }
    }

    fn push(&mut self, v: impl std::fmt::Display) {
        let _ = write!(self.text, "{v}");
        if let Some(end) = self.ends.get_mut(self.n) {
            *end = self.text.len();
            self.n += 1;
        }
    }

    fn cell(&self, i: usize) -> &str {
        let start = if i == 0 { 0 } else { self.ends[i - 1] };
        self.text.get(start..self.ends[i]).unwrap_or_default()
    }
}

fn stat_cells(row: &mut Cells, c: &Counters, r: &Rates, have: bool) {
    for v in [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
        if have {
            row.push(v);
        } else {
            row.push("-");
        }
    }
}

fn service_cells(s: &Service, have: bool) -> Cells {
    let spec = &s.spec;
    let mut row = Cells::new();
    row.push(spec.key);
    row.push(service_options(spec, OptionStyle::Long));
    row.push("");
    row.push(s.active_conns());
    row.push(s.inact_conns());
    if have {
        row.push(s.destinations.iter().map(|d| u64::from(d.persist_conns)).sum::<u64>());
    } else {
        row.push("-");
    }
    row.push("");
    stat_cells(&mut row, &s.stats, &s.rates, have);
    row
}

fn dest_cells(d: &Destination, have: bool) -> Cells {
    let ds = &d.spec;
    let mut row = Cells::new();
    row.push(format_args!("  -> {}", ds.addr_port()));
    match ds.tun_info() {
        Some(t) if have => row.push(format_args!("{} {t}", ds.forward)),
        _ => row.push(ds.forward),
    }
    row.push(ds.weight);
    row.push(d.active_conns);
    row.push(d.inact_conns);
    if have {
        row.push(d.persist_conns);
        row.push(format_args!("{}/{}", ds.u_thresh, ds.l_thresh));
    } else {
        row.push("-");
        row.push("-");
    }
    stat_cells(&mut row, &d.stats, &d.rates, have);
    row
}

/// The human-readable dump.
pub fn dump_text(snap: &Snapshot) -> String {
    let have = !snap.is_degraded();
    let mut out = String::new();
    if let Some(info) = snap.info {
        let _ = write!(out, "IP Virtual Server version {} (size={})", info.version(), info.conn_tab_size);
    }
    match &snap.source {
        Source::Netlink => out.push_str(", read over netlink\n"),
        Source::Procfs { reason } => {
            let _ = writeln!(out, ", READ-ONLY from /proc/net/ip_vs\nNote: {reason}");
        }
    }
    if let Some(t) = snap.timeouts {
        let _ = writeln!(out, "Timeout (tcp tcpfin udp): {} {} {}", t.tcp, t.tcp_fin, t.udp);
    }
    for d in &snap.daemons {
        let _ = writeln!(out, "{:?} sync daemon (mcast={}, syncid={})", d.state, d.mcast_ifn, d.sync_id);
    }
    let mut head = Cells::new();
    for h in HEAD {
        head.push(h);
    }
    let mut rows = vec![head];
    for s in &snap.services {
        rows.push(service_cells(s, have));
        for d in &s.destinations {
            rows.push(dest_cells(d, have));
        }
    }
    let widths: Vec<usize> = (0..HEAD.len()).map(|c| rows.iter().map(|r| r.cell(c).len()).max().unwrap_or(0)).collect();
    out.reserve(rows.len() * (widths.iter().sum::<usize>() + HEAD.len()));
    for r in &rows {
        let start = out.len();
        for (c, &w) in widths.iter().enumerate() {
            let cell = r.cell(c);
            let width = if cell.is_ascii() { cell.len() } else { cell.chars().count() };
            let pad = w.saturating_sub(width);
            // The first two columns are left-aligned, the numbers right-aligned.
            if c >= 2 {
                out.extend(std::iter::repeat_n(' ', pad));
            }
            out.push_str(cell);
            if c < 2 {
                out.extend(std::iter::repeat_n(' ', pad));
            }
            out.push(' ');
        }
        let kept = out[start..].trim_end().len();
        out.truncate(start + kept);
        out.push('\n');
    }
    if let Some((c, r)) = snap.totals {
        let _ = writeln!(
            out,
            "Total: conns {} inpkts {} outpkts {} inbytes {} outbytes {}; rates cps {} inpps {} outpps {} inbps {} outbps {}",
            c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps
        );
    }
    out
}

/// The director section of `lvstop dump`: each interface's packet rates against its limits.
pub fn director_text(load: &crate::sys::load::DirectorLoad, show_idle: bool) -> String {
    let mut out = String::new();
    let _ = write!(out, "Director (over {:.1}s)", load.interval_secs);
    if let (Some(c), Some(s)) = (load.cpu_percent, load.softirq_percent) {
        let _ = write!(out, ": CPU {c:.1}%, softirq {s:.1}%");
    }
    out.push('\n');
    // The interfaces the console's director panel shows (not every idle tunnel device).
    for n in load.shown(show_idle) {
        let role = match (n.vips.is_empty(), n.to_realservers) {
            (false, true) => " [VIP, realservers]",
            (false, false) => " [VIP]",
            (true, true) => " [realservers]",
            (true, false) => "",
        };
        let limit = match (n.practical_pps, n.line_rate_pps) {
            (Some(p), _) => format!("{:.1}% of practical limit {p} pps", n.practical_percent.unwrap_or(0.0)),
            (None, Some(l)) => format!(
                "{:.1}% of line rate {l} pps ({} Mb/s)",
                n.line_percent.unwrap_or(0.0),
                n.speed_mbps.unwrap_or(0)
            ),
            (None, None) => "limit unknown (set [nic.limits] in the config)".to_string(),
        };
        let _ = writeln!(
            out,
            "  {}{role}{}: rx {:.0} pps {:.0} B/s, tx {:.0} pps {:.0} B/s, drops {:.0}/s, errors {:.0}/s; {limit}{}",
            crate::text::sanitize(&n.name),
            if n.up { "" } else { " (down)" },
            n.rates.rx_pps,
            n.rates.rx_bps,
            n.rates.tx_pps,
            n.rates.tx_bps,
            n.rates.drops_ps,
            n.rates.errors_ps,
            if n.rates.reset { " (counters reset)" } else { "" },
        );
    }
    out
}
