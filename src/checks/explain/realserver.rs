//! The realserver rules' explanations (R-*).

use super::RuleDoc;
use crate::checks::Severity;

/// The realserver rules, in report order.
pub const DOCS: &[RuleDoc] = &[
    RuleDoc {
        id: "R-VIP-ABSENT",
        title: "A VIP is not configured on a realserver",
        severity: Severity::Error,
        explain: "\
What: the realserver (read over ssh: ip -o -4 addr show) has no address equal to the VIP of an
IPv4 DR or TUN service it is a realserver of.

Why: the director sends the client's packet unchanged, still addressed to the VIP, to the
realserver's MAC (DR) or inside an IPIP packet (TUN). The realserver accepts it only if the VIP
is one of its addresses; otherwise it drops it (ip_forward 0) or routes it back out (ip_forward 1,
see R-FWD). Clients retry their SYNs and the director shows SYN_RECV (D-HANDSHAKE).
If the realserver takes VIP traffic without the address (an iptables REDIRECT or TPROXY rule, or
a local route on a fwmark), lvstop cannot see that and this finding is expected.

Fix: on the realserver, set arp_ignore=1 and arp_announce=2 first (R-ARP-IGNORE, R-ARP-ANNOUNCE),
so that the new address is never answered for, then:
  ip addr add VIP/32 dev lo          (TUN: dev tunl0 also works)
and persist it in the network configuration (a dummy interface is an alternative to lo).
Verify: ip route get VIP shows local VIP dev lo; lvstop check.",
    },
    RuleDoc {
        id: "R-VIP-ARPDEV",
        title: "A VIP is on an ARP-capable interface of a realserver",
        severity: Severity::Error,
        explain: "\
What: the realserver has the VIP on an interface that receives ARP: up, neither loopback nor
NOARP, and not a bond or bridge port (eth0, bond0, eth0.100, br0). Not reported when arptables or
nftables drops the ARP requests for the VIP and keeps it out of outgoing ARP (both halves; read
with arptables -L -n and nft list ruleset arp, which need the ssh user to be root; an nftables
rule may name the VIP, a prefix or range holding it, a set of them, or a named set of its
table). A rule counts only when lvstop understands every word of it and none leaves requests
for the VIP through: not in a dormant table (nor arptables-nft's, whose table arp filter nft
lists dormant), not after a rule of its chain that accepts, returns, jumps or mangles, and not
matched on an interface, a sender, replies only, a rate or a quota; an address some rule
rewrites senders to is never taken for hidden.

Why: arp_ignore 1 and 2 suppress replies only for addresses that are not on the receiving
interface. With the VIP on eth0 itself, the realserver answers \"who-has VIP\" with eth0's MAC
whatever arp_ignore 1 or 2 says (8 would silence the RIP too), and it may pick the VIP as source
for its own traffic. The router or clients cache its MAC and bypass the director: the ARP problem
(D-ARP-FOREIGN, D-BYPASS). If arptables rules drop those replies, lvstop cannot see them: the
director's ARP probe (D-ARP-FOREIGN) tells whether they work.

Fix: move the VIP to lo, as a /32 (and out of eth0's persisted configuration):
  ip addr del VIP/LEN dev eth0; ip addr add VIP/32 dev lo
then refresh caches from the director: arping -U -c 3 -I IF VIP.
Verify: lvstop check (R-VIP-ARPDEV and D-ARP-FOREIGN gone).",
    },
    RuleDoc {
        id: "R-VIP-PREFIX",
        title: "A VIP on lo or a dummy has a prefix shorter than /32",
        severity: Severity::Warning,
        explain: "\
What: the realserver has the VIP on a non-ARP interface (lo, a dummy, tunl0, or an interface
that is down or enslaved) with a prefix shorter than /32, e.g. 198.51.100.100/24 dev lo.

Why: for a primary address shorter than /32 the kernel adds a route for the whole prefix. On lo
it is a local route (ip route show table local: local 198.51.100.0/24 dev lo), so every address
in it is this host: if the prefix covers the gateway, the director or other hosts, their packets
are delivered locally and the realserver cannot reach them; with arp_ignore 0 it also answers
ARP for the whole prefix. On a dummy it is a unicast route into the dummy: a black hole that
competes with the real interface's route.

Fix: replace it with a /32 (and fix the persisted network configuration):
  ip addr del VIP/LEN dev lo; ip addr add VIP/32 dev lo
Verify: ip route show table local has no local N/LEN route on lo except 127.0.0.0/8;
ip route get GATEWAY leaves by eth0; lvstop check.",
    },
    RuleDoc {
        id: "R-ARP-IGNORE",
        title: "A realserver answers ARP for the VIP (arp_ignore not 1 or 2)",
        severity: Severity::Error,
        explain: "\
What: the realserver holds the VIP, and an interface that receives ARP (up, not lo or NOARP,
not a bond or bridge port) has an effective arp_ignore, max(conf/all, conf/<dev>), of 0, 3, 4-7
or above 8. (8 is R-ARP-IGNORE-8.) Not reported when arptables or nftables drops the ARP
requests for the VIP (arptables -A INPUT -d VIP -j DROP; nft: arp daddr ip VIP drop in an input
hook), which the realserver checks read when the ssh user is root; R-VIP-ARPDEV says which rules
count.

Why: with arp_ignore 0 Linux answers ARP for any local address on any interface, so a VIP on lo
is answered with eth0's MAC; 4-7 and values above 8 act as 0; 3 answers for every address not
added with scope host (lvstop does not read the scope). The router or clients then cache the
realserver's MAC for the VIP and send it clients directly: no scheduling, persistence or health
checks, and flipping as caches change (D-ARP-FOREIGN, D-BYPASS). Since the kernel takes the max,
a device value wins over all: eth0=4 overrides all=1.

Fix: set 1 on all and on the interface, with arp_announce=2 (R-ARP-ANNOUNCE):
  sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1
persist both in /etc/sysctl.d/90-lvs.conf (sysctl --system reloads), then refresh caches from
the director: arping -U -c 3 -I IF VIP. Verify: lvstop check.",
    },
    RuleDoc {
        id: "R-ARP-IGNORE-8",
        title: "A realserver answers no ARP at all (arp_ignore 8)",
        severity: Severity::Error,
        explain: "\
What: an interface of the realserver that receives ARP has an effective arp_ignore of 8
(max of conf/all and the device). It fires whether or not the VIP is configured.

Why: arp_ignore 8 means \"do not reply for any local address\": the interface stays silent for its
own RIP too. The director cannot resolve the RIP (neighbour FAILED, D-RS-NEIGH), nor can the
router or other hosts once their cached entries expire: DR traffic, health checks and ssh to the
realserver fail. It keeps working only while old entries survive, which is probably why lvstop
could still read it.

Fix: lower both (the kernel uses the larger of all and the device):
  sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.eth0.arp_ignore=1
persist them in /etc/sysctl.d/90-lvs.conf and remove what set 8
(grep -r arp_ignore /etc/sysctl.conf /etc/sysctl.d /usr/lib/sysctl.d).
Verify from the director: arping -c 3 -I IF RIP gets replies; ip neigh show RIP; lvstop check.",
    },
    RuleDoc {
        id: "R-ARP-UNNUMBERED",
        title: "arp_ignore 1 or 2 silences an interface with no IPv4 address",
        severity: Severity::Warning,
        explain: "\
What: a realserver interface that is up with carrier, receives ARP (not lo or NOARP, not a bond
or bridge port) and has no IPv4 address has an effective arp_ignore of 1 or 2 (max of conf/all
and the device): typically all=1 set for LVS, meeting container veths or an unnumbered link.

