//! Changes to the IPVS table as data: what they do, how ipvsadm would say it,
//! whether they need confirmation and how to undo them. Applying one is the
//! IPVS backend's business ([`crate::ipvs::NetlinkIpvs::apply`]).

use super::ipvsadm::{dest_args, dest_key_args, key_args, service_args};
use super::{DestSpec, ServiceKey, ServiceSpec};

/// One change to the table.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Change {
    /// Add a service.
    AddService(ServiceSpec),
    /// Replace a service's configuration.
    EditService {
        /// As it was.
        before: ServiceSpec,
        /// As it will be.
        after: ServiceSpec,
    },
    /// Delete a service (its realservers are kept for undo).
    DelService {
        /// The service.
        spec: ServiceSpec,
        /// Its realservers.
        dests: Vec<DestSpec>,
    },
    /// Add a realserver.
    AddDest {
        /// Service.
        svc: ServiceKey,
        /// Realserver.
        dest: DestSpec,
    },
    /// Replace a realserver's settings (weight, thresholds, method, tunnel).
    EditDest {
        /// Service.
        svc: ServiceKey,
        /// As it was.
        before: DestSpec,
        /// As it will be.
        after: DestSpec,
    },
    /// Delete a realserver.
    DelDest {
        /// Service.
        svc: ServiceKey,
        /// Realserver.
        dest: DestSpec,
    },
    /// Zero the counters of one service, or all.
    Zero(Option<ServiceKey>),
    /// Several changes as one (drain everywhere, a command-line weight).
    Batch {
        /// What it is, for messages.
        label: String,
        /// The changes, applied in order.
        changes: Vec<Change>,
    },
}

/// A realserver's settings in one line (`198.51.100.11:80 route weight 3 …`).
pub fn dest_summary(d: &DestSpec) -> String {
    let mut s = format!("{} {} weight {}", d.addr_port(), d.forward, d.weight);
    if d.u_thresh != 0 || d.l_thresh != 0 {
        s.push_str(&format!(" thresholds {}/{}", d.u_thresh, d.l_thresh));
    }
    if let Some(t) = d.tun_info() {
        s.push_str(&format!(" tunnel {t}"));
    }
    s
}

impl Change {
    /// The steps it is applied as: a batch's changes in order, or itself.
    pub fn steps(&self) -> &[Change] {
        match self {
            Change::Batch { changes, .. } => changes,
            one => std::slice::from_ref(one),
        }
    }

