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
    // The findings past a rule's limit follow the last one kept of their
    // rule, host and severity; any left (none kept) come last.
    let tell_more = |out: &mut String, m: &super::More| {
        let _ = writeln!(
            out,
            "{:<7} {:<16} {}: {}",
            m.severity.label().to_uppercase(),
            m.rule.id(),
            m.host,
            m.summary(SUBJECTS_SHOWN)
        );
        let _ = writeln!(out, "        (lvstop check --json lists every subject)");
    };
    let after: Vec<Option<usize>> = r
        .more
        .iter()
        .map(|m| r.findings.iter().rposition(|f| (f.rule, &f.host, f.severity) == (m.rule, &m.host, m.severity)))
        .collect();
    for (i, f) in r.findings.iter().enumerate() {
        let _ = writeln!(out, "{:<7} {:<16} {}: {}", f.severity.label().to_uppercase(), f.rule.id(), f.host, f.message);
        let _ = writeln!(out, "        read: {} = {}", f.subject, f.evidence);
        let _ = writeln!(out, "        fix:  {}", f.fix);
        for (m, _) in r.more.iter().zip(&after).filter(|(_, at)| **at == Some(i)) {
            tell_more(&mut out, m);
        }
    }
    for (m, _) in r.more.iter().zip(&after).filter(|(_, at)| at.is_none()) {
        tell_more(&mut out, m);
    }
    for s in &r.skipped {
        let _ = writeln!(out, "skipped: {s}");
    }
    // Names come from the kernel and from realservers: nothing reaches a terminal raw.
    out.lines().map(|l| crate::text::sanitize(l) + "\n").collect()
}

/// How many subjects of the findings past the limit the text names.
const SUBJECTS_SHOWN: usize = 6;

/// The version of the JSON report's shape. 4: `findings` holds at most
/// [`super::KEPT_PER_RULE`] of a rule about a host, `more` the rest. 3:
/// D-HANDSHAKE's evidence is `stuck`, `syn_recv`, `total`, `peers` (was
/// `established`, `before`, `after`, `syn_recv`); D-DRAIN's has `templates`.
const SCHEMA: u32 = 4;

#[derive(Serialize)]
struct JsonReport<'a> {
    schema: u32,
    findings: Vec<JsonFinding<'a>>,
    more: Vec<JsonMore<'a>>,
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

/// The findings of a rule about a host past those kept whole: each one's subject.
#[derive(Serialize)]
struct JsonMore<'a> {
    id: Rule,
    severity: Severity,
    host: String,
    host_address: Option<IpAddr>,
    count: usize,
    subjects: &'a [Subject],
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

