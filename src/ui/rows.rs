//! The services table, the realservers table and the detail pane, with pure
//! row builders. Only the rows that fit are built.

use ratatui::layout::{Constraint, Rect};
use ratatui::style::Style;
use ratatui::text::{Line, Span};
use ratatui::widgets::{Block, Cell, Paragraph, Row, Table, TableState, Wrap};
use ratatui::Frame;

use super::format::{bytes, share, short, sparkline};
use super::theme::{Slot, Theme};
use crate::app::{AppState, Focus};
use crate::config::Action;
use crate::model::{Destination, ForwardMethod, Service};

fn block<'a>(title: String, focused: bool, theme: &Theme) -> Block<'a> {
    Block::bordered()
        .title(Span::styled(title, theme.slot(if focused { Slot::TitleFocused } else { Slot::Title })))
        .border_style(theme.slot(if focused { Slot::BorderFocused } else { Slot::Border }))
}

/// The window of `len` rows that fits `height` and keeps `sel` visible.
fn window(len: usize, sel: Option<usize>, height: usize) -> (usize, usize) {
    if height == 0 {
        return (0, 0);
    }
    let sel = sel.unwrap_or(0);
    let start = if sel >= height { sel + 1 - height } else { 0 };
    (start, (start + height).min(len))
}

fn svc_sched(s: &Service) -> String {
    crate::model::ipvsadm::service_options(&s.spec, crate::model::ipvsadm::OptionStyle::Short)
}

/// One services-table row.
pub fn service_row<'a>(state: &AppState, s: &Service, theme: &Theme, spark_w: usize, wide: bool) -> Row<'a> {
    let in_service = s.destinations.iter().filter(|d| d.spec.weight > 0).count();
    let mut name = s.spec.key.to_string();
    if state.table.managed.contains_key(&s.spec.key) {
        name.push_str(" ⚙");
    }
    let markers = &state.checks.markers;
    let vip = match s.spec.key {
        crate::model::ServiceKey::Addr { addr, .. } => markers.addr(addr),
        crate::model::ServiceKey::Fwmark { .. } => None,
    };
    let worst = [vip, markers.service(&s.spec.key)]
        .into_iter()
        .chain(s.destinations.iter().map(|d| markers.addr(d.spec.addr)))
        .flatten()
        .max();
    if worst.is_some_and(|w| w >= crate::checks::Severity::Warning) {
        name.push_str(" !");
    }
    let name_style = if state.is_flashing(&(s.spec.key, None)) { theme.slot(Slot::Changed) } else { Style::default() };
    let hist = state.table.history.get(&s.spec.key);
    let spark = hist.map(|h| sparkline(h.iter().copied(), spark_w)).unwrap_or_default();
    // A service whose realservers are not read yet (new, off screen) says so.
    let unread = state.table.reads.unread.contains(&s.spec.key);
    let from_dests = |v: String| if unread { "…".to_string() } else { v };
    let mut cells = vec![
        Cell::from(name).style(name_style),
        Cell::from(svc_sched(s)),
        Cell::from(from_dests(format!("{in_service}/{}", s.destinations.len()))),
        Cell::from(from_dests(short(s.active_conns()))),
        Cell::from(from_dests(short(s.inact_conns()))),
        Cell::from(short(s.rates.cps)),
        Cell::from(short(s.rates.inpps)),
    ];
    if wide {
        cells.push(Cell::from(bytes(s.rates.inbps)));
    }
    cells.push(Cell::from(spark).style(theme.slot(Slot::Sparkline)));
    Row::new(cells)
}

