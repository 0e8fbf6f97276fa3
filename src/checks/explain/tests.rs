//! The explanations are complete, well-formed and match the README.

use super::{docs, RuleDoc};

fn all() -> Vec<&'static RuleDoc> {
    docs().collect()
}

const LABELS: [&str; 3] = ["What:", "Why:", "Fix:"];

#[test]
fn ids_are_unique_and_well_formed() {
    let mut ids: Vec<&str> = all().iter().map(|d| d.id).collect();
    assert_eq!(ids.len(), 46);
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), all().len(), "duplicate rule ids");
    for d in all() {
        let (kind, rest) = d.id.split_at(2);
        assert!(matches!(kind, "D-" | "P-" | "R-"), "{}: must start with D-, P- or R-", d.id);
        assert!(
            !rest.is_empty() && rest.bytes().all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'-'),
            "{}: must match ^[DPR]-[A-Z0-9-]+$",
            d.id
        );
    }
}

#[test]
fn director_rules_come_first_then_pair_rules() {
    let kinds: Vec<&str> = all().iter().map(|d| &d.id[..2]).collect();
    let first_p = kinds.iter().position(|k| *k == "P-").expect("pair rules");
    let first_r = kinds.iter().position(|k| *k == "R-").expect("realserver rules");
    assert!(kinds[..first_p].iter().all(|k| *k == "D-"));
    assert!(kinds[first_p..first_r].iter().all(|k| *k == "P-"));
    assert!(kinds[first_r..].iter().all(|k| *k == "R-"));
}

#[test]
fn titles_are_short_single_lines() {
    for d in all() {
        assert!(!d.title.is_empty() && !d.title.contains('\n'), "{}: title", d.id);
        assert!(d.title.chars().count() < 70, "{}: title has {} chars", d.id, d.title.chars().count());
        assert_eq!(d.title.trim(), d.title, "{}: title has stray spaces", d.id);
    }
}

#[test]
fn explanations_have_three_labelled_parts() {
    for d in all() {
        let parts: Vec<&str> = d.explain.split("\n\n").collect();
        assert_eq!(parts.len(), 3, "{}: want 3 paragraphs, got {}", d.id, parts.len());
        for (part, label) in parts.iter().zip(LABELS) {
            let body = part.strip_prefix(label);
            assert!(body.is_some(), "{}: a part must start with {label}", d.id);
            assert!(body.is_some_and(|b| !b.trim().is_empty()), "{}: {label} is empty", d.id);
        }
        let lines = d.explain.lines().count();
        assert!((8..=24).contains(&lines), "{}: {lines} lines", d.id);
        for line in d.explain.lines() {
            assert!(line.chars().count() <= 100, "{}: line over 100 chars: {line}", d.id);
            assert_eq!(line.trim_end(), line, "{}: trailing space: {line}", d.id);
            assert!(!line.contains('\t'), "{}: tab: {line}", d.id);
        }
    }
}

#[test]
fn no_text_points_outside_the_project() {
    let outside = ["shared", "docs"].map(|w| format!("{w}/"));
    for d in all() {
        for text in [d.id, d.title, d.explain] {
            for o in &outside {
                assert!(!text.contains(o.as_str()), "{}: mentions {o}", d.id);
            }
        }
    }
}

#[test]
fn the_readme_lists_every_rule() {
    let readme = include_str!("../../../README.md");
    for d in all() {
        let row = format!("| `{}` | {} | {} |", d.id, d.severity.label(), d.title);
        assert!(readme.contains(&row), "README.md lacks the row {row}");
    }
}

#[test]
fn every_rule_has_exactly_one_explanation() {
    use crate::checks::Rule;
    for r in Rule::ALL {
        assert!(r.doc().is_some(), "{} has no explanation", r.id());
    }
    for d in all() {
        assert!(Rule::parse(d.id).is_some(), "{} is explained but is no rule", d.id);
    }
    assert_eq!(all().len(), Rule::ALL.len());
}
