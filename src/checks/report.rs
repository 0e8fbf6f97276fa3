//! A report as text (for people) and as JSON (for tools).

use std::fmt::Write as _;
use std::net::IpAddr;

use serde::Serialize;

use super::{CheckReport, Evidence, Finding, Rule, Severity, Subject};

/// The text form of a report.
pub fn report_text(r: &CheckReport) -> String {
    let mut out = String::new();
    if r.findings.is_empty() {
        out.push_str("no findings\n");
    }
    for f in &r.findings {
        let _ = writeln!(out, "{:<7} {:<16} {}: {}", f.severity.label().to_uppercase(), f.rule.id(), f.host, f.message);
        let _ = writeln!(out, "        read: {} = {}", f.subject, f.evidence);
        let _ = writeln!(out, "        fix:  {}", f.fix);
    }
    for s in &r.skipped {
        let _ = writeln!(out, "skipped: {s}");
    }
    // Names come from the kernel and from realservers: nothing reaches a terminal raw.
    out.lines().map(|l| crate::text::sanitize(l) + "\n").collect()
}

/// The version of the JSON report's shape. 3: D-HANDSHAKE's evidence is
/// `stuck`, `syn_recv`, `total`, `peers` (was `established`, `before`,
/// `after`, `syn_recv`); D-DRAIN's has `templates`.
const SCHEMA: u32 = 3;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    findings: Vec<JsonFinding<'a>>,
    skipped: &'a [String],
    /// What went unchecked although not asked for ([`CheckReport::gaps`]).
    unchecked: usize,
}

/// A finding in JSON: the texts of the text report, and the data they come from.
#[derive(Serialize)]
struct JsonFinding<'a> {
    id: Rule,
    severity: Severity,
    host: String,
    host_address: Option<IpAddr>,
    subject: &'a Subject,
    subject_text: String,
    value: String,
    evidence: &'a Evidence,
    message: &'a str,
    fix: String,
}

impl<'a> From<&'a Finding> for JsonFinding<'a> {
    fn from(f: &'a Finding) -> Self {
        JsonFinding {
            id: f.rule,
            severity: f.severity,
            host: f.host.to_string(),
            host_address: f.host.address(),
            subject: &f.subject,
            subject_text: f.subject.to_string(),
            value: f.evidence.to_string(),
            evidence: &f.evidence,
            message: &f.message,
            fix: f.fix.to_string(),
        }
    }
}

/// The JSON form of a report (`lvstop check --json`): `{"schema": 3,
/// "findings": [...], "skipped": [...]}`, each finding with `id`, `severity`,
/// `host` (`director`, `realserver ADDR`), `host_address` (null for the
/// director), `subject` (an object with its `kind` and parts), `subject_text`,
/// `value` (the evidence as text), `evidence` (an object with its `kind`),
/// `message` and `fix` (text).
pub fn report_json(r: &CheckReport) -> String {
    let json = JsonReport {
        schema: SCHEMA,
        findings: r.findings.iter().map(JsonFinding::from).collect(),
        skipped: &r.skipped,
        unchecked: r.gaps(),
    };
    serde_json::to_string_pretty(&json).unwrap_or_else(|e| {
        format!("{{\"schema\": {SCHEMA}, \"error\": {:?}}}", format!("cannot encode the report: {e}"))
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn a_kernel_name_with_an_escape_is_shown_escaped() {
        use crate::checks::{Evidence, Finding, Fix, Host, Rule, Severity, Subject};
        let mut r = super::CheckReport::default();
        r.findings.push(Finding {
            rule: Rule::DRpfAsym,
            severity: Severity::Warning,
            host: Host::Director,
            subject: Subject::Interface("x\u{1b}[2J".into()),
            evidence: Evidence::Error { error: "\u{9b}31m".into() },
            message: "m".into(),
            fix: Fix::advice("f"),
        });
        let text = super::report_text(&r);
        assert!(!text.chars().any(|c| c.is_control() && c != '\n'), "{text:?}");
        assert!(text.contains("x\\x1b[2J") && text.contains("\\x9b31m"), "{text}");
    }

    use super::*;
    use crate::checks::{fix::Command, Fix, Host, Sysctl, SysctlReading};

    fn report() -> CheckReport {
        let rs: IpAddr = "198.51.100.13".parse().expect("ip");
        CheckReport {
            findings: vec![Finding {
                rule: Rule::RArpIgnore,
                severity: Severity::Error,
                host: Host::Realserver(rs),
                subject: Subject::Interface("eth0".into()),
                evidence: Evidence::Sysctl(SysctlReading::effective("eth0", "arp_ignore", 4)),
                message: "realserver 198.51.100.13 answers ARP for VIP 198.51.100.100 on eth0: the ARP problem".into(),
                fix: Fix::run(Command::sysctl([
                    (Sysctl::conf("all", "arp_ignore"), 1),
                    (Sysctl::conf("eth0", "arp_ignore"), 1),
                ])),
            }],
            skipped: vec!["realserver checks over ssh: skipped (--no-ssh)".into()],
            skipped_on_request: 0,
        }
    }

    #[test]
    fn the_text_report_reads_as_before() {
        assert_eq!(
            report_text(&report()),
            "ERROR   R-ARP-IGNORE     realserver 198.51.100.13: realserver 198.51.100.13 answers ARP for VIP 198.51.100.100 on eth0: the ARP problem
        read: interface eth0 = arp_ignore=4 (max of all and eth0)
        fix:  sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1
skipped: realserver checks over ssh: skipped (--no-ssh)
"
        );
        assert_eq!(report_text(&CheckReport::default()), "no findings\n");
    }

    #[test]
    fn the_json_report_has_the_texts_and_the_data() {
        let v: serde_json::Value = serde_json::from_str(&report_json(&report())).expect("json");
        assert_eq!(v["schema"], 3);
        assert_eq!(v["skipped"][0], "realserver checks over ssh: skipped (--no-ssh)");
        let f = &v["findings"][0];
        assert_eq!(f["id"], "R-ARP-IGNORE");
        assert_eq!(f["severity"], "error");
        assert_eq!(f["host"], "realserver 198.51.100.13");
        assert_eq!(f["host_address"], "198.51.100.13");
        assert_eq!(f["subject"], serde_json::json!({"kind": "interface", "interface": "eth0"}));
        assert_eq!(f["subject_text"], "interface eth0");
        assert_eq!(f["value"], "arp_ignore=4 (max of all and eth0)");
        assert_eq!(
            f["evidence"],
            serde_json::json!({"kind": "sysctl", "sysctl": "net.ipv4.conf.eth0.arp_ignore", "value": 4, "effective": true})
        );
        assert_eq!(f["fix"], "sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1");
        let mut director = report();
        director.findings[0].host = Host::Director;
        let v: serde_json::Value = serde_json::from_str(&report_json(&director)).expect("json");
        assert_eq!(
            (v["findings"][0]["host"].as_str(), v["findings"][0]["host_address"].is_null()),
            (Some("director"), true)
        );
    }
}
