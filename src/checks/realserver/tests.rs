//! Tests of the realserver script, its parser and the rules.

use std::net::{IpAddr, Ipv4Addr};

use super::*;
use crate::checks::{Finding, Host, Rule, Severity, Subject};
use crate::model::Protocol;

const GOOD: &str = "@@netstat1
TcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows
TcpExt: 0 0 5 0
@@sysctl
/proc/sys/net/ipv4/ip_forward:0
/proc/sys/net/ipv4/conf/all/arp_ignore:1
/proc/sys/net/ipv4/conf/all/arp_announce:2
/proc/sys/net/ipv4/conf/eth0/arp_ignore:0
/proc/sys/net/ipv4/conf/eth0/arp_announce:0
/proc/sys/net/ipv4/conf/all/rp_filter:0
/proc/sys/net/ipv4/conf/eth0/rp_filter:1
@@addr
1: lo    inet 127.0.0.1/8 scope host lo\\       valid_lft forever preferred_lft forever
1: lo    inet 198.51.100.100/32 scope global lo\\       valid_lft forever preferred_lft forever
2: eth0    inet 198.51.100.11/24 brd 198.51.100.255 scope global eth0\\       valid_lft forever preferred_lft forever
@@link
1: lo: <LOOPBACK,UP,LOWER_UP> mtu 65536 qdisc noqueue state UNKNOWN mode DEFAULT group default qlen 1000\\    link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00
2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP mode DEFAULT group default qlen 1000\\    link/ether 02:00:00:00:00:0b brd ff:ff:ff:ff:ff:ff link-netnsid 0
@@route
default via 198.51.100.254 dev eth0
198.51.100.0/24 dev eth0 proto kernel scope link src 198.51.100.11
@@routeget-dip
198.51.100.1 dev eth0 src 198.51.100.11 uid 0 \\    cache 
@@routeget-client
203.0.113.254 via 198.51.100.254 dev eth0 src 198.51.100.11 uid 0 \\    cache 
@@tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
@@netstat2
TcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows
TcpExt: 0 0 5 0
@@end
";

fn ip(s: &str) -> Ipv4Addr {
    s.parse().expect("ip")
}

fn dr(active: Option<u32>) -> Serve {
    Serve { vip: ip("198.51.100.100"), port: 80, tunnel: false, active_conns: active, protocol: Protocol::Tcp }
}

/// The director: DIP 198.51.100.1/24 and the VIP.
fn director() -> Vec<(IpAddr, u8)> {
    vec![(IpAddr::V4(ip("198.51.100.1")), 24), (IpAddr::V4(ip("198.51.100.100")), 32)]
}

/// The findings on realserver 198.51.100.11 that reported `f`, in service `s`.
fn judge(f: &RemoteFacts, s: &Serve, dip: Option<Ipv4Addr>) -> Vec<Finding> {
    let host = Host::Realserver(IpAddr::V4(ip("198.51.100.11")));
    check(&Ctx { host, facts: f, serves: std::slice::from_ref(s), dip, director: &director() }).0
}

/// Rule ids for `text` (parsed) in service `s`, sorted.
fn ids(text: &str, s: &Serve) -> Vec<&'static str> {
    let f = parse(text).map_err(|e| format!("{e}\n{text}")).expect("parse");
    let mut ids: Vec<&str> = judge(&f, s, Some(ip("198.51.100.1"))).iter().map(|x| x.rule.id()).collect();
    ids.sort_unstable();
    ids
}

/// /proc/net/tcp lines of `n` ESTABLISHED sockets from `local` (IPv4, or
/// IPv4-mapped in tcp6 form), as this host's kernel prints them.
fn established(local: Ipv4Addr, port: u16, n: usize, v6: bool) -> String {
    let hex = |a: Ipv4Addr| format!("{:08X}", u32::from_ne_bytes(a.octets()));
    let local = if v6 {
        format!("0000000000000000{:08X}{}", u32::from_ne_bytes([0, 0, 0xff, 0xff]), hex(local))
    } else {
        hex(local)
    };
    (0..n)
        .map(|i| {
            format!(
                "  {i}: {local}:{port:04X} {}:{:04X} 01 00000000:00000000 00:00000000 00000000 0 0 1 1 0 20 4 30 10 -1\n",
                hex(ip("203.0.113.7")),
                40000 + i
            )
        })
        .collect::<Vec<_>>()
        .concat()
}

fn with_sockets(text: &str, lines: &str) -> String {
    text.replace("@@netstat2", &format!("{lines}@@netstat2"))
}

#[test]
fn a_well_configured_realserver_passes() {
    let f = parse(GOOD).expect("parse");
    assert_eq!(f.listen, vec![(Ipv4Addr::UNSPECIFIED, 80)]);
    assert_eq!(f.rpf_drops, (Some(5), Some(5)));
    assert_eq!(
        f.route_client,
        Some(RouteGet { dst: ip("203.0.113.254"), dev: "eth0".into(), via: Some(ip("198.51.100.254")) })
    );
    let found = judge(&f, &dr(Some(3)), Some(ip("198.51.100.1")));
    assert!(found.is_empty(), "{found:#?}");
}

#[test]
fn each_realserver_rule_fires() {
    // arp_ignore=4 on eth0 overrides all=1; VIP /24 on lo; default route via the director; nothing listens.
    let text = GOOD
        .replace("conf/eth0/arp_ignore:0", "conf/eth0/arp_ignore:4")
        .replace("conf/all/arp_announce:2", "conf/all/arp_announce:0")
        .replace("198.51.100.100/32 scope global lo", "198.51.100.100/24 scope global lo")
        .replace("default via 198.51.100.254", "default via 198.51.100.1")
        .replace(" 0A ", " 01 ")
        .replace("ip_forward:0", "ip_forward:1");
    assert_eq!(
        ids(&text, &dr(None)),
        vec!["R-ARP-ANNOUNCE", "R-ARP-IGNORE", "R-FWD", "R-GW-DIRECTOR", "R-LISTEN", "R-VIP-PREFIX"]
    );
    // VIP missing; tunnel with strict rp_filter.
    let text = GOOD
        .replace("198.51.100.100/32 scope global lo", "10.9.9.9/32 scope global lo")
        .replace("all/rp_filter:0", "all/rp_filter:1");
    let tun = Serve { tunnel: true, ..dr(None) };
    assert_eq!(ids(&text, &tun), vec!["R-RPF-TUN", "R-VIP-ABSENT"]);
}

