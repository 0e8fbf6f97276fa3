//! The long explanation of every check rule, for `lvstop check --explain RULE`
//! (and the README's list of rules, tested to match): what the rule means on
//! LVS-DR, why it breaks traffic, and how to fix it.

mod director;
mod pair;
mod realserver;

use super::Severity;

/// One rule's documentation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RuleDoc {
    /// Rule id, as findings carry it (`D-FWD-ON`).
    pub id: &'static str,
    /// One line saying what the rule flags.
    pub title: &'static str,
    /// The severity the rule usually reports (the higher one where it can report two; the
    /// explanation says when it is lower).
    pub severity: Severity,
    /// Three paragraphs, `What:`, `Why:` and `Fix:`, wrapped at 100 columns.
    pub explain: &'static str,
}

/// Every rule's documentation, in report order (director rules, pair rules, then realserver rules).
pub fn docs() -> impl Iterator<Item = &'static RuleDoc> {
    director::DOCS.iter().chain(pair::DOCS).chain(realserver::DOCS)
}

/// The documentation of the rule with id `id`.
pub fn doc(id: &str) -> Option<&'static RuleDoc> {
    docs().find(|d| d.id == id)
}

impl RuleDoc {
    /// The text `lvstop check --explain` prints.
    pub fn render(&self) -> String {
        format!("{} ({}): {}\n\n{}\n", self.id, self.severity.label(), self.title, self.explain)
    }
}

#[cfg(test)]
mod tests;
