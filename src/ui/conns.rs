//! The connections view (see [`crate::app::conns`]): counts by state, when
//! the last connection and the last persistence template expire (on a
//! drained realserver: whether it is safe to remove), and the entries.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Clear, Paragraph};
use ratatui::Frame;

use super::popups::{centered, popup};
use super::theme::{Slot, Theme};
use crate::app::conns::ConnScope;
use crate::app::AppState;
use crate::config::Action;
use crate::model::{fmt_mmss as mmss, ConnSummary};

/// The lines above the entries.
fn head<'a>(state: &AppState, s: &ConnSummary, theme: &Theme) -> Vec<Line<'a>> {
    let mut lines = Vec::new();
    let conns: u64 = s.by_state.values().sum();
    let states = s.by_state.iter().map(|(k, n)| format!("{k} {n}")).collect::<Vec<_>>().join(" · ");
    let mut counts = format!("{conns} {}", if conns == 1 { "connection" } else { "connections" });
    if !states.is_empty() {
        counts.push_str(&format!(" ({states})"));
    }
    let plural = |n: u64, one: &str, many: &str| format!("{n} {}", if n == 1 { one } else { many });
    counts.push_str(&format!(
        " · {} · {} read",
        plural(s.templates, "persistence template", "persistence templates"),
        plural(s.read, "entry", "entries")
    ));
    lines.push(Line::from(Span::raw(crate::text::sanitize(&counts))));
    let drained = match &state.conns.scope {
        Some(ConnScope::Realserver(k, rs)) => state
            .table
            .snapshot()
            .and_then(|snap| snap.service(k))
            .and_then(|svc| svc.destinations.iter().find(|d| d.spec.addr == rs.ip() && d.spec.port == rs.port()))
            .is_some_and(|d| d.spec.weight == 0),
        _ => false,
    };
    let parts: Vec<String> = [
        s.last_conn_secs.map(|t| format!("last connection expires in {}", mmss(t))),
        s.last_template_secs.map(|t| format!("last template in {}", mmss(t))),
    ]
    .into_iter()
    .flatten()
    .collect();
    if drained && s.matched() == 0 && state.conns.client.is_none() {
        lines.push(Line::from(Span::styled(
            "drained, and no connection or persistence template left: safe to remove",
            theme.slot(Slot::Ok),
        )));
    } else if drained {
        let n = distinct_clients(s);
        let mut text = format!("drained: {n} {} still here", if n == 1 { "client" } else { "clients" });
        if !parts.is_empty() {
            text.push_str(&format!("; {}", parts.join(", ")));
        }
        lines.push(Line::from(Span::styled(text, theme.slot(Slot::Warning))));
        if s.templates > 0 {
            lines.push(Line::from(Span::styled(
                "a client with a template is sent here for its new connections too, until the template expires",
                theme.slot(Slot::Dim),
            )));
        }
    } else if !parts.is_empty() {
        lines.push(Line::from(Span::styled(parts.join(", "), theme.slot(Slot::Dim))));
    }
    lines
}

/// How many clients the entries kept name.
fn distinct_clients(s: &ConnSummary) -> usize {
    let mut ips: Vec<_> = s.entries.iter().map(|e| e.client.ip()).collect();
    ips.sort_unstable();
    ips.dedup();
    ips.len()
}

fn entry_line<'a>(e: &crate::model::ConnEntry, theme: &Theme) -> Line<'a> {
    let virt = match e.fwmark {
        Some(m) => format!("fwmark {m}"),
        None => e.virtual_addr.to_string(),
    };
    let text = format!(
        "{:<4} {:>6} {:<11} {:<24} {:<24} {:<24}",
        e.protocol,
        mmss(e.expires_secs),
        e.state,
        e.client.to_string(),
        virt,
        e.realserver.to_string()
    );
    let mut spans = vec![Span::raw(crate::text::sanitize(&text))];
    if e.template {
        spans.push(Span::styled(" template", theme.slot(Slot::Dim)));
    }
    if let (Some(n), Some(d)) = (&e.pe_name, &e.pe_data) {
        spans.push(Span::styled(crate::text::sanitize(&format!(" {n} {d}")), theme.slot(Slot::Dim)));
    }
    Line::from(spans)
}

/// Draw the view over `area`.
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let v = &state.conns;
    let mut title = v.scope.as_ref().map(ConnScope::title).unwrap_or_default();
    if let Some(c) = v.client {
        title.push_str(&format!(", clients {c}"));
    }
    let mut lines = Vec::new();
    match (&v.summary, &v.error) {
        (_, Some(e)) => lines.push(Line::from(Span::styled(crate::text::sanitize(e), theme.slot(Slot::Error)))),
        (None, None) => lines.push(Line::from(Span::styled("reading /proc/net/ip_vs_conn…", theme.slot(Slot::Dim)))),
        (Some(s), None) => {
            lines.extend(head(state, s, theme));
            lines.push(Line::from(""));
            lines.push(Line::from(Span::styled(
                format!(
                    "{:<4} {:>6} {:<11} {:<24} {:<24} {:<24}",
                    "Pro", "Expire", "State", "Client", "Virtual", "Realserver"
                ),
                theme.slot(Slot::Header),
            )));
            let body = area.height.saturating_sub(2 + lines.len() as u16 + 1);
            let from = usize::from(v.scroll);
            lines.extend(s.entries.iter().skip(from).take(usize::from(body)).map(|e| entry_line(e, theme)));
            let shown = s.entries.len().saturating_sub(from).min(usize::from(body));
            let below = (s.entries.len() - from.min(s.entries.len()) - shown) as u64 + s.more;
            if below > 0 {
                lines.push(Line::from(Span::styled(format!("… {below} more"), theme.slot(Slot::Dim))));
            }
        }
    }
    let keys = &state.settings.keys;
    let footer = format!(
        " {} client filter · {}{} scroll · {} reads again · other keys close ",
        keys.label(Action::Filter),
        keys.label(Action::Up),
        keys.label(Action::Down),
        keys.label(Action::Connections)
    );
    let height = (lines.len() as u16).saturating_add(2).min(area.height);
    let r = centered(area, area.width.saturating_sub(4), height);
    f.render_widget(Clear, r);
    let block = popup(&crate::text::sanitize(&title), theme).title_bottom(Span::styled(footer, theme.slot(Slot::Dim)));
    f.render_widget(Paragraph::new(lines).block(block), r);
}
