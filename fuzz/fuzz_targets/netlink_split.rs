//! A datagram on a netlink socket, as the kernel (or a bug in it) might send
//! it: splitting it into messages never panics, hands on only whole messages
//! of the request's sequence number (never a control message), and each reply
//! goes through the parsers the real requests give it (the generic-netlink
//! header and IPVS attributes; rtnetlink addresses, neighbours and routes).
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::ipvs::codec::{parse_daemon, parse_dest, parse_service};
use lvstop::ipvs::wire::top;
use lvstop::model::Family;
use lvstop::netlink::{split_reply, Attrs, NlError};
use lvstop::sys::rtnl::{parse_address, parse_neighbour, parse_route};

fuzz_target!(|data: &[u8]| {
    let Some((seq, dgram)) = data.split_first_chunk::<4>() else { return };
    let seq = u32::from_ne_bytes(*seq);
    let (start, end) = (dgram.as_ptr() as usize, dgram.as_ptr() as usize + dgram.len());
    let mut handed = 0usize;
    let mut refused = false;
    let r = split_reply(dgram, seq, |ty, p| {
        assert!(!refused, "a message was handed on after the callback refused one");
        assert!(!(1..=4).contains(&ty), "a control message (type {ty}) reached the callback");
        let at = p.as_ptr() as usize;
        assert!(at >= start + 16 && at + p.len() <= end, "a payload outside the datagram");
        handed += 16 + p.len();
        assert!(handed <= dgram.len(), "more bytes handed on than received");
        // What NetlinkIpvs::transact does with a reply.
        if let Some(Ok(a)) = p.get(4..).map(|attrs| Attrs::parse("reply", attrs)) {
            for (ty, what) in [(top::SERVICE, "service"), (top::DEST, "dest"), (top::DAEMON, "daemon")] {
                if let Ok(Some(inner)) = a.nested(ty, what) {
                    let _ = parse_service(&inner);
                    let _ = parse_dest(&inner, Family::Inet);
                    let _ = parse_daemon(&inner);
                }
            }
        }
        // What Rtnl does with one.
        let _ = parse_address(ty, p);
        let _ = parse_neighbour(ty, p);
        let _ = parse_route(ty, p);
        if p.first() == Some(&0xff) {
            refused = true;
            return Err("refused".into());
        }
        Ok(())
    });
    if refused {
        assert!(matches!(r, Err(NlError::Bad(ref m)) if m == "refused"), "a refusal became {r:?}");
    }
    if let Err(NlError::Errno(e)) = r {
        assert!(e > 0, "errno {e} from a negative error code");
    }
});