#[test]
fn arp_suppressed_by_arptables_or_nftables_is_no_arp_problem() {
    // The ARP problem by the sysctls: arp_ignore 0 and arp_announce 0, the VIP on eth0 too.
    let bad = GOOD
        .replace("conf/all/arp_ignore:1", "conf/all/arp_ignore:0")
        .replace("conf/all/arp_announce:2", "conf/all/arp_announce:0")
        .replace(
            "@@link",
            "2: eth0    inet 198.51.100.100/32 scope global eth0\\       valid_lft forever preferred_lft forever\n@@link",
        );
    assert_eq!(ids(&bad, &dr(None)), vec!["R-ARP-ANNOUNCE", "R-ARP-IGNORE", "R-VIP-ARPDEV"]);
    // arptables (legacy and -nft print the same): requests for the VIP dropped, the VIP
    // rewritten out of outgoing ARP: none of the three.
    let arptables = "@@arptables
Chain INPUT (policy ACCEPT)
-j DROP -d 198.51.100.100 

Chain OUTPUT (policy ACCEPT)
-j mangle -s 198.51.100.100 --mangle-ip-s 198.51.100.11 

Chain FORWARD (policy ACCEPT)
@@netstat2";
    assert_eq!(ids(&bad.replace("@@netstat2", arptables), &dr(None)), Vec::<&str>::new());
    // nftables, an address set in the input rule.
    let nft = "@@nft
table arp filter {
\tchain in {
\t\ttype filter hook input priority filter; policy accept;
\t\tarp operation request arp daddr ip { 198.51.100.100, 198.51.100.101 } drop
\t}

\tchain out {
\t\ttype filter hook output priority filter; policy accept;
\t\tarp saddr ip 198.51.100.100 arp saddr ip set 198.51.100.11
\t}
}
@@netstat2";
    let f = parse(&bad.replace("@@netstat2", nft)).expect("parse");
    assert!(f.arp_in_dropped.contains(&ip("198.51.100.101")));
    assert_eq!(ids(&bad.replace("@@netstat2", nft), &dr(None)), Vec::<&str>::new());
    // Only the input half: the host no longer answers, but still announces; the VIP on
    // eth0 needs both halves.
    let half = nft.replace("arp saddr ip 198.51.100.100 arp saddr ip set 198.51.100.11", "counter");
    assert_eq!(ids(&bad.replace("@@netstat2", &half), &dr(None)), vec!["R-ARP-ANNOUNCE", "R-VIP-ARPDEV"]);
    // A negated rule, a rule in another chain, another address: not suppression.
    for other in
        ["arp daddr ip != 198.51.100.100 drop", "arp daddr ip 198.51.100.99 drop", "arp daddr ip 198.51.100.100 accept"]
    {
        let text = bad.replace(
            "@@netstat2",
            &half.replace("arp operation request arp daddr ip { 198.51.100.100, 198.51.100.101 } drop", other),
        );
        assert!(ids(&text, &dr(None)).contains(&"R-ARP-IGNORE"), "{other}");
    }
    // Named sets (elements over several lines), in the table of the rules that use them.
    let named = "@@nft
table arp filter {
\tset vips {
\t\ttype ipv4_addr
\t\telements = { 198.51.100.99, 198.51.100.101,
\t\t\t     198.51.100.100 }
\t}

\tset own {
\t\ttype ipv4_addr
\t\tflags interval
\t\telements = { 198.51.100.100 }
\t}

\tchain in {
\t\ttype filter hook input priority filter; policy accept;
\t\tarp operation request arp daddr ip @vips drop
\t}

\tchain out {
\t\ttype filter hook output priority filter; policy accept;
\t\tarp saddr ip @own arp saddr ip set 198.51.100.11
\t}
}
@@netstat2";
    let f = parse(&bad.replace("@@netstat2", named)).expect("parse");
    assert_eq!(f.arp_in_dropped, [ip("198.51.100.99"), ip("198.51.100.100"), ip("198.51.100.101")].into());
    assert_eq!(ids(&bad.replace("@@netstat2", named), &dr(None)), Vec::<&str>::new());
    // A set of that name in another table, or none: not suppression.
    for elsewhere in
        [named.replace("\tchain in {", "}\ntable arp other {\n\tchain in {"), named.replace("@vips", "@nosuch")]
    {
        assert!(ids(&bad.replace("@@netstat2", &elsewhere), &dr(None)).contains(&"R-ARP-IGNORE"), "{elsewhere}");
    }
    // A concatenation pairs addresses: its elements are not the senders dropped.
    let concat = named
        .replace("arp daddr ip @vips drop", "arp saddr ip . arp daddr ip @vips drop")
        .replace("198.51.100.99, 198.51.100.101,", "198.51.100.99 . 198.51.100.100, 198.51.100.101 . 198.51.100.1,");
    let f = parse(&bad.replace("@@netstat2", &concat)).expect("parse");
    assert!(f.arp_in_dropped.is_empty(), "{:?}", f.arp_in_dropped);
    // Many rules naming one set resolve it once; a set name longer than nft allows is no set.
    let many = named
        .replace("\t\tarp operation request arp daddr ip @vips drop", &"\t\tarp daddr ip @vips drop\n".repeat(1000));
    let three: Ipv4Ranges = [ip("198.51.100.99"), ip("198.51.100.100"), ip("198.51.100.101")].into();
    assert_eq!(parse(&bad.replace("@@netstat2", &many)).expect("parse").arp_in_dropped, three);
    let long = named.replace("vips", &"v".repeat(300));
    assert!(parse(&bad.replace("@@netstat2", &long)).expect("parse").arp_in_dropped.is_empty());
    // What nft 1.0.6 lists: a dormant table sees no packets; a rule that drops only
    // replies, only up to a rate or a quota, or everything but requests lets requests
    // for the VIP through: none is suppression. Requests, alone or in a list, are.
    let dormant = named.replace("table arp filter {\n", "table arp filter {\n\tflags dormant\n\n");
    assert!(ids(&bad.replace("@@netstat2", &dormant), &dr(None)).contains(&"R-ARP-IGNORE"), "{dormant}");
    let awake = format!("{}table arp other {{\n\tflags dormant\n}}\n@@netstat2", named.trim_end_matches("@@netstat2"));
    assert_eq!(ids(&bad.replace("@@netstat2", &awake), &dr(None)), Vec::<&str>::new(), "{awake}");
    for partial in [
        "arp operation reply arp daddr ip @vips drop",
        "arp operation != request arp daddr ip @vips drop",
        "arp operation { reply, 3 } arp daddr ip @vips drop",
        "arp daddr ip @vips limit rate 10/second drop",
        "arp daddr ip @vips limit rate over 10/second drop",
        "arp daddr ip @vips quota until 100 mbytes drop",
    ] {
        let text = bad.replace("@@netstat2", &named.replace("arp operation request arp daddr ip @vips drop", partial));
        assert!(ids(&text, &dr(None)).contains(&"R-ARP-IGNORE"), "{partial}");
    }
    for whole in [
        "arp operation 1 arp daddr ip @vips drop",
        "arp operation != reply arp daddr ip @vips drop",
        "arp operation { request, reply } arp daddr ip @vips counter packets 0 bytes 0 drop",
    ] {
        let text = bad.replace("@@netstat2", &named.replace("arp operation request arp daddr ip @vips drop", whole));
        assert_eq!(ids(&text, &dr(None)), Vec::<&str>::new(), "{whole}");
    }
    let announce_limited =
        named.replace("arp saddr ip @own arp saddr ip set", "arp saddr ip @own limit rate 1/second arp saddr ip set");
    assert!(ids(&bad.replace("@@netstat2", &announce_limited), &dr(None)).contains(&"R-ARP-ANNOUNCE"));
    // Prefixes and ranges, as nft 1.0.6 and arptables list them: in a rule, an
    // anonymous set, an interval set (over two lines), arptables' /NN (a dotted mask
    // from older arptables too). Each covers 198.51.100.100; nearby ones do not.
    for (inside, outside) in [
        ("198.51.100.96/28", "198.51.100.112/28"),
        ("198.51.100.90-198.51.100.110", "198.51.100.101-198.51.100.110"),
        ("{ 198.51.100.20-198.51.100.30, 198.51.100.40, 198.51.100.64/26 }", "{ 198.51.100.0/26, 198.51.100.128/25 }"),
    ] {
        let rule = |addrs: &str| named.replace("arp daddr ip @vips drop", &format!("arp daddr ip {addrs} drop"));
        assert_eq!(ids(&bad.replace("@@netstat2", &rule(inside)), &dr(None)), Vec::<&str>::new(), "{inside}");
        assert!(ids(&bad.replace("@@netstat2", &rule(outside)), &dr(None)).contains(&"R-ARP-IGNORE"), "{outside}");
    }
    let interval = named.replace(
        "elements = { 198.51.100.99, 198.51.100.101,\n\t\t\t     198.51.100.100 }",
        "elements = { 198.51.100.0/28, 198.51.100.50-198.51.100.60,\n\t\t\t     198.51.100.64/26 }",
    );
    assert_ne!(interval, named);
    let f = parse(&bad.replace("@@netstat2", &interval)).expect("parse");
    assert!(["198.51.100.0", "198.51.100.15", "198.51.100.55", "198.51.100.64", "198.51.100.127"]
        .iter()
        .all(|a| f.arp_in_dropped.contains(&ip(a))));
    assert!(!["198.51.100.16", "198.51.100.49", "198.51.100.61", "198.51.100.128"]
        .iter()
        .any(|a| f.arp_in_dropped.contains(&ip(a))));
    assert_eq!(ids(&bad.replace("@@netstat2", &interval), &dr(None)), Vec::<&str>::new());
    for (prefix, covers) in
        [("198.51.100.96/28", true), ("198.51.100.0/255.255.255.128", true), ("198.51.100.0/25", true)]
            .into_iter()
            .chain([("198.51.100.112/28", false), ("198.51.100.0/255.0.255.0", false), ("198.51.100.100/33", false)])
    {
        let text = bad.replace(
            "@@netstat2",
            &arptables
                .replace("-d 198.51.100.100", &format!("-d {prefix}"))
                .replace("-s 198.51.100.100", &format!("-s {prefix}")),
        );
        assert_eq!(ids(&text, &dr(None)).is_empty(), covers, "{prefix}");
    }
    // A dormant table before an active one: the active one's rules count.
    let asleep_first = format!("@@nft\ntable arp old {{\n\tflags dormant\n}}\n{}", named.trim_start_matches("@@nft\n"));
    assert_eq!(ids(&bad.replace("@@netstat2", &asleep_first), &dr(None)), Vec::<&str>::new(), "{asleep_first}");
    // Every word of a rule must be understood, and none may leave requests for the VIP
    // through: a match on an interface, on the sender, a second address match, words in
    // a comment or a log prefix, an operation range or set, an earlier rule that accepts.
    let rule = |r: &str| bad.replace("@@netstat2", &named.replace("arp operation request arp daddr ip @vips drop", r));
    for narrowed in [
        "iifname \"eth1\" arp daddr ip 198.51.100.100 drop",
        "arp saddr ip 198.51.100.254 arp daddr ip @vips drop",
        "arp daddr ip 198.51.100.0/24 arp daddr ip != 198.51.100.101 drop",
        "arp daddr ip @vips log prefix \"would drop \" accept",
        "arp saddr ip 10.9.9.9 drop comment \"old: arp daddr ip 198.51.100.100 x\"",
        "arp operation != 1-2 arp daddr ip @vips drop",
        "arp operation != @ops arp daddr ip @vips drop",
        "arp daddr ip 198.51.100.100 meta nftrace set 1 drop",
        "arp saddr ip 198.51.100.254 accept\n\t\tarp daddr ip @vips drop",
        "arp saddr ip 198.51.100.254 jump lan\n\t\tarp daddr ip @vips drop",
    ] {
        assert!(ids(&rule(narrowed), &dr(None)).contains(&"R-ARP-IGNORE"), "{narrowed}");
    }
    // Words that narrow nothing: arptables-nft's own matches, counters, a log, a comment.
    for whole in [
        "arp htype 1 arp hlen 6 arp plen 4 arp daddr ip 198.51.100.100 counter packets 0 bytes 0 drop",
        "arp daddr ip @vips log prefix \"arp drop \" level warn drop comment \"vips\"",
        "arp saddr ip 198.51.100.254 accept\n\t}\n\tchain in2 {\n\t\ttype filter hook input priority 1; policy accept;\n\t\tarp daddr ip @vips drop",
    ] {
        assert_eq!(ids(&rule(whole), &dr(None)), Vec::<&str>::new(), "{whole}");
    }
    // arptables: only --opcode 1 (requests) leaves a rule whole; replies only, an
    // interface, a negation do not.
    for (option, whole) in [("--opcode 1", true), ("--opcode 2", false), ("-i eth1", false), ("--h-length 6", false)] {
        let text = bad.replace(
            "@@netstat2",
            &arptables.replace("-j DROP -d 198.51.100.100", &format!("-j DROP -d 198.51.100.100 {option}")),
        );
        assert_eq!(ids(&text, &dr(None)).is_empty(), whole, "{option}");
    }
    // arptables-nft (iptables 1.8.9, as it lists) keeps its rules in nftables' `table arp
    // filter`, and still lists them when that table is dormant; legacy arptables does not.
    let arptables_nft = |version: &str, dormant: bool| {
        let flags = if dormant { "\tflags dormant\n" } else { "" };
        format!(
            "@@arptables\narptables {version}\nChain INPUT (policy ACCEPT)\n-j DROP -d 198.51.100.100\n\n\
             Chain OUTPUT (policy ACCEPT)\n-j mangle -s 198.51.100.100 --mangle-ip-s 198.51.100.11\n\n\
             Chain FORWARD (policy ACCEPT)\n@@nft\n\
             # Warning: table arp filter is managed by iptables-nft, do not touch!\n\
             table arp filter {{\n{flags}\tchain INPUT {{\n\
             \t\ttype filter hook input priority filter; policy accept;\n\
             \t\tarp htype 1 arp hlen 6 arp plen 4 arp daddr ip 198.51.100.100 counter packets 0 bytes 0 drop\n\t}}\n\n\
             \tchain OUTPUT {{\n\t\ttype filter hook output priority filter; policy accept;\n\
             \t\tarp htype 1 arp hlen 6 arp plen 4 arp saddr ip 198.51.100.100 counter packets 0 bytes 0 xt target mangle\n\
             \t}}\n}}\n@@netstat2"
        )
    };
    for (version, dormant, suppressed) in
        [("v1.8.9 (nf_tables)", false, true), ("v1.8.9 (nf_tables)", true, false), ("v0.0.5", true, true)]
    {
        let text = bad.replace("@@netstat2", &arptables_nft(version, dormant));
        assert_eq!(ids(&text, &dr(None)).is_empty(), suppressed, "{version} dormant {dormant}: {text}");
    }
    // Found by a second review: rule order and what else lets packets leave a chain.
    let ip_in = |rules: &str| arptables.replace("-j DROP -d 198.51.100.100 ", rules);
    let ip_out = |rules: &str| arptables.replace("-j mangle -s 198.51.100.100 --mangle-ip-s 198.51.100.11 ", rules);
    for (listing, rule) in [
        // An ACCEPT (here on one interface) before the drop: answered on eth1.
        (ip_in("-j ACCEPT -i eth1\n-j DROP -d 198.51.100.100"), "R-ARP-IGNORE"),
        // A user chain named IN is reached only by a jump.
        (
            arptables.replace("Chain INPUT (policy ACCEPT)", "Chain INPUT (policy ACCEPT)\n\nChain IN (0 references)"),
            "R-ARP-IGNORE",
        ),
        // A mangle accepts what it rewrites (here only the MAC): the drop after it never sees the VIP.
        (
            ip_out("-j mangle -s 198.51.100.0/24 --mangle-mac-s 02:00:00:00:00:01\n-j DROP -s 198.51.100.100"),
            "R-ARP-ANNOUNCE",
        ),
        // A rewrite to the VIP puts it in the ARP sent.
        (ip_out("-j mangle -s 198.51.100.0/24 --mangle-ip-s 198.51.100.100"), "R-ARP-ANNOUNCE"),
        (ip_in("-j DROP ! -d 198.51.100.99"), "R-ARP-IGNORE"),
    ] {
        assert!(ids(&bad.replace("@@netstat2", &listing), &dr(None)).contains(&rule), "{rule}: {listing}");
    }
    let out_rule =
        |r: &str| bad.replace("@@netstat2", &named.replace("arp saddr ip @own arp saddr ip set 198.51.100.11", r));
    for narrowed in [
        "arp saddr ip 198.51.100.0/24 xt target mangle\n\t\tarp saddr ip 198.51.100.100 drop",
        "arp saddr ip 198.51.100.100 oifname \"eth1\" arp saddr ip set 198.51.100.11",
        "arp saddr ip 198.51.100.0/24 arp saddr ip set 198.51.100.100",
    ] {
        assert!(ids(&out_rule(narrowed), &dr(None)).contains(&"R-ARP-ANNOUNCE"), "{narrowed}");
    }
    assert!(ids(
        &rule("arp daddr ip vmap { 198.51.100.100 : accept, 198.51.100.200 : drop }\n\t\tarp daddr ip @vips drop"),
        &dr(None)
    )
    .contains(&"R-ARP-IGNORE"));
    // Set elements: an address in a comment is none; one that expires is not kept.
    for element in ["198.51.100.99 comment \"old, 198.51.100.100 moved\"", "198.51.100.100 timeout 1m expires 20s"] {
        let text = bad.replace(
            "@@netstat2",
            &named.replace(
                "elements = { 198.51.100.99, 198.51.100.101,\n\t\t\t     198.51.100.100 }",
                &format!("elements = {{ {element} }}"),
            ),
        );
        assert!(ids(&text, &dr(None)).contains(&"R-ARP-IGNORE"), "{element}");
    }
    // arptables-nft prints a rule of its table without the matches it cannot show
    // (here a set of senders): nft's listing of that table is the one read.
    let missing = arptables_nft("v1.8.9 (nf_tables)", false).replace(
        "arp htype 1 arp hlen 6 arp plen 4 arp daddr ip 198.51.100.100 counter packets 0 bytes 0 drop",
        "arp saddr ip @lan arp daddr ip 198.51.100.100 drop",
    );
    assert!(ids(&bad.replace("@@netstat2", &missing), &dr(None)).contains(&"R-ARP-IGNORE"), "{missing}");
    let in_forward = arptables.replace("Chain INPUT", "Chain FORWARD");
    assert!(ids(&bad.replace("@@netstat2", &in_forward), &dr(None)).contains(&"R-ARP-IGNORE"));
    // Garbage in a firewall listing is no bad answer.
    let junk = "@@nft\n\x1b[2J table { { { arp daddr ip\n}}}\n@@netstat2";
    assert!(parse(&GOOD.replace("@@netstat2", junk)).is_ok());
}

