//! The director rules' explanations (D-*).

use super::RuleDoc;
use crate::checks::Severity;

/// The director rules, in report order.
pub const DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "D-VIP-ABSENT",
        title: "A service VIP is not configured on the director",
        severity: Severity::Error,
        explain: "\
What: the VIP of a service in the IPVS table (IPv4 or IPv6; fwmark services have none) is on none
of the director's interfaces, as rtnetlink lists its addresses. On a keepalived/VRRP BACKUP this
is expected: the MASTER holds the VIP.

Why: IPVS takes new connections in the LOCAL_IN hook, so only packets routed to a local address
reach it. Without the VIP the director neither answers ARP (or IPv6 neighbour solicitations) for
it nor accepts packets sent to it: clients time out, or a stale router entry delivers them to a
host that drops them. If traffic still flows, some other host holds the VIP: the other director,
or a realserver that answers ARP for it (the ARP problem, D-ARP-FOREIGN).

Fix: with VRRP, first check which director is MASTER (journalctl -u keepalived) and fix that
instead of adding the address by hand. Otherwise add it to the client-facing interface:
  ip addr add VIP/32 dev eth0        (ip -6 addr add VIP/128 dev eth0 for IPv6)
  arping -U -c 3 -I eth0 VIP         (tell the router and clients its new MAC)
and persist it in the network configuration or keepalived's virtual_ipaddress.
Verify: ip -br addr | grep VIP; lvstop check.",
    },
    RuleDoc {
        id: "D-VIP-NOANSWER",
        title: "The director will not answer ARP for a VIP",
        severity: Severity::Error,
        explain: "\
What: an IPv4 VIP is configured on the director, but on no interface where lvstop expects an ARP
reply: every copy is on a loopback or NOARP device (lo, a dummy), or on an interface whose
effective arp_ignore, max(conf/all, conf/<dev>), is 8, or 3 while the VIP has scope host.
lvstop counts every other value as answering (though 2 answers only senders inside a subnet of
that interface that also holds the VIP).

Why: the router must resolve the VIP to the director's MAC. arp_ignore 1 and 2 answer only for
addresses on the receiving interface, 8 answers nothing, 3 skips scope-host addresses; with no
reply the router's ARP fails and clients get nothing. A VIP only on lo is answered on eth0 while
eth0's arp_ignore is 0 (Linux answers for any local address), so traffic may flow today, but it
rests on the same host-wide behaviour that causes the ARP problem, and stops once arp_ignore is
raised to 1.

Fix: put the VIP on the client-facing interface and give that interface arp_ignore 0, 1 or 2:
  ip addr add VIP/32 dev eth0
  sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1
The kernel uses the larger of all and eth0, so lowering all alone leaves eth0=8 in force.
Persist both in /etc/sysctl.d/90-lvs.conf. Verify from another host on the segment:
arping -c 3 -I IF VIP answers with the director's MAC; then lvstop check.",
    },
    RuleDoc {
        id: "D-FWD-ON",
        title: "IP forwarding is on, but no NAT realserver needs it",
        severity: Severity::Warning,
        explain: "\
What: net.ipv4.ip_forward is 1 on the director, the IPVS table has services, and none of their
realservers uses masquerading (-m). The value read lists the devices with forwarding on.

Why: LVS-DR and LVS-TUN do not need forwarding: IPVS takes requests for the local VIP in LOCAL_IN
and sends them out through LOCAL_OUT. With forwarding on, the director routes anything sent to
its MAC: when the VIP moves away (VRRP failover) or realservers use it as their gateway, traffic
is quietly routed instead of failing visibly, and the box is a router for all its segments.
(Writing ip_forward also resets accept_redirects, and turning it on disables LRO on all devices.)

Fix: if the director does not route on purpose (a firewall, a NAT gateway), turn it off:
  sysctl -w net.ipv4.ip_forward=0
persist net.ipv4.ip_forward = 0 in /etc/sysctl.d/90-lvs.conf, and find what else turns it on
(grep -r ip_forward /etc/sysctl.conf /etc/sysctl.d /usr/lib/sysctl.d; Docker and libvirt do).
If realservers route their replies through the director, fix them first (R-GW-DIRECTOR).
Verify: sysctl net.ipv4.ip_forward; lvstop check.",
    },
    RuleDoc {
        id: "D-FWD-NAT",
        title: "A NAT realserver exists but IP forwarding is off",
        severity: Severity::Error,
        explain: "\
What: at least one realserver uses masquerading (LVS-NAT, -m) and net.ipv4.ip_forward is 0.

Why: in LVS-NAT the realservers' replies (source RIP, destination client) come back through the
director, their gateway, and IPVS rewrites them back to the VIP in the FORWARD hook. With
forwarding off the kernel drops those replies in input routing, before IPVS sees them: clients
never get a SYN-ACK and the director's entries for that realserver stay in SYN_RECV.

Fix: sysctl -w net.ipv4.ip_forward=1, persisted as net.ipv4.ip_forward = 1 in
/etc/sysctl.d/90-lvs.conf (writing it also resets accept_redirects and disables LRO, as routing
needs). The NAT realservers' default route must point at the director's address on their segment.
Verify: ipvsadm -L -n -c shows ESTABLISHED entries for the NAT realserver; lvstop check.",
    },
    RuleDoc {
        id: "D-RS-OFFLINK",
        title: "A DR realserver is not on the director's segment",
        severity: Severity::Error,
        explain: "\
What: for a direct-routing (-g) realserver, the director's route to the RIP (an rtnetlink lookup,
as ip route get RIP does; nothing is sent) goes via a gateway, or there is no route at all.
Checked once per RIP.

