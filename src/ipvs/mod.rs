//! Talking to the kernel's IPVS: generic netlink when permitted, a read-only
//! /proc fallback otherwise ([`crate::sys::ipvs_proc`]), and a worker thread so
//! callers never block on it.

#[doc(hidden)]
pub mod codec;
pub mod error;
pub mod netlink;
pub mod wire;
pub mod worker;

pub use error::{IpvsError, CAP_FIX};
pub use netlink::NetlinkIpvs;
pub use worker::IpvsHandle;

use crate::model::Snapshot;

/// The way lvstop reaches IPVS on this host.
pub enum Backend {
    /// Full read-write access over generic netlink.
    Netlink(NetlinkIpvs),
    /// Netlink reads only (`--read-only`): no write path exists.
    NetlinkReadOnly(NetlinkIpvs),
    /// Degraded read-only view from /proc; `reason` names the cause and the fix.
    Procfs {
        /// Why netlink is not used, and how to fix it.
        reason: String,
    },
}

impl Backend {
    /// Netlink if the kernel allows it; the /proc fallback if netlink is refused
    /// for lack of privilege; `NotAvailable` if the kernel has no IPVS at all.
    pub fn open() -> Result<Backend, IpvsError> {
        let proc_exists = std::path::Path::new(crate::sys::ipvs_proc::IP_VS).exists();
        match NetlinkIpvs::connect() {
            Ok(mut nl) => match nl.info() {
                Ok(_) => Ok(Backend::Netlink(nl)),
                Err(IpvsError::PermissionDenied { .. }) if proc_exists => Ok(Backend::Procfs {
                    reason: format!("no CAP_NET_ADMIN, showing the read-only /proc view without stats or rates: {CAP_FIX}"),
                }),
                Err(e) => Err(e),
            },
            Err(IpvsError::NotAvailable) if proc_exists => Ok(Backend::Procfs {
                reason: "the IPVS netlink family is missing, showing the read-only /proc view: upgrade the kernel or load ip_vs with `modprobe ip_vs`".into(),
            }),
            Err(e) => Err(e),
        }
    }

    /// A snapshot from whichever source is available.
    pub fn snapshot(&mut self) -> Result<Snapshot, IpvsError> {
        match self {
            Backend::Netlink(nl) | Backend::NetlinkReadOnly(nl) => nl.snapshot(),
            Backend::Procfs { reason } => crate::sys::ipvs_proc::snapshot(reason)
                .map_err(|e| IpvsError::BadReply { op: "read /proc/net/ip_vs".into(), detail: e.to_string() }),
        }
    }

    /// [`Self::snapshot`] handed to `each` as it is read (see
    /// [`crate::model::Part`]); the /proc fallback reads everything in one go.
    pub fn stream(&mut self, each: &mut dyn FnMut(crate::model::Part) -> bool) -> Result<(), IpvsError> {
        match self {
            Backend::Netlink(nl) | Backend::NetlinkReadOnly(nl) => nl.stream(each),
            Backend::Procfs { .. } => {
                for part in self.snapshot()?.into_parts() {
                    if !each(part) {
                        break;
                    }
                }
                Ok(())
            }
        }
    }

    /// Every service with its counters and rates, and the realservers of
    /// those `want` names; with the keys of the services whose realservers
    /// were read. The /proc fallback reads everything in one go.
    pub fn refresh(
        &mut self,
        want: &crate::model::Want,
    ) -> Result<(Snapshot, Vec<crate::model::ServiceKey>), IpvsError> {
        match self {
            Backend::Netlink(nl) | Backend::NetlinkReadOnly(nl) => nl.refresh(want),
            Backend::Procfs { .. } => {
                let snap = self.snapshot()?;
                let read = snap.services.iter().map(|s| s.spec.key).collect();
                Ok((snap, read))
            }
        }
    }

    /// Drop the write path: what `--read-only` does right after opening.
    #[must_use]
    pub fn into_read_only(self) -> Backend {
        match self {
            Backend::Netlink(nl) => Backend::NetlinkReadOnly(nl),
            other => other,
        }
    }

    /// Why writes are impossible, if they are.
    pub fn read_only_reason(&self) -> Option<String> {
        match self {
            Backend::Netlink(_) => None,
            Backend::NetlinkReadOnly(_) => Some("started with --read-only".into()),
            Backend::Procfs { reason } => Some(reason.clone()),
        }
    }

    /// The netlink client, or `ReadOnly` naming `op` and the reason.
    pub fn writer(&mut self, op: &str) -> Result<&mut NetlinkIpvs, IpvsError> {
        match self {
            Backend::Netlink(nl) => Ok(nl),
            Backend::NetlinkReadOnly(_) => {
                Err(IpvsError::ReadOnly { op: op.to_string(), why: "started with --read-only".into() })
            }
            Backend::Procfs { reason } => Err(IpvsError::ReadOnly { op: op.to_string(), why: reason.clone() }),
        }
    }
}
