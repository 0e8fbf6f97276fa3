//! The pair view (see [`crate::app::pair`]): the pair rules' findings, each
//! director's sync daemons and connections, which director holds each VIP,
//! then the services and realservers side by side, differences marked.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::popups::{centered, popup};
use super::theme::{Slot, Theme};
use crate::app::pair::{Mark, PairRead};
use crate::app::AppState;
use crate::config::Action;

/// The lines above the table: findings, sync, VIP holders.
fn head<'a>(
    left: &str,
    peer: &str,
    read: &PairRead,
    findings: &[crate::checks::Finding],
    theme: &Theme,
) -> Vec<Line<'a>> {
    use crate::checks::pair::{conns, daemons};
    let clean = |s: &str| crate::text::sanitize(s);
    let mut lines = Vec::new();
    if findings.is_empty() {
        lines.push(Line::from(Span::styled("the pair rules find nothing wrong", theme.slot(Slot::Ok))));
    }
    for f in findings {
        lines.push(Line::from(vec![
            Span::styled(format!("{} ", f.rule.id()), theme.slot(super::checks::severity_slot(f.severity))),
            Span::raw(clean(&f.message)),
        ]));
        lines.push(Line::from(Span::styled(clean(&format!("    {}", f.evidence)), theme.slot(Slot::Dim))));
    }
    let sync = |name: &str, s: &crate::model::Snapshot| format!("{name}: {}, {} connections", daemons(s), conns(s));
    lines.push(Line::from(Span::raw(clean(&format!(
        "sync: {} · {}",
        sync(left, &read.local.snapshot),
        sync(peer, &read.peer.snapshot)
    )))));
    let mut vips: Vec<_> = read.local.snapshot.vips().into_iter().chain(read.peer.snapshot.vips()).collect();
    vips.sort();
    vips.dedup();
    let holders = |vip| {
        let held =
            |a: &Option<Vec<crate::remote::director::HeldAddr>>| a.as_ref().map(|v| v.iter().any(|h| h.addr == vip));
        match (held(&read.local.addresses), held(&read.peer.addresses)) {
            (Some(true), Some(false)) => left.to_string(),
            (Some(false), Some(true)) => peer.to_string(),
            (Some(true), Some(true)) => "BOTH".to_string(),
            (Some(false), Some(false)) => "NONE".to_string(),
            _ => "?".to_string(),
        }
    };
    if !vips.is_empty() {
        let list = vips.iter().map(|v| format!("{v} on {}", holders(*v))).collect::<Vec<_>>().join(" · ");
        lines.push(Line::from(Span::raw(clean(&format!("VIPs: {list}")))));
    }
    lines
}

/// Draw the view over `area`.
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let v = &state.pair;
    let peer = v.peer.clone().unwrap_or_default();
    let left = crate::text::sanitize(crate::app::pair::left_name(v));
    let mut lines = Vec::new();
    if let Some(e) = &v.error {
        lines.push(Line::from(Span::styled(crate::text::sanitize(e), theme.slot(Slot::Error))));
    }
    match &v.read {
        None if v.error.is_none() => {
            lines.push(Line::from(Span::styled(
                format!("reading {left} and {}…", crate::text::sanitize(&peer)),
                theme.slot(Slot::Dim),
            )));
        }
        None => {}
        Some(read) => {
            if let Some(at) = v.read_at {
                let age = state.now.saturating_duration_since(at).as_secs_f64();
                lines.push(Line::from(Span::styled(format!("read {age:.1} s ago"), theme.slot(Slot::Dim))));
            }
            lines.extend(head(&left, &peer, read, &v.findings, theme));
            lines.push(Line::from(""));
            // The name column, then the two directors' columns, as wide as the view allows.
            let n = if area.width >= 120 { 34 } else { 24 };
            let w = (usize::from(area.width.saturating_sub(8)).saturating_sub(n) / 2).clamp(12, 40);
            lines.push(Line::from(Span::styled(
                format!(
                    "  {:<n$} {:<w$} {:<w$} {}",
                    "Service / -> realserver",
                    left,
                    crate::text::sanitize(&peer),
                    "differs"
                ),
                theme.slot(Slot::Header),
            )));
            let all = &v.rows;
            let body = usize::from(area.height.saturating_sub(2 + lines.len() as u16 + 1));
            let from = usize::from(v.scroll).min(all.len());
            for r in all.iter().skip(from).take(body) {
                let name = if r.realserver { format!("  -> {}", r.name) } else { r.name.clone() };
                let side = |s: &Option<String>| s.clone().unwrap_or_else(|| "—".into());
                // A sign in the first column, so that a narrow view still shows each difference.
                let (sign, mark, slot) = match r.mark {
                    Mark::Same => (" ", String::new(), Slot::Base),
                    Mark::LocalOnly => ("<", format!("only on {left}"), Slot::Warning),
                    Mark::PeerOnly => (">", format!("only on {peer}"), Slot::Warning),
                    Mark::Differs => ("≠", r.what.clone(), Slot::Warning),
                };
                let text = format!("{name:<n$} {:<w$} {:<w$} ", side(&r.local), side(&r.peer));
                lines.push(Line::from(vec![
                    Span::styled(format!("{sign} "), theme.slot(slot)),
                    Span::raw(crate::text::sanitize(&text)),
                    Span::styled(crate::text::sanitize(&mark), theme.slot(slot)),
                ]));
            }
            let below = all.len() - from - all.len().saturating_sub(from).min(body);
            if below > 0 {
                lines.push(Line::from(Span::styled(format!("… {below} more"), theme.slot(Slot::Dim))));
            }
        }
    }
    let keys = &state.settings.keys;
    let footer = format!(
        " {}{} scroll · {} reads again · other keys close ",
        keys.label(Action::Up),
        keys.label(Action::Down),
        keys.label(Action::Pair)
    );
    let title = match &v.left {
        None => format!("This director beside {}", crate::text::sanitize(&peer)),
        Some(_) => format!("{left} beside {}", crate::text::sanitize(&peer)),
    };
    let height = (lines.len() as u16).saturating_add(2).min(area.height);
    let r = centered(area, area.width.saturating_sub(4), height);
    f.render_widget(Clear, r);
    let block = popup(&title, theme).title_bottom(Span::styled(footer, theme.slot(Slot::Dim)));
    f.render_widget(Paragraph::new(lines).block(block), r);
}