Why: DR changes only the Ethernet header: the packet, still addressed to the VIP, is handed to
the RIP's MAC, which works only when the RIP is on-link. With a gateway route the frame goes to
the gateway's MAC; the router routes it by its destination, the VIP, back towards the director or
elsewhere, never to the realserver. Without a route the packets are dropped. Either way clients
scheduled to this realserver time out.

Fix: give the director an interface (and an address) in the realserver's subnet, or move the
realserver to a VLAN the director is on; or switch the realserver to tunnelling, which crosses
routers (the realserver then needs the VIP and an ipip tunl0, see R-RPF-TUN):
  ipvsadm -e -t VIP:PORT -r RIP:PORT -i
Verify: ip route get RIP shows dev IF with no via; lvstop check.",
    },
    RuleDoc {
        id: "D-RS-NEIGH",
        title: "No layer-2 reachability to a DR realserver",
        severity: Severity::Error,
        explain: "\
What: the director's neighbour entry for a direct-routing realserver's RIP is FAILED or
INCOMPLETE (error). With no entry at all it is only info (nothing was sent there recently), and
nothing is said when the RIP is routed via a gateway (that is D-RS-OFFLINK).

Why: DR frames are addressed to the RIP's MAC. FAILED or INCOMPLETE means the director's ARP
requests for the RIP got no answer: the realserver is down, on another VLAN, or answers no ARP
on that link (arp_ignore 8, R-ARP-IGNORE-8; or arp_ignore 2 when the director's source address
is outside the RIP's subnet). Packets scheduled to it are queued, then dropped: those clients
time out, unless a health checker has already set its weight to 0 or removed it.

Fix: from the director: ping -c1 RIP (or arping -c 3 -I IF RIP), then ip neigh show RIP:
REACHABLE, STALE or DELAY is fine. If it stays FAILED, check the realserver, its VLAN, cabling
and switch port, and its arp_ignore (lvstop check reads it over ssh). Meanwhile drain it:
  ipvsadm -e -t VIP:PORT -r RIP:PORT -g -w 0
Verify: ip neigh show RIP; lvstop check.",
    },
    RuleDoc {
        id: "D-PORT-REMAP",
        title: "A DR/TUN realserver's port differs from the service port",
        severity: Severity::Error,
        explain: "\
What: in a service with an address and a port (not fwmark), a direct-routing or tunnelled
realserver is listed with another port than the service's, e.g. VIP:80 -> RIP:8080.

Why: DR and TUN leave the IP and TCP/UDP headers untouched: the packet reaches the realserver
addressed to VIP:service-port, whatever port the table says. ipvsadm forces the realserver port
to the service port for -g and -i, but netlink clients (lvstop, other tools, scripts) can store
another. A realserver that listens only on the other port answers the SYN with a RST (UDP: ICMP
port unreachable). Only NAT (-m) rewrites ports.

Fix: re-add the realserver with the service port (the finding prints the exact commands):
  ipvsadm -d -t VIP:80 -r RIP:8080; ipvsadm -a -t VIP:80 -r RIP:80 -g -w WEIGHT
(-d drops its open connections: drain it first if it carries any) and make the service listen on
port 80 on the VIP or 0.0.0.0. If it must run on another port, redirect locally on the realserver:
  iptables -t nat -A PREROUTING -d VIP -p tcp --dport 80 -j REDIRECT --to-ports 8080
Verify: ipvsadm -L -n; lvstop check.",
    },
    RuleDoc {
        id: "D-DRAIN",
        title: "A realserver is drained (weight 0) but may still get traffic",
        severity: Severity::Warning,
        explain: "\
What: a realserver has weight 0 (quiesced). lvstop shows its ActiveConn and InActConn and the
values of net.ipv4.vs.expire_quiescent_template and expire_nodest_conn. It is a warning when
the service is persistent (-p) and expire_quiescent_template is 0; otherwise only info.

Why: schedulers give a weight-0 realserver no new connections; existing ones run until they end
or expire. But persistence keeps a template per client (client port 0 in ipvsadm -L -n -c) that
sends all the client's new connections to the same realserver, weight 0 or not, as long as it
lives (its timeout restarts while the client has connections): a busy client never leaves.
expire_quiescent_template=1 expires such a template at the client's next new connection.
Separately, a SYN that reuses the ports of an old entry (FIN_WAIT, TIME_WAIT) goes to the old
realserver unless expire_nodest_conn=1 reschedules it (weight 0 only; on older kernels only with
conn_reuse_mode not 0).

Fix: for persistent services: sysctl -w net.ipv4.vs.expire_quiescent_template=1; otherwise
optionally sysctl -w net.ipv4.vs.expire_nodest_conn=1; persist in /etc/sysctl.d/. Wait until
ActiveConn + InActConn reach 0 (ipvsadm -L -n) before maintenance. Removing the realserver
(ipvsadm -d) is not draining: its connections' packets are dropped. Restore the weight with
ipvsadm -e -t VIP:PORT -r RIP:PORT -g -w 1. Verify: lvstop check.",
    },
    RuleDoc {
        id: "D-SCHED-FALLBACK",
        title: "sh/mh without fallback: clients of an unusable realserver are refused",
        severity: Severity::Error,
        explain: "\
What: a service scheduled by sh (source hashing) or mh (maglev hashing) without the sh-fallback /
mh-fallback flag has a realserver with weight 0 (drained) or over its upper connection threshold.

Why: these schedulers hash each client to a realserver and, without the fallback flag, send it
nowhere else: when that realserver is unavailable (weight 0 or overloaded) the client's new
connections are refused with ICMP port unreachable and the kernel logs \"no destination
available\". Draining does not take a realserver out of the hash table: sh keeps one bucket for
it (its clients fail), mh keeps every slot it had (all its clients fail). With the flag, the
clients are moved to the next available realserver in the table, and return when it is back.

Fix: set the flag, keeping the service's other settings:
  ipvsadm -E -t VIP:PORT -s sh -b sh-fallback
(mh: -s mh -b mh-fallback; keep sh-port / mh-port in -b if the service has it)
or restore the realserver's weight. Verify: ipvsadm -L -n shows the flag; lvstop check.",
    },
    RuleDoc {
        id: "D-NODEST",
        title: "Connections still point at a realserver that was removed",
        severity: Severity::Warning,
        explain: "\
What: /proc/net/ip_vs_conn holds connection entries or persistence templates whose realserver
(RIP:PORT) is in no service: it was removed (ipvsadm -d, or a health checker) while it still had
connections. It is a warning when net.ipv4.vs.expire_nodest_conn is 0, otherwise info. It runs
when the table holds at most 500 000 connections.

Why: the kernel keeps a removed realserver's entries. With expire_nodest_conn=0 (the default) it
drops every packet of those connections until the entries expire: an ESTABLISHED one after 15
minutes of silence, so clients hang instead of reconnecting. With expire_nodest_conn=1 an entry
is expired at its next packet (since Linux 5.9 all of them at once when the realserver goes) and
the client's next connection is scheduled anew. Re-adding the realserver before they expire lets
them finish.

Fix: sysctl -w net.ipv4.vs.expire_nodest_conn=1 (persist it in /etc/sysctl.d/), or add the
realserver back with weight 0 until its connections end. Next time drain first (weight 0; d in
the console) and remove it when the connections view (o) says safe to remove.
Verify: ipvsadm -L -n -c | grep RIP; lvstop check.",
    },
    RuleDoc {
        id: "D-CONN-REUSE",
        title: "conn_reuse_mode is 0 on a kernel that does not need it",
        severity: Severity::Warning,
        explain: "\
What: net.ipv4.vs.conn_reuse_mode is 0 on Linux 5.9 or later.

Why: when a client's SYN reuses the ports of an old entry (TIME_WAIT, CLOSE, FIN_WAIT in DR), mode
1 (the default) expires the old entry and schedules the SYN afresh; mode 0 sends it to the old
entry's realserver, drained or removed, and busy clients that reuse ports never leave a drained
realserver. kube-proxy set 0 on older kernels to avoid a one-second delay of such SYNs with
conntrack; Linux 5.9 removed that delay, and kube-proxy no longer sets it there.

Fix: sysctl -w net.ipv4.vs.conn_reuse_mode=1 (persist it in /etc/sysctl.d/).
Verify: sysctl net.ipv4.vs.conn_reuse_mode; lvstop check.",
    },
    RuleDoc {
        id: "D-SLOPPY",
        title: "mh without connection sync resets connections on failover",
        severity: Severity::Warning,
        explain: "\
What: the director has a service scheduled by mh (maglev hashing), no connection sync daemon
runs (ipvsadm -L --daemon), and net.ipv4.vs.sloppy_tcp (sloppy_sctp for SCTP services) is 0.

Why: without sync, a director that takes over the VIP has no entry for the connections the other
one carried. It schedules only packets that start a connection (SYN, SCTP INIT): every other
packet goes to its own stack, which answers with a reset, so every established connection is
cut. With sloppy_tcp=1 it schedules them too, and mh sends each to the same realserver the other
director chose, provided both have the same realservers, weights and order: failover keeps the
connections. (With connection sync running, the entries are already there.)

Fix: on both directors: sysctl -w net.ipv4.vs.sloppy_tcp=1 (and sloppy_sctp=1 for SCTP), with
identical mh tables; or run connection sync (ipvsadm --start-daemon master / backup).
Verify: lvstop check on both directors.",
    },
    RuleDoc {
        id: "D-RPF-ASYM",
        title: "Strict rp_filter on a VIP interface whose clients route elsewhere",
        severity: Severity::Warning,
        explain: "\
What: an interface that holds an IPv4 VIP has effective rp_filter 1 (strict; max of conf/all and
the device), while the director's route to a client probe address (203.0.113.254, standing for
off-link clients; looked up, nothing sent) leaves by another interface.