#[test]
fn strict_rp_filter_with_clients_routed_out_another_device() {
    let out_eth1 = GOOD.replace("203.0.113.254 via 198.51.100.254 dev eth0", "203.0.113.254 via 192.0.2.1 dev eth1");
    assert_eq!(ids(&out_eth1, &dr(None)), vec!["R-RPF-STRICT"]);
    let f = parse(&out_eth1).expect("parse");
    let found = judge(&f, &dr(None), Some(ip("198.51.100.1")));
    assert_eq!(found[0].severity, Severity::Error);
    assert_eq!(found[0].subject, Subject::Interface("eth0".into()));
    assert!(found[0].evidence.to_string().starts_with("rp_filter=1 (max of all and eth0)"), "{found:?}");
    assert_eq!(found[0].fix.to_string(), "sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth0.rp_filter=2");
    assert!(found[0].message.contains("ip route get 198.51.100.100 from 203.0.113.254 iif eth0"), "{found:?}");
    // all=1 counts too (max of all and eth0).
    let all1 = out_eth1.replace("eth0/rp_filter:1", "eth0/rp_filter:0").replace("all/rp_filter:0", "all/rp_filter:1");
    assert_eq!(ids(&all1, &dr(None)), vec!["R-RPF-STRICT"]);
    // Not: loose mode; the same device both ways (GOOD); no route to clients; a tunnel (R-RPF-TUN's case).
    assert!(ids(&out_eth1.replace("eth0/rp_filter:1", "eth0/rp_filter:2"), &dr(None)).is_empty());
    assert!(ids(
        &out_eth1.replace("203.0.113.254 via 192.0.2.1 dev eth1 src 198.51.100.11 uid 0 \\    cache \n", ""),
        &dr(None)
    )
    .is_empty());
    assert!(!ids(&out_eth1, &Serve { tunnel: true, ..dr(None) }).contains(&"R-RPF-STRICT"));
    // Nor when the route answered is not the DIP's (the check is about the director's segment).
    let f = parse(&out_eth1).expect("parse");
    assert!(judge(&f, &dr(None), Some(ip("198.51.100.2"))).is_empty());
    assert!(judge(&f, &dr(None), None).is_empty());
}

