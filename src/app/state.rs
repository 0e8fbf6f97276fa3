//! Everything the console knows, owned by the main task and grouped by
//! concern: the settings, the table (with its visible rows derived once when
//! the snapshot, the filter or the sort change), the selection, the changes in
//! flight and their undo, the NIC panel and the checks view.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::layer::Layer;
use super::table::TableView;
use crate::config::{Config, Keymap, SparkSource};
use crate::model::Change;
use crate::model::{Destination, Service, ServiceKey};

/// Which list has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The services table.
    Services,
    /// The selected service's realservers.
    Dests,
}

/// Result of the last action.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Sent, not yet answered.
    Pending,
    /// Done.
    Ok,
    /// Refused or failed, with the message.
    Failed(String),
    /// Information only.
    Info,
}

/// A realserver of a service, by identity: address and port.
pub type DestId = (IpAddr, u16);

/// A row in either table, for highlights.
pub type RowId = (ServiceKey, Option<DestId>);

/// What the operator set, fixed for the session.
#[derive(Debug, Clone)]
pub struct Settings {
    /// Host name for the status line.
    pub host: String,
    /// Ok, or why lvstop is read-only.
    pub writable: Result<(), String>,
    /// Key bindings (without write actions when read-only).
    pub keys: Keymap,
    /// `+`/`-` step.
    pub weight_step: u32,
    /// Highlight duration.
    pub flash_for: Duration,
    /// Sparkline source.
    pub spark: SparkSource,
    /// How often the checks re-run.
    pub check_every: Duration,
    /// How often the table is refreshed.
    pub interval: Duration,
    /// NIC thresholds and limits.
    pub nic_policy: crate::sys::load::NicPolicy,
    /// The other directors' names (`[directors]`), for the pair view.
    pub directors: Vec<String>,
}

/// The selection, by identity (a refresh never moves it to another row).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// Which list has the cursor.
    pub focus: Focus,
    /// The selected service (None: the first shown).
    pub service: Option<ServiceKey>,
    /// The selected realserver of that service (None: the first shown).
    pub dest: Option<DestId>,
}

/// A change sent to the executor.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The change.
    pub change: Change,
    /// Whether it undoes an earlier change.
    pub is_undo: bool,
}

/// Changes in flight, their undo, and the weights drains replaced.
#[derive(Debug, Clone, Default)]
pub struct Edits {
    /// Changes in flight by id.
    pub pending: HashMap<u64, Pending>,
    /// The id of the last change sent.
    pub last_id: u64,
    /// Inverses of applied changes, newest last.
    pub undo: Vec<Change>,
    /// Weights remembered by drain, for restore.
    pub drained: HashMap<(ServiceKey, IpAddr, u16), u32>,
    /// An action on every service that has a realserver (`D`, `:drain`,
    /// `:weight`, `:restore`, `:save`), waiting for a refresh that reads
    /// every service's realservers.
    pub deferred: Option<super::cmdline::CmdLine>,
}

/// The director panel: interface load and its history.
#[derive(Debug, Clone, Default)]
pub struct NicPanel {
    /// Whether the panel is shown.
    pub show: bool,
    /// Director load from the last two interface samples.
    pub load: Option<crate::sys::load::DirectorLoad>,
    /// The previous interface sample and its time.
    pub prev: Option<(crate::sys::nic::SysSample, Instant)>,
    /// Recent max(rx, tx) packets/s per interface (oldest first).
    pub history: HashMap<String, VecDeque<f64>>,
    /// Which interfaces carry VIPs and reach realservers (looked up every 10 s).
    pub roles: crate::sys::load::Roles,
    /// When `roles` was looked up.
    pub roles_at: Option<Instant>,
}

/// The LVS-DR checks: the last report, its row markers and the view's scroll.
#[derive(Debug, Clone, Default)]
pub struct ChecksView {
    /// The last report.
    pub report: Option<crate::checks::CheckReport>,
    /// The worst finding per address and per service, built when the report arrives.
    pub markers: crate::checks::Markers,
    /// When the checks last ran (they re-run every `check_every`).
    pub at: Option<Instant>,
    /// The number of the last run started (runs are numbered from 1).
    pub last_run: u64,
    /// The run in flight, if any: one at a time.
    pub running: Option<u64>,
    /// The run whose report is shown: an older one never replaces it.
    pub shown_run: u64,
    /// Another run was asked for while one was in flight: start it when that one ends.
    pub again: bool,
    /// First line shown in the checks view.
    pub scroll: u16,
    /// The furthest the view can scroll at the terminal's size (set in `update`).
    pub scroll_max: u16,
}

