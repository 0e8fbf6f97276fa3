//! LVS-DR misconfiguration checks. Each finding has a rule id, a severity, the
//! value that was read, a message and the fix command. Rules are pure
//! functions of facts gathered elsewhere (sysctls, rtnetlink, the IPVS table),
//! so they are tested on fixtures and run against the real kernel in the VM.

pub mod director;
pub mod facts;

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
