//! The director panel: each interface's packets/s against its limit, as a
//! gauge coloured by the thresholds, with its history; CPU and softirq in the title.

use ratatui::layout::{Constraint, Flex, Rect};
use ratatui::text::Span;
use ratatui::widgets::{Block, Cell, Row, Table};
use ratatui::Frame;

use super::format::{bytes, short, sparkline};
use super::theme::{Slot, Theme};
use crate::app::AppState;
use crate::sys::load::{Level, NicLoad};

fn level_slot(l: Level) -> Slot {
    match l {
        Level::Unknown => Slot::Dim,
        Level::Ok => Slot::Ok,
        Level::Warning => Slot::Warning,
        Level::Critical => Slot::Error,
    }
}

/// The load percentage that counts (practical limit first, else line rate).
pub fn percent(n: &NicLoad) -> Option<f64> {
    match (n.practical_percent, n.line_percent) {
        (Some(p), Some(l)) => Some(p.max(l)),
        (p, l) => p.or(l),
    }
}

fn gauge(n: &NicLoad, width: usize) -> String {
    match percent(n) {
        None => "limit unknown".to_string(),
        Some(p) => {
            let filled = ((p / 100.0 * width as f64).round() as usize).min(width);
            format!("{}{} {:>3.0}%", "█".repeat(filled), "░".repeat(width - filled), p)
        }
    }
}

fn limit(n: &NicLoad) -> String {
    match (n.practical_pps, n.line_rate_pps) {
        (Some(p), _) => format!("{} set", short(p)),
        (None, Some(l)) => format!("{} line", short(l)),
        (None, None) => "unknown".into(),
    }
}

fn role(n: &NicLoad) -> String {
    let mut r = Vec::new();
    if !n.vips.is_empty() {
        r.push("VIP");
    }
    if n.to_realservers {
        r.push("RS");
    }
    r.join(" ")
}

/// Draw the panel into `area`.
pub fn render(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let Some(load) = &state.nics.load else { return };
    let mut title = String::from(" Director");
    if let (Some(c), Some(s)) = (load.cpu_percent, load.softirq_percent) {
        title.push_str(&format!(" · CPU {c:.1}% · softirq {s:.1}%"));
    }
    title.push_str(" · packets/s against each interface's limit ");
    let wide = area.width >= 120;
    let gauge_w: usize = if wide { 14 } else { 8 };
    let rows: Vec<Row> = load
        .shown(state.settings.nic_policy.show_idle)
        .into_iter()
        .take(6)
        .map(|n| {
            let lvl = theme.slot(level_slot(n.level));
            let mut name = crate::text::sanitize(&n.name);
            if !n.up {
                name.push_str(" (down)");
            }
            let mut cells = vec![
                Cell::from(name),
                Cell::from(role(n)),
                Cell::from(short(n.rates.rx_pps.round() as u64)),
                Cell::from(short(n.rates.tx_pps.round() as u64)),
            ];
            if wide {
                cells.push(Cell::from(bytes(n.rates.rx_bps.round() as u64)));
                cells.push(Cell::from(bytes(n.rates.tx_bps.round() as u64)));
                let drops = n.rates.drops_ps + n.rates.errors_ps;
                cells.push(Cell::from(format!("{drops:.0}")).style(if drops > 0.0 {
                    theme.slot(Slot::Warning)
                } else {
                    theme.slot(Slot::Base)
                }));
            }
            cells.push(Cell::from(gauge(n, gauge_w)).style(lvl));
            if wide {
                let of = |pct: Option<f64>, lim: Option<u64>| match (pct, lim) {
                    (Some(p), Some(l)) => format!("{p:.0}% of {}", short(l)),
                    _ => "-".to_string(),
                };
                cells.push(Cell::from(match n.line_rate_pps {
                    Some(_) => of(n.line_percent, n.line_rate_pps),
                    None if n.practical_pps.is_none() => "limit unknown".into(),
                    None => "speed unknown".into(),
                }));
                cells.push(Cell::from(of(n.practical_percent, n.practical_pps)));
            } else {
                cells.push(Cell::from(limit(n)));
            }
            if wide {
                let hist = state
                    .nics
                    .history
                    .get(&n.name)
                    .map(|h| sparkline(h.iter().map(|v| v.round() as u64), 40))
                    .unwrap_or_default();
                cells.push(Cell::from(hist).style(lvl));
            }
            Row::new(cells)
        })
        .collect();
    let (header, widths): (Vec<&str>, Vec<Constraint>) = if wide {
        (
            vec![
                "Interface",
                "Role",
                "RX pps",
                "TX pps",
                "RX B/s",
                "TX B/s",
                "Drop+err",
                "Load",
                "Line rate",
                "Set limit",
                "PPS history",
            ],
            [14, 7, 8, 8, 8, 8, 8, 19, 14, 13]
                .iter()
                .map(|w| Constraint::Length(*w))
                .chain([Constraint::Min(4)])
                .collect(),
        )
    } else {
        (
            vec!["Interface", "Role", "RX pps", "TX pps", "Load", "Limit"],
            [12, 7, 7, 7, 13, 12].iter().map(|w| Constraint::Length(*w)).collect(),
        )
    };
    let block =
        Block::bordered().title(Span::styled(title, theme.slot(Slot::Title))).border_style(theme.slot(Slot::Border));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.slot(Slot::Header)))
        .block(block)
        .flex(Flex::Start);
    f.render_widget(table, area);
}