Why: clients' packets arrive with the client's address as source. Strict reverse-path filtering
(RFC 3704) keeps a packet only if the route back to its source leaves by the interface it came
in on; otherwise it is dropped before IPVS sees it, counted in TcpExt IPReversePathFilter and,
with log_martians, logged as a martian source. Typical: VIPs on a dedicated interface while the
default route is on a management network. Clients that have a specific route back through the
VIP interface still pass, hence a warning.

Fix: use loose mode (any route back will do) on all and that interface (the kernel takes the max):
  sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth1.rp_filter=2
and persist it in /etc/sysctl.d/90-lvs.conf; or route the clients back through that interface.
Verify: ip route get VIP from CLIENT iif eth1 gives a route, not an error (Invalid cross-device
link); nstat -az TcpExtIPReversePathFilter stays still; lvstop check.",
    },
    RuleDoc {
        id: "D-ACCEPT-LOCAL",
        title: "accept_local and ip_forward: the director relays realserver replies",
        severity: Severity::Warning,
        explain: "\
What: accept_local is 1 on conf/all or on some interface, and net.ipv4.ip_forward is 1.

Why: realserver replies carry the VIP as source. A director that owns the VIP rejects them as
martians (source is a local address) unless accept_local is on, and forwards them only with
ip_forward on: this pair is what makes realservers that use the director as their default
gateway appear to work. All return traffic then crosses the director, so LVS-DR loses its point
(replies bypassing the director) and carries several times the packets. accept_local also
admits packets spoofing the director's own addresses.

Fix: point the realservers' default route at the real router (R-GW-DIRECTOR names them):
  ip route replace default via ROUTER       (on each realserver, and in its network config)
then on the director: sysctl -w net.ipv4.conf.all.accept_local=0, and 0 on every interface that
has it (the kernel ORs all and the device); unless NAT is used, ip_forward=0 too (D-FWD-ON).
Persist in /etc/sysctl.d/. Verify: lvstop check; with log_martians=1, no martian source lines.",
    },
    RuleDoc {
        id: "D-MARTIAN-LOG",
        title: "Martian packets are dropped without a trace",
        severity: Severity::Info,
        explain: "\
What: the IPVS table has services and net.ipv4.conf.all.log_martians is 0. lvstop reads only
conf/all; the kernel logs when all or the receiving interface has it on.

Why: packets dropped as martians leave no trace: a source that is one of the host's own addresses
(realservers using the director as their gateway), a reverse-path failure (strict rp_filter),
impossible addresses. Several LVS-DR faults then look like plain timeouts. With the setting on,
the kernel logs (rate-limited) lines like \"martian source DST from SRC, on dev IF\": note that
the destination comes first.

Fix: sysctl -w net.ipv4.conf.all.log_martians=1, persisted in /etc/sysctl.d/90-lvs.conf to keep
it across reboots. Read the log with journalctl -k | grep martian (or dmesg, which may need root
when kernel.dmesg_restrict=1). The log is rate-limited, so it is safe to leave on.
Verify: sysctl net.ipv4.conf.all.log_martians; lvstop check.",
    },
    RuleDoc {
        id: "D-ESTIMATION-OFF",
        title: "The IPVS rate estimator is off",
        severity: Severity::Warning,
        explain: "\
What: net.ipv4.vs.run_estimation is 0 (kernels without this sysctl always estimate).

Why: the estimator computes each service's and realserver's rates (2-second averages of conns/s,
packets/s and bytes/s) and also folds the per-CPU counters into the totals the kernel reports.
With it stopped, the rates in ipvsadm -L --rate, /proc/net/ip_vs_stats and lvstop read 0 (or
stay at their last value) and the connection, packet and byte counters stop growing. Traffic is
not affected, but lvstop's console, dashboards and alerts built on these numbers go blind. Some
turn it off on hosts with tens of thousands of services (kube-proxy in IPVS mode) to save CPU.

Fix: sysctl -w net.ipv4.vs.run_estimation=1 and persist it in /etc/sysctl.d/; the net.ipv4.vs
keys exist only once ip_vs is loaded, so list ip_vs in /etc/modules-load.d/ for it to apply at
boot. The first estimate after re-enabling is not accurate.
Verify: ipvsadm -L -n --rate shows non-zero rates under traffic; lvstop check.",
    },
    RuleDoc {
        id: "D-ARP-FOREIGN",
        title: "Another host answers ARP for a VIP (the ARP problem)",
        severity: Severity::Error,
        explain: "\
What: on each ARP-capable interface holding an IPv4 VIP (service VIPs and --vip), lvstop asks
\"who-has VIP\" twice, with the director's other address on that interface as sender (0.0.0.0 if
it has none; never the VIP), and listens. Every ARP reply for the VIP from a MAC other than that
interface's is a finding, named after the realserver owning the MAC (the RIPs are asked in the
same window) or the neighbour table. Needs CAP_NET_RAW; without it the probe is skipped.

