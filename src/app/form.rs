//! Add/edit forms for services and realservers: every engine field, validated
//! as the operator types, with the error shown under the field at fault.

use std::net::{IpAddr, Ipv4Addr};

use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

use crate::model::Change;
use crate::model::{
    DestSpec, Family, ForwardMethod, Netmask, Protocol, ServiceFlags, ServiceKey, ServiceSpec, TunnelCsum, TunnelType,
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

/// One input line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Field {
    /// Label.
    pub label: &'static str,
    /// Text typed.
    pub value: String,
    /// Identity fields cannot change on edit.
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
    /// The field with the cursor.
    pub focus: usize,
    /// The first problem: (field index, message).
    pub error: Option<(usize, String)>,
}

/// What a key did to the form.
#[derive(Debug, Clone, PartialEq)]
pub enum FormEvent {
    /// Still editing.
    Stay,
    /// Esc.
    Cancel,
    /// Enter on a valid form.
    Submit(Change),
}

fn field(label: &'static str, value: impl Into<String>, locked: bool, hint: &'static str) -> Field {
    Field { label, value: value.into(), locked, hint }
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
        field("protocol", proto, locked, "tcp, udp, sctp, fwm (IPv4 mark) or fwm6 (IPv6 mark)"),
        field("address", addr, locked, "virtual IP (IPv4 or IPv6), or the mark for fwm/fwm6"),
        field("port", port, locked, "1-65535 (0 = all ports, persistent only); empty for fwmark"),
        field("scheduler", sched, false, "rr wrr lc wlc lblc lblcr dh sh sed nq fo ovf mh twos"),
        field("persistence", persistent, false, "timeout in seconds, empty = not persistent"),
        field("netmask", mask, false, "persistence granularity: IPv4 mask or IPv6 prefix; empty = one client"),
        field("one-packet", ops, false, "yes or no (UDP and fwmark only)"),
        field("sched-flags", flags, false, "comma list: sh-fallback,sh-port / mh-fallback,mh-port / flag-1..3"),
        field("pe", pe, false, "persistence engine (sip) or empty"),
    ]
}

fn dest_fields(svc: &ServiceSpec, d: Option<&DestSpec>) -> Vec<Field> {
    let locked = d.is_some();
    let method = match d.map_or(ForwardMethod::Route, |d| d.forward) {
        ForwardMethod::Masq => "nat",
        ForwardMethod::Tunnel => "tun",
        ForwardMethod::Local => "local",
        ForwardMethod::Route | ForwardMethod::Bypass => "dr",
    };
    vec![
        field("address", d.map(|d| d.addr.to_string()).unwrap_or_default(), locked, "realserver IP"),
        field(
            "port",
            d.map_or(svc.key.port(), |d| d.port).to_string(),
            locked,
            "1-65535; DR and tunnel use the service port",
        ),
        field("method", method, false, "dr, nat or tun"),
        field("weight", d.map_or(1, |d| d.weight).to_string(), false, "0-65535 (0 = drained)"),
        field("upper-threshold", d.map_or(0, |d| d.u_thresh).to_string(), false, "connections, 0 = none"),
        field("lower-threshold", d.map_or(0, |d| d.l_thresh).to_string(), false, "connections, at most the upper"),
        field("tunnel-type", d.map_or("ipip", |d| d.tun_type.name()), false, "ipip, gue or gre (tun only)"),
        field("tunnel-port", d.map_or(0, |d| d.tun_port).to_string(), false, "GUE UDP port, else 0"),
        field(
            "tunnel-csum",
            match d.map_or(TunnelCsum::NoCsum, |d| d.tun_csum) {
                TunnelCsum::NoCsum => "nocsum",
                TunnelCsum::Csum => "csum",
                TunnelCsum::RemCsum => "remcsum",
            },
            false,
            "nocsum, csum or remcsum (GUE/GRE)",
        ),
    ]
}

