//! Overlays, drawn last in z-order: the prompt line, forms, confirmations, help.

use ratatui::layout::Rect;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Clear, Paragraph, Wrap};
use ratatui::Frame;

use super::theme::{Slot, Theme};
use crate::app::form::Form;
use crate::app::{AppState, Layer, PromptKind};
use crate::config::{Action, Context, Keymap};

/// The most commands a confirmation lists; the rest are counted.
const CONFIRM_COMMANDS: usize = 6;

/// The most parts (`; `-separated) of a before/after a confirmation shows.
const CONFIRM_PARTS: usize = 2;

/// `text` (parts separated by `; `) cut to its first [`CONFIRM_PARTS`] parts
/// and a count of the rest.
fn abbreviate(text: &str) -> String {
    let parts: Vec<&str> = text.split("; ").collect();
    if parts.len() <= CONFIRM_PARTS + 1 {
        return text.to_string();
    }
    format!("{}; … and {} more", parts[..CONFIRM_PARTS].join("; "), parts.len() - CONFIRM_PARTS)
}

/// The height of a bordered box of `lines` lines (saturating: a batch of
/// 70,000 steps lists more lines than a u16 counts).
fn framed(lines: usize) -> u16 {
    u16::try_from(lines).unwrap_or(u16::MAX).saturating_add(2)
}

/// A `w`×`h` rectangle in the middle of `area` (clipped to it).
pub fn centered(area: Rect, w: u16, h: u16) -> Rect {
    let w = w.min(area.width);
    let h = h.min(area.height);
    Rect { x: area.x + (area.width - w) / 2, y: area.y + (area.height - h) / 2, width: w, height: h }
}

/// The frame of an overlay.
pub fn popup<'a>(title: &str, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(format!(" {title} "), theme.slot(Slot::TitleFocused)))
        .border_style(theme.slot(Slot::BorderFocused))
        .style(theme.slot(Slot::Base))
}