Why: that host answers ARP for the VIP, so the router and clients may cache its MAC instead of the
director's. Which reply wins is a race: traffic flips between the director and that host, and
while it goes to the realserver it skips scheduling, persistence, weights and health checks. On a
realserver the cause is arp_ignore 0 (or 3-7, above 8) with the VIP on lo, or the VIP on an ARP
interface. A second director holding the VIP (VRRP split brain) shows up the same way.

Fix: on that host (per interface too if a device value is higher; persist in /etc/sysctl.d/):
  sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.all.arp_announce=2
keep the VIP as /32 on lo, then refresh caches from the director: arping -U -c 3 -I IF VIP
(routers may keep the wrong entry for hours: clear it there). Verify: lvstop check; on the
director arping -b -c 3 -I IF -s DIP VIP gets no reply (a director never answers itself).",
    },
    RuleDoc {
        id: "D-ARP-ANNOUNCE",
        title: "Another host sends ARP requests with a VIP as sender",
        severity: Severity::Error,
        explain: "\
What: while lvstop probes the VIPs (and for --listen SECS in all), it heard an ARP request whose
sender address is a VIP from a MAC other than the director interface's. A host is only heard if
it sends such a request during that window, so a clean run proves little: use --listen 60 or more.

Why: a realserver answering a client resolves its gateway with the reply packet, whose source is
the VIP. With arp_announce 0 (or above 2, which acts as 0, or 1 when the VIP and the gateway
share a subnet of that interface) the request says \"who-has GW tell VIP\": the gateway, its
target, records the VIP at the realserver's MAC, and hosts that already have an entry update it.
Clients then bypass the director (see D-ARP-FOREIGN). A gratuitous ARP from another director
(VRRP split brain) is also such a request.

Fix: on that host (and for its interface if its value is higher), persisted in /etc/sysctl.d/:
  sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2
For a second director, find why both are MASTER (keepalived logs, VRRP multicast filtered).
Then refresh caches from the director: arping -U -c 3 -I IF VIP.
Verify: lvstop check --listen 60.",
    },
    RuleDoc {
        id: "D-LOAD",
        title: "A director interface is near its packet-rate limit",
        severity: Severity::Error,
        explain: "\
What: over about a second (two readings of /sys/class/net/*/statistics), the busier direction of
an up interface reached warn-percent (default 70) of its line rate or of its [nic.limits]
practical limit in lvstop.toml: a warning. It is an error at crit-percent (default 90) of either,
or at 90% of line rate whatever crit-percent says. Line rate is the link speed over 672 bits (a
minimum 84-byte frame on the wire): 1 488 095 packets/s at 1 Gb/s. An interface of unknown speed
(most virtual NICs) is judged only against a configured limit.

Why: a DR director sees only client-to-server packets (SYNs, ACKs, small requests), so it runs out
of packets per second long before bandwidth. Near the limit RX rings overflow and the CPUs that
take the NIC's interrupts spend their time in softirq: packets are dropped (D-NIC-DROPS), clients
retransmit, latency grows. A one-armed director receives and resends each request on one NIC.

Fix: spread the load: more RX queues (ethtool -l IF; ethtool -L IF combined N), interrupts over all
CPUs (irqbalance, or /proc/irq/N/smp_affinity), RPS on single-queue NICs; more directors (split
the VIPs, or ECMP). If the interface really handles more, raise its measured limit in lvstop.toml
([nic.limits] eth0 = 800000). Verify: lvstop check, the console's director panel, mpstat -P ALL 1.",
    },
    RuleDoc {
        id: "D-NIC-DROPS",
        title: "A director interface or CPU backlog is dropping packets",
        severity: Severity::Warning,
        explain: "\
What: between two readings about a second apart, an up interface's rx_dropped + rx_missed_errors
+ rx_fifo_errors grew by at least one a second (a counter that went backwards is ignored), or the
CPUs' backlog drops did (column 2 of /proc/net/softnet_stat, summed over CPUs).

Why: rx_missed and rx_fifo: the NIC found no free receive descriptor because the host did not
drain its ring in time (CPU busy in softirq, ring too small). rx_dropped: the driver or the stack
discarded the frame; on some drivers and kernels it also counts harmless frames of an unknown
protocol or VLAN. Backlog drops: a CPU's input queue (net.core.netdev_max_backlog, default 1000)
was full, with RPS or non-NAPI drivers. Each lost client packet costs a retransmission: a lost SYN
delays the connection by a second or more.

Fix: see which counter moves: ethtool -S IF | grep -iE 'drop|miss|fifo'; ip -s -s link show IF.
A bigger ring: ethtool -g IF (its maximum), then ethtool -G IF rx 4096; spread queues and
interrupts over CPUs (see D-LOAD). For the backlog: sysctl -w net.core.netdev_max_backlog=16384,
persisted in /etc/sysctl.d/. Verify: lvstop check; ip -s link show IF twice, a minute apart.",
    },
    RuleDoc {
        id: "D-HANDSHAKE",
        title: "A realserver does not complete TCP handshakes",
        severity: Severity::Error,
        explain: "\
What: /proc/net/ip_vs_conn shows a realserver (RIP:PORT) holding at least 2 entries still in
SYN_RECV 3 s or more after the client's last SYN (an entry's timer restarts at 60 s with each
packet, so its expiry tells how long ago it came), and they are most of its SYN_RECV entries; and
either they are at least half of its entries, or there are 5 or more and their share is over four
times that of the other realservers of the service. Clients that vanish after their SYN (port
scanners, a SYN flood) leave such entries on every realserver alike: a realserver whose share is
no larger than its peers' is not named. It runs when some realserver has 2 or more active
connections and the table holds at most 500 000 (otherwise it is listed as skipped). Behind wlc,
lc, sed or nq a dead realserver is given only a handful of connections (its stuck entries count as
active and make it look busiest): 2 stuck entries are enough.

