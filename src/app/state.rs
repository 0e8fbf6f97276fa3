//! Everything the console knows, owned by the main task.

use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::time::{Duration, Instant};

use super::change::Change;
use super::form::Form;
use crate::config::{Config, Keymap, SparkSource};
use crate::model::{Destination, Service, ServiceKey, Snapshot};

/// Which list has the cursor.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Focus {
    /// The services table.
    Services,
    /// The selected service's realservers.
    Dests,
}

/// Sort column of the services table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SortCol {
    /// Protocol, address, port (ipvsadm's order).
    Address,
    /// Scheduler name.
    Scheduler,
    /// ActiveConn.
    Active,
    /// InActConn.
    Inactive,
    /// Connections per second.
    Cps,
    /// Incoming packets per second.
    Pps,
    /// Incoming bytes per second.
    Bps,
}

impl SortCol {
    /// The next column (`s`).
    #[must_use]
    pub fn next(self) -> SortCol {
        match self {
            SortCol::Address => SortCol::Scheduler,
            SortCol::Scheduler => SortCol::Active,
            SortCol::Active => SortCol::Inactive,
            SortCol::Inactive => SortCol::Cps,
            SortCol::Cps => SortCol::Pps,
            SortCol::Pps => SortCol::Bps,
            SortCol::Bps => SortCol::Address,
        }
    }

    /// Shown in the title.
    pub fn name(self) -> &'static str {
        match self {
            SortCol::Address => "address",
            SortCol::Scheduler => "scheduler",
            SortCol::Active => "active",
            SortCol::Inactive => "inactive",
            SortCol::Cps => "cps",
            SortCol::Pps => "pps",
            SortCol::Bps => "bytes/s",
        }
    }
}

/// What a text prompt is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PromptKind {
    /// `/` filter (applied as typed).
    Filter,
    /// `:` command line.
    Command,
    /// `w` exact weight of the selected realserver.
    Weight,
}

/// An overlay that takes the keys while it is on top.
#[derive(Debug, Clone, PartialEq)]
pub enum Layer {
    /// The help screen.
    Help,
    /// The check findings.
    Checks,
    /// A change waiting for y/n.
    Confirm {
        /// The change.
        change: Change,
        /// A warning to show (e.g. managed by keepalived).
        warning: Option<String>,
        /// Whether this is an undo (its inverse is not pushed).
        is_undo: bool,
    },
    /// An add/edit form.
    Form(Form),
    /// A one-line prompt.
    Prompt {
        /// What for.
        kind: PromptKind,
        /// Typed text.
        text: String,
        /// Validation error of the text, shown inline.
        error: Option<String>,
    },
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

/// A change sent to the executor.
#[derive(Debug, Clone)]
pub struct Pending {
    /// The change.
    pub change: Change,
    /// Whether it undoes an earlier change.
    pub is_undo: bool,
}

/// A row in either table, for highlights.
pub type RowId = (ServiceKey, Option<(IpAddr, u16)>);

/// The console's whole state.
#[derive(Debug)]
pub struct AppState {
    /// The last snapshot.
    pub snapshot: Option<Snapshot>,
    /// When it arrived.
    pub snapshot_at: Option<Instant>,
    /// The last snapshot error, shown until the next success.
    pub snapshot_error: Option<String>,
    /// The time of the last message.
    pub now: Instant,
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
    /// Which list has the cursor.
    pub focus: Focus,
    /// Selected service.
    pub sel_svc: Option<ServiceKey>,
    /// Selected realserver of the selected service.
    pub sel_dest: Option<(IpAddr, u16)>,
    /// Sort column.
    pub sort: SortCol,
    /// Descending order.
    pub sort_rev: bool,
    /// Filter text (empty = all).
    pub filter: String,
    /// Overlays, top last.
    pub layers: Vec<Layer>,
    /// Recent sparkline values per service (oldest first).
    pub history: HashMap<ServiceKey, VecDeque<u64>>,
    /// When a row's weight or state last changed.
    pub flashes: HashMap<RowId, Instant>,
    /// Weights remembered by drain, for restore.
    pub drained: HashMap<(ServiceKey, IpAddr, u16), u32>,
    /// Inverses of applied changes, newest last.
    pub undo: Vec<Change>,
    /// The last action and its outcome.
    pub last_action: Option<(String, Outcome)>,
    /// Services managed by a daemon: key → "keepalived (/etc/keepalived/keepalived.conf)".
    pub managed: HashMap<ServiceKey, String>,
    /// Changes in flight by id.
    pub pending: HashMap<u64, Pending>,
    /// Next change id.
    pub next_id: u64,
    /// Set when lvstop should exit.
    pub quit: bool,
    /// Director load from the last two interface samples.
    pub load: Option<crate::sys::load::DirectorLoad>,
    /// The previous interface sample and its time.
    pub sys_prev: Option<(crate::sys::nic::SysSample, Instant)>,
    /// Recent max(rx, tx) packets/s per interface (oldest first).
    pub nic_history: HashMap<String, VecDeque<f64>>,
    /// Whether the director panel is shown.
    pub show_nics: bool,
    /// NIC thresholds and limits.
    pub nic_policy: crate::sys::load::NicPolicy,
    /// Which interfaces carry VIPs and reach realservers (looked up every 10 s
    /// or when the addresses change).
    pub roles: crate::sys::load::Roles,
    /// The addresses `roles` was looked up for.
    pub roles_key: (Vec<IpAddr>, Vec<IpAddr>),
    /// When `roles` was looked up.
    pub roles_at: Option<Instant>,
    /// The last LVS-DR check report.
    pub checks: Option<crate::checks::CheckReport>,
    /// The worst finding about each address and service in `checks`, for the rows' markers.
    pub markers: crate::checks::Markers,
    /// First line shown in the checks view.
    pub checks_scroll: u16,
    /// The furthest the checks view can scroll, as last drawn (the view knows how its lines wrap).
    pub checks_scroll_max: std::cell::Cell<u16>,
    /// When the checks last ran (they re-run every `check_every`).
    pub checks_at: Option<Instant>,
    /// How often the checks re-run.
    pub check_every: Duration,
}

/// Sparkline history length.
pub const HISTORY: usize = 120;

impl AppState {
    /// A fresh state.
    pub fn new(config: &Config, writable: Result<(), String>, host: String, now: Instant) -> Self {
        let keys = if writable.is_ok() { config.keys.clone() } else { config.keys.read_only() };
        AppState {
            snapshot: None,
            snapshot_at: None,
            snapshot_error: None,
            now,
            host,
            writable,
            keys,
            weight_step: config.weight_step,
            flash_for: config.flash,
            spark: config.sparkline,
            focus: Focus::Services,
            sel_svc: None,
            sel_dest: None,
            sort: SortCol::Address,
            sort_rev: false,
            filter: String::new(),
            layers: Vec::new(),
            history: HashMap::new(),
            flashes: HashMap::new(),
            drained: HashMap::new(),
            undo: Vec::new(),
            last_action: None,
            managed: HashMap::new(),
            pending: HashMap::new(),
            next_id: 1,
            quit: false,
            load: None,
            sys_prev: None,
            nic_history: HashMap::new(),
            show_nics: true,
            nic_policy: config.nic.clone(),
            roles: crate::sys::load::Roles::default(),
            roles_key: (Vec::new(), Vec::new()),
            roles_at: None,
            checks: None,
            markers: crate::checks::Markers::default(),
            checks_scroll: 0,
            checks_scroll_max: std::cell::Cell::new(0),
            checks_at: None,
            check_every: config.check_interval,
        }
    }

