//! Typed IPVS errors that name the object at fault and the fix.

use thiserror::Error;

use crate::model::{ServiceKey, ValidationError};

/// How to get CAP_NET_ADMIN, shown whenever it is missing.
pub const CAP_FIX: &str = "run lvstop with sudo, or grant the capability once with `sudo setcap cap_net_admin,cap_net_raw+ep $(command -v lvstop)`";

/// Everything that can go wrong talking to IPVS.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum IpvsError {
    /// The kernel has no IPVS generic-netlink family.
    #[error(
        "IPVS is not available in this kernel: on a director, load it with `sudo modprobe ip_vs`; \
         to try lvstop anywhere, `lvstop lab` boots a disposable LVS-DR on a real IPVS kernel"
    )]
    NotAvailable,
    /// EPERM: CAP_NET_ADMIN is missing.
    #[error("{op}: permission denied: IPVS needs CAP_NET_ADMIN; {CAP_FIX}")]
    PermissionDenied {
        /// What was attempted.
        op: String,
    },
    /// EEXIST on a service add.
    #[error("service {0} already exists: edit it instead (ipvsadm -E)")]
    ServiceExists(ServiceKey),
    /// ESRCH: the service is gone.
    #[error("service {0} does not exist (it may just have been deleted): refresh and try again")]
    NoSuchService(ServiceKey),
    /// EEXIST on a destination add.
    #[error("realserver {dest} already exists in service {svc}: edit it instead")]
    DestExists {
        /// The service.
        svc: ServiceKey,
        /// `RIP:port`.
        dest: String,
    },
    /// ENOENT on a destination edit or delete.
    #[error(
        "realserver {dest} does not exist in service {svc} (it may just have been deleted): refresh and try again"
    )]
    NoSuchDest {
        /// The service.
        svc: ServiceKey,
        /// `RIP:port`.
        dest: String,
    },
    /// ENOENT on a service add/edit: no such scheduler module.
    #[error("unknown scheduler '{0}': the kernel has no module ip_vs_{0}; use one of rr, wrr, lc, wlc, lblc, lblcr, dh, sh, sed, nq, fo, ovf, mh, twos")]
    UnknownScheduler(String),
    /// ENOENT on a service add/edit with a persistence engine.
    #[error("unknown scheduler '{sched}' or persistence engine '{pe}': check that modules ip_vs_{sched} and ip_vs_pe_{pe} exist")]
    UnknownSchedulerOrPe {
        /// Scheduler asked for.
        sched: String,
        /// Persistence engine asked for.
        pe: String,
    },
    /// EINVAL, ERANGE and friends: the kernel refused a field.
    #[error("the kernel refused to {op}: {reason}")]
    Invalid {
        /// What was attempted.
        op: String,
        /// The likely offending field and its fix.
        reason: String,
    },
    /// Refused before sending.
    #[error(transparent)]
    Validation(#[from] ValidationError),
    /// Any other errno.
    #[error("the kernel refused to {op}: {msg} (errno {errno})")]
    Kernel {
        /// What was attempted.
        op: String,
        /// The raw errno.
        errno: i32,
        /// strerror text.
        msg: String,
    },
    /// The netlink socket itself failed.
    #[error("netlink error during {op}: {msg}")]
    Socket {
        /// What was attempted.
        op: String,
        /// Details.
        msg: String,
    },
    /// The kernel sent something lvstop cannot parse.
    #[error("malformed kernel reply to {op}: {detail}")]
    BadReply {
        /// What was attempted.
        op: String,
        /// What was wrong with it.
        detail: String,
    },
    /// A write in read-only mode.
    #[error("{op} refused: lvstop is read-only ({why})")]
    ReadOnly {
        /// What was attempted.
        op: String,
        /// Why lvstop is read-only, with the fix.
        why: String,
    },
    /// The IPVS worker thread has exited.
    #[error("the IPVS worker has stopped; restart lvstop")]
    WorkerGone,
    /// The object changed between the snapshot the operator saw and the edit
    /// (keepalived, another operator): nothing was sent.
    #[error("{what} changed meanwhile (keepalived or another operator?): it is now {now}, not {seen} as shown; nothing was changed: look again and retry")]
    ChangedMeanwhile {
        /// The object.
        what: String,
        /// As the operator saw it.
        seen: String,
        /// As the kernel has it now.
        now: String,
        /// The object as the kernel has it now, to make the change again on.
        current: Box<crate::model::Current>,
    },
    /// A service to delete has other realservers now than the operator saw:
    /// deleting it would delete those too, and its undo could not add them
    /// back. Nothing was sent.
    #[error("the realservers of {svc} changed meanwhile ({which}); nothing was deleted: look again and retry")]
    RealserversChanged {
        /// The service.
        svc: String,
        /// The realservers added, changed or gone, a few named.
        which: String,
    },
}

impl IpvsError {
    /// The raw errno, if the kernel gave one.
    pub fn errno(&self) -> Option<i32> {
        match self {
            IpvsError::Kernel { errno, .. } => Some(*errno),
            IpvsError::PermissionDenied { .. } => Some(libc::EPERM),
            _ => None,
        }
    }
}
