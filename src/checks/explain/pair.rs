//! The pair rules' explanations (P-*): two directors read together
//! (`lvstop check --director A --director B`).

use super::RuleDoc;
use crate::checks::Severity;

/// The pair rules, in report order.
pub const DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "P-DRIFT",
        title: "Two directors' IPVS tables differ",
        severity: Severity::Error,
        explain: "\
What: the directors' tables, compared as `lvstop diff A B` compares them, differ: a service or a
realserver is on one director only, or a service's scheduler, flags or persistence, or a
realserver's forwarding method, weight or thresholds differ. Counters, rates and connection
counts are each director's own and are not compared; a weight is (a realserver drained on one
director only is drift).

Why: the backup takes over with its own table. A service it lacks is down after a failover, a
realserver it still sends to may be the one being retired, and a different scheduler or
persistence moves clients. keepalived keeps the tables alike only where both configurations are
alike; a change made by hand with ipvsadm on the master never reaches the backup.

Fix: see every difference and the ipvsadm commands that make the second like the first:
  lvstop diff A B
run them on B after checking them (or fix keepalived.conf on both and reload it), then verify:
  lvstop diff A B; echo $?           (0: the same)",
    },
    RuleDoc {
        id: "P-VIP-SPLIT",
        title: "A VIP is held by more than one director",
        severity: Severity::Error,
        explain: "\
What: an address that is a service's VIP on either director is configured on an interface of
both (loopback aside), as each director's rtnetlink lists its addresses.

Why: only one director may hold a VIP: each answers ARP for it, the router's entry flips between
their MACs, and clients' packets land on either director at random. Connections break whenever
the entry flips (the other director has no state for them unless sync carries it). This is VRRP
split brain: the directors cannot hear each other's advertisements (a firewall dropping VRRP,
protocol 112; a bad interface or virtual_router_id; a broken link between them).

Fix: find why VRRP is split on both directors:
  journalctl -u keepalived | grep -i -e state -e vrrp
  tcpdump -ni IFACE vrrp              (each must see the other's advertisements)
allow VRRP between them (nft/iptables: ip protocol vrrp accept) and make one the backup; as a
stopgap, remove the VIP from the director that should not hold it (ip addr del VIP/32 dev IFACE).",
    },
    RuleDoc {
        id: "P-VIP-NONE",
        title: "A VIP of the pair's services is held by no director",
        severity: Severity::Error,
        explain: "\
What: an address that is a service's VIP on either director is configured on neither of them
(loopback aside), as each director's rtnetlink lists its addresses.

Why: no director answers ARP (or neighbour solicitations) for the VIP, so clients' packets for
it go nowhere, or to whichever host last answered: the service is down although both tables list
it. With VRRP both directors are BACKUP or FAULT (a failed track script or interface), or
keepalived is stopped on the master.

Fix: check the VRRP state of both:
  journalctl -u keepalived | grep -i -e state -e fault
  systemctl status keepalived
fix what holds them in FAULT (the tracked interface, the track script) or start keepalived on the
director that should be master; without VRRP, add the VIP on the active director
(ip addr add VIP/32 dev IFACE; arping -U -c 3 -I IFACE VIP).",
    },
    RuleDoc {
        id: "P-SYNC-ONESIDED",
        title: "Connection sync runs on one director only",
        severity: Severity::Warning,
        explain: "\
What: one director runs the IPVS master sync daemon (it sends its connections' state) while the
other runs no backup daemon to receive it; or one runs a backup daemon with no master daemon on
the other to feed it. The daemons are read over netlink, as `ipvsadm -L --daemon` lists them.

Why: the backup director only knows the connections the master sent it. Without sync, after a
failover every established connection reaches a director that has never seen it: TCP
connections are reset or, with persistence, clients land on another realserver. A sync daemon on
one side only usually means it was started by hand, or keepalived's lvs_sync_daemon is set in
one configuration only.

Fix: run a backup daemon where the master's connections should go (and both daemons on both if
either may be master), on the interface that links the directors, with the same syncid:
  ipvsadm --start-daemon master --mcast-interface IFACE --syncid N
  ipvsadm --start-daemon backup --mcast-interface IFACE --syncid N
or set lvs_sync_daemon IFACE VI_NAME in both keepalived configurations. Verify: lvstop check.",
    },
    RuleDoc {
        id: "P-SYNC-ID",
        title: "The backup's sync id differs from the master's",
        severity: Severity::Error,
        explain: "\
What: the backup sync daemon listens with a sync id that is not 0 and not the id the other
director's master daemon sends with.

Why: the kernel's backup daemon drops every sync message whose id differs from its own (an id of
0 takes them all), so it receives nothing although both daemons run: a failover resets every
connection, as if sync were off. Different ids are meant for several director pairs on one
segment, not for the two ends of one pair.

Fix: restart the backup daemon with the master's id:
  ipvsadm --stop-daemon backup
  ipvsadm --start-daemon backup --mcast-interface IFACE --syncid N
or give both keepalived configurations the same lvs_sync_daemon settings. Verify:
lvstop check --director A --director B.",
    },
    RuleDoc {
        id: "P-SYNC-EMPTY",
        title: "The backup holds few of the master's connections",
        severity: Severity::Warning,
        explain: "\
What: the master director holds 100 or more connections (ActiveConn plus InActConn over every
realserver) and a sync daemon sends them, while the backup, with a backup daemon running, holds
fewer than a tenth as many.

Why: synced connections appear in the backup's table bound to the same realservers, so its
counts should follow the master's. Far fewer means the messages do not arrive: a firewall drops
the multicast (224.0.0.81, UDP 8848), the daemons use different interfaces or ports, the MTU cuts
the messages (sync_maxlen), or the backup lacks a service so its connections are dropped. After a
failover those connections are reset.

Fix: watch the sync traffic arrive on the backup:
  tcpdump -ni IFACE udp port 8848
allow it between the directors, check that both tables match (lvstop diff A B), and that
net.ipv4.vs.sync_threshold and sync_period suit long connections. Verify: lvstop check.",
    },
];