    /// A short name for the audit log and messages.
    pub fn kind(&self) -> &'static str {
        match self {
            Change::AddService(_) => "add-service",
            Change::EditService { .. } => "edit-service",
            Change::DelService { .. } => "delete-service",
            Change::AddDest { .. } => "add-realserver",
            Change::EditDest { before, after, .. } if after.weight == 0 && before.weight != 0 => "drain",
            Change::EditDest { before, after, .. } if before.weight != after.weight => "set-weight",
            Change::EditDest { .. } => "edit-realserver",
            Change::DelDest { .. } => "delete-realserver",
            Change::Zero(_) => "zero",
            Change::Batch { .. } => "batch",
        }
    }

    /// One line describing the change.
    pub fn describe(&self) -> String {
        match self {
            Change::AddService(s) => format!("add service {}", s.key),
            Change::EditService { before, .. } => format!("edit service {}", before.key),
            Change::DelService { spec, dests } => {
                format!("delete service {} and its {} realservers", spec.key, dests.len())
            }
            Change::AddDest { svc, dest } => {
                format!("add realserver {} to {svc}", dest.addr_port())
            }
            Change::EditDest { svc, before, after } if before.weight != after.weight => {
                format!("weight of {} in {svc}: {} → {}", before.addr_port(), before.weight, after.weight)
            }
            Change::EditDest { svc, before, .. } => {
                format!("edit realserver {} in {svc}", before.addr_port())
            }
            Change::DelDest { svc, dest } => {
                format!("delete realserver {} from {svc}", dest.addr_port())
            }
            Change::Zero(Some(k)) => format!("zero the counters of {k}"),
            Change::Zero(None) => "zero all counters".to_string(),
            Change::Batch { label, changes } => format!("{label} ({} changes)", changes.len()),
        }
    }

    /// (before, after) as text, for the confirmation and the audit log.
    pub fn before_after(&self) -> (String, String) {
        match self {
            Change::AddService(s) => ("(none)".into(), service_args(s)),
            Change::EditService { before, after } => (service_args(before), service_args(after)),
            Change::DelService { spec, .. } => (service_args(spec), "(none)".into()),
            Change::AddDest { dest, .. } => ("(none)".into(), dest_summary(dest)),
            Change::EditDest { before, after, .. } => (dest_summary(before), dest_summary(after)),
            Change::DelDest { dest, .. } => (dest_summary(dest), "(none)".into()),
            Change::Zero(_) => ("counters".into(), "0".into()),
            Change::Batch { changes, .. } => {
                let (b, a): (Vec<_>, Vec<_>) = changes.iter().map(Change::before_after).unzip();
                (b.join("; "), a.join("; "))
            }
        }
    }

    /// The equivalent ipvsadm commands.
    pub fn ipvsadm(&self) -> Vec<String> {
        match self {
            Change::AddService(s) => vec![format!("ipvsadm -A {}", service_args(s))],
            Change::EditService { after, .. } => {
                vec![format!("ipvsadm -E {}", service_args(after))]
            }
            Change::DelService { spec, .. } => {
                vec![format!("ipvsadm -D {}", key_args(&spec.key))]
            }
            Change::AddDest { svc, dest } => vec![format!("ipvsadm -a {}", dest_args(svc, dest))],
            Change::EditDest { svc, after, .. } => {
                vec![format!("ipvsadm -e {}", dest_args(svc, after))]
            }
            Change::DelDest { svc, dest } => {
                vec![format!("ipvsadm -d {}", dest_key_args(svc, dest))]
            }
            Change::Zero(Some(k)) => vec![format!("ipvsadm -Z {}", key_args(k))],
            Change::Zero(None) => vec!["ipvsadm -Z".into()],
            Change::Batch { changes, .. } => changes.iter().flat_map(Change::ipvsadm).collect(),
        }
    }

    /// Whether the operator must confirm first: deletes, drains, weight 0, zeroing.
    pub fn is_dangerous(&self) -> bool {
        match self {
            Change::DelService { .. } | Change::DelDest { .. } | Change::Zero(_) => true,
            Change::EditDest { after, .. } => after.weight == 0,
            Change::Batch { changes, .. } => changes.len() > 1 || changes.iter().any(Change::is_dangerous),
            Change::AddService(_) | Change::EditService { .. } | Change::AddDest { .. } => false,
        }
    }

    /// The services it touches (for keepalived warnings).
    pub fn services(&self) -> Vec<ServiceKey> {
        match self {
            Change::AddService(s) | Change::EditService { before: s, .. } | Change::DelService { spec: s, .. } => {
                vec![s.key]
            }
            Change::AddDest { svc, .. } | Change::EditDest { svc, .. } | Change::DelDest { svc, .. } => vec![*svc],
            Change::Zero(k) => k.iter().copied().collect(),
            Change::Batch { changes, .. } => changes.iter().flat_map(Change::services).collect(),
        }
    }

    /// The change that undoes this one (zeroing cannot be undone).
    pub fn inverse(&self) -> Option<Change> {
        Some(match self {
            Change::AddService(s) => Change::DelService { spec: s.clone(), dests: Vec::new() },
            Change::EditService { before, after } => {
                Change::EditService { before: after.clone(), after: before.clone() }
            }
            Change::DelService { spec, dests } => {
                let mut changes = vec![Change::AddService(spec.clone())];
                changes.extend(dests.iter().map(|d| Change::AddDest { svc: spec.key, dest: d.clone() }));
                Change::Batch { label: format!("restore service {}", spec.key), changes }
            }
            Change::AddDest { svc, dest } => Change::DelDest { svc: *svc, dest: dest.clone() },
            Change::EditDest { svc, before, after } => {
                Change::EditDest { svc: *svc, before: after.clone(), after: before.clone() }
            }
            Change::DelDest { svc, dest } => Change::AddDest { svc: *svc, dest: dest.clone() },
            Change::Zero(_) => return None,
            Change::Batch { label, changes } => Change::Batch {
                label: format!("undo {label}"),
                changes: changes.iter().rev().map(Change::inverse).collect::<Option<Vec<_>>>()?,
            },
        })
    }

    /// The operator's change made again on `now`, the object as the kernel
    /// has it after it changed meanwhile: what the operator changed (the
    /// fields where `after` differs from `before`) applied on top of `now`,
    /// the rest kept as it is now; a delete deletes what is there now. None
    /// when nothing is left to do (someone already made the same change) or
    /// `now` is not this change's object (see [`Change::is_about`]). A batch
    /// is rebased on its first step, the one that found the change; the
    /// steps after it follow (all of them when the first is already made).
    pub fn rebase(&self, now: &Current) -> Option<Change> {
        if !self.is_about(now) {
            return None;
        }
        match (self, now) {
            (Change::EditDest { svc, before, after }, Current::Dest { dest: now, .. }) => {
                let mut next = now.clone();
                macro_rules! keep_changed {
                    ($($f:ident),*) => {$(
                        if after.$f != before.$f {
                            next.$f = after.$f;
                        }
                    )*};
                }
                keep_changed!(forward, weight, u_thresh, l_thresh, tun_type, tun_port, tun_csum);
                (next != *now).then(|| Change::EditDest { svc: *svc, before: now.clone(), after: next })
            }
            (Change::DelDest { svc, .. }, Current::Dest { dest: now, .. }) => {
                Some(Change::DelDest { svc: *svc, dest: now.clone() })
            }
            (Change::EditService { before, after }, Current::Service(now)) => {
                let mut next = now.clone();
                if after.scheduler != before.scheduler {
                    next.scheduler.clone_from(&after.scheduler);
                }
                if after.flags != before.flags {
                    next.flags = after.flags;
                }
                if after.timeout != before.timeout {
                    next.timeout = after.timeout;
                }
                if after.netmask != before.netmask {
                    next.netmask = after.netmask;
                }
                if after.pe_name != before.pe_name {
                    next.pe_name.clone_from(&after.pe_name);
                }
                (next != *now).then(|| Change::EditService { before: now.clone(), after: next })
            }
            (Change::DelService { dests, .. }, Current::Service(now)) => {
                Some(Change::DelService { spec: now.clone(), dests: dests.clone() })
            }
            (Change::Batch { label, changes }, now) => {
                // A first step someone already made leaves the steps after it to do.
                let (first, rest) = changes.split_first()?;
                let changes: Vec<Change> = first.rebase(now).into_iter().chain(rest.iter().cloned()).collect();
                (!changes.is_empty()).then(|| Change::Batch { label: label.clone(), changes })
            }
            _ => None,
        }
    }

    /// Whether `now` is the object this change edits or deletes (a batch's:
    /// its first step's): the same realserver *of the same service*, or the
    /// same service. Only then can the change be made again on it.
    pub fn is_about(&self, now: &Current) -> bool {
        match (self, now) {
            (
                Change::EditDest { svc, after: dest, .. } | Change::DelDest { svc, dest },
                Current::Dest { svc: now_svc, dest: now },
            ) => svc == now_svc && same_dest_id(now, dest),
            (Change::EditService { after: spec, .. } | Change::DelService { spec, .. }, Current::Service(now)) => {
                now.key == spec.key
            }
            (Change::Batch { changes, .. }, now) => changes.first().is_some_and(|c| c.is_about(now)),
            _ => false,
        }
    }
}