Why: in DR the director sees only the client's packets: an entry is SYN_RECV after the client's
SYN and ESTABLISHED after the client's ACK of the realserver's SYN-ACK, a round trip later.
Entries stuck in SYN_RECV mean the realserver dropped or refused (RST) the SYN, or its SYN-ACK
never reached the client: clients retry and give up. ActiveConn = 0 cannot show this: since
Linux 4.8 SYN_RECV entries count in ActiveConn. Usual causes on the realserver: VIP missing,
nothing listening on VIP:PORT, strict rp_filter, default route via the director, a port remap,
or it is off the director's segment.

Fix: find the cause with lvstop check without --no-ssh (it reads the realserver: R-VIP-ABSENT,
R-LISTEN, R-RPF-STRICT, R-GW-DIRECTOR, R-L2). Meanwhile drain it (d in the console):
  ipvsadm -e -t VIP:PORT -r RIP:PORT -g -w 0
Verify: ipvsadm -L -n -c | grep RIP shows ESTABLISHED entries; lvstop check.",
    },
    RuleDoc {
        id: "D-DR-PATH",
        title: "A realserver does not accept a SYN framed to it as IPVS forwards one",
        severity: Severity::Error,
        explain: "\
What: for each DR realserver of a TCP service, the director sends one TCP SYN to VIP:PORT from
its own address on the realserver's segment, in an Ethernet frame addressed to the realserver's
MAC, exactly as IPVS forwards a client's packet in direct routing, and captures the answer on a
packet socket (the director's kernel drops it: its source, the VIP, is the director's own
address). A SYN-ACK from VIP:PORT proves the path and the half-open connection is reset; no
answer within a second to the SYN nor to a second one (as TCP retransmits), a RST, or an ICMP
destination-unreachable is reported. At most two SYNs per realserver and service per run, at
most 500 a second, only to realservers of the IPVS table (and
--realserver ones), IPv4 and IPv6; it needs CAP_NET_RAW and the realserver's MAC (the ARP probe
asks for it; for IPv6 the neighbour table, else a neighbour solicitation).

