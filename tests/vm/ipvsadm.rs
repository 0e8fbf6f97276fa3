//! ipvsadm as the reference: lvstop's snapshot is rendered in each of ipvsadm's
//! list formats, both texts are parsed into the same structure, and they are
//! compared field by field with a message naming the service, realserver and
//! column that differ.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use lvstop::model::{Destination, Service, Snapshot};

use super::util::sh;

/// ipvsadm's list formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Format {
    Plain,
    Stats,
    Rate,
    Thresholds,
    PersistentConn,
    TunInfo,
}

impl Format {
    pub const ALL: [Format; 6] =
        [Format::Plain, Format::Stats, Format::Rate, Format::Thresholds, Format::PersistentConn, Format::TunInfo];

    fn flag(self) -> &'static str {
        match self {
            Format::Plain => "",
            Format::Stats => "--stats",
            Format::Rate => "--rate",
            Format::Thresholds => "--thresholds",
            Format::PersistentConn => "--persistent-conn",
            Format::TunInfo => "--tun-info",
        }
    }

    fn dest_columns(self) -> &'static [&'static str] {
        match self {
            Format::Plain => &["Forward", "Weight", "ActiveConn", "InActConn"],
            Format::Stats => &["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"],
            Format::Rate => &["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"],
            Format::Thresholds => &["Uthreshold", "Lthreshold", "ActiveConn", "InActConn"],
            Format::PersistentConn => &["Weight", "PersistConn", "ActiveConn", "InActConn"],
            Format::TunInfo => &["Forward", "TunnelInfo", "Weight", "ActiveConn", "InActConn"],
        }
    }

    fn service_columns(self) -> &'static [&'static str] {
        match self {
            Format::Stats => &["Conns", "InPkts", "OutPkts", "InBytes", "OutBytes"],
            Format::Rate => &["CPS", "InPPS", "OutPPS", "InBPS", "OutBPS"],
            _ => &["Scheduler", "Flags..."],
        }
    }
}

/// service label → (service fields, realserver label → fields).
pub type Table = BTreeMap<String, (Vec<String>, BTreeMap<String, Vec<String>>)>;

/// Parse ipvsadm's list output (or lvstop's rendering of it).
pub fn parse(text: &str) -> Result<Table, String> {
    let mut t = Table::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        if line.starts_with("IP Virtual Server")
            || line.starts_with("Prot ")
            || line.starts_with("  -> RemoteAddress")
            || line.trim().is_empty()
        {
            continue;
        }
        let f: Vec<String> = line.split_whitespace().map(str::to_string).collect();
        if f[0] == "->" {
            let svc = current.as_ref().ok_or_else(|| format!("realserver line before any service: '{line}'"))?;
            let entry = t.get_mut(svc).ok_or("internal: service vanished")?;
            entry.1.insert(f[1].clone(), f[2..].to_vec());
        } else {
            let n = if f[0] == "FWM" && f.get(2).is_some_and(|x| x == "IPv6") { 3 } else { 2 };
            if f.len() < n {
                return Err(format!("short service line '{line}'"));
            }
            let label = f[..n].join(" ");
            t.insert(label.clone(), (f[n..].to_vec(), BTreeMap::new()));
            current = Some(label);
        }
    }
    Ok(t)
}

fn service_head(s: &Service) -> String {
    let spec = &s.spec;
    let mut out = format!("{} {}", spec.key, spec.scheduler);
    let flags = spec.flags.sched_flag_names(&spec.scheduler);
    if !flags.is_empty() {
        let _ = write!(out, " ({})", flags.join(","));
    }
    if spec.flags.is_persistent() {
        let _ = write!(out, " persistent {}", spec.timeout);
        if !spec.netmask.is_default() {
            let _ = write!(out, " mask {}", spec.netmask);
        }
        if let Some(pe) = &spec.pe_name {
            let _ = write!(out, " pe {pe}");
        }
    }
    if spec.flags.is_one_packet() {
        out.push_str(" ops");
    }
    out
}

fn dest_fields(d: &Destination, f: Format) -> String {
    let s = &d.spec;
    match f {
        Format::Plain => format!("{} {} {} {}", s.forward, s.weight, d.active_conns, d.inact_conns),
        Format::Stats => {
            let c = d.stats;
            format!("{} {} {} {} {}", c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes)
        }
        Format::Rate => {
            let r = d.rates;
            format!("{} {} {} {} {}", r.cps, r.inpps, r.outpps, r.inbps, r.outbps)
        }
        Format::Thresholds => format!("{} {} {} {}", s.u_thresh, s.l_thresh, d.active_conns, d.inact_conns),
        Format::PersistentConn => format!("{} {} {} {}", s.weight, d.persist_conns, d.active_conns, d.inact_conns),
        Format::TunInfo => format!(
            "{} {} {} {} {}",
            s.forward,
            s.tun_info().unwrap_or_else(|| "n/a".into()),
            s.weight,
            d.active_conns,
            d.inact_conns
        ),
    }
}