/// A service or realserver as the kernel has it now, read when it differed
/// from what the operator saw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Current {
    /// A realserver's settings, and the service it is in (the same address
    /// and port can be a realserver of several services).
    Dest { svc: ServiceKey, dest: DestSpec },
    /// A service's settings.
    Service(ServiceSpec),
}

fn same_dest_id(a: &DestSpec, b: &DestSpec) -> bool {
    (a.addr, a.port) == (b.addr, b.port)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ForwardMethod;

    fn key() -> ServiceKey {
        ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 80)
    }

    fn dest(w: u32) -> DestSpec {
        DestSpec::new("198.51.100.11".parse().expect("ip"), 80, ForwardMethod::Route).weight(w)
    }

    #[test]
    fn drain_is_dangerous_and_says_what_ipvsadm_would() {
        let c = Change::EditDest { svc: key(), before: dest(3), after: dest(0) };
        assert!(c.is_dangerous());
        assert_eq!(c.kind(), "drain");
        assert_eq!(c.ipvsadm(), vec!["ipvsadm -e -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 0"]);
        assert_eq!(c.describe(), "weight of 198.51.100.11:80 in TCP 198.51.100.100:80: 3 → 0");
        assert_eq!(c.inverse(), Some(Change::EditDest { svc: key(), before: dest(0), after: dest(3) }));
        let up = Change::EditDest { svc: key(), before: dest(3), after: dest(4) };
        assert!(!up.is_dangerous());
    }

    #[test]
    fn a_change_made_meanwhile_is_kept_and_the_operators_change_made_on_top() {
        // The operator saw weight 3 and drains; meanwhile keepalived set a threshold and weight 5.
        let drain = Change::EditDest { svc: key(), before: dest(3), after: dest(0) };
        let mut now = dest(5);
        now.u_thresh = 100;
        let mut want = now.clone();
        want.weight = 0;
        assert_eq!(
            drain.rebase(&Current::Dest { svc: key(), dest: now.clone() }),
            Some(Change::EditDest { svc: key(), before: now.clone(), after: want })
        );
        // Someone else already drained it: nothing left to do.
        let mut drained = now.clone();
        drained.weight = 0;
        assert_eq!(drain.rebase(&Current::Dest { svc: key(), dest: drained }), None);
        // A delete deletes what is there now; another realserver is not this change's object.
        let del = Change::DelDest { svc: key(), dest: dest(3) };
        let now_in = |svc: ServiceKey, dest: &DestSpec| Current::Dest { svc, dest: dest.clone() };
        assert_eq!(del.rebase(&now_in(key(), &now)), Some(Change::DelDest { svc: key(), dest: now.clone() }));
        let other = DestSpec::new("198.51.100.12".parse().expect("ip"), 80, ForwardMethod::Route);
        assert_eq!(del.rebase(&now_in(key(), &other)), None);
        // Nor is the same realserver in another service: a change is never
        // put again on an object the operator did not choose.
        let elsewhere = ServiceKey::tcp("198.51.100.101".parse().expect("ip"), 80);
        assert!(!drain.is_about(&now_in(elsewhere, &now)) && !del.is_about(&now_in(elsewhere, &now)));
        assert_eq!(drain.rebase(&now_in(elsewhere, &now)), None);
        assert_eq!(del.rebase(&now_in(elsewhere, &now)), None);
        // A service edit keeps a scheduler changed meanwhile when the operator changed only persistence.
        let before = ServiceSpec::new(key(), "wrr");
        let after = before.clone().persistent(300);
        let now = ServiceSpec::new(key(), "wlc");
        let rebased = Change::EditService { before, after }.rebase(&Current::Service(now.clone())).expect("rebased");
        assert_eq!(rebased, Change::EditService { before: now.clone(), after: now.persistent(300) });
        // A batch is rebased on its first step, the rest follow.
        let two = Change::Batch { label: "drain".into(), changes: vec![drain.clone(), del.clone()] };
        let rebased = two.rebase(&Current::Dest { svc: key(), dest: dest(4) });
        let mut four = dest(4);
        four.weight = 0;
        let first = Change::EditDest { svc: key(), before: dest(4), after: four };
        assert_eq!(rebased, Some(Change::Batch { label: "drain".into(), changes: vec![first, del.clone()] }));
        // Its first step already made by someone else: the rest is still to do,
        // not dropped with it. A batch left with nothing to do is nothing.
        let mut drained = dest(4);
        drained.weight = 0;
        let rebased = two.rebase(&Current::Dest { svc: key(), dest: drained.clone() });
        assert_eq!(rebased, Some(Change::Batch { label: "drain".into(), changes: vec![del] }));
        let one = Change::Batch { label: "drain".into(), changes: vec![drain] };
        assert_eq!(one.rebase(&Current::Dest { svc: key(), dest: drained }), None);
    }

    #[test]
    fn deletes_and_zero() {
        let d = Change::DelDest { svc: key(), dest: dest(1) };
        assert!(d.is_dangerous());
        assert_eq!(d.ipvsadm(), vec!["ipvsadm -d -t 198.51.100.100:80 -r 198.51.100.11:80"]);
        assert_eq!(d.inverse(), Some(Change::AddDest { svc: key(), dest: dest(1) }));
        let s = ServiceSpec::new(key(), "wrr").persistent(300);
        let del = Change::DelService { spec: s.clone(), dests: vec![dest(2)] };
        assert_eq!(del.ipvsadm(), vec!["ipvsadm -D -t 198.51.100.100:80"]);
        let undo = del.inverse().expect("undo");
        assert_eq!(
            undo.ipvsadm(),
            vec![
                "ipvsadm -A -t 198.51.100.100:80 -s wrr -p 300",
                "ipvsadm -a -t 198.51.100.100:80 -r 198.51.100.11:80 -g -w 2"
            ]
        );
        assert!(Change::Zero(None).is_dangerous());
        assert_eq!(Change::Zero(None).inverse(), None);
    }
}