#[test]
fn a_realserver_reaching_the_director_through_a_gateway_is_off_segment() {
    let via = GOOD.replace("198.51.100.1 dev eth0 src", "198.51.100.1 via 198.51.100.254 dev eth0 src");
    assert_eq!(ids(&via, &dr(None)), vec!["R-L2"]);
    let f = parse(&via).expect("parse");
    let found = judge(&f, &dr(None), Some(ip("198.51.100.1")));
    assert_eq!(
        (found[0].severity, found[0].evidence.to_string().as_str()),
        (Severity::Error, "198.51.100.1 via 198.51.100.254 dev eth0")
    );
    // A tunnel realserver may be anywhere.
    assert!(ids(&via, &Serve { tunnel: true, ..dr(None) }).is_empty());
    // No route to the DIP at all: nothing to judge.
    assert!(
        ids(&GOOD.replace("198.51.100.1 dev eth0 src 198.51.100.11 uid 0 \\    cache \n", ""), &dr(None)).is_empty()
    );
}

#[test]
fn arp_ignore_silences_an_interface_without_ipv4() {
    let veth = "3: veth1@if4: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 qdisc noqueue state UP\\    link/ether 02:00:00:00:00:0c\n";
    let text = GOOD.replace("@@route\n", &format!("{veth}@@route\n"));
    assert_eq!(ids(&text, &dr(None)), vec!["R-ARP-UNNUMBERED"]);
    let f = parse(&text).expect("parse");
    let found = judge(&f, &dr(None), Some(ip("198.51.100.1")));
    assert_eq!((found[0].severity, &found[0].subject), (Severity::Warning, &Subject::Interface("veth1".into())));
    assert_eq!(
        found[0].fix.to_string(),
        "sysctl -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.veth1.arp_ignore=0 net.ipv4.conf.eth0.arp_ignore=1"
    );
    // 2 silences it too; 3 does not (it answers for global addresses of any interface).
    assert_eq!(ids(&text.replace("all/arp_ignore:1", "all/arp_ignore:2"), &dr(None)), vec!["R-ARP-UNNUMBERED"]);
    assert_eq!(ids(&text.replace("all/arp_ignore:1", "all/arp_ignore:3"), &dr(None)), vec!["R-ARP-IGNORE"; 2]);
    // Not: no carrier, NOARP, a bridge port, an address on it.
    for other in [
        veth.replace(",LOWER_UP", ""),
        veth.replace("MULTICAST,", "MULTICAST,NOARP,"),
        veth.replace("qdisc noqueue", "qdisc noqueue master br0"),
    ] {
        assert!(ids(&GOOD.replace("@@route\n", &format!("{other}@@route\n")), &dr(None)).is_empty(), "{other}");
    }
    let numbered = text.replace("@@link\n", "3: veth1    inet 192.0.2.5/24 scope global veth1\\ x\n@@link\n");
    assert!(ids(&numbered, &dr(None)).is_empty());
}

