//! Add/edit forms for services and realservers: every engine field, validated
//! as the operator types, with the error shown under the field at fault.

use std::net::{IpAddr, Ipv4Addr};

use ratatui::crossterm::event::KeyEvent;

use super::layer::{edit_text, Edit};
use crate::config::{Action, Keymap};
use crate::model::Change;
use crate::model::{
    DestSpec, Family, ForwardMethod, Netmask, Protocol, ServiceFlags, ServiceKey, ServiceSpec, SpecField, TunnelCsum,
    TunnelType,
};

/// What the form creates or edits.
#[derive(Debug, Clone, PartialEq)]
pub enum FormKind {
    /// A new service.
    AddService,
    /// An existing service.
    EditService(ServiceSpec),
    /// A new realserver of a service.
    AddDest(ServiceSpec),
    /// An existing realserver of a service.
    EditDest(ServiceSpec, DestSpec),
}

/// Which input a form field is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FieldId {
    /// tcp, udp, sctp, fwm or fwm6.
    Protocol,
    /// The virtual address (or the mark of a fwmark service), or the realserver address.
    Address,
    /// The service port, or the realserver port.
    Port,
    /// The scheduler.
    Scheduler,
    /// The persistence timeout.
    Persistence,
    /// The persistence netmask or prefix length.
    Netmask,
    /// One-packet scheduling.
    OnePacket,
    /// Scheduler flags.
    SchedFlags,
    /// The persistence engine.
    Pe,
    /// dr, nat or tun.
    Method,
    /// The weight.
    Weight,
    /// The upper connection threshold.
    UpperThreshold,
    /// The lower connection threshold.
    LowerThreshold,
    /// ipip, gue or gre.
    TunnelType,
    /// The GUE port.
    TunnelPort,
    /// The tunnel checksum option.
    TunnelCsum,
}

impl FieldId {
    /// The input line where the operator fixes a spec field the model refused.
    fn of(f: SpecField) -> FieldId {
        match f {
            SpecField::Protocol => FieldId::Protocol,
            SpecField::VirtualAddress | SpecField::Fwmark | SpecField::RealserverAddress => FieldId::Address,
            SpecField::Port | SpecField::RealserverPort => FieldId::Port,
            SpecField::Scheduler | SpecField::Flags => FieldId::Scheduler,
            SpecField::PersistenceEngine => FieldId::Pe,
            SpecField::OnePacket => FieldId::OnePacket,
            SpecField::PersistenceTimeout | SpecField::Timeout => FieldId::Persistence,
            SpecField::Netmask | SpecField::PrefixLength => FieldId::Netmask,
            SpecField::Weight => FieldId::Weight,
            SpecField::UpperThreshold => FieldId::UpperThreshold,
            SpecField::LowerThreshold => FieldId::LowerThreshold,
            SpecField::ForwardingMethod => FieldId::Method,
            SpecField::TunnelPort => FieldId::TunnelPort,
            SpecField::TunnelChecksum => FieldId::TunnelCsum,
            SpecField::TunnelOptions => FieldId::TunnelType,
        }
    }
}

/// One input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Which input it is.
    pub id: FieldId,
    /// Label.
    pub label: &'static str,
    /// Text typed.
    pub value: String,
    /// Identity fields cannot change on edit: the cursor skips them and keys do nothing there.
    pub locked: bool,
    /// Accepted values.
    pub hint: &'static str,
}

