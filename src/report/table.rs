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

fn stat_cells(c: &Counters, r: &Rates, have: bool) -> Vec<String> {
    if !have {
        return vec!["-".into(); 10];
    }
    [c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes, r.cps, r.inpps, r.outpps, r.inbps, r.outbps]
        .iter()
        .map(u64::to_string)
        .collect()
}

fn service_cells(s: &Service, have: bool) -> Vec<String> {
    let spec = &s.spec;
    let mut row = vec![
        spec.key.to_string(),
        service_options(spec, OptionStyle::Long),
        String::new(),
        s.active_conns().to_string(),
        s.inact_conns().to_string(),
        if have {
            s.destinations.iter().map(|d| u64::from(d.persist_conns)).sum::<u64>().to_string()
        } else {
            "-".into()
        },
        String::new(),
    ];
    row.extend(stat_cells(&s.stats, &s.rates, have));
    row
}

fn dest_cells(d: &Destination, have: bool) -> Vec<String> {
    let ds = &d.spec;
    let fwd = match ds.tun_info() {
        Some(t) if have => format!("{} {t}", ds.forward),
        _ => ds.forward.to_string(),
    };
    let mut row = vec![
        format!("  -> {}", ds.addr_port()),
        fwd,
        ds.weight.to_string(),
        d.active_conns.to_string(),
        d.inact_conns.to_string(),
        if have { d.persist_conns.to_string() } else { "-".into() },
        if have { format!("{}/{}", ds.u_thresh, ds.l_thresh) } else { "-".into() },
    ];
    row.extend(stat_cells(&d.stats, &d.rates, have));
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
    let mut rows: Vec<Vec<String>> = vec![HEAD.iter().map(ToString::to_string).collect()];
    for s in &snap.services {
        rows.push(service_cells(s, have));
        for d in &s.destinations {
            rows.push(dest_cells(d, have));
        }
    }
    let widths: Vec<usize> = (0..HEAD.len()).map(|c| rows.iter().map(|r| r[c].len()).max().unwrap_or(0)).collect();
    for r in &rows {
        let mut line = String::new();
        for (c, cell) in r.iter().enumerate() {
            if c < 2 {
                let _ = write!(line, "{cell:<w$} ", w = widths[c]);
            } else {
                let _ = write!(line, "{cell:>w$} ", w = widths[c]);
            }
        }
        out.push_str(line.trim_end());
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
