//! What the director checks read: per-interface sysctls, addresses, routes and
//! neighbours (rtnetlink), and the IPVS sysctls. Gathered here, judged in
//! [`super::director`].

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::path::Path;

use crate::sys::rtnl::{IfAddr, Route};

/// Per-interface IPv4 sysctls (`net.ipv4.conf.<dev>.*`), including `all`.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ConfSysctls {
    /// arp_ignore.
    pub arp_ignore: u32,
    /// arp_announce.
    pub arp_announce: u32,
    /// rp_filter.
    pub rp_filter: u32,
    /// accept_local.
    pub accept_local: u32,
    /// log_martians.
    pub log_martians: u32,
    /// forwarding.
    pub forwarding: u32,
}

/// An interface as the checks see it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Iface {
    /// Name.
    pub name: String,
    /// `IFF_*` flags.
    pub flags: u32,
}

impl Iface {
    /// Loopback or NOARP: it never answers ARP.
    pub fn is_noarp(&self) -> bool {
        self.flags & (0x8 | 0x80) != 0
    }
}

/// Everything the director checks need.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DirectorFacts {
    /// Interfaces by index.
    pub ifaces: BTreeMap<u32, Iface>,
    /// Addresses.
    pub addrs: Vec<IfAddr>,
    /// `net.ipv4.conf.<dev>.*` by device name, with `all`.
    pub conf: BTreeMap<String, ConfSysctls>,
    /// `net.ipv4.ip_forward`.
    pub ip_forward: u32,
    /// `net.ipv4.vs.*` that matter (absent on kernels without them).
    pub vs: BTreeMap<String, String>,
    /// The kernel's version (major, minor), from /proc/sys/kernel/osrelease.
    pub kernel: Option<(u32, u32)>,
    /// The route to each realserver (and to the client probe address).
    pub routes: BTreeMap<IpAddr, Result<Route, String>>,
    /// Neighbour state of each realserver address (`REACHABLE`, `FAILED`…), if known.
    pub neigh: BTreeMap<IpAddr, String>,
    /// Neighbours' MAC addresses, to name who answers ARP.
    pub neigh_macs: Vec<(IpAddr, crate::sys::arp::Mac)>,
}

impl DirectorFacts {
    /// `max(all, dev)` of an integer sysctl.
    pub fn e_max(&self, dev: &str, get: fn(&ConfSysctls) -> u32) -> u32 {
        let all = self.conf.get("all").map_or(0, get);
        all.max(self.conf.get(dev).map_or(0, get))
    }

    /// `all || dev` of a boolean sysctl.
    pub fn e_or(&self, dev: &str, get: fn(&ConfSysctls) -> u32) -> bool {
        self.conf.get("all").is_some_and(|c| get(c) != 0) || self.conf.get(dev).is_some_and(|c| get(c) != 0)
    }

    /// Interface name of an index.
    pub fn name(&self, ifindex: u32) -> String {
        self.ifaces.get(&ifindex).map_or_else(|| format!("if{ifindex}"), |i| i.name.clone())
    }
}

/// (major, minor) of a kernel release such as `6.1.0-57-amd64`.
pub fn kernel_version(release: &str) -> Option<(u32, u32)> {
    let mut parts = release.trim().split(|c: char| !c.is_ascii_digit());
    Some((parts.next()?.parse().ok()?, parts.next()?.parse().ok()?))
}

fn read_u32(p: &Path) -> u32 {
    crate::sys::read_text(p, crate::sys::SMALL_FILE).ok().and_then(|s| s.trim().parse().ok()).unwrap_or(0)
}

/// Read the conf sysctls of `devs` (and `all`) under `root` (normally `/`).
pub fn read_conf(root: &Path, devs: &[String]) -> BTreeMap<String, ConfSysctls> {
    let mut out = BTreeMap::new();
    for d in std::iter::once("all").chain(devs.iter().map(String::as_str)) {
        let base = root.join("proc/sys/net/ipv4/conf").join(d);
        if !base.is_dir() {
            continue;
        }
        out.insert(
            d.to_string(),
            ConfSysctls {
                arp_ignore: read_u32(&base.join("arp_ignore")),
                arp_announce: read_u32(&base.join("arp_announce")),
                rp_filter: read_u32(&base.join("rp_filter")),
                accept_local: read_u32(&base.join("accept_local")),
                log_martians: read_u32(&base.join("log_martians")),
                forwarding: read_u32(&base.join("forwarding")),
            },
        );
    }
    out
}

/// Gather the director's facts for the realservers `rips` (and `probe`, an
/// off-link address whose route stands for the clients'). Route lookups send nothing.
pub fn gather(rips: &[IpAddr], probe: IpAddr) -> Result<DirectorFacts, String> {
    let root = Path::new("/");
    let mut rt = crate::sys::rtnl::Rtnl::connect()?;
    let addrs = rt.addresses()?;
    let mut ifaces = BTreeMap::new();
    for e in std::fs::read_dir("/sys/class/net").into_iter().flatten().filter_map(Result::ok) {
        let dir = e.path();
        let idx = read_u32(&dir.join("ifindex"));
        let flags = crate::sys::read_text(dir.join("flags"), crate::sys::SMALL_FILE)
            .ok()
            .and_then(|f| u32::from_str_radix(f.trim().trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        ifaces.insert(idx, Iface { name: e.file_name().to_string_lossy().into_owned(), flags });
    }
    let devs: Vec<String> = ifaces.values().map(|i| i.name.clone()).collect();
    let mut vs = BTreeMap::new();
    for k in [
        "run_estimation",
        "expire_nodest_conn",
        "expire_quiescent_template",
        "conn_reuse_mode",
        "conntrack",
        "sloppy_tcp",
        "sloppy_sctp",
    ] {
        if let Ok(v) = crate::sys::read_text(root.join("proc/sys/net/ipv4/vs").join(k), crate::sys::SMALL_FILE) {
            vs.insert(k.to_string(), v.trim().to_string());
        }
    }
    let mut routes = BTreeMap::new();
    for ip in rips.iter().chain(std::iter::once(&probe)).take(257) {
        routes.entry(*ip).or_insert_with(|| rt.route_to(*ip));
    }
    let entries = rt.neighbour_entries().unwrap_or_default();
    let neigh = entries.iter().map(|(ip, st, _)| (*ip, st.clone())).collect();
    let neigh_macs = entries.iter().filter_map(|(ip, _, m)| m.map(|m| (*ip, crate::sys::arp::Mac(m)))).collect();
    Ok(DirectorFacts {
        ifaces,
        addrs,
        conf: read_conf(root, &devs),
        ip_forward: read_u32(&root.join("proc/sys/net/ipv4/ip_forward")),
        vs,
        kernel: crate::sys::read_text(root.join("proc/sys/kernel/osrelease"), crate::sys::SMALL_FILE)
            .ok()
            .and_then(|r| kernel_version(&r)),
        routes,
        neigh,
        neigh_macs,
    })
}
