//! Validation rules, checked against ipvsadm's behaviour.

use std::net::IpAddr;

use super::*;

fn ip(s: &str) -> IpAddr {
    s.parse().expect("test address")
}

fn svc() -> ServiceSpec {
    ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "wrr")
}

#[test]
fn weights_follow_ipvsadm() {
    let s = svc();
    for w in [0, 1, 65535] {
        assert!(DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Route).weight(w).validate(&s).is_ok());
    }
    let e = DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Route).weight(65536).validate(&s).expect_err("65536");
    assert_eq!(e.field, crate::model::SpecField::Weight);
    assert_eq!(e.to_string(), "invalid weight '65536': use 0 to 65535 (0 drains the realserver)");
}

#[test]
fn ports_and_families() {
    let s = svc();
    let remap = DestSpec::new(ip("198.51.100.11"), 8080, ForwardMethod::Route);
    assert!(remap.validate(&s).expect_err("DR remap").to_string().contains("service port 80"));
    assert!(DestSpec::new(ip("198.51.100.11"), 8080, ForwardMethod::Masq).validate(&s).is_ok());
    let v6 = DestSpec::new(ip("2001:db8::11"), 80, ForwardMethod::Route);
    assert!(v6.validate(&s).is_err(), "mixed family needs a tunnel");
    assert!(DestSpec::new(ip("2001:db8::11"), 80, ForwardMethod::Tunnel).validate(&s).is_ok());
    let zero = ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 0), "rr");
    assert!(zero.validate().expect_err("port 0").to_string().contains("persistent"));
    assert!(zero.persistent(300).validate().is_ok());
    let fw = ServiceSpec::new(ServiceKey::fwmark(Family::Inet, 1), "rr");
    assert!(DestSpec::new(ip("198.51.100.11"), 0, ForwardMethod::Route).validate(&fw).is_ok());
    assert!(ServiceSpec::new(ServiceKey::fwmark(Family::Inet, 0), "rr").validate().is_err());
}

#[test]
fn thresholds_netmasks_names_tunnels() {
    let s = svc();
    let mut d = DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Route);
    d.l_thresh = 5;
    assert!(d.validate(&s).expect_err("l > u = 0").to_string().contains("lower threshold"));
    d.u_thresh = 10;
    assert!(d.validate(&s).is_ok());
    let mut v6 = ServiceSpec::new(ServiceKey::tcp(ip("2001:db8::100"), 80), "rr").persistent(60);
    v6.netmask = Netmask::V6(0);
    assert!(v6.validate().is_err());
    v6.netmask = Netmask::V6(64);
    assert!(v6.validate().is_ok());
    let mut v4 = svc().persistent(60);
    v4.netmask = Netmask::V4("255.0.255.0".parse().expect("mask"));
    assert!(v4.validate().expect_err("holes").to_string().contains("contiguous"));
    assert!(ServiceSpec::new(s.key, "a-very-long-scheduler").validate().is_err());
    assert!(ServiceSpec::new(s.key, "rr;reboot").validate().is_err());
    let mut gue = DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Tunnel);
    gue.tun_type = TunnelType::Gue;
    assert!(gue.validate(&s).expect_err("gue port").to_string().contains("GUE"));
    gue.tun_port = 6080;
    assert!(gue.validate(&s).is_ok());
    let mut dr = DestSpec::new(ip("198.51.100.11"), 80, ForwardMethod::Route);
    dr.tun_type = TunnelType::Gre;
    assert!(dr.validate(&s).is_err(), "tunnel options need -i");
    let mut one = ServiceSpec::new(s.key, "rr");
    one.flags.0 |= ServiceFlags::ONEPACKET;
    assert!(one.validate().is_err(), "one-packet is for UDP");
}

#[test]
fn scheduler_flags_a_newer_kernel_sets_are_shown_and_never_saved() {
    let mut s = ServiceSpec::new(ServiceKey::tcp(ip("198.51.100.100"), 80), "sh");
    s.flags = ServiceFlags(ServiceFlags::SCHED1 | 0x40 | ServiceFlags::HASHED);
    assert_eq!(s.flags.unknown(), 0x40);
    assert_eq!(s.flags.sched_flag_names("sh"), vec!["sh-fallback".to_string(), "unknown(0x40)".to_string()]);
    let snap = Snapshot {
        services: vec![Service {
            spec: s,
            stats: Counters::default(),
            rates: Rates::default(),
            destinations: Destinations::default(),
        }],
        ..Snapshot::empty()
    };
    let why = crate::report::save_rules(&snap).expect_err("not saved");
    assert!(why.contains("unknown(0x40)") && why.contains("198.51.100.100:80"), "{why}");
}

#[test]
fn copies_of_a_snapshot_share_realservers_until_one_changes_them() {
    let dest = |h: u8| Destination {
        spec: DestSpec::new(ip(&format!("198.51.100.{h}")), 80, ForwardMethod::Route),
        active_conns: 1,
        inact_conns: 0,
        persist_conns: 0,
        stats: Counters::default(),
        rates: Rates::default(),
    };
    let table = Service {
        spec: svc(),
        stats: Counters::default(),
        rates: Rates::default(),
        destinations: vec![dest(11), dest(12)].into(),
    };
    let mut check = table.clone();
    assert!(std::ptr::eq(table.destinations.as_ptr(), check.destinations.as_ptr()), "a copy shares the list");
    check.destinations[0].active_conns = 9;
    check.destinations.retain(|d| d.spec.addr != ip("198.51.100.12"));
    assert_eq!(
        (table.destinations.len(), table.destinations[0].active_conns),
        (2, 1),
        "the other holder sees no change"
    );
    assert_eq!((check.destinations.len(), check.destinations[0].active_conns), (1, 9));
    assert_eq!(
        serde_json::to_value(&table.destinations).expect("json"),
        serde_json::to_value(table.destinations.as_slice()).expect("json")
    );
}

#[test]
fn realservers_listed_newest_first_are_turned_around_and_sorted_ones_left_shared() {
    let dest = |h: u8, port: u16| Destination {
        spec: DestSpec::new(ip(&format!("198.51.100.{h}")), port, ForwardMethod::Route),
        active_conns: 0,
        inact_conns: 0,
        persist_conns: 0,
        stats: Counters::default(),
        rates: Rates::default(),
    };
    let order = |s: &Service| s.destinations.iter().map(|d| d.spec.addr_port()).collect::<Vec<_>>();
    let mut s = Service {
        spec: svc(),
        stats: Counters::default(),
        rates: Rates::default(),
        destinations: vec![dest(13, 80), dest(12, 80), dest(11, 443), dest(11, 80)].into(),
    };
    s.sort_destinations();
    assert_eq!(order(&s), ["198.51.100.11:80", "198.51.100.11:443", "198.51.100.12:80", "198.51.100.13:80"]);
    s.destinations = vec![dest(12, 80), dest(11, 80), dest(13, 80)].into();
    s.sort_destinations();
    assert_eq!(order(&s), ["198.51.100.11:80", "198.51.100.12:80", "198.51.100.13:80"]);
    let copy = s.clone();
    s.sort_destinations();
    assert!(
        std::ptr::eq(s.destinations.as_ptr(), copy.destinations.as_ptr()),
        "a sorted list shared with a copy was copied"
    );
}
