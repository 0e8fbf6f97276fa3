//! Ethernet frames a packet socket may capture on the director (anything on
//! the segment, sent by anyone): the ARP probe's and the DR path probe's
//! parsers never panic, and a frame is taken for an answer only when it is one.
#![no_main]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = lvstop::sys::arp::parse(data);
    let _ = lvstop::sys::synprobe::parse_advert(data);
    let dip = Ipv4Addr::new(198, 51, 100, 1);
    if let Some((_, answer, _)) = lvstop::sys::synprobe::parse_answer(data, IpAddr::V4(dip)) {
        // Only an IPv4 frame addressed to the director's address can be one.
        assert!(data.len() >= 34 && data[12..14] == [0x08, 0x00] && data[30..34] == dip.octets(), "{answer:?}");
    }
    let dip6 = Ipv6Addr::new(0x2001, 0xdb8, 0, 0, 0, 0, 0, 1);
    if let Some((_, answer, _)) = lvstop::sys::synprobe::parse_answer(data, IpAddr::V6(dip6)) {
        assert!(data.len() >= 54 && data[12..14] == [0x86, 0xdd] && data[38..54] == dip6.octets(), "{answer:?}");
    }
});
