//! The table as the console shows it: the last snapshot, the filter and the
//! sort, and the rows they leave visible. The visible rows are derived here
//! once, when their inputs change, so that drawing a frame only reads them.

use std::collections::{HashMap, VecDeque};
use std::time::Instant;

use super::state::{DestId, RowId, Selection};
use crate::model::{Destination, KeyMap, KeySet, Service, ServiceKey, Snapshot};

/// Sort column of the services table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortCol {
    /// Protocol, address, port (ipvsadm's order).
    #[default]
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

/// The snapshot and what of it is shown. The snapshot, the filter and the
/// sort change only in `update`, which derives the visible rows again.
#[derive(Debug, Clone, Default)]
pub struct TableView {
    /// The last snapshot.
    snapshot: Option<Snapshot>,
    /// When it arrived.
    pub at: Option<Instant>,
    /// The last snapshot error, shown until the next success.
    pub error: Option<String>,
    /// A refresh has been asked of the IPVS worker and not answered yet.
    pub refreshing: bool,
    /// Filter text (empty = all).
    filter: String,
    /// Sort column.
    sort: SortCol,
    /// Descending order.
    sort_rev: bool,
    /// Recent sparkline values per service on screen (oldest first).
    pub history: KeyMap<VecDeque<u64>>,
    /// Whose realservers were read, and whose are to be.
    pub reads: Reads,
    /// When a row's weight or state last changed.
    pub flashes: HashMap<RowId, Instant>,
    /// Services managed by a daemon: key → which ("keepalived
    /// (/etc/keepalived/keepalived.conf)") and the realservers it configures.
    pub managed: HashMap<ServiceKey, crate::sys::managed::Managed>,
    /// Indices into the snapshot's services: those the filter leaves, in sort order.
    shown: Vec<usize>,
    /// The selected service's position in `shown`.
    sel: Option<usize>,
    /// Indices into the selected service's realservers that the filter leaves.
    shown_dests: Vec<usize>,
    /// The selected realserver's position in `shown_dests`.
    sel_dest: Option<usize>,
}

/// Whose realservers the table holds as last read, and whose the next
/// refresh reads.
#[derive(Debug, Clone, Default)]
pub struct Reads {
    /// Services whose realservers have not been read yet (new since the
    /// last read of them): their realserver columns show as not read.
    pub unread: KeySet,
    /// Whether every service's realservers come from the latest refresh.
    pub complete: bool,
    /// Where the round-robin refresh of the services off screen goes on.
    pub rr: usize,
    /// The next refresh reads every service's realservers (an action waits for them).
    pub want_all: bool,
    /// Refreshes asked for so far (which of them list every service).
    pub ticks: u64,
    /// The next refresh lists every service (a change was applied: what it
    /// added must show at once).
    pub list_next: bool,
    /// When the refresh on its way was asked for.
    pub asked_at: Option<Instant>,
    /// How long the last refresh took, when that was longer than the interval.
    pub slow: Option<std::time::Duration>,
    /// No refresh starts before this (the interval stretched after a slow one).
    pub not_before: Option<Instant>,
}

fn dest_matches(d: &Destination, lower_filter: &str) -> bool {
    d.spec.addr_port().to_ascii_lowercase().contains(lower_filter) || d.state().word().contains(lower_filter)
}

fn service_matches_itself(s: &Service, lower_filter: &str) -> bool {
    s.spec.key.to_string().to_ascii_lowercase().contains(lower_filter)
        || s.spec.scheduler.to_ascii_lowercase().contains(lower_filter)
}

impl TableView {
    /// The last snapshot.
    pub fn snapshot(&self) -> Option<&Snapshot> {
        self.snapshot.as_ref()
    }

    /// The filter text (empty: all rows).
    pub fn filter(&self) -> &str {
        &self.filter
    }

    /// The sort column, and whether it is reversed.
    pub fn sort(&self) -> (SortCol, bool) {
        (self.sort, self.sort_rev)
    }

    fn services(&self) -> &[Service] {
        self.snapshot.as_ref().map_or(&[], |s| s.services.as_slice())
    }

    /// A new snapshot: the visible rows are derived again.
    pub(super) fn set_snapshot(&mut self, snap: Snapshot, sel: &Selection) {
        self.snapshot = Some(snap);
        self.refilter(sel);
    }

    /// Take the snapshot out (to move what a partial refresh keeps into the
    /// next one); `set_snapshot` puts one back.
    pub(super) fn take_snapshot(&mut self) -> Option<Snapshot> {
        self.snapshot.take()
    }

    /// The keys of the services a pane of `rows` rows shows: the window that
    /// keeps the selection in view, as the services pane scrolls it (the
    /// selection on its last row once it is past the first screen).
    pub fn around_selection(&self, rows: usize) -> Vec<ServiceKey> {
        let services = self.services();
        let sel = self.sel.unwrap_or(0);
        let from = if sel >= rows { sel + 1 - rows } else { 0 };
        let to = from.saturating_add(rows).min(self.shown.len());
        self.shown.get(from..to).unwrap_or_default().iter().map(|&i| services[i].spec.key).collect()
    }