    /// Whether changes are allowed.
    pub fn is_writable(&self) -> bool {
        self.writable.is_ok()
    }

    fn matches(&self, s: &Service) -> bool {
        if self.filter.is_empty() {
            return true;
        }
        let f = self.filter.to_ascii_lowercase();
        let hit = |t: &str| t.to_ascii_lowercase().contains(&f);
        hit(&s.spec.key.to_string())
            || hit(&s.spec.scheduler)
            || s.destinations.iter().any(|d| Self::dest_matches(d, &f))
    }

    fn dest_matches(d: &Destination, f: &str) -> bool {
        d.spec.addr_port().to_ascii_lowercase().contains(f) || d.state().word().contains(f)
    }

    /// Services after the filter, in sort order.
    pub fn visible_services(&self) -> Vec<&Service> {
        let Some(snap) = &self.snapshot else {
            return Vec::new();
        };
        let mut v: Vec<&Service> = snap.services.iter().filter(|s| self.matches(s)).collect();
        match self.sort {
            SortCol::Address => {}
            SortCol::Scheduler => v.sort_by(|a, b| a.spec.scheduler.cmp(&b.spec.scheduler)),
            SortCol::Active => v.sort_by_key(|s| std::cmp::Reverse(s.active_conns())),
            SortCol::Inactive => v.sort_by_key(|s| std::cmp::Reverse(s.inact_conns())),
            SortCol::Cps => v.sort_by_key(|s| std::cmp::Reverse(s.rates.cps)),
            SortCol::Pps => v.sort_by_key(|s| std::cmp::Reverse(s.rates.inpps)),
            SortCol::Bps => v.sort_by_key(|s| std::cmp::Reverse(s.rates.inbps)),
        }
        if self.sort_rev {
            v.reverse();
        }
        v
    }

    /// The selected service, if visible.
    pub fn selected_service(&self) -> Option<&Service> {
        let vis = self.visible_services();
        self.sel_svc.and_then(|k| vis.iter().find(|s| s.spec.key == k).copied()).or_else(|| vis.first().copied())
    }

    /// The selected service's realservers after the filter.
    pub fn visible_dests(&self) -> Vec<&Destination> {
        let Some(s) = self.selected_service() else {
            return Vec::new();
        };
        let f = self.filter.to_ascii_lowercase();
        let own = f.is_empty()
            || s.spec.key.to_string().to_ascii_lowercase().contains(&f)
            || s.spec.scheduler.to_ascii_lowercase().contains(&f);
        s.destinations.iter().filter(|d| own || Self::dest_matches(d, &f)).collect()
    }

    /// The selected realserver, if any.
    pub fn selected_dest(&self) -> Option<&Destination> {
        let vis = self.visible_dests();
        self.sel_dest
            .and_then(|k| vis.iter().find(|d| (d.spec.addr, d.spec.port) == k).copied())
            .or_else(|| vis.first().copied())
    }

    /// Whether a row changed recently.
    pub fn is_flashing(&self, row: &RowId) -> bool {
        self.flashes.get(row).is_some_and(|t| self.now.saturating_duration_since(*t) < self.flash_for)
    }
}