/// A form in progress.
#[derive(Debug, Clone, PartialEq)]
pub struct Form {
    /// What it is for.
    pub kind: FormKind,
    /// The fields.
    pub fields: Vec<Field>,
    /// The field with the cursor (never a locked one while another exists).
    pub focus: FieldId,
    /// The first problem: (field, message).
    pub error: Option<(FieldId, String)>,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormEvent {
    /// Still editing.
    Stay,
    /// Cancelled.
    Cancel,
    /// Submitted, and valid.
    Submit(Change),
}

fn field(id: FieldId, label: &'static str, value: impl Into<String>, locked: bool, hint: &'static str) -> Field {
    Field { id, label, value: value.into(), locked, hint }
}

fn svc_fields(s: Option<&ServiceSpec>) -> Vec<Field> {
    let locked = s.is_some();
    let (proto, addr, port) = match s.map(|s| s.key) {
        Some(ServiceKey::Addr { protocol, addr, port }) => {
            (protocol.name().to_ascii_lowercase(), addr.to_string(), port.to_string())
        }
        Some(ServiceKey::Fwmark { family: Family::Inet, mark }) => ("fwm".into(), mark.to_string(), String::new()),
        Some(ServiceKey::Fwmark { family: Family::Inet6, mark }) => ("fwm6".into(), mark.to_string(), String::new()),
        None => ("tcp".into(), String::new(), "80".into()),
    };
    let sched = s.map_or_else(|| "wlc".to_string(), |s| s.scheduler.clone());
    let persistent = s.filter(|s| s.flags.is_persistent()).map(|s| s.timeout.to_string()).unwrap_or_default();
    let mask = s.filter(|s| !s.netmask.is_default()).map(|s| s.netmask.to_string()).unwrap_or_default();
    let ops = if s.is_some_and(|s| s.flags.is_one_packet()) { "yes" } else { "no" };
    let flags = s.map(|s| s.flags.sched_flag_names(&s.scheduler).join(",")).unwrap_or_default();
    let pe = s.and_then(|s| s.pe_name.clone()).unwrap_or_default();
    vec![
        field(FieldId::Protocol, "protocol", proto, locked, "tcp, udp, sctp, fwm (IPv4 mark) or fwm6 (IPv6 mark)"),
        field(FieldId::Address, "address", addr, locked, "virtual IP (IPv4 or IPv6), or the mark for fwm/fwm6"),
        field(FieldId::Port, "port", port, locked, "1-65535 (0 = all ports, persistent only); empty for fwmark"),
        field(FieldId::Scheduler, "scheduler", sched, false, "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos"),
        field(FieldId::Persistence, "persistence", persistent, false, "timeout in seconds, empty = not persistent"),
        field(
            FieldId::Netmask,
            "netmask",
            mask,
            false,
            "persistence granularity: IPv4 mask or IPv6 prefix; empty = one client",
        ),
        field(FieldId::OnePacket, "one-packet", ops, false, "yes or no (UDP and fwmark only)"),
        field(
            FieldId::SchedFlags,
            "sched-flags",
            flags,
            false,
            "comma list: sh-fallback,sh-port / mh-fallback,mh-port / flag-1..3",
        ),
        field(FieldId::Pe, "pe", pe, false, "persistence engine (sip) or empty"),
    ]
}

fn dest_fields(svc: &ServiceSpec, d: Option<&DestSpec>) -> Vec<Field> {
    let locked = d.is_some();
    let method = match d.map_or(ForwardMethod::Route, |d| d.forward) {
        ForwardMethod::Masq => "nat",
        ForwardMethod::Tunnel => "tun",
        ForwardMethod::Local => "local",
        ForwardMethod::Route | ForwardMethod::Bypass => "dr",
        // Shown as it is: the form refuses it, and says which methods it takes.
        ForwardMethod::Unknown(_) => "unknown",
    };
    let csum = match d.map_or(TunnelCsum::NoCsum, |d| d.tun_csum) {
        TunnelCsum::NoCsum => "nocsum",
        TunnelCsum::Csum => "csum",
        TunnelCsum::RemCsum => "remcsum",
        // Shown as it is: the form refuses it, and says which options it takes.
        TunnelCsum::Unknown(_) => "unknown",
    };
    vec![
        field(FieldId::Address, "address", d.map(|d| d.addr.to_string()).unwrap_or_default(), locked, "realserver IP"),
        field(
            FieldId::Port,
            "port",
            d.map_or(svc.key.port(), |d| d.port).to_string(),
            locked,
            "1-65535; DR and tunnel use the service port",
        ),
        field(FieldId::Method, "method", method, false, "dr, nat or tun"),
        field(FieldId::Weight, "weight", d.map_or(1, |d| d.weight).to_string(), false, "0-65535 (0 = drained)"),
        field(
            FieldId::UpperThreshold,
            "upper-threshold",
            d.map_or(0, |d| d.u_thresh).to_string(),
            false,
            "connections, 0 = none",
        ),
        field(
            FieldId::LowerThreshold,
            "lower-threshold",
            d.map_or(0, |d| d.l_thresh).to_string(),
            false,
            "connections, at most the upper",
        ),
        field(
            FieldId::TunnelType,
            "tunnel-type",
            d.map_or("ipip".into(), |d| d.tun_type.name()),
            false,
            "ipip, gue or gre (tun only)",
        ),
        field(
            FieldId::TunnelPort,
            "tunnel-port",
            d.map_or(0, |d| d.tun_port).to_string(),
            false,
            "GUE UDP port, else 0",
        ),
        field(FieldId::TunnelCsum, "tunnel-csum", csum, false, "nocsum, csum or remcsum (GUE/GRE)"),
    ]
}

impl Form {
    /// A form for `kind`, prefilled from what is being edited.
    pub fn new(kind: FormKind) -> Form {
        let fields = match &kind {
            FormKind::AddService => svc_fields(None),
            FormKind::EditService(s) => svc_fields(Some(s)),
            FormKind::AddDest(s) => dest_fields(s, None),
            FormKind::EditDest(s, d) => dest_fields(s, Some(d)),
        };
        let focus = fields.iter().find(|f| !f.locked).or(fields.first()).map_or(FieldId::Address, |f| f.id);
        let mut f = Form { kind, fields, focus, error: None };
        f.error = f.build().err();
        f
    }