#[test]
fn rp_filter_drops_between_the_two_readings() {
    let rising = GOOD.replace(
        "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 5 0",
        "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 9 0",
    );
    assert_eq!(ids(&rising, &dr(None)), vec!["R-RPF-COUNTER"]);
    let f = parse(&rising).expect("parse");
    let found = judge(&f, &dr(None), Some(ip("198.51.100.1")));
    assert_eq!(
        (found[0].severity, found[0].evidence.to_string().as_str()),
        (Severity::Warning, "+4 in about a second (5 → 9)")
    );
    // Not: no change (GOOD), a counter that went down, a kernel without the counter.
    let falling = rising.replace("TcpExt: 0 0 5 0", "TcpExt: 0 0 12 0");
    assert!(ids(&falling, &dr(None)).is_empty());
    let without = rising.replace(" IPReversePathFilter", " Other");
    assert_eq!(parse(&without).expect("parse").rpf_drops, (None, None));
    assert!(ids(&without, &dr(None)).is_empty());
    // An empty section (no /proc/net/netstat) is no reading.
    let empty = rising.replace(
        "@@netstat2\nTcpExt: SyncookiesSent ArpFilter IPReversePathFilter ListenOverflows\nTcpExt: 0 0 9 0\n",
        "@@netstat2\n",
    );
    assert_eq!(parse(&empty).expect("parse").rpf_drops, (Some(5), None));
    assert!(ids(&empty, &dr(None)).is_empty());
}

#[test]
fn many_sockets_the_director_does_not_count_mean_a_bypass() {
    let vip = ip("198.51.100.100");
    let busy = with_sockets(GOOD, &established(vip, 80, 40, false));
    assert_eq!(parse(&busy).expect("parse").established.get(&(vip, 80)), Some(&40));
    assert_eq!(ids(&busy, &dr(Some(3))), vec!["D-BYPASS"]);
    let f = parse(&busy).expect("parse");
    let found = judge(&f, &dr(Some(3)), Some(ip("198.51.100.1")));
    assert_eq!(
        (found[0].severity, found[0].subject.to_string().as_str(), found[0].evidence.to_string().as_str()),
        (Severity::Warning, "198.51.100.100:80", "40 ESTABLISHED sockets on 198.51.100.100:80; director ActiveConn 3")
    );
    assert_eq!(found[0].message, "clients reach RS directly: ARP problem or router pinned to an RS MAC");
    assert_eq!(
        found[0].fix.to_string(),
        "run lvstop check (D-ARP-FOREIGN) and fix the realserver's arp_ignore/arp_announce"
    );
    // The boundary: 40 > 2 × 14 + 10 fires, 40 > 2 × 15 + 10 does not.
    assert_eq!(ids(&busy, &dr(Some(14))), vec!["D-BYPASS"]);
    assert!(ids(&busy, &dr(Some(15))).is_empty());
    // At least 10 sockets: 11 with ActiveConn 0 fires, 9 (or 10: not > 10) does not.
    assert_eq!(ids(&with_sockets(GOOD, &established(vip, 80, 11, false)), &dr(Some(0))), vec!["D-BYPASS"]);
    assert!(ids(&with_sockets(GOOD, &established(vip, 80, 10, false)), &dr(Some(0))).is_empty());
    // IPv4-mapped sockets of a dual-stack listener count.
    let mapped = with_sockets(GOOD, &established(vip, 80, 30, true));
    assert_eq!(parse(&mapped).expect("parse").established.get(&(vip, 80)), Some(&30));
    assert_eq!(ids(&mapped, &dr(Some(0))), vec!["D-BYPASS"]);
    // Not: ActiveConn unknown, sockets on another port or address, a persistent all-ports service.
    assert!(ids(&busy, &dr(None)).is_empty());
    assert!(ids(&with_sockets(GOOD, &established(vip, 443, 40, false)), &dr(Some(0))).is_empty());
    assert!(ids(&with_sockets(GOOD, &established(ip("198.51.100.11"), 80, 40, false)), &dr(Some(0))).is_empty());
    let mut all_ports = dr(Some(0));
    all_ports.port = 0;
    assert_eq!(ids(&busy, &all_ports), Vec::<&str>::new());
}