/// Draw the services table.
pub fn services(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let shown = state.visible_services().len();
    let total = state.table.total();
    let title =
        if shown == total { format!(" Services ({total}) ") } else { format!(" Services ({shown} of {total}) ") };
    let focused = state.sel.focus == Focus::Services;
    let wide = area.width >= 110;
    let sel = state.selected_service_pos();
    let (start, end) = window(shown, sel, area.height.saturating_sub(3) as usize);
    let fixed: u16 = if wide { 24 + 18 + 5 + 7 + 7 + 6 + 7 + 8 + 10 } else { 24 + 14 + 5 + 6 + 6 + 5 + 6 + 8 };
    let spark_w = area.width.saturating_sub(fixed).clamp(4, 60) as usize;
    let rows: Vec<Row> = state
        .visible_services()
        .skip(start)
        .take(end - start)
        .map(|s| service_row(state, s, theme, spark_w, wide))
        .collect();
    let mut header = vec!["Service", "Sched", "RS", "Active", "InAct", "CPS", "InPPS"];
    let mut widths = vec![
        Constraint::Length(24),
        Constraint::Length(if wide { 18 } else { 14 }),
        Constraint::Length(5),
        Constraint::Length(if wide { 7 } else { 6 }),
        Constraint::Length(if wide { 7 } else { 6 }),
        Constraint::Length(if wide { 6 } else { 5 }),
        Constraint::Length(if wide { 7 } else { 6 }),
    ];
    if wide {
        header.push("In B/s");
        widths.push(Constraint::Length(8));
    }
    header.push(match state.settings.spark {
        crate::config::SparkSource::Cps => "CPS history",
        crate::config::SparkSource::Pps => "PPS history",
    });
    widths.push(Constraint::Min(4));
    let table = Table::new(rows, widths)
        .header(Row::new(header).style(theme.slot(Slot::Header)))
        .block(block(title, focused, theme))
        .row_highlight_style(if focused { theme.slot(Slot::Selected) } else { Style::default() });
    let mut ts = TableState::default().with_selected(sel.map(|s| s - start));
    f.render_stateful_widget(table, area, &mut ts);
    if shown == 0 {
        let keys = &state.settings.keys;
        let msg = match (state.table.snapshot(), state.table.filter().is_empty()) {
            (None, _) => "waiting for the first snapshot…".to_string(),
            (Some(_), false) => format!(
                "no service matches the filter ({} in {} clears it)",
                keys.label(Action::InputCancel),
                keys.label(Action::Filter)
            ),
            (Some(_), true) => match keys.hint(Action::Add) {
                Some(add) => format!("no virtual service: press {add} to add one"),
                None => "no virtual service".to_string(),
            },
        };
        let inner = Rect {
            x: area.x + 2,
            y: area.y + 2,
            width: area.width.saturating_sub(4),
            height: 1.min(area.height.saturating_sub(3)),
        };
        f.render_widget(Paragraph::new(msg).style(theme.slot(Slot::Dim)), inner);
    }
}

fn state_text(d: &Destination, narrow: bool) -> String {
    let s = d.state();
    if d.spec.weight == 0 {
        return match (d.is_safe_to_remove(), narrow) {
            (true, false) => "drained: safe to remove".into(),
            (true, true) => "safe to remove".into(),
            (false, false) => format!("draining: {} active", d.active_conns),
            (false, true) => format!("draining ({})", d.active_conns),
        };
    }
    s.word().to_string()
}

/// One realservers-table row (`narrow` drops PersistConn, CPS and bytes/s).
pub fn dest_row<'a>(
    state: &AppState,
    svc: &Service,
    d: &Destination,
    theme: &Theme,
    share_w: usize,
    narrow: bool,
) -> Row<'a> {
    let flashing = state.is_flashing(&(svc.spec.key, Some(d.id())));
    let changed = |st: Style| {
        if flashing {
            theme.slot(Slot::Changed)
        } else {
            st
        }
    };
    // Saturating: counters near u64::MAX (a corrupt reply's) must not overflow the share's total.
    let total = |v: fn(&Destination) -> u64| svc.destinations.iter().map(v).fold(0u64, u64::saturating_add);
    let total_pps = total(|x| x.rates.inpps);
    let (part, total) =
        if total_pps > 0 { (d.rates.inpps, total_pps) } else { (d.stats.conns, total(|x| x.stats.conns)) };
    let fwd = match d.spec.tun_info() {
        Some(t) => format!("TUN {t}"),
        None => match d.spec.forward {
            ForwardMethod::Route => "DR".into(),
            ForwardMethod::Masq => "NAT".into(),
            other => other.name().to_string(),
        },
    };
    let mut rip = d.spec.addr_port();
    if state.checks.markers.addr(d.spec.addr).is_some_and(|w| w >= crate::checks::Severity::Warning) {
        rip.push_str(" !");
    }
    let mut cells = vec![
        Cell::from(rip),
        Cell::from(fwd),
        Cell::from(d.spec.weight.to_string()).style(changed(Style::default())),
        Cell::from(state_text(d, true)).style(changed(theme.state(d.state()))),
        Cell::from(short(u64::from(d.active_conns))),
        Cell::from(short(u64::from(d.inact_conns))),
    ];
    if !narrow {
        cells.push(Cell::from(short(u64::from(d.persist_conns))));
        cells.push(Cell::from(short(d.rates.cps)));
    }
    cells.push(Cell::from(short(d.rates.inpps)));
    if !narrow {
        cells.push(Cell::from(bytes(d.rates.inbps)));
    }
    cells.push(Cell::from(share(part, total, share_w)).style(theme.slot(Slot::ShareBar)));
    Row::new(cells)
}

