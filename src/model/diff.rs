//! What differs between two directors' tables, as the ipvsadm commands that
//! would make the second like the first (`lvstop diff A B`). Configuration
//! only: counters, rates and connection counts are each director's own;
//! weights are compared (a realserver drained on one director only is drift).

use serde::Serialize;

use super::ipvsadm::{dest_args, dest_key_args, key_args, service_args};
use super::{DestSpec, ForwardMethod, Service, ServiceSpec, Snapshot};

/// One difference.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Difference {
    /// The service, as ipvsadm names it (`-t 203.0.113.1:80`).
    pub service: String,
    /// The realserver (`198.51.100.11:80`), when the difference is one's.
    pub realserver: Option<String>,
    /// `only-in-a`, `only-in-b` or `differs`.
    pub what: &'static str,
    /// The settings that differ: name, A's value, B's value.
    pub fields: Vec<Field>,
    /// The ipvsadm command that makes B like A here.
    pub command: String,
}

/// A setting that differs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Field {
    /// Its name (`weight`, `scheduler`…).
    pub name: &'static str,
    /// A's value.
    pub a: String,
    /// B's value.
    pub b: String,
}

/// The settings of two services that differ (persistence settings only where
/// either is persistent: the kernel keeps them otherwise unseen).
fn service_fields(a: &ServiceSpec, b: &ServiceSpec) -> Vec<Field> {
    let mut out = Vec::new();
    let mut field = |name, x: String, y: String| {
        if x != y {
            out.push(Field { name, a: x, b: y });
        }
    };
    field("scheduler", a.scheduler.clone(), b.scheduler.clone());
    field("flags", format!("{:#x}", a.flags.0), format!("{:#x}", b.flags.0));
    if a.flags.is_persistent() || b.flags.is_persistent() {
        field("timeout", a.timeout.to_string(), b.timeout.to_string());
        field("netmask", a.netmask.to_string(), b.netmask.to_string());
    }
    let pe = |s: &ServiceSpec| s.pe_name.clone().unwrap_or_default();
    field("pe_name", pe(a), pe(b));
    out
}

/// The settings of two realservers that differ (tunnel settings only for tunnels).
fn dest_fields(a: &DestSpec, b: &DestSpec) -> Vec<Field> {
    let mut out = Vec::new();
    let mut field = |name, x: String, y: String| {
        if x != y {
            out.push(Field { name, a: x, b: y });
        }
    };
    field("forward", a.forward.to_string(), b.forward.to_string());
    field("weight", a.weight.to_string(), b.weight.to_string());
    field("u_thresh", a.u_thresh.to_string(), b.u_thresh.to_string());
    field("l_thresh", a.l_thresh.to_string(), b.l_thresh.to_string());
    if a.forward == ForwardMethod::Tunnel || b.forward == ForwardMethod::Tunnel {
        field("tun_type", a.tun_type.name().into_owned(), b.tun_type.name().into_owned());
        field("tun_port", a.tun_port.to_string(), b.tun_port.to_string());
        field("tun_csum", a.tun_csum.short().into_owned(), b.tun_csum.short().into_owned());
    }
    out
}

/// Every difference between `a` and `b` (both sorted, as snapshots are), in
/// the order ipvsadm would apply them: per service, the service, then its
/// realservers by address.
pub fn diff(a: &Snapshot, b: &Snapshot) -> Vec<Difference> {
    let mut out = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < a.services.len() || j < b.services.len() {
        let (x, y) = (a.services.get(i), b.services.get(j));
        match (x, y) {
            (Some(x), Some(y)) if x.spec.key == y.spec.key => {
                services_differ(x, y, &mut out);
                i += 1;
                j += 1;
            }
            (Some(x), y) if y.is_none_or(|y| x.spec.key < y.spec.key) => {
                only_in_a(x, &mut out);
                i += 1;
            }
            (_, Some(y)) => {
                out.push(Difference {
                    service: key_args(&y.spec.key),
                    realserver: None,
                    what: "only-in-b",
                    fields: Vec::new(),
                    command: format!("ipvsadm -D {}", key_args(&y.spec.key)),
                });
                j += 1;
            }
            _ => break,
        }
    }
    out
}

fn only_in_a(x: &Service, out: &mut Vec<Difference>) {
    out.push(Difference {
        service: key_args(&x.spec.key),
        realserver: None,
        what: "only-in-a",
        fields: Vec::new(),
        command: format!("ipvsadm -A {}", service_args(&x.spec)),
    });
    for d in &x.destinations {
        out.push(Difference {
            service: key_args(&x.spec.key),
            realserver: Some(d.spec.addr_port()),
            what: "only-in-a",
            fields: Vec::new(),
            command: format!("ipvsadm -a {}", dest_args(&x.spec.key, &d.spec)),
        });
    }
}

fn services_differ(x: &Service, y: &Service, out: &mut Vec<Difference>) {
    let key = &x.spec.key;
    let fields = service_fields(&x.spec, &y.spec);
    if !fields.is_empty() {
        out.push(Difference {
            service: key_args(key),
            realserver: None,
            what: "differs",
            fields,
            command: format!("ipvsadm -E {}", service_args(&x.spec)),
        });
    }
    let id = |d: &super::Destination| (d.spec.addr, d.spec.port);
    let (mut i, mut j) = (0, 0);
    let (a, b) = (&x.destinations, &y.destinations);
    while i < a.len() || j < b.len() {
        match (a.get(i), b.get(j)) {
            (Some(p), Some(q)) if id(p) == id(q) => {
                let fields = dest_fields(&p.spec, &q.spec);
                if !fields.is_empty() {
                    out.push(Difference {
                        service: key_args(key),
                        realserver: Some(p.spec.addr_port()),
                        what: "differs",
                        fields,
                        command: format!("ipvsadm -e {}", dest_args(key, &p.spec)),
                    });
                }
                i += 1;
                j += 1;
            }
            (Some(p), q) if q.is_none_or(|q| id(p) < id(q)) => {
                out.push(Difference {
                    service: key_args(key),
                    realserver: Some(p.spec.addr_port()),
                    what: "only-in-a",
                    fields: Vec::new(),
                    command: format!("ipvsadm -a {}", dest_args(key, &p.spec)),
                });
                i += 1;
            }
            (_, Some(q)) => {
                out.push(Difference {
                    service: key_args(key),
                    realserver: Some(q.spec.addr_port()),
                    what: "only-in-b",
                    fields: Vec::new(),
                    command: format!("ipvsadm -d {}", dest_key_args(key, &q.spec)),
                });
                j += 1;
            }
            _ => break,
        }
    }
}
