//! The director's interfaces: counters from /sys/class/net, link speed and the
//! packets-per-second limit it implies, bonds and VLANs, and CPU use. Every
//! path hangs off a root directory so tests can use fixture trees. Counter
//! resets and vanished interfaces never produce negative or absurd rates.
//!
//! sysinfo measures CPU use ([`Sampler`]); the rest is read by hand because
//! sysinfo has nothing for it: the softirq share (/proc/stat), link speeds,
//! interface kinds, bonds and VLANs (/sys/class/net), and backlog drops
//! (/proc/net/softnet_stat). Its network counters are not used either: they
//! lack the drop counters this module sums.
//!
//! The console reads the interfaces every second: their counters and state
//! come from one rtnetlink link dump, what does not change from one second to
//! the next (kind, speed, master) from /sys every [`STATIC_EVERY`] or when
//! the set of interfaces changes; some twenty files per interface a second
//! cost more than the console may spend.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use serde::Serialize;

/// Bits on the wire per minimum-size Ethernet frame: 64 bytes + 8 preamble + 12 gap.
pub const MIN_FRAME_BITS: u64 = 84 * 8;

/// Line-rate packets per second of a link of `mbps` (148 809 at 100 Mb/s).
pub fn line_rate_pps(mbps: u64) -> u64 {
    mbps.saturating_mul(1_000_000) / MIN_FRAME_BITS
}

/// Raw interface counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct NicCounters {
    /// Packets received.
    pub rx_packets: u64,
    /// Packets sent.
    pub tx_packets: u64,
    /// Bytes received.
    pub rx_bytes: u64,
    /// Bytes sent.
    pub tx_bytes: u64,
    /// Received packets dropped (rx_dropped + rx_missed_errors + rx_fifo_errors).
    pub drops: u64,
    /// Errors (rx_errors + tx_errors).
    pub errors: u64,
}

/// What kind of interface it is.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum NicKind {
    /// A NIC (or anything else with its own speed).
    Device,
    /// The loopback: never counts.
    Loopback,
    /// A bond: its speed is the sum of its active slaves'.
    Bond {
        /// Bonding mode (`active-backup`, `802.3ad`, …).
        mode: String,
        /// Slave names.
        slaves: Vec<String>,
        /// The active slave (active-backup).
        active: Option<String>,
    },
    /// A VLAN on `parent`: it inherits the parent's speed.
    Vlan {
        /// The lower device.
        parent: String,
    },
    /// A bridge.
    Bridge,
}

/// One interface as read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Nic {
    /// Name.
    pub name: String,
    /// Kernel index.
    pub ifindex: u32,
    /// Administratively up with carrier (operstate up or unknown).
    pub up: bool,
    /// Kind.
    pub kind: NicKind,
    /// Link speed in Mb/s, if the driver knows it.
    pub speed_mbps: Option<u64>,
    /// The bond or bridge this interface is a port of (its load counts there).
    pub master: Option<String>,
    /// Counters.
    pub counters: NicCounters,
}

/// Cumulative CPU time from /proc/stat (ticks), for the softirq share:
/// sysinfo reports CPU use but not the time spent in softirq.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct CpuTimes {
    /// All time.
    pub total: u64,
    /// Softirq (where forwarding happens).
    pub softirq: u64,
}

/// Everything read at one moment.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct SysSample {
    /// Interfaces by name.
    pub nics: BTreeMap<String, Nic>,
    /// CPU use, percent of all CPUs, since the [`Sampler`]'s previous reading
    /// (None from a fixture tree, or where sysinfo sees no CPU).
    pub cpu_busy: Option<f64>,
    /// CPU times, if readable.
    pub cpu: Option<CpuTimes>,
    /// Packets dropped because a CPU's backlog queue was full (/proc/net/softnet_stat, all CPUs).
    pub backlog_drops: Option<u64>,
}

