//! Realserver rules (R-*), from ../shared/docs/lvs-dr-checks.md §3.3, judged
//! on the output of a fixed read-only script (sysctls, `ip -o addr`, `ip -o
//! link`, routes, /proc/net/tcp). The script's output is parsed defensively:
//! a remote host's answer is untrusted input.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};

use super::{Finding, Severity};

/// The fixed script run on a realserver (POSIX sh, read-only, no arguments).
pub const SCRIPT: &str = "LC_ALL=C; export LC_ALL
echo @@sysctl; grep -H . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter 2>/dev/null
echo @@addr; ip -o -4 addr show
echo @@link; ip -o link show
echo @@route; ip -4 route show; ip -4 route show table local
echo @@tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo @@end";

/// An IPv4 address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Addr4 {
    /// Interface.
    pub dev: String,
    /// Address.
    pub addr: Ipv4Addr,
    /// Prefix length.
    pub prefix: u8,
}

/// What the script reported.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RemoteFacts {
    /// `/proc/sys/net/ipv4/conf/<dev>/<key>` → value, plus `ip_forward`.
    pub sysctl: BTreeMap<String, u32>,
    /// IPv4 addresses.
    pub addrs: Vec<Addr4>,
    /// Interface → (flags words, has a master).
    pub links: BTreeMap<String, (Vec<String>, bool)>,
    /// Default gateway, if any.
    pub gateway: Option<Ipv4Addr>,
    /// Listening TCP sockets (address, port).
    pub listen: Vec<(Ipv4Addr, u16)>,
}

/// Parse the script's output; `Err` names the first line that makes no sense.
pub fn parse(text: &str) -> Result<RemoteFacts, String> {
    let mut f = RemoteFacts::default();
    let mut section = "";
    let mut ended = false;
    for (n, line) in text.lines().enumerate() {
        let bad = |why: &str| format!("line {}: '{}': {why}", n + 1, line.chars().take(120).collect::<String>());
        if let Some(s) = line.strip_prefix("@@") {
            section = match s.trim() {
                "sysctl" => "sysctl",
                "addr" => "addr",
                "link" => "link",
                "route" => "route",
                "tcp" => "tcp",
                "end" => {
                    ended = true;
                    "end"
                }
                other => return Err(bad(&format!("unknown section '{other}'"))),
            };
            continue;
        }
        match section {
            "sysctl" => {
                let (path, v) = line.rsplit_once(':').ok_or_else(|| bad("expected path:value"))?;
                let key = path.strip_prefix("/proc/sys/net/ipv4/").ok_or_else(|| bad("not a net.ipv4 sysctl"))?;
                let key = key.strip_prefix("conf/").unwrap_or(key);
                f.sysctl.insert(key.to_string(), v.trim().parse().map_err(|_| bad("not a number"))?);
            }
            "addr" => {
                // "2: eth0    inet 198.51.100.11/24 brd ... scope global eth0\\..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let i = w.iter().position(|x| *x == "inet").ok_or_else(|| bad("no inet"))?;
                let (a, p) = w.get(i + 1).and_then(|c| c.split_once('/')).ok_or_else(|| bad("no address/prefix"))?;
                f.addrs.push(Addr4 {
                    dev: w.get(1).ok_or_else(|| bad("no device"))?.to_string(),
                    addr: a.parse().map_err(|_| bad("bad address"))?,
                    prefix: p.parse().map_err(|_| bad("bad prefix"))?,
                });
            }
            "link" => {
                // "2: eth0@if9: <BROADCAST,MULTICAST,UP,LOWER_UP> mtu 1500 ... master br0 ..."
                let w: Vec<&str> = line.split_whitespace().collect();
                let dev = w.get(1).map_or("", |d| d.trim_end_matches(':').split('@').next().unwrap_or(""));
                let flags = w
                    .get(2)
                    .map(|f| f.trim_matches(['<', '>']).split(',').map(str::to_string).collect())
                    .unwrap_or_default();
                if !dev.is_empty() {
                    f.links.insert(dev.to_string(), (flags, w.contains(&"master")));
                }
            }
            "route" => {
                if let Some(rest) = line.strip_prefix("default via ") {
                    f.gateway = rest.split_whitespace().next().and_then(|g| g.parse().ok());
                }
            }
            "tcp" => {
                let w: Vec<&str> = line.split_whitespace().collect();
                if w.get(3) == Some(&"0A") {
                    if let Some((a, p)) = w.get(1).and_then(|l| l.split_once(':')) {
                        let port = u16::from_str_radix(p, 16).map_err(|_| bad("bad port"))?;
                        if a.len() == 8 {
                            let raw = u32::from_str_radix(a, 16).map_err(|_| bad("bad local address"))?;
                            // /proc/net/tcp prints the network-order u32 in host order.
                            f.listen.push((Ipv4Addr::from(raw.to_ne_bytes()), port));
                        } else if a.len() == 32 && a.bytes().all(|b| b == b'0') {
                            // [::]:port, dual-stack unless v6only: it takes IPv4 too.
                            f.listen.push((Ipv4Addr::UNSPECIFIED, port));
                        } else if a.len() == 32 && a[..24].eq_ignore_ascii_case("0000000000000000FFFF0000") {
                            let raw = u32::from_str_radix(&a[24..], 16).map_err(|_| bad("bad local address"))?;
                            f.listen.push((Ipv4Addr::from(raw.to_ne_bytes()), port));
                        }
                    }
                }
            }
            "" if line.trim().is_empty() => {}
            "" => return Err(bad("output before the first section")),
            _ => {}
        }
    }
    if !ended {
        return Err("the output stops before its end marker (the host hung up or the script failed)".into());
    }
    Ok(f)
}