fn num<T: std::str::FromStr>(fields: &[Field], i: usize, what: &str) -> Result<T, (usize, String)> {
    let v = fields[i].value.trim();
    v.parse().map_err(|_| (i, format!("'{v}' is not a valid {what}")))
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
        let focus = fields.iter().position(|f| !f.locked).unwrap_or(0);
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

    fn service_spec(&self) -> Result<ServiceSpec, (usize, String)> {
        let f = &self.fields;
        let proto = f[0].value.trim().to_ascii_lowercase();
        let key = match proto.as_str() {
            "fwm" | "fwm6" => {
                let mark: u32 = num(f, 1, "mark (1-4294967295)")?;
                ServiceKey::Fwmark { family: if proto == "fwm6" { Family::Inet6 } else { Family::Inet }, mark }
            }
            "tcp" | "udp" | "sctp" => {
                let addr: IpAddr = num(f, 1, "IP address")?;
                let port: u16 = num(f, 2, "port (0-65535)")?;
                let protocol = match proto.as_str() {
                    "tcp" => Protocol::Tcp,
                    "udp" => Protocol::Udp,
                    _ => Protocol::Sctp,
                };
                ServiceKey::Addr { protocol, addr, port }
            }
            other => return Err((0, format!("'{other}' is not a protocol: use tcp, udp, sctp, fwm or fwm6"))),
        };
        let mut spec = ServiceSpec::new(key, f[3].value.trim());
        let timeout = f[4].value.trim();
        if !timeout.is_empty() {
            spec = spec.persistent(num(f, 4, "timeout in seconds")?);
        }
        let mask = f[5].value.trim();
        if !mask.is_empty() {
            spec.netmask = match key.family() {
                Family::Inet => Netmask::V4(num::<Ipv4Addr>(f, 5, "IPv4 netmask")?),
                Family::Inet6 => Netmask::V6(num(f, 5, "prefix length (1-128)")?),
            };
        }
        match f[6].value.trim() {
            "yes" | "y" => spec.flags.0 |= ServiceFlags::ONEPACKET,
            "no" | "n" | "" => {}
            other => return Err((6, format!("'{other}' is not yes or no"))),
        }
        for name in f[7].value.split(',').map(str::trim).filter(|n| !n.is_empty()) {
            let bit = ServiceFlags::parse_sched_flag(&spec.scheduler, name)
                .ok_or_else(|| (7, format!("'{name}' is not a flag of scheduler '{}'", spec.scheduler)))?;
            spec.flags.0 |= bit;
        }
        let pe = f[8].value.trim();
        spec.pe_name = (!pe.is_empty()).then(|| pe.to_string());
        spec.validate().map_err(|e| {
            let at = match e.field {
                "scheduler" => 3,
                "persistence timeout" => 4,
                "netmask" | "prefix length" => 5,
                "one-packet" => 6,
                "persistence engine" => 8,
                "fwmark" | "virtual address" => 1,
                "port" => 2,
                _ => 0,
            };
            (at, e.to_string())
        })?;
        Ok(spec)
    }

    fn dest_spec(&self, svc: &ServiceSpec) -> Result<DestSpec, (usize, String)> {
        let f = &self.fields;
        let addr: IpAddr = num(f, 0, "IP address")?;
        let port: u16 = num(f, 1, "port (0-65535)")?;
        let forward = match f[2].value.trim() {
            "dr" | "route" | "g" => ForwardMethod::Route,
            "nat" | "masq" | "m" => ForwardMethod::Masq,
            "tun" | "tunnel" | "i" => ForwardMethod::Tunnel,
            other => return Err((2, format!("'{other}' is not a method: use dr, nat or tun"))),
        };
        let mut d = DestSpec::new(addr, port, forward);
        d.weight = num(f, 3, "weight (0-65535)")?;
        d.u_thresh = num(f, 4, "threshold")?;
        d.l_thresh = num(f, 5, "threshold")?;
        if forward == ForwardMethod::Tunnel {
            d.tun_type = match f[6].value.trim() {
                "ipip" | "" => TunnelType::Ipip,
                "gue" => TunnelType::Gue,
                "gre" => TunnelType::Gre,
                other => return Err((6, format!("'{other}' is not a tunnel type: use ipip, gue or gre"))),
            };
            d.tun_port = num(f, 7, "port (0-65535)")?;
            d.tun_csum = match f[8].value.trim() {
                "nocsum" | "" => TunnelCsum::NoCsum,
                "csum" => TunnelCsum::Csum,
                "remcsum" => TunnelCsum::RemCsum,
                other => return Err((8, format!("'{other}' is not a checksum option: use nocsum, csum or remcsum"))),
            };
        }
        d.validate(svc).map_err(|e| {
            let at = match e.field {
                "weight" => 3,
                "upper threshold" => 4,
                "lower threshold" => 5,
                "tunnel port" => 7,
                "tunnel checksum" => 8,
                "tunnel options" => 6,
                "realserver port" => 1,
                "forwarding method" => 2,
                _ => 0,
            };
            (at, e.to_string())
        })?;
        Ok(d)
    }

    /// The change this form describes, or the first problem.
    pub fn build(&self) -> Result<Change, (usize, String)> {
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

    fn move_focus(&mut self, forward: bool) {
        let n = self.fields.len();
        for step in 1..=n {
            let i = if forward { (self.focus + step) % n } else { (self.focus + n - step) % n };
            if !self.fields[i].locked {
                self.focus = i;
                return;
            }
        }
    }

    /// Handle a key.
    pub fn handle_key(&mut self, k: &KeyEvent) -> FormEvent {
        match k.code {
            KeyCode::Esc => return FormEvent::Cancel,
            KeyCode::Enter => {
                return match self.build() {
                    Ok(c) => FormEvent::Submit(c),
                    Err(e) => {
                        self.focus = e.0;
                        self.error = Some(e);
                        FormEvent::Stay
                    }
                };
            }
            KeyCode::Tab | KeyCode::Down => self.move_focus(true),
            KeyCode::BackTab | KeyCode::Up => self.move_focus(false),
            KeyCode::Backspace => {
                self.fields[self.focus].value.pop();
            }
            KeyCode::Char('u') if k.modifiers.contains(KeyModifiers::CONTROL) => {
                self.fields[self.focus].value.clear();
            }
            KeyCode::Char(c)
                if !k.modifiers.contains(KeyModifiers::CONTROL)
                    && !self.fields[self.focus].locked
                    && self.fields[self.focus].value.len() < 64 =>
            {
                self.fields[self.focus].value.push(c);
            }
            _ => {}
        }
        self.error = self.build().err();
        FormEvent::Stay
    }
}