Why: arp_ignore 1 and 2 answer only for addresses configured on the receiving interface; with
none, the host answers no ARP on that interface. Peers that reach this host's addresses through
that link (containers whose gateway is a host address, routed or unnumbered links) cannot resolve
them: kube-proxy's IPVS mode broke some CNI plugins this way when it set arp_ignore=1 on all (it
is now the opt-in strictARP). Harmless when nothing on that link needs the host's addresses.

Fix: set arp_ignore per interface instead of on all (the finding prints the full command):
  sysctl -w net.ipv4.conf.all.arp_ignore=0 net.ipv4.conf.veth0.arp_ignore=0 \\
            net.ipv4.conf.eth0.arp_ignore=1          (1 on every numbered ARP interface)
and persist it in /etc/sysctl.d/. Interfaces created later take conf/default (normally 0): set 1
on new numbered ones (VLANs, bonds) or R-ARP-IGNORE will fire. Verify: lvstop check.",
    },
    RuleDoc {
        id: "R-ARP-ANNOUNCE",
        title: "A realserver may announce the VIP in its ARP requests",
        severity: Severity::Error,
        explain: "\
What: the realserver holds the VIP, and an interface that receives ARP has an effective
arp_announce, max(conf/all, conf/<dev>), other than 2. Error for 0 and above 2 (which act as 0),
and for 1 when the VIP lies inside a subnet of that interface; a warning for 1 otherwise. Not
reported when arptables or nftables keeps the VIP out of outgoing ARP (arptables -A OUTPUT -s VIP
-j mangle --mangle-ip-s RIP, or a drop; nft: arp saddr ip VIP arp saddr ip set RIP).

Why: arp_announce picks the sender address of the ARP requests the kernel sends. Replying to a
client, the realserver resolves its gateway with the reply packet, whose source is the VIP. With
0 the request says \"who-has GW tell VIP\": the gateway records the VIP at the realserver's MAC and
clients bypass the director (D-ARP-ANNOUNCE, D-BYPASS). With 1 the VIP is used when a subnet of
the outgoing interface holds both it and the gateway: the usual one-network design (VIP in the
RIP's subnet) still leaks it. 2 always uses an address of the outgoing interface (the RIP).

Fix: set 2 on all and on the interface, with arp_ignore=1 (R-ARP-IGNORE):
  sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.eth0.arp_announce=2
persist both in /etc/sysctl.d/90-lvs.conf, then refresh caches from the director:
arping -U -c 3 -I IF VIP. Verify: lvstop check --listen 60 hears nothing (D-ARP-ANNOUNCE).",
    },
    RuleDoc {
        id: "R-RPF-STRICT",
        title: "Strict rp_filter on a realserver drops the director's packets",
        severity: Severity::Error,
        explain: "\
What: DR only. On the realserver, the interface of its route to the director's address on its
segment (ip route get DIP) has effective rp_filter 1 (strict; max of conf/all and the device),
and its route to a client probe address (203.0.113.254, standing for off-link clients) leaves by
another interface.

Why: DR packets arrive from the director on that interface with the client's address as source.
Strict reverse-path filtering (RFC 3704) keeps a packet only if the route back to its source
leaves by the interface it came in on: here it does not, so every request is dropped (counted in
TcpExt IPReversePathFilter, R-RPF-COUNTER) and the director sees only SYN_RECV (D-HANDSHAKE).
Typical: a multi-homed realserver, its default route on eth0 and the director on eth1.

Fix: loose mode (2) on all and that interface (the kernel takes the max):
  sysctl -w net.ipv4.conf.all.rp_filter=2 net.ipv4.conf.eth1.rp_filter=2
persisted in /etc/sysctl.d/90-lvs.conf (it sorts after systemd's 50-default.conf, which sets
rp_filter too); or policy-route replies from the VIP out of eth1. Check before and after:
ip route get VIP from 203.0.113.254 iif eth1 fails with Invalid cross-device link while strict
mode drops it. Verify: lvstop check.",
    },
    RuleDoc {
        id: "R-RPF-TUN",
        title: "tunl0's reverse-path filter drops LVS-TUN packets",
        severity: Severity::Error,
        explain: "\
What: a realserver of a tunnelled (-i) service has an effective rp_filter on tunl0 (max of
conf/all and conf/tunl0) of 1, or of 2 while tunl0 has no IPv4 address. lvstop looks only at
tunl0, the ipip fallback device that receives IPVS's IPIP packets (GUE and GRE are not judged).

Why: the director wraps the client's packet in IPIP; it comes out of tunl0 with the client's
address as source. The route back to the client leaves by eth0, not tunl0, so strict mode drops
every packet; loose mode passes it only if tunl0 has an IPv4 address, since strict and loose
mode both drop packets arriving on an interface without one. As the kernel takes
max(all, tunl0), setting tunl0 to 0 changes nothing while all is 1 or 2. The drops count in
TcpExt IPReversePathFilter.

Fix: either turn the filter off on all and tunl0, keeping per-interface values where you want it:
  sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0
or put the VIP on tunl0 and use loose mode (2): ip addr add VIP/32 dev tunl0.
Persist in /etc/sysctl.d/. Verify: nstat -az TcpExtIPReversePathFilter stays still under
traffic; lvstop check.",
    },
    RuleDoc {
        id: "R-RPF-COUNTER",
        title: "rp_filter is dropping packets on a realserver",
        severity: Severity::Warning,
        explain: "\
What: the realserver's TcpExt IPReversePathFilter counter (/proc/net/netstat) grew between two
readings about a second apart. It counts for the whole host: it says neither which interface nor
which packets.

Why: the counter counts packets the reverse-path filter dropped: strict mode with the route back
by another interface, loose mode with no route back, arrival on an interface without an IPv4
address. If they are LVS requests, clients time out and the director sees SYN_RECV (D-HANDSHAKE).
They may also be unrelated traffic (spoofed sources, asymmetric routing elsewhere): a warning.

Fix: see what is dropped: sysctl -w net.ipv4.conf.all.log_martians=1, then
journalctl -k | grep 'martian source' (dmesg may need root). A line reads \"martian source DST
from SRC, on dev IF\", destination first. If DST is the VIP, fix that interface's rp_filter
(R-RPF-STRICT, R-RPF-TUN): loose mode, sysctl -w net.ipv4.conf.all.rp_filter=2
net.ipv4.conf.IF.rp_filter=2, persisted in /etc/sysctl.d/.
Verify: nstat -az TcpExtIPReversePathFilter stays still; lvstop check.",
    },
    RuleDoc {
        id: "R-L2",
        title: "A DR realserver reaches the director through a gateway",
        severity: Severity::Error,
        explain: "\
What: DR only. The realserver's route to the director's address on its segment (the director
address whose subnet holds the RIP, else the director's first non-VIP IPv4 address) goes via a
gateway: ip route get DIP on the realserver shows via.

Why: DR needs the director and the realserver on one layer-2 segment: the director hands the
unchanged packet (still addressed to the VIP) to the realserver's MAC, which works only when the
RIP is on-link from the director. A realserver that reaches the director through a router is on
another segment, and the director's frames cannot reach it (D-RS-OFFLINK on the director). A
wrong prefix length on the RIP gives the same reading: then DR may work, but fix the prefix.

Fix: put the realserver on the director's VLAN with the right prefix (ip addr show shows
RIP/LEN, ip route show an on-link route for the director's subnet), or switch it to tunnelling:
  ipvsadm -e -t VIP:PORT -r RIP:PORT -i          (see R-RPF-TUN)
Verify on the realserver: ip route get DIP shows dev eth0 with no via; lvstop check.",
    },
    RuleDoc {
        id: "R-GW-DIRECTOR",
        title: "A realserver's default route points at the director",
        severity: Severity::Warning,
        explain: "\
What: the realserver's default route (ip -4 route show: default via GW) goes via one of the
director's addresses (a DIP or a VIP).

Why: replies leave the realserver with the VIP as source and go to the director. The VIP is
local there, so the director's input route check rejects them as martians (\"martian source CIP
from VIP\" with log_martians) unless accept_local is on, and it forwards them only with
ip_forward=1. So either the replies are dropped (clients never get a SYN-ACK, D-HANDSHAKE), or
the director carries all return traffic and LVS-DR loses its point (D-ACCEPT-LOCAL).

Fix: on the realserver, route through the segment's real router, and persist it in its network
configuration:
  ip route replace default via ROUTER
If the director is meant to be the gateway, use LVS-NAT (-m) instead of DR.
Verify: ip route show default on the realserver; lvstop check.",
    },
    RuleDoc {
        id: "R-LISTEN",
        title: "Nothing listens on VIP:port on a realserver",
        severity: Severity::Error,
        explain: "\
What: for a TCP or UDP service with a port (port 0 services are skipped, SCTP is not read), no
socket on the realserver is bound to VIP:PORT, 0.0.0.0:PORT or [::]:PORT: listening TCP sockets
from /proc/net/tcp and tcp6, unconnected UDP ones from /proc/net/udp and udp6.

Why: DR and TUN deliver the packet unchanged, to VIP:PORT. The kernel looks for a socket bound to
that address or the wildcard; a daemon bound only to the RIP (or 127.0.0.1) does not match, so
TCP answers the SYN with a RST from the VIP (connection refused) and UDP with ICMP port
unreachable, while health checks aimed at RIP:PORT pass. lvstop sees only the sockets of the ssh
login's network namespace: a service in another namespace, or a container published through NAT,
looks absent.

Fix: bind the service to 0.0.0.0 (or [::]) or to the VIP, e.g. Listen VIP:80, and restart it;
binding to the VIP needs the VIP configured first, or net.ipv4.ip_nonlocal_bind=1.
Verify: ss -ltn 'sport = :PORT' (ss -lun for UDP) on the realserver shows 0.0.0.0:PORT or
VIP:PORT; lvstop check.",
    },
    RuleDoc {
        id: "R-FWD",
        title: "IP forwarding is on on a realserver",
        severity: Severity::Info,
        explain: "\
What: net.ipv4.ip_forward is 1 on the realserver.

Why: harmless while the VIP is configured. If the VIP disappears (not persisted and lost on
reboot, removed by a script), packets to the VIP are no longer local: instead of dropping them
the realserver forwards them along its default route, typically to the router, which sends them
back to the director, which sends them to the realserver again, until their TTL runs out. Clients
time out either way, but the loop adds load and hides the cause.

Fix: if the host does not route on purpose:
  sysctl -w net.ipv4.ip_forward=0
persisted in /etc/sysctl.d/90-lvs.conf. Docker, Kubernetes and libvirt hosts need forwarding:
leave it on there and make sure the VIP is persistent (R-VIP-ABSENT catches its loss).
Verify: sysctl net.ipv4.ip_forward; lvstop check.",
    },
    RuleDoc {
        id: "R-UNREACHABLE",
        title: "A realserver could not be read over ssh",
        severity: Severity::Warning,
        explain: "\
What: lvstop could not run its read-only script on a realserver: ssh failed (exit 255:
authentication, an unknown or changed host key, connection refused or timed out), the host did
not answer within the [ssh] timeout and was killed, or the output was not what the script prints
(a shell startup file printing text, a non-Linux host). None of its R-* rules nor D-BYPASS ran.