Why: the counters show that packets were forwarded, not that they were accepted. A realserver
without the VIP on lo drops the frames silently (the destination address is not its own); one
with the VIP but no program listening on VIP:PORT answers RST; a firewall drops or rejects. Each
makes its clients time out or fail, and this finds it before the clients do, from the director.

Fix: silence: put the VIP on the realserver's loopback, with the ARP settings
(ip addr add VIP/32 dev lo; sysctl -w net.ipv4.conf.all.arp_ignore=1
net.ipv4.conf.all.arp_announce=2), or let its firewall accept the port; RST: start the service
listening on the VIP or 0.0.0.0 and the port; ICMP: let the firewall accept the port.
Verify: lvstop check; lvstop check without --no-ssh names the cause (R-VIP-ABSENT, R-LISTEN).",
    },
    RuleDoc {
        id: "D-IFNAME",
        title: "A director interface has a name lvstop will not put in a command",
        severity: Severity::Warning,
        explain: "\
What: an interface of the director (as /sys/class/net lists them) has a name made of more than
letters, digits and _ . - + = , % (Linux itself allows any byte but '/', ':' and white space,
up to 15 bytes), for instance one with ';', '$', quotes or an escape sequence in it.

Why: interface names appear in the fixes lvstop suggests (sysctl, ip addr, arping, ethtool). A
name such as x;reboot would turn a pasted fix into another command, and one with an escape
sequence could rewrite the operator's terminal. Any process with CAP_NET_ADMIN in the host's
network namespace can create such a name, so lvstop treats names as outside data: it shows this
one with its control characters escaped and puts <interface with an invalid name> in commands
where the name would go.

Fix: find out what created the interface (ip -d link show; a container runtime, a VPN, a
script); if it is legitimate, rename it to a plain name while it is down:
  ip link set dev OLD down; ip link set dev OLD name NEW; ip link set dev NEW up
Verify: lvstop check.",
    },
    RuleDoc {
        id: "D-BYPASS",
        title: "Clients reach a realserver without going through the director",
        severity: Severity::Warning,
        explain: "\
What: judged on a realserver: for a TCP service with a port, it has at least 10 ESTABLISHED
sockets on VIP:PORT (its /proc/net/tcp and tcp6) and more than 2 x ActiveConn + 10, ActiveConn
being the director's count for that realserver in that service.

Why: every connection through the director has an IPVS entry, so the realserver's sockets should
be close to the director's ActiveConn. Many more means clients send to the realserver directly:
the router or clients cached its MAC for the VIP (the ARP problem, D-ARP-FOREIGN and
D-ARP-ANNOUNCE), or a static ARP entry or route pins the VIP to it. That traffic skips
scheduling, persistence, weights and health checks. Other causes: a second director sharing the
realserver (each sees its part), or idle long-lived connections whose director entries expired
(TCP timeout 900 s by default, see ipvsadm -L --timeout) while the sockets live on.

Fix: run lvstop check on the director (D-ARP-FOREIGN names the host), set arp_ignore=1 and
arp_announce=2 on the realserver (R-ARP-IGNORE, R-ARP-ANNOUNCE), then from the director
arping -U -c 3 -I IF VIP, and clear the VIP's entry on the router if it keeps it for hours.
Verify: ss -tn state established '( sport = :PORT )' on the realserver against ipvsadm -L -n;
lvstop check.",
    },
];
