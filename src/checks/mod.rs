//! LVS-DR misconfiguration checks. Each finding has a rule id, a severity, the
//! value that was read, a message and the fix command. Rules are pure
//! functions of facts gathered elsewhere (sysctls, rtnetlink, the IPVS table),
//! so they are tested on fixtures and run against the real kernel in the VM.

pub mod arp;
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

/// The director checks against the local kernel and `snap`, including the
/// active ARP probe for every IPv4 VIP the director holds (plus `extra_vips`).
/// Also returns the director's own addresses with their prefix lengths, read
/// once for all the rules.
fn run_director(
    snap: &crate::model::Snapshot,
    extra_vips: &[std::net::IpAddr],
) -> (CheckReport, Vec<(std::net::IpAddr, u8)>) {
    let rips = snap.rips();
    let mut report = CheckReport::default();
    match facts::gather(&rips, CLIENT_PROBE) {
        Ok(f) => {
            report.findings = director::check(&f, snap, CLIENT_PROBE);
            let mut vips = snap.vips();
            vips.extend_from_slice(extra_vips);
            vips.sort();
            vips.dedup();
            let (found, skipped) = director::arp_problem(&f, &vips, &rips);
            report.findings.extend(found);
            report.skipped.extend(skipped);
            (report, f.addrs.iter().map(|a| (a.addr, a.prefix)).collect())
        }
        Err(e) => {
            report.skipped.push(format!("director checks: {e}"));
            (report, Vec::new())
        }
    }
}

/// Run every check: the director's, then (with `ssh`) the realservers' of
/// `snap` plus `extra_targets`, read over ssh.
pub async fn run(
    snap: crate::model::Snapshot,
    extra_vips: Vec<std::net::IpAddr>,
    extra_targets: Vec<realserver::Target>,
    ssh: Option<crate::remote::SshConfig>,
) -> CheckReport {
    let mut targets = realserver::targets(&snap);
    targets.extend(extra_targets);
    let (mut report, director) =
        tokio::task::spawn_blocking(move || run_director(&snap, &extra_vips)).await.unwrap_or_else(|e| {
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