fn read(p: &Path) -> Option<String> {
    super::read_text(p, super::SMALL_FILE).ok().map(|s| s.trim().to_string())
}

fn num(p: &Path) -> u64 {
    read(p).and_then(|s| s.parse().ok()).unwrap_or(0)
}

fn counters(dir: &Path) -> NicCounters {
    let st = dir.join("statistics");
    let n = |f: &str| num(&st.join(f));
    NicCounters {
        rx_packets: n("rx_packets"),
        tx_packets: n("tx_packets"),
        rx_bytes: n("rx_bytes"),
        tx_bytes: n("tx_bytes"),
        // Sums of counters read from files saturate rather than wrap.
        drops: n("rx_dropped").saturating_add(n("rx_missed_errors")).saturating_add(n("rx_fifo_errors")),
        errors: n("rx_errors").saturating_add(n("tx_errors")),
    }
}

fn kind(dir: &Path, flags: u64) -> NicKind {
    if flags & 0x8 != 0 {
        return NicKind::Loopback;
    }
    let uevent = read(&dir.join("uevent")).unwrap_or_default();
    let devtype = uevent.lines().find_map(|l| l.strip_prefix("DEVTYPE=")).unwrap_or("");
    let lowers: Vec<String> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|e| e.file_name().to_str().and_then(|n| n.strip_prefix("lower_")).map(str::to_string))
        .collect();
    if dir.join("bonding").is_dir() || devtype == "bond" {
        let b = dir.join("bonding");
        let mode = read(&b.join("mode")).unwrap_or_default().split_whitespace().next().unwrap_or("").to_string();
        let slaves = read(&b.join("slaves")).map_or(lowers, |s| s.split_whitespace().map(str::to_string).collect());
        let active = read(&b.join("active_slave")).filter(|s| !s.is_empty());
        return NicKind::Bond { mode, slaves, active };
    }
    if devtype == "vlan" {
        if let Some(parent) = lowers.into_iter().next() {
            return NicKind::Vlan { parent };
        }
    }
    if devtype == "bridge" || dir.join("bridge").is_dir() {
        return NicKind::Bridge;
    }
    NicKind::Device
}

/// Parse the `cpu` line of /proc/stat.
pub fn parse_cpu(stat: &str) -> Option<CpuTimes> {
    let line = stat.lines().find(|l| l.starts_with("cpu "))?;
    let v: Vec<u64> = line.split_whitespace().skip(1).map(|x| x.parse().unwrap_or(0)).collect();
    let get = |i: usize| v.get(i).copied().unwrap_or(0);
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    // Saturating: a corrupt or hostile line must not wrap (nor panic with overflow checks).
    Some(CpuTimes { total: (0..8).map(get).fold(0u64, u64::saturating_add), softirq: get(6) })
}

/// Sum the second column (backlog drops, hex) of /proc/net/softnet_stat over all CPUs.
pub fn parse_softnet(text: &str) -> Option<u64> {
    let mut sum = 0u64;
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let col = line.split_whitespace().nth(1)?;
        sum = sum.saturating_add(u64::from_str_radix(col, 16).ok()?);
    }
    Some(sum)
}