Why: not a traffic fault in itself, but the checks that catch a missing VIP, the ARP problem or
rp_filter drops on that host were skipped, so a clean report says nothing about it. A realserver
that cannot be reached from the director may also be down.

Fix: try what lvstop does, as the user lvstop runs as (root under sudo):
  ssh -o BatchMode=yes -o StrictHostKeyChecking=yes HOST true
Install a key (ssh-copy-id), record the host key after checking its fingerprint
(ssh-keyscan HOST >> known_hosts), or set user, port, identity-file, known-hosts and timeouts in
[ssh] of lvstop.toml; [ssh.hosts] maps a RIP to an ssh alias, or to \"-\" to skip it; --no-ssh
skips every realserver. Verify: lvstop check.",
    },
    RuleDoc {
        id: "R-BAD-ANSWER",
        title: "A realserver answered, but not with what the check script prints",
        severity: Severity::Warning,
        explain: "\
What: ssh reached the realserver and ran lvstop's read-only script, but the answer was not the
script's output: a line lvstop cannot read (the message names it, control characters shown
escaped), output cut off before its end marker, or more than 4 MiB. None of that host's R-*
rules nor D-BYPASS ran. R-UNREACHABLE is the other case, where ssh itself failed.

Why: not a traffic fault in itself, but the host's configuration was not checked, so a clean
report says nothing about it. Common causes: a login shell that prints text (a banner or motd
from .bashrc, a non-POSIX shell), a host that is not Linux or has no iproute2, an unusual
interface name, or a host that is compromised or broken and answers with garbage.

Fix: run the same kind of command by hand and look at what comes back:
  ssh -o BatchMode=yes HOST 'ip -o -4 addr show; echo @@end' | cat -v
Keep startup files quiet for non-interactive shells, install iproute2, and rename interfaces
whose names need quoting. A host that floods or garbles its answer deserves a closer look.
Verify: lvstop check.",
    },
];
