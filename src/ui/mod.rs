//! Rendering: a pure function of the state, which it reads and never writes.
//! Nothing here reads /proc, talks netlink or looks at the clock (`state.now`
//! is the time). One file per region: `rows` (the tables and the detail
//! pane), `nics` (the director panel), `popups` (prompt, forms, confirmation,
//! help) and `checks` (the checks view).
//!
//! ```text
//! ┌ READ-ONLY banner (only when read-only) ───────────────────────────┐
//! ┌ Services ─────────────────────────────────────────────────────────┐
//! │ table of services (only visible rows are built)                   │
//! ┌ Realservers of <service> ───────────────┐┌ Detail ────────────────┐
//! │ table of the selected service's RS      ││ every field (wide)     │
//! status line: host · IPVS version · age · RW/READ-ONLY · last action
//! overlays in z-order (the stack's order): prompt, form, confirm, help, checks
//! ```

mod checks;
mod conns;
pub mod format;
mod nics;
mod pair;
mod popups;
mod rows;
pub mod theme;

use ratatui::layout::{Constraint, Layout, Rect};
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Paragraph};
use ratatui::Frame;

pub use checks::rows as checks_rows;
pub use popups::help_scroll_max;
pub use theme::{Slot, Theme};

use crate::app::{AppState, Focus, Layer, Outcome};

/// Draw the whole console.
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame) {
    let area = f.area();
    if area.width < 30 || area.height < 8 {
        f.render_widget(Paragraph::new("lvstop: enlarge the terminal").style(theme.slot(Slot::Base)), area);
        return;
    }
    f.render_widget(Block::default().style(theme.slot(Slot::Base)), area);
    let banner = u16::from(state.settings.writable.is_err());
    let [top, nic_area, main, prompt, status] = Layout::vertical([
        Constraint::Length(banner),
        Constraint::Length(if area.height >= 20 { state.nic_panel_height() } else { 0 }),
        Constraint::Min(4),
        Constraint::Length(u16::from(matches!(state.layers.last(), Some(Layer::Prompt { .. })))),
        Constraint::Length(1),
    ])
    .areas(area);
    if let Err(why) = &state.settings.writable {
        f.render_widget(Paragraph::new(format!(" READ-ONLY: {why}")).style(theme.slot(Slot::ReadOnly)), top);
    }
    nics::render(state, theme, f, nic_area);
    // The services pane takes what its rows need, up to half; the realservers get the rest.
    let want = state.visible_services().len().min(usize::from(u16::MAX - 3)) as u16 + 3;
    let [svc_area, lower] =
        Layout::vertical([Constraint::Length(want.max(5).min((main.height / 2).max(1))), Constraint::Min(4)])
            .areas(main);
    rows::services(state, theme, f, svc_area);
    if lower.width >= 120 {
        let [dests, detail] = Layout::horizontal([Constraint::Min(70), Constraint::Length(40)]).areas(lower);
        rows::dests(state, theme, f, dests);
        rows::detail(state, theme, f, detail);
    } else if lower.height >= 18 {
        let [dests, detail] = Layout::vertical([Constraint::Min(6), Constraint::Length(8)]).areas(lower);
        rows::dests(state, theme, f, dests);
        rows::detail(state, theme, f, detail);
    } else {
        rows::dests(state, theme, f, lower);
    }
    status_line(state, theme, f, status);
    popups::render(state, theme, f, area, prompt);
}

fn status_line(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let base = theme.slot(Slot::StatusBar);
    // The director shown: this host's name, or another's as `[directors]` names it.
    let who = match &state.director {
        Some(d) => format!(" director {} (over ssh) ", crate::text::sanitize(d)),
        None => format!(" {} ", state.settings.host),
    };
    let mut spans = vec![Span::styled(who, base.patch(theme.slot(Slot::Title)))];
    let version = state
        .table
        .snapshot()
        .and_then(|s| s.info)
        .map_or_else(|| "IPVS ?".into(), |i| format!("IPVS {}", i.version()));
    spans.push(Span::styled(format!("│ {version} "), base));
    let age = match (state.table.at, &state.table.error) {
        (_, Some(e)) => Span::styled(format!("│ refresh failed: {e} "), base.patch(theme.slot(Slot::Error))),
        (Some(t), None) => {
            Span::styled(format!("│ {:.1}s ago ", state.now.saturating_duration_since(t).as_secs_f64()), base)
        }
        (None, None) => Span::styled("│ loading… ".to_string(), base),
    };
    spans.push(age);
    if let Some(took) = state.table.reads.slow {
        // Longer than the interval: the next refresh waits as long (see `refreshed`).
        spans.push(Span::styled(
            format!("│ refresh {:.1} s ", took.as_secs_f64()),
            base.patch(theme.slot(Slot::Warning)),
        ));
    }
    spans.push(match &state.settings.writable {
        Ok(()) => Span::styled("│ RW ".to_string(), base),
        Err(_) => Span::styled("│ READ-ONLY ".to_string(), base.patch(theme.slot(Slot::Warning))),
    });
    let focus = if state.sel.focus == Focus::Services { "services" } else { "realservers" };
    spans.push(Span::styled(
        format!("│ {focus} · sort {}{} ", state.table.sort().0.name(), if state.table.sort().1 { " ↑" } else { "" }),
        base,
    ));
    if !state.table.filter().is_empty() {
        spans
            .push(Span::styled(format!("│ filter '{}' ", state.table.filter()), base.patch(theme.slot(Slot::Warning))));
    }
    if let Some(n) = state.nics.load.as_ref().and_then(|l| l.worst()) {
        let pct = nics::percent(n).unwrap_or(0.0);
        let slot = if n.level == crate::sys::load::Level::Critical { Slot::Error } else { Slot::Warning };
        spans.push(Span::styled(
            format!("│ ⚠ {} at {pct:.0}% of its packet limit ", n.name),
            base.patch(theme.slot(slot)),
        ));
    }
    if let Some((text, outcome)) = &state.last_action {
        let (mark, slot) = match outcome {
            Outcome::Pending => ("…", Slot::StatusBar),
            Outcome::Ok => ("✓", Slot::Ok),
            Outcome::Failed(_) => ("✗", Slot::Error),
            Outcome::Info => ("·", Slot::StatusBar),
        };
        let detail = match outcome {
            Outcome::Failed(e) => format!("{text}: {e}"),
            _ => text.clone(),
        };
        spans.push(Span::styled(format!("│ {mark} {detail} "), base.patch(theme.slot(slot))));
    }
    spans.push(Span::styled("│ ? help ", base));
    f.render_widget(Paragraph::new(Line::from(spans)).style(base), area);
}