    /// A new filter: the visible rows are derived again.
    pub(super) fn set_filter(&mut self, text: String, sel: &Selection) {
        if self.filter != text {
            self.filter = text;
            self.refilter(sel);
        }
    }

    /// A new sort order: the visible rows are derived again.
    pub(super) fn set_sort(&mut self, col: SortCol, reversed: bool, sel: &Selection) {
        (self.sort, self.sort_rev) = (col, reversed);
        self.refilter(sel);
    }

    /// Filter and sort the services again, then resolve the selection.
    fn refilter(&mut self, sel: &Selection) {
        let f = self.filter.to_ascii_lowercase();
        let services = self.snapshot.as_ref().map_or(&[][..], |s| s.services.as_slice());
        let mut shown: Vec<usize> = (0..services.len())
            .filter(|&i| {
                let s = &services[i];
                f.is_empty() || service_matches_itself(s, &f) || s.destinations.iter().any(|d| dest_matches(d, &f))
            })
            .collect();
        let by = |i: &usize| &services[*i];
        match self.sort {
            SortCol::Address => {}
            SortCol::Scheduler => shown.sort_by(|a, b| by(a).spec.scheduler.cmp(&by(b).spec.scheduler)),
            SortCol::Active => shown.sort_by_key(|i| std::cmp::Reverse(by(i).active_conns())),
            SortCol::Inactive => shown.sort_by_key(|i| std::cmp::Reverse(by(i).inact_conns())),
            SortCol::Cps => shown.sort_by_key(|i| std::cmp::Reverse(by(i).rates.cps)),
            SortCol::Pps => shown.sort_by_key(|i| std::cmp::Reverse(by(i).rates.inpps)),
            SortCol::Bps => shown.sort_by_key(|i| std::cmp::Reverse(by(i).rates.inbps)),
        }
        if self.sort_rev {
            shown.reverse();
        }
        self.shown = shown;
        self.reselect(sel);
    }

    /// Resolve the selection against the visible rows: the chosen service if
    /// shown, else the first; its realservers the filter leaves; the chosen
    /// realserver if shown, else the first.
    pub(super) fn reselect(&mut self, sel: &Selection) {
        let services = self.snapshot.as_ref().map_or(&[][..], |s| s.services.as_slice());
        let pos = sel.service.and_then(|k| self.shown.iter().position(|&i| services[i].spec.key == k));
        self.sel = pos.or((!self.shown.is_empty()).then_some(0));
        self.shown_dests.clear();
        self.sel_dest = None;
        let Some(svc) = self.sel.map(|p| &services[self.shown[p]]) else { return };
        let f = self.filter.to_ascii_lowercase();
        let own = f.is_empty() || service_matches_itself(svc, &f);
        self.shown_dests =
            (0..svc.destinations.len()).filter(|&i| own || dest_matches(&svc.destinations[i], &f)).collect();
        let pos = sel.dest.and_then(|id| self.shown_dests.iter().position(|&i| svc.destinations[i].id() == id));
        self.sel_dest = pos.or((!self.shown_dests.is_empty()).then_some(0));
    }

    /// Services after the filter, in sort order.
    pub fn visible_services(&self) -> impl ExactSizeIterator<Item = &Service> + '_ {
        let services = self.services();
        self.shown.iter().map(move |&i| &services[i])
    }

    /// The selected service's position among the visible ones.
    pub fn selected_pos(&self) -> Option<usize> {
        self.sel
    }

    /// The selected service.
    pub fn selected_service(&self) -> Option<&Service> {
        self.sel.and_then(|p| self.shown.get(p)).and_then(|&i| self.services().get(i))
    }

    /// The selected service's realservers after the filter.
    pub fn visible_dests(&self) -> impl ExactSizeIterator<Item = &Destination> + '_ {
        let dests = self.selected_service().map_or(&[][..], |s| s.destinations.as_slice());
        self.shown_dests.iter().map(move |&i| &dests[i])
    }

    /// The selected realserver's position among the visible ones.
    pub fn selected_dest_pos(&self) -> Option<usize> {
        self.sel_dest
    }

    /// The selected realserver.
    pub fn selected_dest(&self) -> Option<&Destination> {
        let svc = self.selected_service()?;
        self.sel_dest.and_then(|p| self.shown_dests.get(p)).and_then(|&i| svc.destinations.get(i))
    }

    /// The identity of the visible service at `pos`.
    pub fn service_key_at(&self, pos: usize) -> Option<ServiceKey> {
        self.shown.get(pos).and_then(|&i| self.services().get(i)).map(|s| s.spec.key)
    }

    /// The identity of the visible realserver at `pos`.
    pub fn dest_id_at(&self, pos: usize) -> Option<DestId> {
        let svc = self.selected_service()?;
        self.shown_dests.get(pos).and_then(|&i| svc.destinations.get(i)).map(Destination::id)
    }

    /// How many services the snapshot has in all.
    pub fn total(&self) -> usize {
        self.services().len()
    }
}
