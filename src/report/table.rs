//! The `lvstop dump` table: ipvsadm-like columns with exact numbers and rates.

use std::fmt::Write as _;
use std::io::Write as _;

use crate::model::ipvsadm::{service_options, OptionStyle};
use crate::model::{AddrPort, Counters, Destination, Rates, Service, Snapshot, Source};

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

/// Every cell of the table, written one after another into one string (a
/// table of 50 000 realservers is 850 000 cells: one growing buffer, not an
/// allocation a cell or a row), with where each cell ends.
struct Cells {
    text: String,
    ends: Vec<usize>,
    /// Each column's width so far, in characters (kept as cells are
    /// written, while the table is still being read).
    widths: [usize; HEAD.len()],
    /// Whether every cell is ASCII (a cell's width is then its length).
    ascii: bool,
}

/// A cell's width in characters: a name from the kernel (a scheduler's, a
/// persistence engine's) need not be ASCII.
fn width(cell: &str) -> usize {
    if cell.is_ascii() {
        cell.len()
    } else {
        cell.chars().count()
    }
}

impl Cells {
    fn with_rows(rows: usize) -> Self {
        Cells {
            text: String::with_capacity(rows * 96),
            ends: Vec::with_capacity(rows * HEAD.len()),
            widths: [0; HEAD.len()],
            ascii: true,
        }
    }

    fn end(&mut self) {
        let start = self.ends.last().copied().unwrap_or(0);
        let cell = self.text.get(start..).unwrap_or_default();
        let w = if cell.is_ascii() {
            cell.len()
        } else {
            self.ascii = false;
            width(cell)
        };
        self.ended(w);
    }

    /// The cell just written is `w` characters wide.
    fn ended(&mut self, w: usize) {
        let col = self.ends.len() % HEAD.len();
        self.widths[col] = self.widths[col].max(w);
        self.ends.push(self.text.len());
    }

    fn push(&mut self, v: impl std::fmt::Display) {
        let _ = write!(self.text, "{v}");
        self.end();
    }

    fn str(&mut self, v: &str) {
        self.text.push_str(v);
        self.end();
    }

    fn num(&mut self, v: impl itoa::Integer) {
        let mut digits = itoa::Buffer::new();
        let digits = digits.format(v);
        self.text.push_str(digits);
        self.ended(digits.len());
    }
}

fn stat_cells(row: &mut Cells, c: &Counters, r: &Rates, have: bool) {
    for v in [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps] {
        if have {
            row.num(v);
        } else {
            row.str("-");
        }
    }
}

fn service_cells(row: &mut Cells, s: &Service, have: bool) {
    let spec = &s.spec;
    row.push(spec.key);
    row.str(&service_options(spec, OptionStyle::Long));
    row.str("");
    row.num(s.active_conns());
    row.num(s.inact_conns());
    if have {
        row.num(s.destinations.iter().map(|d| u64::from(d.persist_conns)).sum::<u64>());
    } else {
        row.str("-");
    }
    row.str("");
    stat_cells(row, &s.stats, &s.rates, have);
}

fn dest_cells(row: &mut Cells, d: &Destination, have: bool) {
    let ds = &d.spec;
    row.push(format_args!("  -> {}", AddrPort(ds.addr, ds.port)));
    match ds.tun_info() {
        Some(t) if have => row.push(format_args!("{} {t}", ds.forward)),
        _ => row.push(ds.forward),
    }
    row.num(ds.weight);
    row.num(d.active_conns);
    row.num(d.inact_conns);
    if have {
        row.num(d.persist_conns);
        row.push(format_args!("{}/{}", ds.u_thresh, ds.l_thresh));
    } else {
        row.str("-");
        row.str("-");
    }
    stat_cells(row, &d.stats, &d.rates, have);
}

/// The human-readable dump.
pub fn dump_text(snap: &Snapshot) -> String {
    let mut dump = TextDump::start(snap);
    for s in &snap.services {
        dump.service(s);
    }
    dump.finish(snap.totals.as_ref())
}

/// [`dump_text`] built as the table is read: its columns are as wide as
/// their widest cell, so the text is laid out at the end.
pub struct TextDump {
    out: String,
    cells: Cells,
    have: bool,
}