    /// The form's title.
    pub fn title(&self) -> String {
        match &self.kind {
            FormKind::AddService => "Add service".into(),
            FormKind::EditService(s) => format!("Edit service {}", s.key),
            FormKind::AddDest(s) => format!("Add realserver to {}", s.key),
            FormKind::EditDest(s, d) => format!("Edit realserver {} of {}", d.addr_port(), s.key),
        }
    }

    /// The field `id`.
    pub fn field(&self, id: FieldId) -> Option<&Field> {
        self.fields.iter().find(|f| f.id == id)
    }

    /// The text typed in `id`, trimmed.
    fn text(&self, id: FieldId) -> &str {
        self.field(id).map_or("", |f| f.value.trim())
    }

    /// The number typed in `id`, or an error naming the bad value.
    fn num<T: std::str::FromStr>(&self, id: FieldId, what: &str) -> Result<T, (FieldId, String)> {
        let v = self.text(id);
        v.parse().map_err(|_| (id, format!("'{v}' is not a valid {what}")))
    }

    /// The service key typed in a new-service form.
    fn service_key(&self) -> Result<ServiceKey, (FieldId, String)> {
        let proto = self.text(FieldId::Protocol).to_ascii_lowercase();
        Ok(match proto.as_str() {
            "fwm" | "fwm6" => {
                let mark: u32 = self.num(FieldId::Address, "mark (1-4294967295)")?;
                ServiceKey::Fwmark { family: if proto == "fwm6" { Family::Inet6 } else { Family::Inet }, mark }
            }
            "tcp" | "udp" | "sctp" => {
                let addr: IpAddr = self.num(FieldId::Address, "IP address")?;
                let port: u16 = self.num(FieldId::Port, "port (0-65535)")?;
                let protocol = match proto.as_str() {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                ServiceKey::Addr { protocol, addr, port }
            }
            other => {
                return Err((
                    FieldId::Protocol,
                    format!("'{other}' is not a protocol: use tcp, udp, sctp, fwm or fwm6"),
                ))
            }
        })
    }

    fn service_spec(&self) -> Result<ServiceSpec, (FieldId, String)> {
        // An edit keeps the service's identity whatever its (locked) fields say.
        let key = match &self.kind {
            FormKind::EditService(before) => before.key,
            _ => self.service_key()?,
        };
        let mut spec = ServiceSpec::new(key, self.text(FieldId::Scheduler));
        if !self.text(FieldId::Persistence).is_empty() {
            spec = spec.persistent(self.num(FieldId::Persistence, "timeout in seconds")?);
        }
        if !self.text(FieldId::Netmask).is_empty() {
            spec.netmask = match key.family() {
                Family::Inet => Netmask::V4(self.num::<Ipv4Addr>(FieldId::Netmask, "IPv4 netmask")?),
                Family::Inet6 => Netmask::V6(self.num(FieldId::Netmask, "prefix length (1-128)")?),
            };
        }
        match self.text(FieldId::OnePacket) {
            "yes" | "y" => spec.flags.0 |= ServiceFlags::ONEPACKET,
            "no" | "n" | "" => {}
            other => return Err((FieldId::OnePacket, format!("'{other}' is not yes or no"))),
        }
        for name in self.text(FieldId::SchedFlags).split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let bit = ServiceFlags::parse_sched_flag(&spec.scheduler, name).ok_or_else(|| {
                (FieldId::SchedFlags, format!("'{name}' is not a flag of scheduler '{}'", spec.scheduler))
            })?;
            spec.flags.0 |= bit;
        }
        let pe = self.text(FieldId::Pe);
        spec.pe_name = (!pe.is_empty()).then(|| pe.to_string());
        spec.validate().map_err(|e| (FieldId::of(e.field), e.to_string()))?;
        Ok(spec)
    }