#[test]
fn untrusted_output_is_refused_with_the_line() {
    assert!(parse("@@sysctl\n/proc/sys/net/ipv4/ip_forward:yes\n@@end\n").expect_err("nan").contains("line 2"));
    assert!(parse("@@sysctl\n").expect_err("cut").contains("end marker"));
    assert!(parse("garbage\n@@end\n").expect_err("preamble").contains("line 1"));
    assert!(parse("@@rm -rf\n").expect_err("section").contains("unknown section"));
    // The new sections, each line and value named.
    for (text, needle) in [
        ("@@netstat1\nIpExt: InNoRoutes\n@@end\n", "line 2: 'IpExt: InNoRoutes': not a TcpExt line"),
        ("@@netstat1\nTcpExt: A B\nTcpExt: 1\n@@end\n", "line 3: 'TcpExt: 1': 1 TcpExt values for 2 counter names"),
        (
            "@@netstat2\nTcpExt: A IPReversePathFilter\nTcpExt: 1 x7\n@@end\n",
            "IPReversePathFilter = 'x7' is not a number",
        ),
        ("@@netstat2\nTcpExt: A\nTcpExt: 1\nTcpExt: A\n@@end\n", "line 4: 'TcpExt: A': more than one"),
        ("@@netstat1\nTcpExt: A B\n@@end\n", "line 2: TcpExt counter names without their values line"),
        (
            "@@routeget-dip\n198.51.100.999 dev eth0\n@@end\n",
            "line 2: '198.51.100.999 dev eth0': '198.51.100.999' is not an IPv4",
        ),
        (
            "@@routeget-dip\n198.51.100.1 via 198.51.100.254\n@@end\n",
            "line 2: '198.51.100.1 via 198.51.100.254': no dev",
        ),
        ("@@routeget-client\n203.0.113.254 via x dev eth0\n@@end\n", "gateway 'x' is not an IPv4 address"),
        ("@@routeget-client\n203.0.113.254 dev eth0/../x\n@@end\n", "'eth0/../x' is not an interface name"),
        (
            "@@routeget-client\n203.0.113.254 dev eth0\n203.0.113.254 dev eth1\n@@end\n",
            "line 3: '203.0.113.254 dev eth1': more than one route",
        ),
        ("@@routeget-client\nRTNETLINK answers: Network is unreachable\n@@end\n", "line 2: 'RTNETLINK"),
        (
            "@@tcp\n   0: 0000000G:0050 00000000:0000 01 0\n@@end\n",
            "line 2: '   0: 0000000G:0050 00000000:0000 01 0': '0000000G' is not an address",
        ),
        ("@@tcp\n   0: 00000000:0050 00000000:0000 ZZ 0\n@@end\n", "bad state 'ZZ'"),
        ("@@tcp\n   0: 00000000:1FFFF 00000000:0000 01 0\n@@end\n", "bad port '1FFFF'"),
        ("@@tcp\n   0: 0000:0050 00000000:0000 01 0\n@@end\n", "'0000' is not an address"),
        ("@@tcp\n   0: 00000000:0050\n@@end\n", "no state"),
    ] {
        let e = parse(text).expect_err(text);
        assert!(e.contains(needle), "{text:?}: {e}");
    }
    // An empty route section is no route (ip printed its error to /dev/null).
    let f = parse("@@routeget-dip\n@@routeget-client\n@@end\n").expect("empty");
    assert_eq!((f.route_dip, f.route_client), (None, None));
    // A local route (the address is the host's own) parses.
    let f = parse("@@routeget-dip\nlocal 127.0.0.1 dev lo src 127.0.0.1 uid 0 \\    cache <local> \n@@end\n")
        .expect("local");
    assert_eq!(f.route_dip.map(|r| r.dev), Some("lo".to_string()));
}

#[test]
fn the_script_carries_only_the_two_typed_addresses() {
    let with = script(Some(ip("198.51.100.1")), ip("203.0.113.254"));
    let without = script(None, ip("203.0.113.254"));
    assert_eq!(with.replace(" ip -o route get 198.51.100.1 2>/dev/null", ""), without);
    assert!(without.contains("echo @@routeget-dip;\n"), "{without}");
    assert!(with.contains("ip -o route get 203.0.113.254 2>/dev/null"), "{with}");
    // The netstat readings come first and last, a second apart at least.
    let sleep = with.find("sleep 1").expect("sleep");
    assert!(with.find("@@netstat1").expect("1") < sleep && sleep < with.find("@@netstat2").expect("2"));
}

#[test]
fn the_dip_is_the_director_address_on_the_realserver_segment() {
    let v4 = |s: &str, p: u8| (IpAddr::V4(ip(s)), p);
    let d = vec![v4("127.0.0.1", 8), v4("192.0.2.1", 24), v4("198.51.100.100", 24), v4("198.51.100.1", 24)];
    let vips = [ip("198.51.100.100")];
    assert_eq!(dip_for(IpAddr::V4(ip("198.51.100.11")), &d, &vips), Some(ip("198.51.100.1")));
    // Off every director subnet: the first director address that is neither loopback nor a VIP.
    assert_eq!(dip_for(IpAddr::V4(ip("203.0.113.5")), &d, &vips), Some(ip("192.0.2.1")));
    assert_eq!(dip_for(IpAddr::V4(ip("198.51.100.11")), &d[..1], &vips), None);
    assert_eq!(dip_for("2001:db8::11".parse().expect("v6"), &d, &vips), Some(ip("192.0.2.1")));
}

