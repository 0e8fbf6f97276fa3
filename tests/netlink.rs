//! The netlink client against this host's kernel (rtnetlink, which every
//! kernel has): a dump given up part-way does not poison the next request on
//! the same socket, and a datagram larger than the buffer grows it and is read
//! again. Runs in a network namespace of its own whose lo holds 400
//! addresses, so that the dump spans many datagrams.
#![allow(clippy::panic)] // a failing test panics

mod common;

use lvstop::netlink::{retry_interrupted, NlConn, NlError, NLM_F_DUMP};
use lvstop::sys::rtnl::parse_address;
use neli::consts::socket::NlFamily;

/// `RTM_GETADDR`.
const RTM_GETADDR: u16 = 22;
/// `RTM_NEWLINK`, the type of a link in a reply.
const RTM_NEWLINK: u16 = 16;
/// `RTM_GETLINK`.
const RTM_GETLINK: u16 = 18;

struct Netns(String);

impl Drop for Netns {
    fn drop(&mut self) {
        let _ = common::run(&format!("ip netns del {}", self.0));
    }
}

#[test]
fn a_dump_given_up_part_way_does_not_poison_the_next_request() {
    let ns = format!("lvnl{}", std::process::id());
    let mut setup = format!("ip netns add {ns} && ip -n {ns} link set lo up && ip -n {ns} -b - <<'EOF'\n");
    for i in 0..400 {
        let net = if i < 200 { "198.51.100" } else { "203.0.113" };
        setup.push_str(&format!("addr add {net}.{}/32 dev lo\n", i % 200 + 1));
    }
    setup.push_str("EOF\n");
    let _guard = Netns(ns.clone());
    if let Err(e) = common::run(&setup) {
        assert!(std::env::var_os("CI").is_none(), "network namespaces are required on CI: {e}");
        return;
    }
    // Sockets belong to the namespace of the thread that opens them: a thread of its own.
    let ns_path = format!("/run/netns/{ns}");
    std::thread::spawn(move || {
        let f = std::fs::File::open(&ns_path).expect("netns");
        nix::sched::setns(f, nix::sched::CloneFlags::CLONE_NEWNET).expect("setns");
        let mut conn = NlConn::connect(NlFamily::Route).expect("socket");
        let body = [0u8; 8];
        let dump = |conn: &mut NlConn| {
            let mut out = Vec::new();
            conn.request(RTM_GETADDR, NLM_F_DUMP, &body, |ty, p| {
                out.extend(parse_address(ty, p)?);
                Ok(())
            })
            .map(|()| out)
        };
        let whole = dump(&mut conn).expect("a whole dump");
        assert!(whole.len() > 250, "{} addresses listed", whole.len());
        // Given up at its first message: the rest of that dump stays queued on the socket.
        let mut seen = 0;
        let r = conn.request(RTM_GETADDR, NLM_F_DUMP, &body, |_, _| {
            seen += 1;
            Err("given up".into())
        });
        assert_eq!((r, seen), (Err(NlError::Bad("given up".into())), 1));
        // The next request on the same socket sees its own replies only, whole.
        assert_eq!(dump(&mut conn).expect("the next dump"), whole);
        // A read neither dumped nor acknowledged ends with its one reply, and
        // leaves nothing behind for the next request.
        let mut lo = [0u8; 16]; // ifinfomsg for ifindex 1 (lo)
        lo[4..8].copy_from_slice(&1i32.to_ne_bytes());
        let mut links = 0;
        conn.request(RTM_GETLINK, 0, &lo, |ty, _| {
            links += usize::from(ty == RTM_NEWLINK);
            Ok(())
        })
        .expect("one link");
        assert_eq!(links, 1);
        assert_eq!(dump(&mut conn).expect("the dump after it"), whole);
        // A buffer smaller than the kernel's datagrams: the first reading is
        // cut (and says so), the buffer grows to fit, the dump is read again whole.
        let mut small = NlConn::with_buffer(NlFamily::Route, 512).expect("socket");
        assert!(matches!(dump(&mut small), Err(NlError::Truncated(n)) if n > 512));
        let mut small = NlConn::with_buffer(NlFamily::Route, 512).expect("socket");
        assert_eq!(retry_interrupted(|| dump(&mut small)).expect("read again"), whole);
        assert_eq!(dump(&mut small).expect("the grown buffer stays"), whole);
    })
    .join()
    .expect("thread");
}