/// Read every interface under `root`/sys/class/net, the CPU times from
/// `root`/proc/stat and the backlog drops from `root`/proc/net/softnet_stat
/// (CPU use comes from a [`Sampler`]).
pub fn read_sample(root: &Path) -> SysSample {
    let mut nics = BTreeMap::new();
    let base: PathBuf = root.join("sys/class/net");
    for e in std::fs::read_dir(&base).into_iter().flatten().filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().into_owned();
        let dir = e.path();
        if !dir.join("statistics").is_dir() {
            continue;
        }
        let flags = read(&dir.join("flags"))
            .and_then(|f| u64::from_str_radix(f.trim_start_matches("0x"), 16).ok())
            .unwrap_or(0);
        let oper = read(&dir.join("operstate")).unwrap_or_default();
        let up = flags & 0x1 != 0 && oper != "down" && oper != "lowerlayerdown" && oper != "notpresent";
        // Reading speed fails (EINVAL) on down or speedless devices; -1 means unknown.
        let speed_mbps =
            read(&dir.join("speed")).and_then(|s| s.parse::<i64>().ok()).filter(|s| *s > 0).map(|s| s as u64);
        nics.insert(
            name.clone(),
            Nic {
                name,
                ifindex: num(&dir.join("ifindex")) as u32,
                up,
                kind: kind(&dir, flags),
                speed_mbps,
                master: std::fs::read_link(dir.join("master"))
                    .ok()
                    .and_then(|p| p.file_name().map(|n| n.to_string_lossy().into_owned())),
                counters: counters(&dir),
            },
        );
    }
    // /proc/stat's intr line grows with the IRQs, softnet_stat with the CPUs.
    let (cpu, backlog_drops) = read_cpu(root);
    SysSample { nics, cpu_busy: None, cpu, backlog_drops }
}

/// CPU times from `root`/proc/stat and backlog drops from `root`/proc/net/softnet_stat.
fn read_cpu(root: &Path) -> (Option<CpuTimes>, Option<u64>) {
    let cpu = super::read_text(root.join("proc/stat"), 16 << 20).ok().and_then(|s| parse_cpu(&s));
    let backlog_drops =
        super::read_text(root.join("proc/net/softnet_stat"), 4 << 20).ok().and_then(|s| parse_softnet(&s));
    (cpu, backlog_drops)
}

/// How long what /sys says of an interface (kind, speed, master) is kept.
pub const STATIC_EVERY: std::time::Duration = std::time::Duration::from_secs(10);

/// `nics` (read from /sys) brought up to date from a link dump: state and
/// counters from `links`. None when the two disagree on which interfaces
/// exist (one came or went), or a link has no counters: then /sys is read.
pub fn update_from_links(nics: &BTreeMap<String, Nic>, links: &[super::rtnl::Link]) -> Option<BTreeMap<String, Nic>> {
    if links.len() != nics.len() {
        return None;
    }
    let mut out = BTreeMap::new();
    for l in links {
        let nic = nics.get(&l.name).filter(|n| n.ifindex == l.ifindex)?;
        let s = l.stats?;
        // IFF_UP, and an operational state other than notpresent, down, lowerlayerdown.
        let up = l.flags & 0x1 != 0 && !matches!(l.operstate, 1..=3);
        let counters = NicCounters {
            rx_packets: s[0],
            tx_packets: s[1],
            rx_bytes: s[2],
            tx_bytes: s[3],
            drops: s[6].saturating_add(s[15]).saturating_add(s[14]),
            errors: s[4].saturating_add(s[5]),
        };
        out.insert(l.name.clone(), Nic { up, counters, ..nic.clone() });
    }
    Some(out)
}

/// Reads this host, one reading after another: the CPU use of each (from
/// sysinfo) is measured since the previous one. Clones share the measurement.
#[derive(Clone)]
pub struct Sampler {
    cpu: Arc<Mutex<sysinfo::System>>,
    links: Arc<Mutex<Links>>,
}

/// The interfaces as /sys last gave them, and the socket that dumps their counters.
#[derive(Default)]
struct Links {
    rtnl: Option<super::rtnl::Rtnl>,
    nics: BTreeMap<String, Nic>,
    at: Option<std::time::Instant>,
}

impl Default for Sampler {
    fn default() -> Self {
        Self::new()
    }
}

impl Sampler {
    /// Start measuring: the first [`Sampler::sample`] reports the CPU use since now.
    pub fn new() -> Self {
        let mut system = sysinfo::System::new();
        system.refresh_cpu_usage();
        Sampler { cpu: Arc::new(Mutex::new(system)), links: Arc::default() }
    }