/// The console's whole state.
#[derive(Debug)]
pub struct AppState {
    /// Fixed settings.
    pub settings: Settings,
    /// The time of the last message.
    pub now: Instant,
    /// The terminal's size (columns, rows).
    pub viewport: (u16, u16),
    /// The table and its derived visible rows.
    pub table: TableView,
    /// The selection.
    pub sel: Selection,
    /// Changes.
    pub edits: Edits,
    /// The director panel.
    pub nics: NicPanel,
    /// The checks view.
    pub checks: ChecksView,
    /// The connections view.
    pub conns: super::conns::ConnsView,
    /// The pair view.
    pub pair: super::pair::PairView,
    /// The director the main view shows: None for this host, else a name
    /// from `[directors]` read through its agent (`:director NAME`).
    pub director: Option<String>,
    /// This host's services managed by keepalived/ldirectord, kept while
    /// another director is shown (its table has none of this host's).
    pub managed_here: std::collections::HashMap<ServiceKey, crate::sys::managed::Managed>,
    /// First line shown in the help.
    pub help_scroll: u16,
    /// Overlays, top last.
    pub layers: Vec<Layer>,
    /// The last action and its outcome, for the status line.
    pub last_action: Option<(String, Outcome)>,
    /// Set when lvstop should exit.
    pub quit: bool,
}

/// Sparkline history length.
pub const HISTORY: usize = 120;

impl AppState {
    /// A fresh state.
    pub fn new(config: &Config, writable: Result<(), String>, host: String, now: Instant) -> Self {
        let keys = if writable.is_ok() { config.keys.clone() } else { config.keys.read_only() };
        AppState {
            settings: Settings {
                host,
                writable,
                keys,
                weight_step: config.weight_step,
                flash_for: config.flash,
                spark: config.sparkline,
                check_every: config.check_interval,
                interval: config.interval,
                nic_policy: config.nic.clone(),
                directors: config.directors.keys().cloned().collect(),
            },
            now,
            viewport: (80, 24),
            table: TableView::default(),
            sel: Selection { focus: Focus::Services, service: None, dest: None },
            edits: Edits::default(),
            nics: NicPanel { show: true, ..NicPanel::default() },
            checks: ChecksView::default(),
            conns: super::conns::ConnsView::default(),
            pair: super::pair::PairView::default(),
            director: None,
            managed_here: std::collections::HashMap::new(),
            help_scroll: 0,
            layers: Vec::new(),
            last_action: None,
            quit: false,
        }
    }

    /// Whether changes are allowed.
    pub fn is_writable(&self) -> bool {
        self.settings.writable.is_ok()
    }

    /// Rows of the director panel (0 when hidden or not read yet): its
    /// interfaces (at most 6), borders and header.
    pub fn nic_panel_height(&self) -> u16 {
        if !self.nics.show {
            return 0;
        }
        match &self.nics.load {
            Some(l) => (l.shown(self.settings.nic_policy.show_idle).len().min(6) as u16) + 3,
            None => 0,
        }
    }

    /// The most services the services pane shows at the current size, as
    /// `ui::render` lays the screen out: the read-only banner, the director
    /// panel (from 20 rows up), a prompt and the status line taken, the pane
    /// takes at most half of the rest, less its borders and header. A
    /// refresh reads exactly these (see `update::refresh`).
    pub fn services_pane_rows(&self) -> usize {
        let h = self.viewport.1;
        let banner = u16::from(self.settings.writable.is_err());
        let nics = if h >= 20 { self.nic_panel_height() } else { 0 };
        let prompt = u16::from(matches!(self.layers.last(), Some(Layer::Prompt { .. })));
        let main = h.saturating_sub(banner + nics + prompt + 1).max(4);
        usize::from((main / 2).max(1).saturating_sub(3))
    }

    /// Services after the filter, in sort order.
    pub fn visible_services(&self) -> impl ExactSizeIterator<Item = &Service> + '_ {
        self.table.visible_services()
    }

    /// The selected service (the first shown if none is chosen), if any is shown.
    pub fn selected_service(&self) -> Option<&Service> {
        self.table.selected_service()
    }

    /// The position of the selected service among the visible ones.
    pub fn selected_service_pos(&self) -> Option<usize> {
        self.table.selected_pos()
    }

    /// The selected service's realservers after the filter.
    pub fn visible_dests(&self) -> impl ExactSizeIterator<Item = &Destination> + '_ {
        self.table.visible_dests()
    }

    /// The selected realserver (the first shown if none is chosen), if any.
    pub fn selected_dest(&self) -> Option<&Destination> {
        self.table.selected_dest()
    }

    /// The position of the selected realserver among the visible ones.
    pub fn selected_dest_pos(&self) -> Option<usize> {
        self.table.selected_dest_pos()
    }

    /// Whether a row changed recently.
    pub fn is_flashing(&self, row: &RowId) -> bool {
        self.table.flashes.get(row).is_some_and(|t| self.now.saturating_duration_since(*t) < self.settings.flash_for)
    }

    /// Resolve the selection against the visible rows after it (or they) changed.
    pub(super) fn reselect(&mut self) {
        self.table.reselect(&self.sel);
    }
}