/// The JSON form of a report (`lvstop check --json`): `{"schema": 4,
/// "findings": [...], "more": [...], "skipped": [...]}`, each finding with `id`, `severity`,
/// `host` (`director`, `realserver ADDR`), `host_address` (null for the
/// director), `subject` (an object with its `kind` and parts), `subject_text`,
/// `value` (the evidence as text), `evidence` (an object with its `kind`),
/// `message` and `fix` (text).
pub fn report_json(r: &CheckReport) -> String {
    let json = JsonReport {
        schema: SCHEMA,
        findings: r.findings.iter().map(JsonFinding::from).collect(),
        more: r
            .more
            .iter()
            .map(|m| JsonMore {
                id: m.rule,
                severity: m.severity,
                host: m.host.to_string(),
                host_address: m.host.address(),
                count: m.subjects.len(),
                subjects: &m.subjects,
            })
            .collect(),
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
            more: Vec::new(),
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
        assert_eq!(v["schema"], 4);
        assert_eq!(v["more"], serde_json::json!([]));
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

    /// R-LISTEN about `n` services on `rs` (ports 1..=n), one finding each.
    fn listen(rs: &str, n: u16) -> Vec<Finding> {
        let rs: IpAddr = rs.parse().expect("ip");
        let vip: IpAddr = "203.0.113.1".parse().expect("ip");
        (1..=n)
            .map(|port| Finding {
                rule: Rule::RListen,
                severity: Severity::Error,
                host: Host::Realserver(rs),
                subject: Subject::Service(crate::model::ServiceKey::tcp(vip, port)),
                evidence: Evidence::NoListener { protocol: crate::model::Protocol::Tcp, address: vip, port },
                message: format!("nothing listens on VIP 203.0.113.1 port {port}"),
                fix: Fix::advice("bind the service to the VIP or to 0.0.0.0"),
            })
            .collect()
    }

    #[test]
    fn a_rule_keeps_its_first_findings_about_a_host_and_the_subjects_of_the_rest() {
        let mut g = crate::checks::Gather::default();
        g.extend(listen("198.51.100.11", 25));
        g.extend(listen("198.51.100.12", 3));
        g.extend(report().findings);
        let mut r = CheckReport::default();
        r.add_gathered(g.finish());
        r.sort();
        // 20 of .11's, all 3 of .12's, the other rule's.
        assert_eq!(r.findings.len(), crate::checks::KEPT_PER_RULE + 3 + 1);
        assert_eq!((r.more.len(), r.count()), (1, 29));
        let m = &r.more[0];
        assert_eq!(
            (m.rule, m.host.to_string(), m.severity),
            (Rule::RListen, "realserver 198.51.100.11".into(), Severity::Error)
        );
        let ports: Vec<String> = m.subjects.iter().map(ToString::to_string).collect();
        assert_eq!(ports.first().map(String::as_str), Some("203.0.113.1:21"));
        assert_eq!(ports.len(), 5);
        assert!(r.has_errors());
        // Every service is still marked in the console.
        let marks = crate::checks::Markers::new(&r);
        let vip: IpAddr = "203.0.113.1".parse().expect("ip");
        assert!((1..=25).all(|p| marks.service(&crate::model::ServiceKey::tcp(vip, p)) == Some(Severity::Error)));
        // The text names the first few and the count; the JSON every subject.
        let text = report_text(&r);
        assert!(
            text.contains("ERROR   R-LISTEN         realserver 198.51.100.11: 5 more R-LISTEN findings about: 203.0.113.1:21, 203.0.113.1:22,"),
            "{text}"
        );
        assert_eq!(text.matches("R-LISTEN         realserver 198.51.100.11").count(), 21, "{text}");
        // The summary follows the last finding kept of its host.
        let heads: Vec<&str> = text.lines().filter(|l| !l.starts_with(' ')).collect();
        let summary = heads.iter().position(|l| l.contains(": 5 more R-LISTEN")).expect("summary");
        let last_kept = heads.iter().rposition(|l| l.contains("198.51.100.11: nothing listens")).expect("kept");
        assert_eq!(summary, last_kept + 1, "{text}");
        let v: serde_json::Value = serde_json::from_str(&report_json(&r)).expect("json");
        assert_eq!(v["more"][0]["count"], 5);
        assert_eq!(v["more"][0]["subjects"].as_array().map(Vec::len), Some(5));
        assert_eq!(v["more"][0]["subjects"][4]["kind"], "service");
        // Severities are counted apart: an error is never summed up as a warning.
        let mut g = crate::checks::Gather::default();
        g.extend(listen("198.51.100.11", 25));
        g.extend(listen("198.51.100.11", 22).into_iter().map(|f| Finding { severity: Severity::Warning, ..f }));
        let (kept, more) = g.finish();
        assert_eq!(kept.len(), 2 * crate::checks::KEPT_PER_RULE);
        let split: Vec<(Severity, usize)> = more.iter().map(|m| (m.severity, m.subjects.len())).collect();
        assert_eq!(split, vec![(Severity::Error, 5), (Severity::Warning, 2)]);
        // A host gathered twice (named by --realserver and in the table) is counted again.
        let mut r = CheckReport::default();
        for _ in 0..2 {
            let mut g = crate::checks::Gather::default();
            g.extend(listen("198.51.100.11", 15));
            r.add_gathered(g.finish());
        }
        assert_eq!((r.findings.len(), r.count()), (crate::checks::KEPT_PER_RULE, 30));
        // Adding a pair's findings later counts them with what is there.
        let mut r = CheckReport::default();
        r.add_all(listen("198.51.100.11", 15));
        r.add_all(listen("198.51.100.11", 15));
        assert_eq!((r.findings.len(), r.count()), (crate::checks::KEPT_PER_RULE, 30));
    }
}
