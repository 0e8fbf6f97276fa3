//! The checks view: every finding of the last report, scrollable. Its height
//! in wrapped rows ([`rows`]) is what `update` bounds the scroll by, so that
//! drawing only reads the state.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::popups::{centered, popup};
use super::theme::{Slot, Theme};
use crate::app::AppState;
use crate::checks::{CheckReport, Severity};
use crate::config::Action;

/// How a severity is shown.
pub(super) fn severity_slot(severity: Severity) -> Slot {
    match severity {
        Severity::Error => Slot::Error,
        Severity::Warning => Slot::Warning,
        Severity::Info => Slot::Dim,
    }
}

fn lines<'a>(report: Option<&CheckReport>, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let Some(r) = report else {
        lines.push(Line::from(Span::styled("running the checks…", theme.slot(Slot::Dim))));
        return lines;
    };
    if r.findings.is_empty() {
        lines.push(Line::from(Span::styled("no findings", theme.slot(Slot::Ok))));
    }
    for fd in &r.findings {
        let slot = severity_slot(fd.severity);
        lines.push(Line::from(vec![
            Span::styled(format!("{:<8}", fd.severity.label()), theme.slot(slot)),
            Span::styled(format!("{:<17}", fd.rule.id()), theme.slot(Slot::HelpKey)),
            Span::raw(crate::text::sanitize(&format!("{}: {}", fd.host, fd.message))),
        ]));
        lines.push(Line::from(Span::styled(
            crate::text::sanitize(&format!("{:>25}read {} = {}", "", fd.subject, fd.evidence)),
            theme.slot(Slot::Dim),
        )));
        let fix = crate::text::sanitize(&format!("{:>25}fix  {}", "", fd.fix));
        lines.push(Line::from(Span::styled(fix, theme.slot(Slot::Dim))));
    }
    for m in &r.more {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<8}", m.severity.label()), theme.slot(severity_slot(m.severity))),
            Span::styled(format!("{:<17}", m.rule.id()), theme.slot(Slot::HelpKey)),
            Span::raw(crate::text::sanitize(&format!("{}: {}", m.host, m.summary(3)))),
        ]));
        lines.push(Line::from(Span::styled(
            format!("{:>25}lvstop check --json lists every one", ""),
            theme.slot(Slot::Dim),
        )));
    }
    for s in &r.skipped {
        lines.push(Line::from(Span::styled(crate::text::sanitize(&format!("skipped: {s}")), theme.slot(Slot::Dim))));
    }
    lines
}

/// The view's text width inside its borders on a terminal `width` columns wide.
fn text_width(width: u16) -> u16 {
    width.saturating_sub(4).saturating_sub(2)
}

/// How many rows the report takes, wrapped, on a terminal `width` columns wide.
pub fn rows(report: Option<&CheckReport>, width: u16) -> u16 {
    let para = Paragraph::new(lines(report, &Theme::no_color())).wrap(Wrap { trim: false });
    u16::try_from(para.line_count(text_width(width))).unwrap_or(u16::MAX)
}

/// Draw the checks view over `area`.
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let report = state.checks.report.as_ref();
    let para = Paragraph::new(lines(report, theme)).wrap(Wrap { trim: false });
    // Wrapped rows inside the borders; scrolling stops when the last one is at the bottom.
    let rows = u16::try_from(para.line_count(text_width(area.width))).unwrap_or(u16::MAX);
    let r = centered(area, area.width.saturating_sub(4), rows.saturating_add(2).min(area.height));
    let max = rows.saturating_sub(r.height.saturating_sub(2));
    let scroll = state.checks.scroll.min(max);
    let keys = &state.settings.keys;
    let more = if max > 0 {
        let [up, down, page_up, page_down] =
            [Action::Up, Action::Down, Action::PageUp, Action::PageDown].map(|a| keys.label(a));
        format!(" {}/{} {up}{down} {page_up} {page_down} ·", scroll.saturating_add(1), max.saturating_add(1))
    } else {
        String::new()
    };
    let again = keys.label(Action::Checks);
    let footer = Span::styled(format!("{more} {again} runs again · other keys close "), theme.slot(Slot::Dim));
    f.render_widget(Clear, r);
    f.render_widget(para.scroll((scroll, 0)).block(popup("LVS-DR checks", theme).title_bottom(footer)), r);
}