    /// This host's interfaces (from a link dump and what /sys said at most
    /// [`STATIC_EVERY`] ago) and CPU times.
    fn interfaces(&self) -> SysSample {
        let mut c = self.links.lock().unwrap_or_else(PoisonError::into_inner);
        let fresh = c.at.is_some_and(|t| t.elapsed() < STATIC_EVERY);
        if fresh {
            if c.rtnl.is_none() {
                c.rtnl = super::rtnl::Rtnl::connect().ok();
            }
            let links = c.rtnl.as_mut().and_then(|r| r.links().ok());
            if let Some(nics) = links.and_then(|l| update_from_links(&c.nics, &l)) {
                let (cpu, backlog_drops) = read_cpu(Path::new("/"));
                return SysSample { nics, cpu_busy: None, cpu, backlog_drops };
            }
        }
        let s = read_sample(Path::new("/"));
        c.nics = s.nics.clone();
        c.at = Some(std::time::Instant::now());
        s
    }

    /// Read this host's interfaces and CPU.
    pub fn sample(&self) -> SysSample {
        let mut s = self.interfaces();
        let mut system = self.cpu.lock().unwrap_or_else(PoisonError::into_inner);
        system.refresh_cpu_usage();
        let busy = f64::from(system.global_cpu_usage());
        s.cpu_busy = (!system.cpus().is_empty() && busy.is_finite()).then(|| busy.clamp(0.0, 100.0));
        s
    }
}

/// The speed that limits `name`: its own, a bond's active slaves', a VLAN's parent's.
pub fn effective_speed(name: &str, nics: &BTreeMap<String, Nic>) -> Option<u64> {
    effective_speed_depth(name, nics, 0)
}

fn effective_speed_depth(name: &str, nics: &BTreeMap<String, Nic>, depth: u8) -> Option<u64> {
    let nic = nics.get(name)?;
    if depth > 4 {
        return None;
    }
    match &nic.kind {
        NicKind::Loopback => None,
        NicKind::Vlan { parent } => effective_speed_depth(parent, nics, depth + 1),
        NicKind::Bond { mode, slaves, active } => {
            let up: Vec<u64> = slaves
                .iter()
                .filter(|s| nics.get(*s).is_some_and(|n| n.up))
                .filter_map(|s| effective_speed_depth(s, nics, depth + 1))
                .collect();
            match mode.as_str() {
                "active-backup" => active.as_deref().and_then(|a| effective_speed_depth(a, nics, depth + 1)),
                "broadcast" => up.into_iter().min(),
                _ => (!up.is_empty()).then(|| up.iter().fold(0u64, |a, s| a.saturating_add(*s))),
            }
        }
        NicKind::Device | NicKind::Bridge => nic.speed_mbps,
    }
}

/// Per-second rates between two readings of one interface.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct NicRates {
    /// Packets received per second.
    pub rx_pps: f64,
    /// Packets sent per second.
    pub tx_pps: f64,
    /// Bytes received per second.
    pub rx_bps: f64,
    /// Bytes sent per second.
    pub tx_bps: f64,
    /// Drops per second.
    pub drops_ps: f64,
    /// Errors per second.
    pub errors_ps: f64,
    /// A counter went backwards (reset or re-created interface): rates of that
    /// interval are reported as 0, never negative.
    pub reset: bool,
}

/// Rates from `prev` to `cur` over `secs`.
pub fn rates(prev: &NicCounters, cur: &NicCounters, secs: f64) -> NicRates {
    if secs <= 0.0 {
        return NicRates::default();
    }
    let mut reset = false;
    let mut d = |a: u64, b: u64| {
        if b < a {
            reset = true;
            0.0
        } else {
            (b - a) as f64 / secs
        }
    };
    let r = NicRates {
        rx_pps: d(prev.rx_packets, cur.rx_packets),
        tx_pps: d(prev.tx_packets, cur.tx_packets),
        rx_bps: d(prev.rx_bytes, cur.rx_bytes),
        tx_bps: d(prev.tx_bytes, cur.tx_bytes),
        drops_ps: d(prev.drops, cur.drops),
        errors_ps: d(prev.errors, cur.errors),
        reset: false,
    };
    NicRates { reset, ..r }
}