impl TextDump {
    /// The lines above the table, from `head` (its services are not read).
    pub fn start(head: &Snapshot) -> Self {
        let mut out = String::new();
        if let Some(info) = head.info {
            let _ = write!(out, "IP Virtual Server version {} (size={})", info.version(), info.conn_tab_size);
        }
        match &head.source {
            Source::Netlink => out.push_str(", read over netlink\n"),
            Source::Procfs { reason } => {
                let _ = writeln!(out, ", READ-ONLY from /proc/net/ip_vs\nNote: {reason}");
            }
        }
        if let Some(t) = head.timeouts {
            let _ = writeln!(out, "Timeout (tcp tcpfin udp): {} {} {}", t.tcp, t.tcp_fin, t.udp);
        }
        for d in &head.daemons {
            let _ = writeln!(out, "{:?} sync daemon (mcast={}, syncid={})", d.state, d.mcast_ifn, d.sync_id);
        }
        let n = 1 + head.services.len() + head.services.iter().map(|s| s.destinations.len()).sum::<usize>();
        let mut cells = Cells::with_rows(n);
        for h in HEAD {
            cells.str(h);
        }
        TextDump { out, cells, have: !head.is_degraded() }
    }

    /// The next service and its realservers.
    pub fn service(&mut self, s: &Service) {
        service_cells(&mut self.cells, s, self.have);
        for d in &s.destinations {
            dest_cells(&mut self.cells, d, self.have);
        }
    }

    /// The text, with the totals line.
    pub fn finish(self, totals: Option<&(Counters, Rates)>) -> String {
        let mut out = Vec::new();
        // Writing into a Vec cannot fail.
        let _ = self.write(totals, "", &mut out);
        String::from_utf8(out).unwrap_or_default()
    }

    /// The text, with the totals line and then `tail`, written to `to` a
    /// block at a time (the text of a large table is never held whole).
    pub fn write(
        self,
        totals: Option<&(Counters, Rates)>,
        tail: &str,
        to: &mut dyn std::io::Write,
    ) -> std::io::Result<()> {
        const BLOCK: usize = 1 << 16;
        let TextDump { out: head, cells, .. } = self;
        let widths = cells.widths;
        let mut buf = Vec::with_capacity(BLOCK + 1024);
        buf.extend_from_slice(head.as_bytes());
        let text = cells.text.as_bytes();
        // Each line is laid out on a run of spaces as wide as the table, each
        // cell copied to its place (left-aligned in the first two columns, the
        // numbers right-aligned); trailing spaces are cut.
        let line: usize = widths.iter().sum::<usize>() + HEAD.len();
        let mut from = 0;
        for row in cells.ends.chunks_exact(HEAD.len()) {
            let start = buf.len();
            let mut col = start;
            if cells.ascii {
                buf.resize(start + line, b' ');
            }
            for (c, (&to, &w)) in row.iter().zip(&widths).enumerate() {
                let cell = text.get(from..to).unwrap_or_default();
                from = to;
                if cells.ascii {
                    let at = if c < 2 { col } else { col + w.saturating_sub(cell.len()) };
                    if let Some(place) = buf.get_mut(at..at + cell.len()) {
                        place.copy_from_slice(cell);
                    }
                    col += w + 1;
                    continue;
                }
                // A cell's width in characters differs from its length in bytes.
                let n = w.saturating_sub(width(std::str::from_utf8(cell).unwrap_or_default()));
                if c >= 2 {
                    buf.resize(buf.len() + n, b' ');
                }
                buf.extend_from_slice(cell);
                if c < 2 {
                    buf.resize(buf.len() + n, b' ');
                }
                buf.push(b' ');
            }
            while buf.len() > start && buf.last() == Some(&b' ') {
                buf.pop();
            }
            buf.push(b'\n');
            if buf.len() >= BLOCK {
                to.write_all(&buf)?;
                buf.clear();
            }
        }
        if let Some((c, r)) = totals {
            let _ = writeln!(
                buf,
                "Total: conns {} inpkts {} outpkts {} inbytes {} outbytes {}; rates cps {} inpps {} outpps {} inbps {} outbps {}",
                c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps
            );
        }
        buf.extend_from_slice(tail.as_bytes());
        to.write_all(&buf)?;
        to.flush()
    }
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
