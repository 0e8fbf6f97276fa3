//! LVS-DR misconfiguration checks. Each finding names its [`Rule`], a
//! severity, the [`Host`] and the [`Subject`] on it, the [`Evidence`] read, a
//! message and the [`Fix`]. Rules are pure functions of facts gathered
//! elsewhere (sysctls, rtnetlink, the IPVS table, ARP probes, a realserver's
//! script output), so they are tested on fixtures and run against the real
//! kernel in the VM; [`run`] gathers and judges.

pub mod director;
mod evidence;
pub mod explain;
pub mod facts;
pub mod fix;
mod markers;
pub mod pair;
pub mod realserver;
mod report;
mod rule;
mod run;
mod subject;

pub use evidence::{ArpKind, Evidence, Limit, MacOwner, Rate, Sysctl, SysctlReading};
pub use fix::{shell_quote, Command, Fix};
pub use markers::Markers;
pub use report::{report_json, report_text};
pub use rule::Rule;
pub use run::run;
pub use subject::{Host, Subject};

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
#[derive(Debug, Clone, PartialEq)]
pub struct Finding {
    /// The rule that found it.
    pub rule: Rule,
    /// Severity.
    pub severity: Severity,
    /// The host it concerns.
    pub host: Host,
    /// What on the host it is about: a VIP, a realserver, an interface…
    pub subject: Subject,
    /// What was read.
    pub evidence: Evidence,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: Fix,
}

impl Finding {
    /// A finding about one sysctl read at `value`: its subject is the sysctl,
    /// its fix sets it to `good`.
    fn sysctl(
        rule: Rule,
        severity: Severity,
        host: Host,
        sysctl: Sysctl,
        value: u32,
        good: u32,
        message: String,
    ) -> Self {
        Finding {
            rule,
            severity,
            host,
            subject: Subject::Sysctl(sysctl.clone()),
            evidence: Evidence::Sysctl(SysctlReading::new(sysctl.clone(), value)),
            message,
            fix: Fix::run(Command::sysctl([(sysctl, good)])),
        }
    }
}

/// The result of a run of the checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Findings, worst first.
    pub findings: Vec<Finding>,
    /// Checks that could not run, and why.
    pub skipped: Vec<String>,
    /// How many of `skipped` the operator asked for (`--no-ssh`).
    pub skipped_on_request: usize,
}

impl CheckReport {
    /// A report of checks that could not run because the table could not be read.
    pub fn unreadable(why: &str) -> CheckReport {
        CheckReport {
            skipped: vec![format!("every check: the IPVS table could not be read: {why}")],
            ..CheckReport::default()
        }
    }

    /// Whether any finding is an error.
    pub fn has_errors(&self) -> bool {
        self.findings.iter().any(|f| f.severity == Severity::Error)
    }

    /// What went unchecked although the operator did not ask for it: checks
    /// that could not run, and realservers that could not be read or answered
    /// nonsense (`lvstop check --strict` fails on any).
    pub fn gaps(&self) -> usize {
        let unread = self.findings.iter().filter(|f| f.rule.is_unread_host()).count();
        self.skipped.len().saturating_sub(self.skipped_on_request) + unread
    }

    /// Sort worst first, then by id and subject (as the report words them);
    /// findings alike in all three keep their order.
    pub fn sort(&mut self) {
        self.findings.sort_by_cached_key(|f| (std::cmp::Reverse(f.severity), f.rule.id(), f.subject.to_string()));
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
