//! How lvstop writes services and realservers in ipvsadm's terms: the arguments
//! of `ipvsadm -A/-E/-a/-e` (for `lvstop save` and the ipvsadm equivalent of
//! every change) and the scheduler summary the dump table and the console show.
//! Every ipvsadm spelling lvstop prints comes from here.

use std::fmt::Write as _;

use super::{fmt_addr_port, DestSpec, Family, ForwardMethod, Netmask, Protocol, ServiceKey, ServiceSpec};
use super::{TunnelCsum, TunnelType};

/// The ipvsadm option selecting a protocol (`-t`, `-u`, `--sctp-service`);
/// ipvsadm has none for other protocols.
pub fn protocol_option(p: Protocol) -> Option<&'static str> {
    match p {
        Protocol::Tcp => Some("-t"),
        Protocol::Udp => Some("-u"),
        Protocol::Sctp => Some("--sctp-service"),
        Protocol::Other(_) => None,
    }
}

/// The ipvsadm switch of a forwarding method (`-g`, `-i`, `-m`; local saves as `-g` like ipvsadm).
pub fn forward_switch(m: ForwardMethod) -> &'static str {
    match m {
        ForwardMethod::Masq => "-m",
        ForwardMethod::Tunnel => "-i",
        // ipvsadm has no switch for a method it does not know either; validation refuses
        // to send one (see DestSpec::validate).
        ForwardMethod::Route | ForwardMethod::Local | ForwardMethod::Bypass | ForwardMethod::Unknown(_) => "-g",
    }
}

/// The ipvsadm option of a tunnel checksum mode.
pub fn tun_csum_option(c: TunnelCsum) -> &'static str {
    match c {
        TunnelCsum::NoCsum => "--tun-nocsum",
        TunnelCsum::Csum => "--tun-csum",
        TunnelCsum::RemCsum => "--tun-remcsum",
        // No ipvsadm option: one it refuses rather than one that sets other flags
        // (validation refuses to send it, and `save` to write it).
        TunnelCsum::Unknown(_) => "--tun-csum-unknown",
    }
}

/// The arguments naming a service, e.g. `-t 198.51.100.1:80` or `-f 1 -6`.
pub fn key_args(key: &ServiceKey) -> String {
    match key {
        ServiceKey::Addr { protocol, addr, port } => {
            format!("{} {}", protocol_option(*protocol).unwrap_or("--xxx-service"), fmt_addr_port(addr, *port))
        }
        ServiceKey::Fwmark { family: Family::Inet, mark } => format!("-f {mark}"),
        ServiceKey::Fwmark { family: Family::Inet6, mark } => format!("-f {mark} -6"),
    }
}

/// How [`service_options`] spells a service's scheduling options.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OptionStyle {
    /// ipvsadm's arguments: `-s wrr -p 300 -M 255.255.255.0 --pe sip -o -b sh-port`.
    Args,
    /// Spelled out, for `lvstop dump`: `sh (sh-port) persistent 300 mask 255.255.255.0 pe sip ops`.
    Long,
    /// The console's services column: `sh p300 ops sh-port`.
    Short,
}

/// A service's scheduling options: scheduler, persistence (timeout, and the
/// netmask when it is not the default), persistence engine, one-packet
/// scheduling and scheduler flags.
pub fn service_options(spec: &ServiceSpec, style: OptionStyle) -> String {
    let sched = &spec.scheduler;
    let flags = spec.flags.sched_flag_names(sched).join(",");
    let persistent = spec.flags.is_persistent().then_some(spec.timeout);
    let mask: Option<Netmask> = (persistent.is_some() && !spec.netmask.is_default()).then_some(spec.netmask);
    let pe = spec.pe_name.as_deref();
    let one_packet = spec.flags.is_one_packet();
    let mut out = String::new();
    match style {
        OptionStyle::Args => {
            let _ = write!(out, "-s {sched}");
            if let Some(t) = persistent {
                let _ = write!(out, " -p {t}");
            }
            if let Some(m) = mask {
                let _ = write!(out, " -M {m}");
            }
            if let Some(pe) = pe {
                let _ = write!(out, " --pe {pe}");
            }
            if one_packet {
                out.push_str(" -o");
            }
            if !flags.is_empty() {
                let _ = write!(out, " -b {flags}");
            }
        }
        OptionStyle::Long => {
            out.push_str(sched);
            if !flags.is_empty() {
                let _ = write!(out, " ({flags})");
            }
            if let Some(t) = persistent {
                let _ = write!(out, " persistent {t}");
            }
            if let Some(m) = mask {
                let _ = write!(out, " mask {m}");
            }
            if let Some(pe) = pe {
                let _ = write!(out, " pe {pe}");
            }
            if one_packet {
                out.push_str(" ops");
            }
        }
        OptionStyle::Short => {
            out.push_str(sched);
            if let Some(t) = persistent {
                let _ = write!(out, " p{t}");
            }
            if one_packet {
                out.push_str(" ops");
            }
            if !flags.is_empty() {
                let _ = write!(out, " {flags}");
            }
        }
    }
    out
}