/// Draw the selected service's realservers.
pub fn dests(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let focused = state.sel.focus == Focus::Dests;
    let Some(svc) = state.selected_service() else {
        f.render_widget(block(" Realservers ".into(), focused, theme), area);
        return;
    };
    let mut title = format!(" Realservers of {} ", svc.spec.key);
    if let Some(m) = state.table.managed.get(&svc.spec.key) {
        title.push_str(&format!("· managed by {} ", m.by));
    }
    let sel = state.selected_dest_pos();
    let (start, end) = window(state.visible_dests().len(), sel, area.height.saturating_sub(3) as usize);
    let narrow = area.width < 110;
    let (widths, header): (Vec<Constraint>, Vec<&str>) = if narrow {
        (
            [20, 4, 6, 14, 6, 6, 6].iter().map(|w| Constraint::Length(*w)).collect(),
            vec!["Realserver", "Fwd", "Weight", "State", "Active", "InAct", "PPS", "Share"],
        )
    } else {
        (
            [22, 10, 6, 15, 7, 7, 7, 6, 7, 8].iter().map(|w| Constraint::Length(*w)).collect(),
            vec!["Realserver", "Fwd", "Weight", "State", "Active", "InAct", "Persist", "CPS", "PPS", "B/s", "Share"],
        )
    };
    // Borders, fixed columns and one space between columns; the rest is the share bar and its percentage.
    let fixed: u16 = if narrow { 2 + 62 + 7 } else { 2 + 95 + 10 };
    let share_w = (area.width.saturating_sub(fixed + 5) as usize).clamp(1, 20);
    let mut rows: Vec<Row> = state
        .visible_dests()
        .skip(start)
        .take(end - start)
        .map(|d| dest_row(state, svc, d, theme, share_w, narrow))
        .collect();
    // Below the last realserver, where there is room: those the managing
    // daemon configures but the kernel's table lacks (a failed health check
    // removed them), "down (check)". Not selectable: there is nothing in the
    // kernel to act on.
    if end == state.visible_dests().len() {
        let room = usize::from(area.height.saturating_sub(3)).saturating_sub(end - start);
        rows.extend(down_rows(state, svc).into_iter().take(room).map(|rs| {
            Row::new(vec![
                Cell::from(rs.to_string()),
                Cell::from(""),
                Cell::from(""),
                Cell::from("down (check)").style(theme.slot(Slot::Error)),
            ])
        }));
    }
    let mut widths = widths;
    widths.push(Constraint::Length(share_w as u16 + 5));
    let table = Table::new(rows, widths)
        .flex(ratatui::layout::Flex::Start)
        .header(Row::new(header).style(theme.slot(Slot::Header)))
        .block(block(title, focused, theme))
        .row_highlight_style(if focused { theme.slot(Slot::Selected) } else { Style::default() });
    let mut ts = TableState::default().with_selected(sel.map(|s| s - start));
    f.render_stateful_widget(table, area, &mut ts);
}

/// The realservers a managing daemon configures for `svc` that its table lacks.
fn down_rows(state: &AppState, svc: &crate::model::Service) -> Vec<std::net::SocketAddr> {
    let Some(m) = state.table.managed.get(&svc.spec.key) else { return Vec::new() };
    m.realservers
        .iter()
        .filter(|rs| !svc.destinations.iter().any(|d| d.spec.addr == rs.ip() && d.spec.port == rs.port()))
        .copied()
        .collect()
}