/// Draw the top overlay (only the top one takes keys; all are drawn in order).
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect, prompt_area: Rect) {
    for layer in &state.layers {
        match layer {
            Layer::Prompt { kind, text, error } => {
                let label = match kind {
                    PromptKind::Filter => "/",
                    PromptKind::Command => ":",
                    PromptKind::Weight(..) => "weight: ",
                    PromptKind::ConnClient => "client address or network: ",
                };
                let mut spans =
                    vec![Span::styled(label, theme.slot(Slot::HelpKey)), Span::raw(text.clone()), Span::raw("█")];
                if let Some(e) = error {
                    spans.push(Span::styled(format!("  {e}"), theme.slot(Slot::Error)));
                }
                f.render_widget(Paragraph::new(Line::from(spans)), prompt_area);
            }
            Layer::Form(form) => draw_form(form, &state.settings.keys, theme, f, area),
            Layer::Confirm { change, warning, peer, .. } => {
                // A batch of many steps is abbreviated, so that the keys stay on screen.
                let (before, after) = change.before_after();
                let (before, after) = (abbreviate(&before), abbreviate(&after));
                let mut lines = vec![
                    Line::from(Span::styled(change.describe(), theme.slot(Slot::Title))),
                    Line::from(""),
                    Line::from(vec![Span::styled("before  ", theme.slot(Slot::Dim)), Span::raw(before)]),
                    Line::from(vec![Span::styled("after   ", theme.slot(Slot::Dim)), Span::raw(after)]),
                    Line::from(""),
                    Line::from(Span::styled("equivalent:", theme.slot(Slot::Dim))),
                ];
                let commands = change.ipvsadm();
                lines.extend(commands.iter().take(CONFIRM_COMMANDS).map(|c| Line::from(format!("  {c}"))));
                if commands.len() > CONFIRM_COMMANDS {
                    let more = commands.len() - CONFIRM_COMMANDS;
                    lines.push(Line::from(Span::styled(format!("  … and {more} more"), theme.slot(Slot::Dim))));
                }
                if let Some(p) = peer {
                    let keys = &state.settings.keys;
                    lines.push(Line::from(""));
                    lines.push(Line::from(vec![
                        Span::styled(keys.label(Action::ConfirmBoth), theme.slot(Slot::HelpKey)),
                        Span::raw(crate::text::sanitize(&match &state.director {
                            None => format!(" applies it here and on director {} too:", p.name),
                            Some(d) => format!(" applies it on director {d} and on director {} too:", p.name),
                        })),
                    ]));
                    for (svc, _, after) in p.steps.iter().take(CONFIRM_COMMANDS) {
                        let cmd = format!("ipvsadm -e {}", crate::model::ipvsadm::dest_args(svc, after));
                        lines.push(Line::from(crate::text::sanitize(&format!("  on {}: {cmd}", p.name))));
                    }
                    if p.steps.len() > CONFIRM_COMMANDS {
                        let more = p.steps.len() - CONFIRM_COMMANDS;
                        lines.push(Line::from(Span::styled(format!("  … and {more} more"), theme.slot(Slot::Dim))));
                    }
                }
                if let Some(w) = warning {
                    lines.push(Line::from(""));
                    lines.push(Line::from(Span::styled(format!("⚠ {w}"), theme.slot(Slot::Warning))));
                }
                // The keys are in the bottom border: on screen however long the text.
                let keys = &state.settings.keys;
                let mut hint = vec![
                    Span::raw(" "),
                    Span::styled(keys.label(Action::ConfirmYes), theme.slot(Slot::HelpKey)),
                    Span::raw(" apply   "),
                ];
                if peer.is_some() {
                    hint.push(Span::styled(keys.label(Action::ConfirmBoth), theme.slot(Slot::HelpKey)));
                    hint.push(Span::raw(" apply on both   "));
                }
                hint.push(Span::styled(keys.label(Action::ConfirmNo), theme.slot(Slot::HelpKey)));
                hint.push(Span::raw(" cancel "));
                let hint = Line::from(hint);
                let text = Paragraph::new(lines).wrap(Wrap { trim: false });
                let width = 90.min(area.width);
                let height = framed(text.line_count(width.saturating_sub(2)));
                let r = centered(area, width, height);
                f.render_widget(Clear, r);
                f.render_widget(text.block(popup("Confirm", theme).title_bottom(hint)), r);
            }
            Layer::Help => draw_help(state, theme, f, area),
            Layer::Checks => super::checks::render(state, theme, f, area),
            Layer::Conns => super::conns::render(state, theme, f, area),
            Layer::Pair => super::pair::render(state, theme, f, area),
        }
    }
}

fn draw_form(form: &Form, keys: &Keymap, theme: &Theme, f: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    for fld in &form.fields {
        let focused = fld.id == form.focus;
        let label = Span::styled(
            format!("{:>16} ", fld.label),
            if focused { theme.slot(Slot::HelpKey) } else { theme.slot(Slot::Dim) },
        );
        let mut value = fld.value.clone();
        if focused {
            value.push('█');
        }
        let vstyle = if fld.locked { theme.slot(Slot::Dim) } else { theme.slot(Slot::Base) };
        lines.push(Line::from(vec![label, Span::styled(value, vstyle)]));
        if focused {
            lines.push(Line::from(Span::styled(format!("{:>17}{}", "", fld.hint), theme.slot(Slot::Dim))));
        }
        if let Some((at, e)) = &form.error {
            if *at == fld.id {
                lines.push(Line::from(Span::styled(format!("{:>17}{e}", ""), theme.slot(Slot::Error))));
            }
        }
    }
    lines.push(Line::from(""));
    let first = if form.error.is_none() {
        format!("{} apply", keys.label(Action::Submit))
    } else {
        "fix the field in red".to_string()
    };
    lines.push(Line::from(Span::styled(
        format!(
            "{first} · {} cancel · {}/{} move",
            keys.label(Action::InputCancel),
            keys.label(Action::NextField),
            keys.label(Action::PrevField)
        ),
        theme.slot(Slot::Dim),
    )));
    let r = centered(area, 96, framed(lines.len()));
    f.render_widget(Clear, r);
    f.render_widget(Paragraph::new(lines).block(popup(&form.title(), theme)), r);
}