/// The share of CPU time spent in softirq between two readings, in percent.
pub fn softirq_percent(prev: &CpuTimes, cur: &CpuTimes) -> Option<f64> {
    let total = cur.total.checked_sub(prev.total).filter(|t| *t > 0)? as f64;
    let soft = cur.softirq.saturating_sub(prev.softirq) as f64;
    Some((soft / total * 100.0).clamp(0.0, 100.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_link_dump_agrees_with_sys_class_net() {
        let before = read_sample(Path::new("/"));
        let Ok(mut rt) = super::super::rtnl::Rtnl::connect() else { return };
        let links = rt.links().expect("link dump");
        let nics = update_from_links(&before.nics, &links).expect("the same interfaces");
        assert_eq!(nics.keys().collect::<Vec<_>>(), before.nics.keys().collect::<Vec<_>>());
        for (name, n) in &nics {
            let b = &before.nics[name];
            assert_eq!((n.ifindex, n.up, &n.kind, n.speed_mbps), (b.ifindex, b.up, &b.kind, b.speed_mbps), "{name}");
            // Read after /sys: counters never behind it.
            assert!(
                n.counters.rx_packets >= b.counters.rx_packets && n.counters.tx_bytes >= b.counters.tx_bytes,
                "{name}"
            );
            assert!(n.counters.drops >= b.counters.drops && n.counters.errors >= b.counters.errors, "{name}");
        }
        // An interface that came or went: /sys is read again.
        let mut fewer = links.clone();
        fewer.pop();
        assert!(update_from_links(&before.nics, &fewer).is_none() || links.is_empty());
        // The sampler gives the same interfaces either way.
        let sampler = Sampler::new();
        let (first, second) = (sampler.sample(), sampler.sample());
        assert_eq!(first.nics.keys().collect::<Vec<_>>(), second.nics.keys().collect::<Vec<_>>());
    }

    #[test]
    fn line_rates_match_the_ethernet_arithmetic() {
        assert_eq!(line_rate_pps(100), 148_809);
        assert_eq!(line_rate_pps(1000), 1_488_095);
        assert_eq!(line_rate_pps(10_000), 14_880_952);
    }

    #[test]
    fn resets_never_give_negative_rates() {
        let a = NicCounters { rx_packets: 1000, tx_packets: 500, ..Default::default() };
        let b = NicCounters { rx_packets: 10, tx_packets: 700, ..Default::default() };
        let r = rates(&a, &b, 2.0);
        assert!(r.reset);
        assert_eq!((r.rx_pps, r.tx_pps), (0.0, 100.0));
        assert_eq!(rates(&a, &b, 0.0), NicRates::default());
    }

    #[test]
    fn cpu_line() {
        let c = parse_cpu("cpu  100 0 50 800 50 0 25 0 0 0\ncpu0 1 2 3\n").expect("cpu");
        assert_eq!((c.total, c.softirq), (1025, 25));
        let d = CpuTimes { total: 2025, softirq: 125 };
        let soft = softirq_percent(&c, &d).expect("pct");
        assert!((soft - 10.0).abs() < 1e-9, "{soft}");
        assert_eq!(softirq_percent(&d, &c), None);
    }

    #[test]
    fn the_sampler_measures_cpu_use_between_readings() {
        let sampler = Sampler::new();
        std::thread::sleep(sysinfo::MINIMUM_CPU_UPDATE_INTERVAL);
        let s = sampler.clone().sample();
        if std::path::Path::new("/proc/stat").exists() {
            assert!(s.cpu_busy.is_some_and(|b| (0.0..=100.0).contains(&b)), "{:?}", s.cpu_busy);
            assert!(s.cpu.is_some());
        }
    }
}