impl RemoteFacts {
    fn e_max(&self, dev: &str, key: &str) -> u32 {
        let get = |d: &str| self.sysctl.get(&format!("{d}/{key}")).copied().unwrap_or(0);
        get("all").max(get(dev))
    }

    /// Interfaces that receive ARP: up, not loopback/NOARP, not a bond/bridge port.
    fn arp_devs(&self) -> Vec<&str> {
        self.links
            .iter()
            .filter(|(_, (flags, master))| {
                flags.iter().any(|x| x == "UP") && !flags.iter().any(|x| x == "LOOPBACK" || x == "NOARP") && !master
            })
            .map(|(d, _)| d.as_str())
            .collect()
    }
}

/// Run the realserver rules for `host` serving `vip:port` by DR (or tunnel
/// when `tunnel`), behind director addresses `director`.
pub fn check(host: &str, f: &RemoteFacts, vip: Ipv4Addr, port: u16, tunnel: bool, director: &[IpAddr]) -> Vec<Finding> {
    let mut out = Vec::new();
    let mk = |id: &'static str, severity: Severity, subject: String, value: String, message: String, fix: String| {
        Finding { id, severity, host: host.to_string(), subject, value, message, fix }
    };
    let vip_on: Vec<&Addr4> = f.addrs.iter().filter(|a| a.addr == vip).collect();
    if vip_on.is_empty() {
        out.push(mk(
            "R-VIP-ABSENT",
            Severity::Error,
            format!("VIP {vip}"),
            "not configured".into(),
            format!("VIP {vip} is missing on {host}: it drops DR traffic for the VIP"),
            format!("ip addr add {vip}/32 dev lo"),
        ));
    }
    let arp_devs = f.arp_devs();
    for a in &vip_on {
        if arp_devs.contains(&a.dev.as_str()) {
            out.push(mk(
                "R-VIP-ARPDEV",
                Severity::Error,
                format!("VIP {vip}"),
                format!("on {}", a.dev),
                format!("VIP {vip} is on ARP-capable {}: {host} answers ARP for it whatever arp_ignore says", a.dev),
                format!("ip addr del {vip}/{} dev {}; ip addr add {vip}/32 dev lo", a.prefix, a.dev),
            ));
        } else if a.prefix < 32 {
            out.push(mk(
                "R-VIP-PREFIX",
                Severity::Warning,
                format!("VIP {vip}"),
                format!("{vip}/{} on {}", a.prefix, a.dev),
                format!("VIP {vip}/{} on {} makes the whole prefix local on {host}", a.prefix, a.dev),
                format!("ip addr del {vip}/{} dev {}; ip addr add {vip}/32 dev {}", a.prefix, a.dev, a.dev),
            ));
        }
    }
    for dev in &arp_devs {
        let ign = f.e_max(dev, "arp_ignore");
        if ign == 8 {
            out.push(mk(
                "R-ARP-IGNORE-8",
                Severity::Error,
                format!("interface {dev}"),
                format!("arp_ignore={ign}"),
                format!("{host} answers no ARP at all on {dev}: its RIP is unreachable"),
                format!("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.{dev}.arp_ignore=1"),
            ));
        } else if !matches!(ign, 1 | 2) && !vip_on.is_empty() {
            out.push(mk(
                "R-ARP-IGNORE",
                Severity::Error,
                format!("interface {dev}"),
                format!("arp_ignore={ign} (max of all and {dev})"),
                format!("{host} answers ARP for VIP {vip} on {dev}: the ARP problem"),
                format!("sysctl -w net.ipv4.conf.all.arp_ignore=1 net.ipv4.conf.{dev}.arp_ignore=1"),
            ));
        }
        let ann = f.e_max(dev, "arp_announce");
        if ann != 2 && !vip_on.is_empty() {
            let in_subnet = f.addrs.iter().filter(|a| a.dev == *dev).any(|a| {
                let mask = if a.prefix == 0 { 0 } else { u32::MAX << (32 - u32::from(a.prefix.min(32))) };
                u32::from(a.addr) & mask == u32::from(vip) & mask
            });
            let sev = if ann == 1 && !in_subnet { Severity::Warning } else { Severity::Error };
            out.push(mk(
                "R-ARP-ANNOUNCE",
                sev,
                format!("interface {dev}"),
                format!("arp_announce={ann} (max of all and {dev})"),
                format!("{host} may send ARP requests with VIP {vip} as their sender on {dev}"),
                format!("sysctl -w net.ipv4.conf.all.arp_announce=2 net.ipv4.conf.{dev}.arp_announce=2"),
            ));
        }
    }
    if tunnel {
        let rpf = f.e_max("tunl0", "rp_filter");
        let tunl_addr = f.addrs.iter().any(|a| a.dev == "tunl0");
        if rpf == 1 || (rpf == 2 && !tunl_addr) {
            out.push(mk(
                "R-RPF-TUN",
                Severity::Error,
                "interface tunl0".into(),
                format!("rp_filter={rpf}, tunl0 {} an address", if tunl_addr { "has" } else { "has no" }),
                format!("{host}'s tunl0 drops the decapsulated packets (reverse-path filter)"),
                "sysctl -w net.ipv4.conf.all.rp_filter=0 net.ipv4.conf.tunl0.rp_filter=0".into(),
            ));
        }
    }
    if let Some(gw) = f.gateway {
        if director.contains(&IpAddr::V4(gw)) {
            out.push(mk("R-GW-DIRECTOR", Severity::Warning, "default route".into(), format!("default via {gw}"),
                format!("{host}'s replies go via the director ({gw}), which drops them as martians (source VIP is local there)"),
                "ip route replace default via <the real router>".into()));
        }
    }
    let listening = f.listen.iter().any(|(a, p)| *p == port && (*a == vip || a.is_unspecified()));
    if port != 0 && !listening {
        out.push(mk(
            "R-LISTEN",
            Severity::Error,
            format!("{vip}:{port}"),
            format!("no TCP listener on {vip}:{port} or 0.0.0.0:{port}"),
            format!("nothing on {host} listens on VIP {vip} port {port} (a RIP-only bind resets DR traffic)"),
            "bind the service to the VIP or to 0.0.0.0".into(),
        ));
    }
    if f.sysctl.get("ip_forward") == Some(&1) {
        out.push(mk(
            "R-FWD",
            Severity::Info,
            "net.ipv4.ip_forward".into(),
            "ip_forward=1".into(),
            format!("if the VIP vanishes, {host} will route VIP traffic back out"),
            "sysctl -w net.ipv4.ip_forward=0".into(),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "@@sysctl
/proc/sys/net/ipv4/ip_forward:0
/proc/sys/net/ipv4/conf/all/arp_ignore:1
/proc/sys/net/ipv4/conf/all/arp_announce:2
/proc/sys/net/ipv4/conf/eth0/arp_ignore:0
/proc/sys/net/ipv4/conf/eth0/arp_announce:0
/proc/sys/net/ipv4/conf/all/rp_filter:0
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
@@tcp
  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0050 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1 1 0000000000000000 100 0 0 10 0
@@end
";

    fn ip(s: &str) -> Ipv4Addr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_well_configured_realserver_passes() {
        let f = parse(GOOD).expect("parse");
        assert_eq!(f.listen, vec![(Ipv4Addr::UNSPECIFIED, 80)]);
        let found = check("rs1", &f, ip("198.51.100.100"), 80, false, &[IpAddr::V4(ip("198.51.100.1"))]);
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
        let f = parse(&text).expect("parse");
        let mut ids: Vec<&str> = check("rs3", &f, ip("198.51.100.100"), 80, false, &[IpAddr::V4(ip("198.51.100.1"))])
            .iter()
            .map(|x| x.id)
            .collect();
        ids.sort_unstable();
        assert_eq!(ids, vec!["R-ARP-ANNOUNCE", "R-ARP-IGNORE", "R-FWD", "R-GW-DIRECTOR", "R-LISTEN", "R-VIP-PREFIX"]);
        // VIP missing; tunnel with strict rp_filter.
        let text = GOOD
            .replace("198.51.100.100/32 scope global lo", "10.9.9.9/32 scope global lo")
            .replace("all/rp_filter:0", "all/rp_filter:1");
        let f = parse(&text).expect("parse");
        let mut ids: Vec<&str> = check("rs2", &f, ip("198.51.100.100"), 80, true, &[]).iter().map(|x| x.id).collect();
        ids.sort_unstable();
        assert_eq!(ids, vec!["R-RPF-TUN", "R-VIP-ABSENT"]);
    }

    #[test]
    fn untrusted_output_is_refused_with_the_line() {
        assert!(parse("@@sysctl\n/proc/sys/net/ipv4/ip_forward:yes\n@@end\n").expect_err("nan").contains("line 2"));
        assert!(parse("@@sysctl\n").expect_err("cut").contains("end marker"));
        assert!(parse("garbage\n@@end\n").expect_err("preamble").contains("line 1"));
        assert!(parse("@@rm -rf\n").expect_err("section").contains("unknown section"));
    }
}

#[cfg(test)]
mod live {
    /// The script's real output on this host parses (real `ip -o` formats).
    #[test]
    fn the_script_output_of_this_host_parses() {
        let Ok(out) = std::process::Command::new("sh").arg("-c").arg(super::SCRIPT).output() else { return };
        let text = String::from_utf8_lossy(&out.stdout);
        let f = super::parse(&text).map_err(|e| format!("{e}\n{text}")).expect("the script's output parses");
        assert!(f.addrs.iter().any(|a| a.addr.is_loopback()), "{f:?}");
        assert!(f.sysctl.contains_key("all/arp_ignore"), "{f:?}");
    }
}

/// A realserver to read, with the services it serves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// Its address.
    pub rip: IpAddr,
    /// (VIP, port, tunnelled) of each DR/TUN service it is in.
    pub serves: Vec<(Ipv4Addr, u16, bool)>,
}

/// The DR and tunnel realservers of a snapshot, by address.
pub fn targets(snap: &crate::model::Snapshot) -> Vec<Target> {
    let mut by: BTreeMap<IpAddr, Vec<(Ipv4Addr, u16, bool)>> = BTreeMap::new();
    for s in &snap.services {
        let crate::model::ServiceKey::Addr { addr: IpAddr::V4(vip), port, .. } = s.spec.key else { continue };
        for d in s.destinations.iter().filter(|d| d.spec.forward.is_one_way()) {
            by.entry(d.spec.addr).or_default().push((vip, port, d.spec.forward == crate::model::ForwardMethod::Tunnel));
        }
    }
    by.into_iter().map(|(rip, serves)| Target { rip, serves }).collect()
}

/// Read every target over ssh (a bounded number at once) and judge it. A host
/// that cannot be read is reported (R-UNREACHABLE), never waited on forever.
pub async fn run_all(targets: Vec<Target>, director: Vec<IpAddr>, cfg: crate::remote::SshConfig) -> Vec<Finding> {
    let sem = std::sync::Arc::new(tokio::sync::Semaphore::new(cfg.parallel.max(1)));
    let cfg = std::sync::Arc::new(cfg);
    let director = std::sync::Arc::new(director);
    let mut tasks = Vec::new();
    for t in targets {
        let (host, user, port) = match cfg.hosts.get(&t.rip) {
            Some(None) => continue,
            Some(Some(h)) => (h.host.clone().unwrap_or_else(|| t.rip.to_string()), h.user.clone(), h.port),
            None => (t.rip.to_string(), None, None),
        };
        let (sem, cfg, director) = (sem.clone(), cfg.clone(), director.clone());
        tasks.push(tokio::spawn(async move {
            let Ok(_permit) = sem.acquire().await else { return Vec::new() };
            let name = format!("realserver {}", t.rip);
            let text = crate::remote::run(&host, user.as_deref(), port, SCRIPT, &cfg).await;
            match text.and_then(|t| parse(&t).map_err(|e| format!("unexpected output from {host}: {e}"))) {
                Err(e) => vec![Finding {
                    id: "R-UNREACHABLE",
                    severity: Severity::Warning,
                    host: name,
                    subject: format!("ssh {host}"),
                    value: e.clone(),
                    message: format!("cannot read realserver {}: {e}", t.rip),
                    fix: format!("check access without a prompt: ssh -o BatchMode=yes {host} true (keys, known_hosts, [ssh] in lvstop.toml)"),
                }],
                Ok(facts) => t.serves.iter().flat_map(|(vip, port, tun)| check(&name, &facts, *vip, *port, *tun, &director)).collect(),
            }
        }));
    }
    let mut out = Vec::new();
    for t in tasks {
        out.extend(t.await.unwrap_or_default());
    }
    out
}