/// The arguments after `-A`/`-E` that create `spec`: `-t VIP:PORT -s wrr -p 300 …`.
pub fn service_args(spec: &ServiceSpec) -> String {
    format!("{} {}", key_args(&spec.key), service_options(spec, OptionStyle::Args))
}

/// The arguments after `-a`/`-e` that create destination `d` of service `svc`.
/// Unlike ipvsadm's own save, thresholds are kept (`-x`/`-y`).
pub fn dest_args(svc: &ServiceKey, d: &DestSpec) -> String {
    let mut out = String::new();
    write_dest_args(&mut out, &key_args(svc), d);
    out
}

/// [`dest_args`] appended to `out`, the service's arguments given as
/// [`key_args`] wrote them (once for all of a service's realservers).
pub fn write_dest_args(out: &mut String, key_args: &str, d: &DestSpec) {
    let _ =
        write!(out, "{key_args} -r {} {} -w {}", super::AddrPort(d.addr, d.port), forward_switch(d.forward), d.weight);
    if d.forward == ForwardMethod::Tunnel {
        let _ = write!(out, " --tun-type {}", d.tun_type.name());
        if d.tun_type == TunnelType::Gue {
            let _ = write!(out, " --tun-port {}", d.tun_port);
        }
        if d.tun_type != TunnelType::Ipip {
            let _ = write!(out, " {}", tun_csum_option(d.tun_csum));
        }
    }
    if d.u_thresh != 0 {
        let _ = write!(out, " -x {}", d.u_thresh);
    }
    if d.l_thresh != 0 {
        let _ = write!(out, " -y {}", d.l_thresh);
    }
}

/// The arguments after `-d` that delete destination `d` of service `svc`.
pub fn dest_key_args(svc: &ServiceKey, d: &DestSpec) -> String {
    format!("{} -r {}", key_args(svc), d.addr_port())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ServiceFlags;

    fn spec(sched: &str, flags: u32) -> ServiceSpec {
        let mut s = ServiceSpec::new(ServiceKey::tcp("198.51.100.100".parse().expect("ip"), 80), sched);
        s.flags = ServiceFlags(flags);
        s
    }

    #[test]
    fn every_option_in_each_style() {
        let mut s = spec("sh", ServiceFlags::ONEPACKET | ServiceFlags::SCHED2).persistent(300);
        s.netmask = Netmask::V4("255.255.255.0".parse().expect("mask"));
        s.pe_name = Some("sip".into());
        assert_eq!(service_args(&s), "-t 198.51.100.100:80 -s sh -p 300 -M 255.255.255.0 --pe sip -o -b sh-port");
        assert_eq!(service_options(&s, OptionStyle::Long), "sh (sh-port) persistent 300 mask 255.255.255.0 pe sip ops");
        assert_eq!(service_options(&s, OptionStyle::Short), "sh p300 ops sh-port");
        let plain = spec("wrr", 0);
        assert_eq!(service_options(&plain, OptionStyle::Args), "-s wrr");
        assert_eq!(service_options(&plain, OptionStyle::Long), "wrr");
        assert_eq!(service_options(&plain, OptionStyle::Short), "wrr");
    }

    #[test]
    fn a_netmask_without_persistence_is_not_written() {
        let mut s = spec("rr", 0);
        s.netmask = Netmask::V4("255.255.255.0".parse().expect("mask"));
        assert_eq!(service_args(&s), "-t 198.51.100.100:80 -s rr");
    }

    #[test]
    fn keys_and_destinations() {
        assert_eq!(key_args(&ServiceKey::fwmark(Family::Inet6, 7)), "-f 7 -6");
        assert_eq!(key_args(&ServiceKey::fwmark(Family::Inet, 7)), "-f 7");
        let k = ServiceKey::udp("2001:db8::100".parse().expect("ip"), 53);
        let mut d = DestSpec::new("2001:db8::11".parse().expect("ip"), 53, ForwardMethod::Tunnel).weight(2);
        d.tun_type = TunnelType::Gue;
        d.tun_port = 6080;
        d.u_thresh = 100;
        assert_eq!(
            dest_args(&k, &d),
            "-u [2001:db8::100]:53 -r [2001:db8::11]:53 -i -w 2 --tun-type gue --tun-port 6080 --tun-nocsum -x 100"
        );
        assert_eq!(dest_key_args(&k, &d), "-u [2001:db8::100]:53 -r [2001:db8::11]:53");
    }
}
