//! IPVS generic-netlink attributes as a kernel might send them: attribute
//! splitting and the service, destination and daemon parsers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::ipvs::codec::{parse_daemon, parse_dest, parse_service};
use lvstop::model::Family;
use lvstop::netlink::Attrs;

fuzz_target!(|data: &[u8]| {
    let Ok(a) = Attrs::parse("fuzz", data) else { return };
    let _ = parse_service(&a);
    let _ = parse_dest(&a, Family::Inet);
    let _ = parse_dest(&a, Family::Inet6);
    let _ = parse_daemon(&a);
    for ty in 0..16 {
        if let Ok(Some(inner)) = a.nested(ty, "nested") {
            let _ = parse_service(&inner);
            let _ = parse_dest(&inner, Family::Inet);
        }
    }
    let _ = lvstop::sys::arp::parse(data);
});
