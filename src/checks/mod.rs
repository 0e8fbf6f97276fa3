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
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize)]
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

/// How many findings of one rule about one host a report keeps whole; the
/// rest keep only their subjects ([`More`]). A realserver that serves 10 000
/// services and listens on none of them is one problem, not 10 000 findings
/// of some 700 bytes each for the console to hold and the operator to read.
pub const KEPT_PER_RULE: usize = 20;

/// The findings of one rule and severity about one host past the first
/// [`KEPT_PER_RULE`]: what each was about.
#[derive(Debug, Clone, PartialEq)]
pub struct More {
    /// The rule.
    pub rule: Rule,
    /// The host.
    pub host: Host,
    /// Their severity (a rule whose findings differ in severity has an entry
    /// for each, so that an error is never counted as a warning).
    pub severity: Severity,
    /// Each finding's subject, in the order found.
    pub subjects: Vec<Subject>,
}

/// Findings as a run makes them: the first [`KEPT_PER_RULE`] of each rule
/// and severity about a host are kept whole, the rest go into [`More`] as
/// they come (the realserver rules judged per service, which make the most,
/// hand them over one by one, so that a run never holds them all).
#[derive(Debug, Default)]
pub struct Gather {
    findings: Vec<Finding>,
    more: Vec<More>,
    kept: std::collections::HashMap<(Rule, Host, Severity), usize>,
}

impl Gather {
    /// Take one finding.
    pub fn add(&mut self, f: Finding) {
        let kept = self.kept.entry((f.rule, f.host, f.severity)).or_default();
        if *kept < KEPT_PER_RULE {
            *kept += 1;
            self.findings.push(f);
            return;
        }
        put_more(&mut self.more, More { rule: f.rule, host: f.host, severity: f.severity, subjects: vec![f.subject] });
    }

    /// The findings kept whole, and the rest.
    pub fn finish(self) -> (Vec<Finding>, Vec<More>) {
        (self.findings, self.more)
    }
}

/// Add `m` to the entry of its rule, host and severity in `more`, or as a new one.
fn put_more(more: &mut Vec<More>, m: More) {
    match more.iter_mut().find(|x| (x.rule, x.host, x.severity) == (m.rule, m.host, m.severity)) {
        Some(x) => x.subjects.extend(m.subjects),
        None => more.push(m),
    }
}

impl More {
    /// The first subjects, as the report words them, and how many follow.
    pub fn summary(&self, first: usize) -> String {
        let shown: Vec<String> = self.subjects.iter().take(first).map(ToString::to_string).collect();
        let rest = self.subjects.len().saturating_sub(first);
        let tail = if rest > 0 { format!(" and {rest} more") } else { String::new() };
        format!("{} more {} findings about: {}{tail}", self.subjects.len(), self.rule.id(), shown.join(", "))
    }
}

impl Extend<Finding> for Gather {
    fn extend<I: IntoIterator<Item = Finding>>(&mut self, iter: I) {
        for f in iter {
            self.add(f);
        }
    }
}

/// The result of a run of the checks.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CheckReport {
    /// Findings, worst first: at most [`KEPT_PER_RULE`] of a rule about a host.
    pub findings: Vec<Finding>,
    /// The findings past those, by rule and host (worst first).
    pub more: Vec<More>,
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
            || self.more.iter().any(|m| m.severity == Severity::Error)
    }

    /// How many findings the run made: those kept whole and the rest.
    pub fn count(&self) -> usize {
        self.findings.len() + self.more.iter().map(|m| m.subjects.len()).sum::<usize>()
    }

    /// Add `found` as a run makes them ([`Gather`]) to what the report holds.
    pub fn add_all(&mut self, found: impl IntoIterator<Item = Finding>) {
        let mut g = Gather::default();
        g.extend(std::mem::take(&mut self.findings));
        g.extend(found);
        let (findings, more) = g.finish();
        self.findings = findings;
        self.merge_more(more);
    }

    /// Add findings already gathered, counted again with those the report
    /// holds (a realserver named twice is read twice).
    pub fn add_gathered(&mut self, (findings, more): (Vec<Finding>, Vec<More>)) {
        self.add_all(findings);
        self.merge_more(more);
    }

    fn merge_more(&mut self, more: Vec<More>) {
        for m in more {
            put_more(&mut self.more, m);
        }
    }

    /// What went unchecked although the operator did not ask for it: checks
    /// that could not run, and realservers that could not be read or answered
    /// nonsense (`lvstop check --strict` fails on any).
    pub fn gaps(&self) -> usize {
        let unread = self.findings.iter().filter(|f| f.rule.is_unread_host()).count()
            + self.more.iter().filter(|m| m.rule.is_unread_host()).map(|m| m.subjects.len()).sum::<usize>();
        self.skipped.len().saturating_sub(self.skipped_on_request) + unread
    }

    /// Sort worst first, then by id and subject (as the report words them);
    /// findings alike in all three keep their order.
    pub fn sort(&mut self) {
        self.findings.sort_by_cached_key(|f| (std::cmp::Reverse(f.severity), f.rule.id(), f.subject.to_string()));
        self.more.sort_by_key(|m| (std::cmp::Reverse(m.severity), m.rule.id(), m.host));
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
