//! LVS-DR misconfiguration checks. Each finding has a rule id, a severity, the
//! value that was read, a message and the fix command. Rules are pure
//! functions of facts gathered elsewhere (sysctls, rtnetlink, the IPVS table),
//! so they are tested on fixtures and run against the real kernel in the VM.

pub mod director;
pub mod facts;
pub mod realserver;

use serde::Serialize;

/// How bad a finding is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// Worth knowing.
    Info,
    /// Likely to bite.
    Warning,
    /// Broken.
    Error,
}

impl Severity {
    /// Short label.
    pub fn label(self) -> &'static str {
        match self {
            Severity::Info => "info",
            Severity::Warning => "warning",
            Severity::Error => "error",
        }
    }
}

/// One finding.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// Rule id, e.g. `D-FWD-ON`.
    pub id: &'static str,
    /// Severity.
    pub severity: Severity,
    /// The host it concerns (`director`, or a realserver).
    pub host: String,
    /// What it is about: a VIP, a realserver, an interface.
    pub subject: String,
    /// The value read, as evidence.
    pub value: String,
    /// What is wrong.
    pub message: String,
    /// The command that fixes it.
    pub fix: String,
}

/// The result of a run of the checks.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct CheckReport {
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Checks that could not run, and why.
    pub skipped: Vec<String>,
}

impl CheckReport {
    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// Sort worst first, then by id and subject.
    pub fn sort(&mut self) {
        self.findings.sort_by(|a, b| b.severity.cmp(&a.severity).then(a.id.cmp(b.id)).then(a.subject.cmp(&b.subject)));
    }
}

/// The off-link address whose route stands for the clients' (`ip route get`
/// sends nothing).
pub const CLIENT_PROBE: std::net::IpAddr = std::net::IpAddr::V4(CLIENT_PROBE_V4);

/// [`CLIENT_PROBE`] as the IPv4 address it is.
pub const CLIENT_PROBE_V4: std::net::Ipv4Addr = std::net::Ipv4Addr::new(203, 0, 113, 254);

/// What a run of the checks looks at beyond the IPVS table.
#[derive(Debug, Clone, Default)]
pub struct CheckOptions {
    /// VIPs to probe even if no service uses them (`lvstop check --vip`).
    pub extra_vips: Vec<std::net::IpAddr>,
    /// Realservers to read even if no service lists them (`--realserver`).
    pub extra_targets: Vec<realserver::Target>,
    /// How to read realservers; `None` skips them.
    pub ssh: Option<crate::remote::SshConfig>,
    /// Thresholds and practical limits for D-LOAD.
    pub nic: crate::sys::load::NicPolicy,
    /// Listen at least this long for ARP frames with a VIP as sender (D-ARP-ANNOUNCE).
    pub listen_secs: u32,
}

/// The director checks against the local kernel and `snap`, including the
/// active ARP probe for every IPv4 VIP the director holds (plus the extra
/// VIPs), and the rules that compare two readings taken at least a second
/// apart (D-LOAD, D-NIC-DROPS, D-HANDSHAKE). Also returns the director's own
/// addresses with their prefix lengths, read once for all the rules.
fn run_director(
    snap: &crate::model::Snapshot,
    opts: &CheckOptions,
    rips: &[std::net::IpAddr],
) -> (CheckReport, Vec<(std::net::IpAddr, u8)>) {
    let window = crate::sys::load::LoadWindow::open();
    let read_conns = || crate::sys::ipvs_proc::read_conns(CONN_LINES_MAX as usize);
    let readable = director::handshake_readable(snap, CONN_LINES_MAX);
    let suspects = readable.as_ref().is_ok_and(|r| *r);
    let conns0 = if suspects { Some(read_conns()) } else { None };
    let mut report = CheckReport::default();
    let mut vips = snap.vips();
    vips.extend_from_slice(&opts.extra_vips);
    vips.sort();
    vips.dedup();
    let addrs = match facts::gather(rips, CLIENT_PROBE) {
        Ok(f) => {
            report.findings = director::check(&f, snap, CLIENT_PROBE);
            let (found, skipped) = director::arp_problem(&f, &vips, rips, opts.listen_secs);
            report.findings.extend(found);
            report.skipped.extend(skipped);
            f.addrs.iter().map(|a| (a.addr, a.prefix)).collect()
        }
        Err(e) => {
            report.skipped.push(format!("director checks: {e}"));
            Vec::new()
        }
    };
    // Rates need two readings: the second at least a second after the first.
    let load = window.close(&opts.nic, &vips, rips);
    report.findings.extend(director::load_findings(&load, &opts.nic));
    if let Err(e) = readable {
        report.skipped.push(e);
    }
    match (conns0, suspects.then(read_conns)) {
        (Some(Ok(a)), Some(Ok(b))) => report.findings.extend(director::handshake(snap, &a, &b)),
        (Some(Err(e)), _) | (_, Some(Err(e))) => report.skipped.push(format!("D-HANDSHAKE: {e}")),
        _ => {}
    }
    (report, addrs)
}

/// The most /proc/net/ip_vs_conn lines read for D-HANDSHAKE.
const CONN_LINES_MAX: u64 = 500_000;

/// Run every check: the director's, then (with `ssh`) the realservers' of
/// `snap` plus the extra targets, read over ssh.
pub async fn run(snap: crate::model::Snapshot, opts: CheckOptions) -> CheckReport {
    let mut targets = realserver::targets(&snap);
    targets.extend(opts.extra_targets.iter().cloned());
    let mut rips = snap.rips();
    rips.extend(targets.iter().map(|t| t.rip));
    rips.sort();
    rips.dedup();
    let ssh = opts.ssh.clone();
    let (mut report, director) =
        tokio::task::spawn_blocking(move || run_director(&snap, &opts, &rips)).await.unwrap_or_else(|e| {
            (CheckReport { skipped: vec![format!("director checks: {e}")], ..CheckReport::default() }, Vec::new())
        });
    match ssh {
        Some(cfg) => report.findings.extend(realserver::run_all(targets, director, cfg).await),
        None => report.skipped.push("realserver checks over ssh: skipped (--no-ssh)".into()),
    }
    report.sort();
    report
}

/// The text form of a report.
pub fn report_text(r: &CheckReport) -> String {
    use std::fmt::Write as _;
    let mut out = String::new();
    if r.findings.is_empty() {
        out.push_str("no findings\n");
    }
    for f in &r.findings {
        let _ = writeln!(out, "{:<7} {:<16} {}: {}", f.severity.label().to_uppercase(), f.id, f.host, f.message);
        let _ = writeln!(out, "        read: {} = {}", f.subject, f.value);
        let _ = writeln!(out, "        fix:  {}", f.fix);
    }
    for s in &r.skipped {
        let _ = writeln!(out, "skipped: {s}");
    }
    out
}