fn kv<'a>(k: &str, v: String, theme: &Theme) -> Line<'a> {
    Line::from(vec![Span::styled(format!("{k:<15}"), theme.slot(Slot::Dim)), Span::raw(v)])
}

/// Draw every field of the selected row.
pub fn detail(state: &AppState, theme: &Theme, f: &mut Frame, area: Rect) {
    let mut lines = Vec::new();
    let svc = state.selected_service();
    let dest = if state.sel.focus == Focus::Dests { state.selected_dest() } else { None };
    let title = match (svc, dest) {
        (Some(s), Some(d)) => {
            let ds = &d.spec;
            lines.push(kv("forward", ds.forward.name().into(), theme));
            lines.push(kv("weight", ds.weight.to_string(), theme));
            lines.push(kv("state", state_text(d, false), theme));
            if let Some(w) = state.edits.drained.get(&(s.spec.key, ds.addr, ds.port)) {
                let restore = state.settings.keys.hint(Action::Restore).map(|k| format!(" ({k} restores)"));
                lines.push(kv("drained from", format!("weight {w}{}", restore.unwrap_or_default()), theme));
            }
            lines.push(kv("thresholds", format!("upper {} lower {}", ds.u_thresh, ds.l_thresh), theme));
            if let Some(t) = ds.tun_info() {
                lines.push(kv("tunnel", t, theme));
            }
            lines.push(kv(
                "connections",
                format!("{} active, {} inactive, {} persistent", d.active_conns, d.inact_conns, d.persist_conns),
                theme,
            ));
            push_totals(&mut lines, &d.stats, &d.rates, ds.forward.is_one_way(), theme);
            format!(" {} ", ds.addr_port())
        }
        (Some(s), None) => {
            let sp = &s.spec;
            lines.push(kv("scheduler", sp.scheduler.clone(), theme));
            let fl = sp.flags.sched_flag_names(&sp.scheduler);
            if !fl.is_empty() {
                lines.push(kv("sched flags", fl.join(","), theme));
            }
            lines.push(kv(
                "persistence",
                if sp.flags.is_persistent() {
                    format!("{} s, netmask {}", sp.timeout, sp.netmask)
                } else {
                    "off".into()
                },
                theme,
            ));
            if let Some(pe) = &sp.pe_name {
                lines.push(kv("engine", pe.clone(), theme));
            }
            if sp.flags.is_one_packet() {
                lines.push(kv("one-packet", "on".into(), theme));
            }
            let one_way = s.destinations.iter().all(|d| d.spec.forward.is_one_way());
            push_totals(&mut lines, &s.stats, &s.rates, one_way, theme);
            format!(" {} ", sp.key)
        }
        _ => " Detail ".into(),
    };
    let p = Paragraph::new(lines).block(block(title, false, theme)).wrap(Wrap { trim: true });
    f.render_widget(p, area);
}

fn push_totals(
    lines: &mut Vec<Line<'_>>,
    c: &crate::model::Counters,
    r: &crate::model::Rates,
    one_way: bool,
    theme: &Theme,
) {
    lines.push(kv("conns", c.conns.to_string(), theme));
    lines.push(kv("in pkts/bytes", format!("{} / {}", c.inpkts, c.inbytes), theme));
    let out = format!("{} / {}", c.outpkts, c.outbytes);
    if one_way && c.outpkts == 0 {
        lines.push(Line::from(vec![
            Span::styled(format!("{:<15}", "out pkts/bytes"), theme.slot(Slot::Dim)),
            Span::styled(format!("{out} (normal: DR/TUN replies bypass the director)"), theme.slot(Slot::Dim)),
        ]));
    } else {
        lines.push(kv("out pkts/bytes", out, theme));
    }
    lines.push(kv(
        "rates",
        format!("{} cps, {} pps in, {}/s in, {} pps out", r.cps, r.inpps, bytes(r.inbps), r.outpps),
        theme,
    ));
}