    fn dest_spec(&self, svc: &ServiceSpec) -> Result<DestSpec, (FieldId, String)> {
        // An edit keeps the realserver's identity whatever its (locked) fields say.
        let (addr, port) = match &self.kind {
            FormKind::EditDest(_, before) => (before.addr, before.port),
            _ => (self.num(FieldId::Address, "IP address")?, self.num(FieldId::Port, "port (0-65535)")?),
        };
        let forward = match self.text(FieldId::Method) {
            "dr" | "route" | "g" => ForwardMethod::Route,
            "nat" | "masq" | "m" => ForwardMethod::Masq,
            "tun" | "tunnel" | "i" => ForwardMethod::Tunnel,
            other => return Err((FieldId::Method, format!("'{other}' is not a method: use dr, nat or tun"))),
        };
        let mut d = DestSpec::new(addr, port, forward);
        d.weight = self.num(FieldId::Weight, "weight (0-65535)")?;
        d.u_thresh = self.num(FieldId::UpperThreshold, "threshold")?;
        d.l_thresh = self.num(FieldId::LowerThreshold, "threshold")?;
        if forward == ForwardMethod::Tunnel {
            d.tun_type = match self.text(FieldId::TunnelType) {
                "ipip" | "" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                other => {
                    return Err((FieldId::TunnelType, format!("'{other}' is not a tunnel type: use ipip, gue or gre")))
                }
            };
            d.tun_port = self.num(FieldId::TunnelPort, "port (0-65535)")?;
            d.tun_csum = match self.text(FieldId::TunnelCsum) {
                "nocsum" | "" => TunnelCsum::NoCsum,
                "csum" => TunnelCsum::Csum,
                "remcsum" => TunnelCsum::RemCsum,
                other => {
                    return Err((
                        FieldId::TunnelCsum,
                        format!("'{other}' is not a checksum option: use nocsum, csum or remcsum"),
                    ))
                }
            };
        }
        d.validate(svc).map_err(|e| (FieldId::of(e.field), e.to_string()))?;
        Ok(d)
    }

    /// The change this form describes, or the first problem.
    pub fn build(&self) -> Result<Change, (FieldId, String)> {
        match &self.kind {
            FormKind::AddService => self.service_spec().map(Change::AddService),
            FormKind::EditService(before) => {
                self.service_spec().map(|after| Change::EditService { before: before.clone(), after })
            }
            FormKind::AddDest(svc) => self.dest_spec(svc).map(|dest| Change::AddDest { svc: svc.key, dest }),
            FormKind::EditDest(svc, before) => {
                self.dest_spec(svc).map(|after| Change::EditDest { svc: svc.key, before: before.clone(), after })
            }
        }
    }

    fn focus_index(&self) -> usize {
        self.fields.iter().position(|f| f.id == self.focus).unwrap_or(0)
    }

    /// Move the cursor to the next (or previous) field that is not locked.
    fn move_focus(&mut self, forward: bool) {
        let n = self.fields.len();
        let at = self.focus_index();
        for step in 1..=n {
            let i = if forward { (at + step) % n } else { (at + n - step) % n };
            if !self.fields[i].locked {
                self.focus = self.fields[i].id;
                return;
            }
        }
    }

    /// Handle a key (its meaning from the keymap's input actions).
    pub fn handle_key(&mut self, k: &KeyEvent, keys: &Keymap) -> FormEvent {
        let at = self.focus_index();
        let Some(fld) = self.fields.get_mut(at) else { return FormEvent::Cancel };
        let locked = fld.locked;
        match edit_text(&mut fld.value, k, keys, FIELD_MAX, locked) {
            Edit::Other(Some(Action::InputCancel)) => return FormEvent::Cancel,
            Edit::Other(Some(Action::Submit)) => {
                return match self.build() {
                    Ok(c) => FormEvent::Submit(c),
                    Err(e) => {
                        // The cursor goes to the field at fault, unless the operator cannot change it.
                        if self.field(e.0).is_some_and(|f| !f.locked) {
                            self.focus = e.0;
                        }
                        self.error = Some(e);
                        FormEvent::Stay
                    }
                };
            }
            Edit::Other(Some(Action::NextField)) => self.move_focus(true),
            Edit::Other(Some(Action::PrevField)) => self.move_focus(false),
            Edit::Changed | Edit::Other(_) => {}
        }
        self.error = self.build().err();
        FormEvent::Stay
    }
}

/// The longest text a field keeps.
const FIELD_MAX: usize = 64;
