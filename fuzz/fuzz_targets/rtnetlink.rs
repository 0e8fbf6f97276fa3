//! One rtnetlink reply message (type chosen by the first byte, then the
//! payload after the netlink header), as the kernel might send it: the
//! address, neighbour, route and link parsers never panic, what they return
//! agrees with the header's address family, and an interface label, shown
//! through lvstop::text::sanitize, carries no control character.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::sys::rtnl::{nud_name, parse_address, parse_link, parse_neighbour, parse_route};
use lvstop::text::{is_clean, sanitize, valid_ifname};
use std::net::IpAddr;

/// Whether `ip` is of address family `af` (2 AF_INET, 10 AF_INET6).
fn of_family(ip: &IpAddr, af: u8) -> bool {
    matches!((ip, af), (IpAddr::V4(_), 2) | (IpAddr::V6(_), 10))
}

fuzz_target!(|data: &[u8]| {
    let Some((&sel, p)) = data.split_first() else { return };
    // RTM_NEWADDR, RTM_NEWNEIGH, RTM_NEWROUTE, RTM_NEWLINK, or any other type.
    let ty = match sel % 5 {
        0 => 20,
        1 => 28,
        2 => 24,
        3 => 16,
        _ => u16::from(sel),
    };
    if let Ok(Some(l)) = parse_link(ty, p) {
        assert_eq!(l.ifindex, u32::from_ne_bytes([p[4], p[5], p[6], p[7]]));
        assert!(is_clean(&l.name), "an interface name with a control character: {:?}", l.name);
    }
    if let Ok(Some(a)) = parse_address(ty, p) {
        assert!(of_family(&a.addr, p[0]), "{a:?} from family {}", p[0]);
        assert_eq!((a.prefix, a.scope), (p[1], p[3]));
        if let Some(label) = &a.label {
            assert!(!label.is_empty() && !label.contains('\0'), "label {label:?}");
            let shown = sanitize(label);
            assert!(is_clean(&shown), "a control character survives sanitize: {shown:?}");
            if valid_ifname(label) {
                assert_eq!(&shown, label, "a valid interface name is shown as it is");
            }
        }
    }
    if let Ok(Some((ip, state, _mac))) = parse_neighbour(ty, p) {
        assert!(of_family(&ip, p[0]), "{ip} from family {}", p[0]);
        assert_eq!(state, nud_name(u16::from_ne_bytes([p[8], p[9]])));
    }
    if let Ok(Some(r)) = parse_route(ty, p) {
        assert_eq!(r.kind, p[7]);
        for ip in r.gateway.iter().chain(r.prefsrc.iter()) {
            assert!(of_family(ip, p[0]), "{ip} from family {}", p[0]);
        }
    }
});