/// The help's width on a terminal `width` columns wide, and its text's width inside the borders.
fn help_width(width: u16) -> (u16, u16) {
    let w = width.min(110);
    (w, w.saturating_sub(2))
}

/// `text` in lines of at most `width` columns, broken between words (a
/// longer word keeps a line of its own). The descriptions are lvstop's own ASCII.
fn wrap_words(text: &str, width: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut line = String::new();
    for word in text.split(' ') {
        if !line.is_empty() && line.len() + 1 + word.len() > width {
            out.push(std::mem::take(&mut line));
        }
        if !line.is_empty() {
            line.push(' ');
        }
        line.push_str(word);
    }
    if !line.is_empty() {
        out.push(line);
    }
    out
}

/// The help's lines at `text_width` columns: each key of the main view with
/// what it does, a long description wrapped under itself.
fn help_lines<'a>(state: &AppState, theme: &Theme, text_width: u16) -> Vec<Line<'a>> {
    let bound: Vec<(Action, String)> = Action::ALL
        .iter()
        .filter(|a| a.context() == Context::Main)
        .filter_map(|a| {
            let keys = state.settings.keys.keys_of(*a);
            (!keys.is_empty()).then(|| (*a, keys.iter().map(ToString::to_string).collect::<Vec<_>>().join(" ")))
        })
        .collect();
    // The key column as wide as its widest entry, at most 24: a keymap that
    // binds more keys to one action lists them over several lines.
    let column = bound.iter().map(|(_, k)| k.chars().count()).max().unwrap_or(0).clamp(8, 24);
    let width = usize::from(text_width).saturating_sub(column + 2).max(1);
    let mut lines = Vec::new();
    for (a, k) in bound {
        let keys = wrap_words(&k, column);
        let text = wrap_words(a.description(), width);
        for i in 0..keys.len().max(text.len()) {
            let key = keys.get(i).map_or("", String::as_str);
            let head = format!("{key:>column$}  ");
            let part = text.get(i).cloned().unwrap_or_default();
            lines.push(Line::from(vec![Span::styled(head, theme.slot(Slot::HelpKey)), Span::raw(part)]));
        }
    }
    if !state.is_writable() {
        lines.push(Line::from(""));
        lines.push(Line::from(Span::styled("read-only: changing keys are not bound", theme.slot(Slot::Warning))));
    }
    lines
}

/// How far the help scrolls on a terminal of `viewport` (columns, rows): its
/// rows past what fits inside its borders.
pub fn help_scroll_max(state: &AppState, viewport: (u16, u16)) -> u16 {
    let rows = help_lines(state, &Theme::no_color(), help_width(viewport.0).1).len();
    u16::try_from(rows).unwrap_or(u16::MAX).saturating_sub(viewport.1.saturating_sub(2))
}

/// The help: wrapped to the terminal's width, and scrolled (with the movement
/// keys) when it is taller than the terminal, as on an 80×24 one.
fn draw_help(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let (width, text_width) = help_width(area.width);
    let lines = help_lines(state, theme, text_width);
    let rows = u16::try_from(lines.len()).unwrap_or(u16::MAX);
    let r = centered(area, width, rows.saturating_add(2));
    let max = rows.saturating_sub(r.height.saturating_sub(2));
    let scroll = state.help_scroll.min(max);
    let keys = &state.settings.keys;
    let footer = if max > 0 {
        let [up, down, page_up, page_down] =
            [Action::Up, Action::Down, Action::PageUp, Action::PageDown].map(|a| keys.label(a));
        format!(
            " {}/{} {up}{down} {page_up} {page_down} · other keys close ",
            scroll.saturating_add(1),
            max.saturating_add(1)
        )
    } else {
        " any key closes this help ".to_string()
    };
    f.render_widget(Clear, r);
    let block = popup("Help", theme).title_bottom(Span::styled(footer, theme.slot(Slot::Dim)));
    f.render_widget(Paragraph::new(lines).scroll((scroll, 0)).block(block), r);
}