#[test]
fn targets_carry_the_directors_active_connections() {
    use crate::model::{Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec};
    let dest = |a: &str, fwd, active| Destination {
        spec: DestSpec::new(a.parse().expect("ip"), 80, fwd),
        active_conns: active,
        inact_conns: 0,
        persist_conns: 0,
        stats: Counters::default(),
        rates: Rates::default(),
    };
    let svc = |key, dests| Service {
        spec: ServiceSpec::new(key, "wrr"),
        stats: Counters::default(),
        rates: Rates::default(),
        destinations: Vec::into(dests),
    };
    let vip = IpAddr::V4(ip("198.51.100.100"));
    let snap = crate::model::Snapshot {
        services: vec![
            svc(
                ServiceKey::tcp(vip, 80),
                vec![
                    dest("198.51.100.11", ForwardMethod::Route, 7),
                    dest("198.51.100.12", ForwardMethod::Tunnel, 2),
                    dest("198.51.100.13", ForwardMethod::Masq, 9),
                ],
            ),
            svc(ServiceKey::udp(vip, 53), vec![dest("198.51.100.11", ForwardMethod::Route, 4)]),
        ],
        ..crate::model::Snapshot::empty()
    };
    let t = targets(&snap);
    assert_eq!(t.len(), 2, "{t:?}");
    assert_eq!(
        t[0].serves,
        vec![
            Serve {
                vip: ip("198.51.100.100"),
                port: 80,
                tunnel: false,
                active_conns: Some(7),
                protocol: Protocol::Tcp
            },
            Serve { vip: ip("198.51.100.100"), port: 53, tunnel: false, active_conns: None, protocol: Protocol::Udp },
        ]
    );
    assert_eq!(
        t[1].serves,
        vec![Serve {
            vip: ip("198.51.100.100"),
            port: 80,
            tunnel: true,
            active_conns: Some(2),
            protocol: Protocol::Tcp
        }]
    );
}

#[test]
fn udp_services_look_for_udp_sockets() {
    let udp = Serve { port: 53, protocol: Protocol::Udp, ..dr(None) };
    // GOOD has a TCP listener on port 80 only: nothing on UDP 53.
    assert!(ids(GOOD, &udp).contains(&"R-LISTEN"));
    let bound = GOOD
        .replace("@@end", "@@udp\n   sl  local_address rem_address   st\n  1: 00000000:0035 00000000:0000 07 0\n@@end");
    assert!(!ids(&bound, &udp).contains(&"R-LISTEN"), "a wildcard UDP socket on 53 listens");
    // An SCTP service is not judged on sockets lvstop does not read.
    assert!(!ids(GOOD, &Serve { port: 9, protocol: Protocol::Sctp, ..dr(None) }).contains(&"R-LISTEN"));
}

#[test]
fn each_finding_is_made_once_per_host_vip_or_service() {
    // Two services on one VIP, a second VIP, and UDP: host-wide findings once,
    // VIP findings once per VIP, service findings once per service.
    let text = GOOD
        .replace("conf/eth0/arp_ignore:0", "conf/eth0/arp_ignore:4")
        .replace("default via 198.51.100.254", "default via 198.51.100.1")
        .replace(" 0A ", " 01 ")
        .replace("ip_forward:0", "ip_forward:1");
    let f = parse(&text).expect("parse");
    let vip2 = ip("198.51.100.101");
    let serves = [
        dr(None),
        Serve { port: 443, ..dr(None) },
        Serve { vip: vip2, ..dr(None) },
        Serve { port: 53, protocol: Protocol::Udp, ..dr(None) },
    ];
    let host = Host::Realserver(IpAddr::V4(ip("198.51.100.11")));
    let cx = Ctx { host, facts: &f, serves: &serves, dip: Some(ip("198.51.100.1")), director: &director() };
    let found = check(&cx).0;
    let of = |id: &str| -> Vec<String> {
        found.iter().filter(|x| x.rule.id() == id).map(|x| format!("{} | {}", x.subject, x.message)).collect()
    };
    assert_eq!(of("R-FWD").len(), 1);
    assert_eq!(of("R-GW-DIRECTOR").len(), 1);
    assert_eq!(of("R-VIP-ABSENT"), vec!["VIP 198.51.100.101 | VIP 198.51.100.101 is missing on realserver 198.51.100.11: it drops DR traffic for the VIP"]);
    assert_eq!(
        of("R-ARP-IGNORE"),
        vec!["interface eth0 | realserver 198.51.100.11 answers ARP for VIP 198.51.100.100 on eth0: the ARP problem"],
        "the VIP that is not configured is not answered for"
    );
    let listen: Vec<String> =
        found.iter().filter(|x| x.rule == Rule::RListen).map(|x| x.evidence.to_string()).collect();
    assert_eq!(
        listen,
        vec![
            "no TCP listener on 198.51.100.100:80 or 0.0.0.0:80",
            "no TCP listener on 198.51.100.100:443 or 0.0.0.0:443",
            "no TCP listener on 198.51.100.101:80 or 0.0.0.0:80",
            "no UDP listener on 198.51.100.100:53 or 0.0.0.0:53",
        ]
    );
    assert!(found.iter().all(|x| x.host == host));
    let mut rules: Vec<Rule> = RULES.iter().map(|(r, _)| *r).collect();
    rules.sort();
    rules.dedup();
    assert_eq!(rules.len(), RULES.len(), "each rule once in the table");
}

