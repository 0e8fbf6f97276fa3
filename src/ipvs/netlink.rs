//! The IPVS generic-netlink client: one socket, synchronous requests. It runs on
//! whatever thread owns it; the console reaches it through [`super::worker`].

use std::io;

use neli::consts::socket::NlFamily;

use super::codec::{dest_full, parse_daemon, parse_dest, parse_service, service_full, service_identity};
use super::error::IpvsError;
use super::wire::{self, cmd, top, Attrs, TlvWriter};
use crate::model::{
    Change, DestSpec, Destination, Family, ForwardMethod, Info, Part, Service, ServiceFlags, ServiceKey, ServiceSpec,
    Snapshot, Source, SyncDaemon, Timeouts, Want,
};
use crate::netlink::{NlConn, NlError, NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP};

const GENL_ID_CTRL: u16 = 0x10;
const CTRL_CMD_GETFAMILY: u8 = 3;
const CTRL_ATTR_FAMILY_ID: u16 = 1;
const CTRL_ATTR_FAMILY_NAME: u16 = 2;

/// What a request was, so that an errno can be explained in its terms.
#[derive(Debug, Clone)]
enum Ctx {
    Read(&'static str),
    AddService(ServiceSpec),
    EditService(ServiceSpec),
    ServiceOp(&'static str, ServiceKey),
    AddDest(ServiceKey, DestSpec),
    DestOp(&'static str, ServiceKey, String),
    Config,
    Zero,
}

impl Ctx {
    fn op(&self) -> String {
        match self {
            Ctx::Read(what) => format!("read {what}"),
            Ctx::AddService(s) => format!("add service {}", s.key),
            Ctx::EditService(s) => format!("edit service {}", s.key),
            Ctx::ServiceOp(verb, k) => format!("{verb} service {k}"),
            Ctx::AddDest(k, d) => format!("add realserver {} to service {k}", d.addr_port()),
            Ctx::DestOp(verb, k, d) => format!("{verb} realserver {d} of service {k}"),
            Ctx::Config => "set timeouts".to_string(),
            Ctx::Zero => "zero all counters".to_string(),
        }
    }

    fn service(&self) -> Option<ServiceKey> {
        match self {
            Ctx::AddService(s) | Ctx::EditService(s) => Some(s.key),
            Ctx::ServiceOp(_, k) | Ctx::AddDest(k, _) | Ctx::DestOp(_, k, _) => Some(*k),
            Ctx::Read(_) | Ctx::Config | Ctx::Zero => None,
        }
    }

    /// Map a kernel errno to a typed error naming the object and the fix.
    fn error(&self, errno: i32) -> IpvsError {
        let op = self.op();
        match (errno, self) {
            (libc::EPERM, _) => IpvsError::PermissionDenied { op },
            (libc::EEXIST, Ctx::AddService(s)) => IpvsError::ServiceExists(s.key),
            (libc::EEXIST, Ctx::AddDest(k, d)) => IpvsError::DestExists { svc: *k, dest: d.addr_port() },
            (libc::ESRCH, _) if self.service().is_some() => {
                IpvsError::NoSuchService(self.service().unwrap_or(ServiceKey::fwmark(Family::Inet, 0)))
            }
            (libc::ENOENT, Ctx::AddService(s) | Ctx::EditService(s)) => match &s.pe_name {
                Some(pe) => IpvsError::UnknownSchedulerOrPe { sched: s.scheduler.clone(), pe: pe.clone() },
                None => IpvsError::UnknownScheduler(s.scheduler.clone()),
            },
            (libc::ENOENT, Ctx::DestOp(_, k, d)) => IpvsError::NoSuchDest { svc: *k, dest: d.clone() },
            (libc::EINVAL, _) => IpvsError::Invalid { op, reason: self.einval_hint() },
            (libc::ERANGE, _) => IpvsError::Invalid {
                op,
                reason: "a value is out of range: the weight must be 0-65535 and the lower threshold must not exceed the upper one".into(),
            },
            (libc::EAFNOSUPPORT, _) => IpvsError::Invalid {
                op,
                reason: "address family not supported: is IPv6 disabled in this kernel (net.ipv6.conf.all.disable_ipv6)?".into(),
            },
            (libc::ENOPROTOOPT, _) => IpvsError::NotAvailable,
            _ => IpvsError::Kernel { op, errno, msg: io::Error::from_raw_os_error(errno).to_string() },
        }
    }

    fn einval_hint(&self) -> String {
        match self {
            Ctx::AddDest(_, d) => format!(
                "invalid argument: realserver {} must be a unicast address (IPv6: not link-local) \
                 and of the service's address family unless tunnelled",
                d.addr
            ),
            Ctx::DestOp(_, _, d) => {
                format!("invalid argument for realserver {d}: check its address, port and tunnel options")
            }
            Ctx::AddService(s) | Ctx::EditService(s) => {
                format!("invalid argument: check the address, the persistence netmask '{}' and the flags", s.netmask)
            }
            Ctx::Config => "invalid argument: timeouts must be 0 to 2147483 seconds".into(),
            _ => "invalid argument".into(),
        }
    }
}

/// An open IPVS generic-netlink connection.
pub struct NetlinkIpvs {
    conn: NlConn,
    /// A socket with a large receive buffer for the dump of every service.
    bulk: Option<NlConn>,
    family: u16,
}

fn sock_err(op: &str, e: impl std::fmt::Display) -> IpvsError {
    IpvsError::Socket { op: op.to_string(), msg: e.to_string() }
}

fn bad_reply(ctx: &Ctx, detail: impl Into<String>) -> IpvsError {
    IpvsError::BadReply { op: ctx.op(), detail: detail.into() }
}

fn nl_error(ctx: &Ctx, e: NlError) -> IpvsError {
    match e {
        NlError::Errno(errno) => ctx.error(errno),
        NlError::Io(msg) => sock_err(&ctx.op(), msg),
        NlError::Bad(detail) => bad_reply(ctx, detail),
        // IPVS's dumps never set NLM_F_DUMP_INTR (they resume by index).
        NlError::Interrupted => bad_reply(ctx, "the kernel flagged the dump as interrupted"),
        NlError::Truncated(n) => bad_reply(ctx, format!("a {n}-byte reply did not fit the receive buffer")),
    }
}

impl NetlinkIpvs {
    /// Open a socket and resolve the IPVS family.
    pub fn connect() -> Result<Self, IpvsError> {
        let conn = NlConn::connect(NlFamily::Generic)
            .map_err(|e| sock_err("open a generic netlink socket", format!("{e:?}")))?;
        let mut me = NetlinkIpvs { conn, bulk: None, family: GENL_ID_CTRL };
        let ctx = Ctx::Read("the IPVS netlink family");
        let name = vec![(CTRL_ATTR_FAMILY_NAME, b"IPVS\0".to_vec())];
        let mut id = None;
        match me.transact(GENL_ID_CTRL, CTRL_CMD_GETFAMILY, &name, false, &ctx, |a| {
            id = a.opt_u16(CTRL_ATTR_FAMILY_ID)?.or(id);
            Ok(())
        }) {
            Err(IpvsError::Kernel { errno: libc::ENOENT, .. }) => return Err(IpvsError::NotAvailable),
            other => other?,
        }
        me.family = id.ok_or(IpvsError::NotAvailable)?;
        Ok(me)
    }

    /// Send one generic-netlink request that is not a dump (top-level
    /// attributes already encoded, nested ones flagged) and hand each reply's
    /// attributes to `each`. A write asks for the kernel's acknowledgement
    /// (`ack`); a read does not: its one reply ends it (an error is always
    /// answered), one receive fewer for each service a refresh reads alone.
    fn transact(
        &mut self,
        nl_type: u16,
        command: u8,
        top_attrs: &[(u16, Vec<u8>)],
        ack: bool,
        ctx: &Ctx,
        each: impl FnMut(Attrs<'_>) -> Result<(), String>,
    ) -> Result<(), IpvsError> {
        let flags = if ack { NLM_F_ACK } else { 0 };
        self.transact_nl(nl_type, command, top_attrs, flags, each).map_err(|e| nl_error(ctx, e))
    }

    fn transact_nl(
        &mut self,
        nl_type: u16,
        command: u8,
        top_attrs: &[(u16, Vec<u8>)],
        flags: u16,
        mut each: impl FnMut(Attrs<'_>) -> Result<(), String>,
    ) -> Result<(), NlError> {
        let mut tlv = TlvWriter::default();
        for (ty, payload) in top_attrs {
            let nested = nl_type == self.family && matches!(*ty, top::SERVICE | top::DEST | top::DAEMON);
            tlv.bytes(if nested { ty | NLA_F_NESTED } else { *ty }, payload);
        }
        let mut body = vec![command, 1, 0, 0];
        body.extend(tlv.into_inner());
        self.conn.request(nl_type, flags, &body, |_, payload| {
            let attrs = payload.get(4..).ok_or("generic netlink header missing")?;
            each(Attrs::parse("reply", attrs)?)
        })
    }

    /// An IPVS dump: what `parse` makes of each reply, read again from the
    /// start if a datagram did not fit the receive buffer (grown since).
    fn dump<T>(
        &mut self,
        command: u8,
        top_attrs: &[(u16, Vec<u8>)],
        ctx: &Ctx,
        mut parse: impl FnMut(Attrs<'_>) -> Result<Option<T>, String>,
    ) -> Result<Vec<T>, IpvsError> {
        let family = self.family;
        crate::netlink::retry_interrupted(|| {
            // Room for a service's realservers as they usually come: no
            // regrowth while they are read (the rest is given back below).
            let mut out = Vec::with_capacity(16);
            self.transact_nl(family, command, top_attrs, NLM_F_DUMP, |a| {
                out.extend(parse(a)?);
                Ok(())
            })?;
            // Kept as long as the table: no spare capacity (a service's five
            // realservers would otherwise hold room for eight).
            out.shrink_to_fit();
            Ok(out)
        })
        .map_err(|e| nl_error(ctx, e))
    }

    /// An IPVS read (one reply).
    fn ipvs(
        &mut self,
        command: u8,
        top_attrs: &[(u16, Vec<u8>)],
        ctx: &Ctx,
        each: impl FnMut(Attrs<'_>) -> Result<(), String>,
    ) -> Result<(), IpvsError> {
        let family = self.family;
        self.transact(family, command, top_attrs, false, ctx, each)
    }

    /// An IPVS write, acknowledged.
    fn ipvs_ack(&mut self, command: u8, top_attrs: &[(u16, Vec<u8>)], ctx: &Ctx) -> Result<(), IpvsError> {
        let family = self.family;
        self.transact(family, command, top_attrs, true, ctx, |_| Ok(()))
    }

    /// IPVS version and connection table size.
    pub fn info(&mut self) -> Result<Info, IpvsError> {
        let ctx = Ctx::Read("IPVS info");
        let mut info = None;
        self.ipvs(cmd::GET_INFO, &[], &ctx, |a| {
            info = Some(Info {
                version_code: a.u32(wire::info::VERSION)?,
                conn_tab_size: a.u32(wire::info::CONN_TAB_SIZE)?,
            });
            Ok(())
        })?;
        info.ok_or_else(|| bad_reply(&ctx, "no reply"))
    }

    /// Protocol timeouts.
    pub fn timeouts(&mut self) -> Result<Timeouts, IpvsError> {
        let ctx = Ctx::Read("timeouts");
        let mut t = None;
        self.ipvs(cmd::GET_CONFIG, &[], &ctx, |a| {
            let get = |ty| a.opt_u32(ty).map(Option::unwrap_or_default);
            t = Some(Timeouts {
                tcp: get(top::TIMEOUT_TCP)?,
                tcp_fin: get(top::TIMEOUT_TCP_FIN)?,
                udp: get(top::TIMEOUT_UDP)?,
            });
            Ok(())
        })?;
        t.ok_or_else(|| bad_reply(&ctx, "no reply"))
    }

    /// Set protocol timeouts; a zero field leaves that timeout unchanged.
    pub fn set_timeouts(&mut self, t: Timeouts) -> Result<(), IpvsError> {
        const MAX: u32 = i32::MAX as u32 / 1000;
        for v in [t.tcp, t.tcp_fin, t.udp] {
            if v > MAX {
                return Err(crate::model::ValidationError {
                    field: crate::model::SpecField::Timeout,
                    value: v.to_string(),
                    reason: format!("use 0 (unchanged) to {MAX} seconds"),
                }
                .into());
            }
        }
        let w = vec![
            (top::TIMEOUT_TCP, t.tcp.to_ne_bytes().to_vec()),
            (top::TIMEOUT_TCP_FIN, t.tcp_fin.to_ne_bytes().to_vec()),
            (top::TIMEOUT_UDP, t.udp.to_ne_bytes().to_vec()),
        ];
        self.ipvs_ack(cmd::SET_CONFIG, &w, &Ctx::Config)
    }

    /// Running sync daemons.
    pub fn daemons(&mut self) -> Result<Vec<SyncDaemon>, IpvsError> {
        let ctx = Ctx::Read("sync daemons");
        self.dump(cmd::GET_DAEMON, &[], &ctx, |a| {
            a.nested(top::DAEMON, "daemon")?.map(|d| parse_daemon(&d)).transpose()
        })
    }

    /// All services (without destinations).
    pub fn services(&mut self) -> Result<Vec<Service>, IpvsError> {
        // On the socket with the large buffer: see BULK_RECV_BUF.
        let bulk = match self.bulk.take() {
            Some(b) => b,
            None => NlConn::with_buffer(NlFamily::Generic, crate::netlink::BULK_RECV_BUF)
                .map_err(|e| sock_err("open a generic netlink socket", format!("{e:?}")))?,
        };
        let small = std::mem::replace(&mut self.conn, bulk);
        let result = self.services_on_conn();
        self.bulk = Some(std::mem::replace(&mut self.conn, small));
        result
    }

    fn services_on_conn(&mut self) -> Result<Vec<Service>, IpvsError> {
        let ctx = Ctx::Read("services");
        without_repeats(
            || {
                self.dump(cmd::GET_SERVICE, &[], &ctx, |a| {
                    let s = a.nested(top::SERVICE, "service")?.ok_or("service reply without a service")?;
                    parse_service(&s).map(Some)
                })
            },
            |s| s.spec.key,
        )
    }

    /// One service with its counters and rates (no realservers), or `NoSuchService`.
    pub fn service_with_stats(&mut self, key: &ServiceKey) -> Result<Service, IpvsError> {
        let ctx = Ctx::ServiceOp("read", *key);
        let mut service = None;
        self.ipvs(cmd::GET_SERVICE, &[(top::SERVICE, service_identity(key))], &ctx, |a| {
            let s = a.nested(top::SERVICE, "service")?.ok_or("reply without a service")?;
            service = Some(parse_service(&s)?);
            Ok(())
        })?;
        service.ok_or(IpvsError::NoSuchService(*key))
    }

    /// One service's configuration, or `NoSuchService`.
    pub fn service(&mut self, key: &ServiceKey) -> Result<ServiceSpec, IpvsError> {
        let ctx = Ctx::ServiceOp("read", *key);
        let mut spec = None;
        self.ipvs(cmd::GET_SERVICE, &[(top::SERVICE, service_identity(key))], &ctx, |a| {
            let s = a.nested(top::SERVICE, "service")?.ok_or("reply without a service")?;
            spec = Some(parse_service(&s)?.spec);
            Ok(())
        })?;
        spec.ok_or(IpvsError::NoSuchService(*key))
    }

    /// The destinations of one service (empty if the service vanished).
    pub fn destinations(&mut self, key: &ServiceKey) -> Result<Vec<Destination>, IpvsError> {
        let ctx = Ctx::ServiceOp("list realservers of", *key);
        let family = key.family();
        without_repeats(
            || {
                self.dump(cmd::GET_DEST, &[(top::SERVICE, service_identity(key))], &ctx, |a| {
                    a.nested(top::DEST, "destination")?.map(|d| parse_dest(&d, family)).transpose()
                })
            },
            |d| (d.spec.addr, d.spec.port),
        )
    }

    /// A complete snapshot: info, timeouts, daemons, every service with its destinations.
    pub fn snapshot(&mut self) -> Result<Snapshot, IpvsError> {
        self.refresh(&Want::All).map(|(snap, _)| snap)
    }

    /// [`Self::snapshot`] handed to `each` as it is read (see [`Part`]): each
    /// service as soon as its realservers are, so that a caller on another
    /// thread formats it while the next is read. `each` returns false to stop
    /// (the stream then ends without its totals).
    pub fn stream(&mut self, each: &mut dyn FnMut(Part) -> bool) -> Result<(), IpvsError> {
        let head = Snapshot {
            source: Source::Netlink,
            info: Some(self.info()?),
            timeouts: Some(self.timeouts()?),
            daemons: self.daemons()?,
            services: Vec::new(),
            totals: None,
        };
        let mut services = self.services()?;
        services.sort_by_key(|s| s.spec.key);
        if !each(Part::Head(head)) {
            return Ok(());
        }
        for mut s in services {
            match self.destinations(&s.spec.key) {
                Ok(d) => s.destinations = d.into(),
                // Deleted since the services were listed: as if listed a moment later.
                Err(IpvsError::NoSuchService(_)) => continue,
                Err(e) => return Err(e),
            }
            s.sort_destinations();
            if !each(Part::Service(s)) {
                return Ok(());
            }
        }
        each(Part::Totals(crate::sys::ipvs_proc::read_totals().ok()));
        Ok(())
    }

    /// Info, timeouts, daemons and every service with its counters and rates,
    /// with the realservers of the services `want` names (the others have
    /// none); and the keys of the services whose realservers were read.
    pub fn refresh(&mut self, want: &Want) -> Result<(Snapshot, Vec<ServiceKey>), IpvsError> {
        // A refresh of the services on screen alone reads nothing else: the
        // table's info, timeouts, daemons and totals come with the next list.
        let alone = matches!(want, Want::Alone(_));
        let info = if alone { None } else { Some(self.info()?) };
        let timeouts = if alone { None } else { Some(self.timeouts()?) };
        let daemons = if alone { Vec::new() } else { self.daemons()? };
        let mut services = match want {
            Want::Alone(keys) => {
                // Each asked for alone (a service gone since is left out: its key in
                // `read` without a service says so).
                let mut services = Vec::with_capacity(keys.len());
                for key in keys {
                    match self.service_with_stats(key) {
                        Ok(s) => services.push(s),
                        Err(IpvsError::NoSuchService(_)) => {}
                        Err(e) => return Err(e),
                    }
                }
                services
            }
            _ => self.services()?,
        };
        services.sort_by_key(|s| s.spec.key);
        let read = match want {
            Want::All => {
                self.fill_destinations(&mut services)?;
                services.iter().map(|s| s.spec.key).collect()
            }
            Want::First(n) => {
                let n = (*n).min(services.len());
                self.fill_destinations(&mut services[..n])?;
                services[..n].iter().map(|s| s.spec.key).collect()
            }
            Want::Keys(keys) | Want::Alone(keys) => {
                let mut read = Vec::with_capacity(keys.len());
                for key in keys {
                    if let Ok(i) = services.binary_search_by(|s| s.spec.key.cmp(key)) {
                        match self.destinations(key) {
                            Ok(d) => services[i].destinations = d.into(),
                            // Deleted since the services were listed: the next refresh drops it.
                            Err(IpvsError::NoSuchService(_)) => continue,
                            Err(e) => return Err(e),
                        }
                        read.push(*key);
                    } else if matches!(want, Want::Alone(_)) {
                        read.push(*key);
                    }
                }
                read
            }
        };
        let mut snap = Snapshot {
            source: Source::Netlink,
            info,
            timeouts,
            daemons,
            services,
            totals: if alone { None } else { crate::sys::ipvs_proc::read_totals().ok() },
        };
        snap.sort();
        Ok((snap, read))
    }

    /// List every service's destinations: one GET_DEST dump per service (the
    /// kernel has no all-destinations dump). On one socket: IPVS's netlink
    /// family takes the kernel's generic-netlink lock for each dump, so
    /// dumps on several sockets in parallel wait for each other (measured:
    /// two threads took 47 % more CPU for 5 to 10 % less time).
    fn fill_destinations(&mut self, services: &mut [Service]) -> Result<(), IpvsError> {
        for s in services.iter_mut() {
            s.destinations = self.destinations(&s.spec.key)?.into();
        }
        Ok(())
    }

    /// Add a service.
    pub fn add_service(&mut self, spec: &ServiceSpec) -> Result<(), IpvsError> {
        self.send_service(cmd::NEW_SERVICE, spec, &Ctx::AddService(spec.clone()))
    }

    /// Replace a service's configuration (scheduler, flags, persistence, engine).
    pub fn edit_service(&mut self, spec: &ServiceSpec) -> Result<(), IpvsError> {
        self.send_service(cmd::SET_SERVICE, spec, &Ctx::EditService(spec.clone()))
    }

    /// Validate `spec` and send it with `command` (new or set).
    fn send_service(&mut self, command: u8, spec: &ServiceSpec, ctx: &Ctx) -> Result<(), IpvsError> {
        spec.validate()?;
        self.ipvs_ack(command, &[(top::SERVICE, service_full(spec))], ctx)
    }

    /// Delete a service and all its destinations.
    pub fn del_service(&mut self, key: &ServiceKey) -> Result<(), IpvsError> {
        let w = vec![(top::SERVICE, service_identity(key))];
        self.ipvs_ack(cmd::DEL_SERVICE, &w, &Ctx::ServiceOp("delete", *key))
    }

    /// Add a destination to a service (validated against the service's current configuration).
    pub fn add_dest(&mut self, key: &ServiceKey, d: &DestSpec) -> Result<(), IpvsError> {
        self.send_dest(cmd::NEW_DEST, key, d, &Ctx::AddDest(*key, d.clone()))
    }

    /// Replace a destination's settings (weight, method, thresholds, tunnel).
    pub fn edit_dest(&mut self, key: &ServiceKey, d: &DestSpec) -> Result<(), IpvsError> {
        self.send_dest(cmd::SET_DEST, key, d, &Ctx::DestOp("edit", *key, d.addr_port()))
    }

    /// Validate `d` against the service's current configuration and send it with `command` (new or set).
    fn send_dest(&mut self, command: u8, key: &ServiceKey, d: &DestSpec, ctx: &Ctx) -> Result<(), IpvsError> {
        let svc = self.service(key)?;
        d.validate(&svc)?;
        self.ipvs_ack(command, &[(top::SERVICE, service_identity(key)), (top::DEST, dest_full(d))], ctx)
    }

    /// Delete a destination.
    pub fn del_dest(&mut self, key: &ServiceKey, addr: std::net::IpAddr, port: u16) -> Result<(), IpvsError> {
        let mut d = TlvWriter::default();
        d.addr(wire::dest::ADDR, addr)
            .be16(wire::dest::PORT, port)
            .u16(wire::dest::ADDR_FAMILY, Family::of(&addr).af());
        let w = vec![(top::SERVICE, service_identity(key)), (top::DEST, d.into_inner())];
        let name = crate::model::fmt_addr_port(&addr, port);
        self.ipvs_ack(cmd::DEL_DEST, &w, &Ctx::DestOp("delete", *key, name))
    }

    /// Zero the counters of one service, or of everything.
    pub fn zero(&mut self, key: Option<&ServiceKey>) -> Result<(), IpvsError> {
        let mut w = Vec::new();
        let ctx = match key {
            Some(k) => {
                w.push((top::SERVICE, service_identity(k)));
                Ctx::ServiceOp("zero the counters of", *k)
            }
            None => Ctx::Zero,
        };
        self.ipvs_ack(cmd::ZERO, &w, &ctx)
    }

    /// Apply a change, after checking that what it edits or deletes is still
    /// as the operator saw it (compare and set: a concurrent change by
    /// keepalived or another operator is never overwritten blindly). A batch
    /// stops at its first failure.
    pub fn apply(&mut self, change: &Change) -> Result<(), IpvsError> {
        self.still_as_seen(change)?;
        match change {
            Change::AddService(s) => self.add_service(s),
            Change::EditService { after, .. } => self.edit_service(after),
            Change::DelService { spec, .. } => self.del_service(&spec.key),
            Change::AddDest { svc, dest } => self.add_dest(svc, dest),
            Change::EditDest { svc, after, .. } => self.edit_dest(svc, after),
            Change::DelDest { svc, dest } => self.del_dest(svc, dest.addr, dest.port),
            Change::Zero(k) => self.zero(k.as_ref()),
            Change::Batch { changes, .. } => changes.iter().try_for_each(|c| self.apply(c)),
        }
    }

    /// `Err(ChangedMeanwhile)` if the service or realserver `change` edits or
    /// deletes differs now from its `before` (a realserver that is gone is
    /// left to the kernel's own ENOENT, which names it).
    fn still_as_seen(&mut self, change: &Change) -> Result<(), IpvsError> {
        match change {
            Change::EditDest { svc, before, .. } | Change::DelDest { svc, dest: before } => {
                let now = self.destinations(svc)?;
                match now.iter().find(|d| d.spec.addr == before.addr && d.spec.port == before.port) {
                    Some(d) if !same_dest(&d.spec, before) => Err(IpvsError::ChangedMeanwhile {
                        what: format!("realserver {} of {svc}", before.addr_port()),
                        seen: crate::model::dest_summary(before),
                        now: crate::model::dest_summary(&d.spec),
                        current: Box::new(crate::model::Current::Dest { svc: *svc, dest: d.spec.clone() }),
                    }),
                    _ => Ok(()),
                }
            }
            Change::DelService { spec, dests } => {
                self.still_as_seen(&Change::EditService { before: spec.clone(), after: spec.clone() })?;
                // Its realservers go with it: they too must be as seen, or the
                // undo (which adds back those seen) could not restore them.
                let now = self.destinations(&spec.key)?;
                let seen = |d: &DestSpec| dests.iter().any(|s| s.addr == d.addr && s.port == d.port && same_dest(s, d));
                let is_now = |s: &DestSpec| now.iter().any(|d| d.spec.addr == s.addr && d.spec.port == s.port);
                let mut which: Vec<String> = now
                    .iter()
                    .filter(|d| !seen(&d.spec))
                    .map(|d| format!("{} {}", d.spec.addr_port(), crate::model::dest_summary(&d.spec)))
                    .chain(dests.iter().filter(|s| !is_now(s)).map(|s| format!("{} gone", s.addr_port())))
                    .collect();
                if which.is_empty() {
                    return Ok(());
                }
                let more = which.len().saturating_sub(3);
                which.truncate(3);
                if more > 0 {
                    which.push(format!("{more} more"));
                }
                Err(IpvsError::RealserversChanged { svc: spec.key.to_string(), which: which.join(", ") })
            }
            Change::EditService { before, .. } => match self.service(&before.key) {
                Ok(now) if !same_service(&now, before) => Err(IpvsError::ChangedMeanwhile {
                    what: format!("service {}", before.key),
                    seen: crate::model::ipvsadm::service_args(before),
                    now: crate::model::ipvsadm::service_args(&now),
                    current: Box::new(crate::model::Current::Service(now)),
                }),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }
}

/// A dump read again while it lists an entry twice, at most
/// [`crate::netlink::DUMP_TRIES`] times in all; then each entry is kept once
/// (the first listed). Returned in the order of `key`.
/// IPVS resumes a dump that spans datagrams by index and never sets
/// NLM_F_DUMP_INTR: an entry removed meanwhile shifts the rest, so one is
/// listed twice (an entry added meanwhile may be missed until the next read).
fn without_repeats<T, K: Ord>(
    mut read: impl FnMut() -> Result<Vec<T>, IpvsError>,
    key: impl Fn(&T) -> K,
) -> Result<Vec<T>, IpvsError> {
    let mut tries = 1;
    loop {
        let mut out = read()?;
        // The keys sorted with their places (a tie in the order read): a
        // repeat is next to its first, and the entries are put in order by
        // one swap each, not moved at every step of a sort (a service is some
        // hundred bytes, and every refresh reads them all).
        let mut order: Vec<(K, usize)> = out.iter().map(&key).zip(0..).collect();
        order.sort_unstable();
        let repeated = order.windows(2).any(|w| w[0].0 == w[1].0);
        if repeated && tries < crate::netlink::DUMP_TRIES {
            tries += 1;
            continue;
        }
        let mut from: Vec<usize> = order.into_iter().map(|(_, i)| i).collect();
        in_order(&mut out, &mut from);
        if repeated {
            out.dedup_by(|b, a| key(a) == key(b));
        }
        return Ok(out);
    }
}

/// Put `items` in the order `from` gives (`from[p]`: the place of the item
/// that goes to `p`, a permutation), following its cycles: each swap puts
/// one item in its place, no copy of the list. `from` is used up.
fn in_order<T>(items: &mut [T], from: &mut [usize]) {
    for start in 0..from.len().min(items.len()) {
        let mut p = start;
        loop {
            let src = from[p];
            from[p] = p;
            if src == start || src == p || src >= items.len() {
                break;
            }
            items.swap(p, src);
            p = src;
        }
    }
}

/// Whether two readings of a realserver agree on what an operator sets and
/// sees (tunnel settings only for a tunnel).
fn same_dest(a: &DestSpec, b: &DestSpec) -> bool {
    let tunnel = |d: &DestSpec| (d.forward == ForwardMethod::Tunnel).then_some((d.tun_type, d.tun_port, d.tun_csum));
    (a.forward, a.weight, a.u_thresh, a.l_thresh) == (b.forward, b.weight, b.u_thresh, b.l_thresh)
        && tunnel(a) == tunnel(b)
}

/// Whether two readings of a service agree on what an operator sets and sees
/// (timeout and netmask only when persistent; the kernel's own flag bits aside).
fn same_service(a: &ServiceSpec, b: &ServiceSpec) -> bool {
    let persistence = |s: &ServiceSpec| s.flags.is_persistent().then_some((s.timeout, s.netmask));
    let flags = |s: &ServiceSpec| s.flags.0 & ServiceFlags::KNOWN;
    a.scheduler == b.scheduler && flags(a) == flags(b) && persistence(a) == persistence(b) && a.pe_name == b.pe_name
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_dump_that_lists_an_entry_twice_is_read_again() {
        let mut reads = vec![vec![1, 2, 2, 3], vec![1, 2, 3, 4]].into_iter();
        let got = without_repeats(|| Ok(reads.next().unwrap_or_default()), |x| *x).expect("read");
        assert_eq!(got, vec![1, 2, 3, 4], "the second reading");
        let mut n = 0;
        let got = without_repeats(
            || {
                n += 1;
                Ok(vec![5, 5, 6])
            },
            |x| *x,
        )
        .expect("read");
        assert_eq!((got, n), (vec![5, 6], 3), "read three times, then kept once");
    }

    #[test]
    fn a_dump_comes_back_in_key_order_with_the_first_of_a_repeat_kept() {
        // As the kernel lists them (hash order), then in key order.
        let got =
            without_repeats(|| Ok(vec![(7, 'a'), (3, 'b'), (9, 'c'), (1, 'd'), (5, 'e')]), |x| x.0).expect("read");
        assert_eq!(got, vec![(1, 'd'), (3, 'b'), (5, 'e'), (7, 'a'), (9, 'c')]);
        let got = without_repeats(|| Ok(vec![(2, 'x'), (1, 'y'), (2, 'z'), (0, 'w')]), |x| x.0).expect("read");
        assert_eq!(got, vec![(0, 'w'), (1, 'y'), (2, 'x')], "the first listed kept");
    }

    #[test]
    fn every_permutation_is_applied_in_place() {
        // All orders of six items, against a sort.
        fn perms(n: usize) -> Vec<Vec<usize>> {
            if n == 0 {
                return vec![Vec::new()];
            }
            let mut out = Vec::new();
            for p in perms(n - 1) {
                for at in 0..=p.len() {
                    let mut q = p.clone();
                    q.insert(at, n - 1);
                    out.push(q);
                }
            }
            out
        }
        for p in perms(6) {
            let mut items: Vec<char> = p.iter().map(|&i| char::from(b'a' + i as u8)).collect();
            let mut from: Vec<usize> = (0..items.len()).collect();
            from.sort_by_key(|&i| items[i]);
            in_order(&mut items, &mut from);
            assert_eq!(items, vec!['a', 'b', 'c', 'd', 'e', 'f'], "{p:?}");
        }
    }

    #[test]
    fn errno_mapping_names_the_object() {
        let key = ServiceKey::tcp("198.51.100.1".parse().expect("ip"), 80);
        let spec = ServiceSpec::new(key, "nosuch");
        assert_eq!(Ctx::AddService(spec.clone()).error(libc::EEXIST), IpvsError::ServiceExists(key));
        assert_eq!(Ctx::AddService(spec).error(libc::ENOENT), IpvsError::UnknownScheduler("nosuch".into()));
        let e = Ctx::DestOp("edit", key, "198.51.100.11:80".into()).error(libc::ENOENT);
        assert!(e.to_string().contains("198.51.100.11:80"), "{e}");
        assert!(Ctx::Read("services").error(libc::EPERM).to_string().contains("setcap"));
    }
}