/// lvstop's snapshot in ipvsadm's list format `f`.
pub fn render(snap: &Snapshot, f: Format) -> String {
    let mut out = String::new();
    for s in &snap.services {
        let line = match f {
            Format::Stats => {
                let c = s.stats;
                format!("{} {} {} {} {} {}", s.spec.key, c.conns, c.inpkts, c.outpkts, c.inbytes, c.outbytes)
            }
            Format::Rate => {
                let r = s.rates;
                format!("{} {} {} {} {} {}", s.spec.key, r.cps, r.inpps, r.outpps, r.inbps, r.outbps)
            }
            _ => service_head(s),
        };
        out.push_str(&line);
        out.push('\n');
        for d in &s.destinations {
            let _ = writeln!(out, "  -> {} {}", d.spec.addr_port(), dest_fields(d, f));
        }
    }
    out
}

/// Field-by-field differences between ipvsadm's table and lvstop's.
pub fn diff(f: Format, reference: &Table, ours: &Table) -> Vec<String> {
    let mut out = Vec::new();
    for (label, (fields, dests)) in reference {
        let Some((ofields, odests)) = ours.get(label) else {
            out.push(format!("[{f:?}] service {label}: listed by ipvsadm, missing in lvstop"));
            continue;
        };
        if fields != ofields {
            out.push(format!(
                "[{f:?}] service {label} ({}): ipvsadm {fields:?} vs lvstop {ofields:?}",
                f.service_columns().join(",")
            ));
        }
        for (d, dfields) in dests {
            match odests.get(d) {
                None => out.push(format!("[{f:?}] service {label} realserver {d}: missing in lvstop")),
                Some(of) if of != dfields => {
                    for (i, col) in f.dest_columns().iter().enumerate() {
                        if dfields.get(i) != of.get(i) {
                            out.push(format!(
                                "[{f:?}] service {label} realserver {d} {col}: ipvsadm '{}' vs lvstop '{}'",
                                dfields.get(i).map_or("", String::as_str),
                                of.get(i).map_or("", String::as_str)
                            ));
                        }
                    }
                }
                Some(_) => {}
            }
        }
        for d in odests.keys().filter(|d| !dests.contains_key(*d)) {
            out.push(format!("[{f:?}] service {label} realserver {d}: in lvstop, not in ipvsadm"));
        }
    }
    for label in ours.keys().filter(|l| !reference.contains_key(*l)) {
        out.push(format!("[{f:?}] service {label}: in lvstop, not in ipvsadm"));
    }
    out
}

/// `ipvsadm -L -n --exact` in format `f`, parsed.
pub fn list(f: Format) -> Result<Table, String> {
    parse(&sh(&format!("ipvsadm -L -n --exact {}", f.flag()))?)
}

fn all_lists() -> Result<Vec<Table>, String> {
    Format::ALL.iter().map(|f| list(*f)).collect()
}

/// lvstop's differences from ipvsadm's `lists` (one per format, in `Format::ALL`
/// order), plus the header and timeouts.
fn problems(snap: &Snapshot, lists: &[Table]) -> Result<Vec<String>, String> {
    let mut problems = Vec::new();
    for (f, reference) in Format::ALL.iter().zip(lists) {
        problems.extend(diff(*f, reference, &parse(&render(snap, *f))?));
    }
    let header = sh("ipvsadm -L -n | head -1")?;
    if let Some(info) = snap.info {
        let expect = format!("IP Virtual Server version {} (size={})", info.version(), info.conn_tab_size);
        if header.trim() != expect {
            problems.push(format!("header: ipvsadm '{}' vs lvstop '{expect}'", header.trim()));
        }
    }
    if let Some(t) = snap.timeouts {
        let line = sh("ipvsadm -L --timeout")?;
        let expect = format!("Timeout (tcp tcpfin udp): {} {} {}", t.tcp, t.tcp_fin, t.udp);
        if line.trim() != expect {
            problems.push(format!("timeouts: ipvsadm '{}' vs lvstop '{expect}'", line.trim()));
        }
    }
    Ok(problems)
}

/// Take a snapshot with `take` and compare it with ipvsadm in every format,
/// field by field. Counters and rates may move (traffic, the estimator, a
/// revived realserver's stats), so a reading counts only when bracketed by two
/// identical ipvsadm readings, taken just after an estimator tick; up to 20 tries.
pub fn compare(mut take: impl FnMut() -> Result<Snapshot, String>) -> Result<Snapshot, String> {
    let mut last = String::new();
    for _ in 0..20 {
        // The kernel's estimator moves the rates every 2 s, and they decay for
        // minutes after traffic: start right after a tick, so that the two
        // bracketing readings (about a second under emulation) fit between two.
        let rates = list(Format::Rate)?;
        let start = std::time::Instant::now();
        while list(Format::Rate)? == rates && start.elapsed() < std::time::Duration::from_millis(2500) {
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        let before = all_lists()?;
        let snap = take()?;
        if all_lists()? != before {
            continue;
        }
        let found = problems(&snap, &before)?;
        if found.is_empty() {
            return Ok(snap);
        }
        last = found.join("\n");
    }
    Err(format!("no stable agreement with ipvsadm in 20 tries; last differences:\n{last}"))
}