#[test]
fn each_realserver_rule_reads_as_the_report_always_showed_it() {
    let text = GOOD
        .replace(
            "1: lo    inet 198.51.100.100/32 scope global lo",
            "2: eth0    inet 198.51.100.100/32 scope global eth0",
        )
        .replace("all/arp_ignore:1", "all/arp_ignore:8")
        .replace("all/rp_filter:0", "all/rp_filter:2");
    let f = parse(&text).expect("parse");
    let found = judge(&f, &Serve { tunnel: true, ..dr(None) }, Some(ip("198.51.100.1")));
    let lines: Vec<String> =
        found.iter().map(|x| format!("{} {} = {} / {}", x.rule.id(), x.subject, x.evidence, x.fix)).collect();
    assert_eq!(
        lines,
        vec![
            "R-VIP-ARPDEV VIP 198.51.100.100 = on eth0 / ip addr del 198.51.100.100/32 dev eth0; ip addr add 198.51.100.100/32 dev lo",
            "R-ARP-IGNORE-8 interface eth0 = arp_ignore=8 / sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1",
            "R-RPF-TUN interface tunl0 = rp_filter=2, tunl0 has no address / sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0",
        ]
    );
    let text = GOOD
        .replace("198.51.100.100/32 scope global lo", "198.51.100.100/24 scope global lo")
        .replace("conf/all/arp_announce:2", "conf/all/arp_announce:0")
        .replace("default via 198.51.100.254", "default via 198.51.100.1")
        .replace("ip_forward:0", "ip_forward:1")
        .replace("TcpExt: 0 0 5 0\n@@end", "TcpExt: 0 0 9 0\n@@end");
    let f = parse(&text).expect("parse");
    let found = judge(&f, &dr(None), Some(ip("198.51.100.1")));
    let lines: Vec<String> =
        found.iter().map(|x| format!("{} {} = {} / {}", x.rule.id(), x.subject, x.evidence, x.fix)).collect();
    assert_eq!(
        lines,
        vec![
            "R-VIP-PREFIX VIP 198.51.100.100 = 198.51.100.100/24 on lo / ip addr del 198.51.100.100/24 dev lo; ip addr add 198.51.100.100/32 dev lo",
            "R-ARP-ANNOUNCE interface eth0 = arp_announce=0 (max of all and eth0) / sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2",
            "R-RPF-COUNTER TcpExt IPReversePathFilter = +4 in about a second (5 → 9) / sysctl -w net.ipv4.conf.all.log_martians=1; journalctl -k | grep 'martian source'",
            "R-GW-DIRECTOR default route = default via 198.51.100.1 / ip route replace default via <the real router>",
            "R-FWD net.ipv4.ip_forward = ip_forward=1 / sysctl -w net.ipv4.ip_forward=0",
        ]
    );
}

#[test]
fn an_unreachable_host_says_how_to_check_access() {
    let f = super::run::unreachable(IpAddr::V4(ip("198.51.100.13")), "rs3.example", "ssh: connect timed out".into());
    assert_eq!(
        (f.rule, f.severity, f.host.to_string()),
        (Rule::RUnreachable, Severity::Warning, "realserver 198.51.100.13".into())
    );
    assert_eq!(f.subject.to_string(), "ssh rs3.example");
    assert_eq!(f.evidence.to_string(), "ssh: connect timed out");
    assert_eq!(f.message, "cannot read realserver 198.51.100.13: ssh: connect timed out");
    assert_eq!(
        f.fix.to_string(),
        "check access without a prompt: ssh -o BatchMode=yes rs3.example true (keys, known_hosts, [ssh] in lvstop.toml)"
    );
    // A configured host name is a value from outside: quoted.
    let odd = super::run::unreachable(IpAddr::V4(ip("198.51.100.13")), "rs3;reboot", "x".into());
    assert!(odd.fix.to_string().contains("ssh -o BatchMode=yes 'rs3;reboot' true"), "{}", odd.fix);
}

#[test]
fn a_realserver_listed_twice_in_a_service_serves_it_once() {
    use crate::model::{Counters, DestSpec, Destination, ForwardMethod, Rates, Service, ServiceKey, ServiceSpec};
    let dest = |port, active| Destination {
        spec: DestSpec::new("198.51.100.11".parse().expect("ip"), port, ForwardMethod::Route),
        active_conns: active,
        inact_conns: 0,
        persist_conns: 0,
        stats: Counters::default(),
        rates: Rates::default(),
    };
    let snap = crate::model::Snapshot {
        services: vec![Service {
            spec: ServiceSpec::new(ServiceKey::tcp(IpAddr::V4(ip("198.51.100.100")), 80), "wrr"),
            stats: Counters::default(),
            rates: Rates::default(),
            destinations: vec![dest(80, 3), dest(8080, 4)].into(),
        }],
        ..crate::model::Snapshot::empty()
    };
    let t = targets(&snap);
    assert_eq!(t.len(), 1);
    assert_eq!(t[0].serves, vec![dr(Some(7))]);
}

mod live {
    /// The script's real output on this host parses (real `ip -o` and /proc formats).
    #[test]
    fn the_script_output_of_this_host_parses() {
        let script = super::super::script(Some(std::net::Ipv4Addr::LOCALHOST), crate::checks::CLIENT_PROBE_V4);
        let Ok(out) = std::process::Command::new("sh").arg("-c").arg(script).output() else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        let f = super::super::parse(&text).map_err(|e| format!("{e}\n{text}")).expect("the script's output parses");
        assert!(f.addrs.iter().any(|a| a.addr.is_loopback()), "{f:?}");
        assert!(f.sysctl.contains_key("all/arp_ignore"), "{f:?}");
        assert_eq!(f.route_dip.map(|r| r.dev), Some("lo".to_string()), "{text}");
        assert!(f.rpf_drops.0.is_some() && f.rpf_drops.1.is_some(), "{text}");
    }
}

proptest::proptest! {
    /// Merged ranges (binary search) hold exactly the addresses the ranges
    /// as read (a linear scan) do, however they overlap, touch or nest.
    #[test]
    fn merged_ranges_hold_what_the_ranges_read_hold(
        ranges in proptest::collection::vec((0u32..64, 0u32..8), 0..12),
        probes in proptest::collection::vec(0u32..=70, 1..20),
        high in proptest::bool::ANY,
    ) {
        // Near the top of the address space too, where `hi + 1` would overflow.
        let base = if high { u32::MAX - 70 } else { 0 };
        let read: Vec<(u32, u32)> = ranges.iter().map(|&(lo, len)| (base + lo, base + lo + len)).collect();
        let mut merged = Ipv4Ranges::default();
        merged.extend(read.iter().copied());
        let linear = merged.clone();
        merged.merge();
        for &p in &probes {
            let a = Ipv4Addr::from(base + p);
            proptest::prop_assert_eq!(merged.contains(&a), linear.contains(&a), "{} in {:?}", a, read);
        }
        // Points taken out (a rewrite's targets): exactly those addresses go.
        let points: Vec<u32> = probes.iter().step_by(2).map(|p| base + p).collect();
        let mut without = linear.clone();
        without.remove_points(points.clone());
        for p in 0..=70 {
            let a = base + p;
            let want = linear.contains(&Ipv4Addr::from(a)) && !points.contains(&a);
            proptest::prop_assert_eq!(without.contains(&Ipv4Addr::from(a)), want, "{} in {:?} less {:?}", a, read, points);
        }
        let top = Ipv4Ranges { ranges: vec![(u32::MAX - 1, u32::MAX), (u32::MAX, u32::MAX)], merged: false };
        let mut m = top.clone();
        m.merge();
        proptest::prop_assert!(m.contains(&Ipv4Addr::from(u32::MAX)));
        m.remove_points(vec![u32::MAX]);
        proptest::prop_assert!(!m.contains(&Ipv4Addr::from(u32::MAX)) && m.contains(&Ipv4Addr::from(u32::MAX - 1)));
    }
}
