//! Director load: each interface's packet rate against its limits (line rate
//! from the link speed, and the practical limit the operator configured), the
//! interfaces that carry VIPs or reach realservers, and CPU/softirq use.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde::Serialize;

use super::nic::{
    effective_speed, line_rate_pps, rates, softirq_percent, NicCounters, NicKind, NicRates, Sampler, SysSample,
};

/// Thresholds and practical limits (from the config file).
#[derive(Debug, Clone, PartialEq)]
pub struct NicPolicy {
    /// Warning level, percent of a limit.
    pub warn_percent: f64,
    /// Critical level, percent of a limit.
    pub crit_percent: f64,
    /// Show idle and down interfaces.
    pub show_idle: bool,
    /// Practical packets/s limit per interface name.
    pub limits: BTreeMap<String, u64>,
}

impl Default for NicPolicy {
    fn default() -> Self {
        NicPolicy { warn_percent: 70.0, crit_percent: 90.0, show_idle: false, limits: BTreeMap::new() }
    }
}

/// How loaded an interface is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Level {
    /// No limit known.
    Unknown,
    /// Below the warning threshold.
    Ok,
    /// At or above the warning threshold.
    Warning,
    /// At or above the critical threshold.
    Critical,
}

/// Which director roles an interface plays.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Roles {
    /// Interface name → the VIPs configured on it.
    pub vips: BTreeMap<String, Vec<IpAddr>>,
    /// Interfaces the director uses to reach realservers.
    pub to_realservers: Vec<String>,
}

/// One interface's load.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NicLoad {
    /// Interface.
    pub name: String,
    /// Kind (bond, vlan…).
    #[serde(flatten)]
    pub kind: NicKind,
    /// Up with carrier.
    pub up: bool,
    /// The speed that limits it (Mb/s): own, bond slaves', VLAN parent's.
    pub speed_mbps: Option<u64>,
    /// Line-rate packets/s at minimum frame size.
    pub line_rate_pps: Option<u64>,
    /// The operator's practical limit.
    pub practical_pps: Option<u64>,
    /// Counters at the last reading.
    pub counters: NicCounters,
    /// Rates over the last interval.
    pub rates: NicRates,
    /// max(rx, tx) pps as a percentage of line rate.
    pub line_percent: Option<f64>,
    /// max(rx, tx) pps as a percentage of the practical limit.
    pub practical_percent: Option<f64>,
    /// Against the thresholds.
    pub level: Level,
    /// VIPs configured on it.
    pub vips: Vec<IpAddr>,
    /// The director reaches realservers through it.
    pub to_realservers: bool,
    /// No packets in the interval.
    pub idle: bool,
    /// The bond or bridge it is a port of.
    pub master: Option<String>,
}

impl NicLoad {
    /// The packet rate that counts: the busier direction.
    pub fn pps(&self) -> f64 {
        self.rates.rx_pps.max(self.rates.tx_pps)
    }
}

/// The director's load between two samples.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct DirectorLoad {
    /// Interval in seconds.
    pub interval_secs: f64,
    /// CPU use, percent of all CPUs.
    pub cpu_percent: Option<f64>,
    /// Share of CPU time in softirq (packet processing), percent.
    pub softirq_percent: Option<f64>,
    /// Interfaces (loopback excluded), busiest role first.
    pub nics: Vec<NicLoad>,
    /// Packets/s dropped because a CPU's backlog was full (softnet_stat).
    pub backlog_drops_ps: Option<f64>,
}

impl DirectorLoad {
    /// The interfaces to show: all, or those up and not idle (plus any with a role).
    pub fn shown(&self, show_idle: bool) -> Vec<&NicLoad> {
        self.nics
            .iter()
            .filter(|n| show_idle || (n.up && (!n.idle || !n.vips.is_empty() || n.to_realservers)))
            .collect()
    }

    /// The worst interface at or above the warning threshold.
    pub fn worst(&self) -> Option<&NicLoad> {
        self.nics.iter().filter(|n| n.level >= Level::Warning).max_by(|a, b| a.level.cmp(&b.level))
    }
}

fn level(pct: Option<f64>, p: &NicPolicy) -> Level {
    match pct {
        None => Level::Unknown,
        Some(x) if x >= p.crit_percent => Level::Critical,
        Some(x) if x >= p.warn_percent => Level::Warning,
        Some(_) => Level::Ok,
    }
}

/// Compute the load between `prev` and `cur`, `secs` apart (the CPU use is
/// `cur`'s: a [`Sampler`] measures it since its previous reading).
pub fn compute(prev: &SysSample, cur: &SysSample, secs: f64, policy: &NicPolicy, roles: &Roles) -> DirectorLoad {
    let mut nics = Vec::new();
    for (name, nic) in &cur.nics {
        if nic.kind == NicKind::Loopback {
            continue;
        }
        // An interface that vanished and came back (new ifindex) starts over.
        let r = match prev.nics.get(name).filter(|p| p.ifindex == nic.ifindex) {
            Some(p) => rates(&p.counters, &nic.counters, secs),
            None => NicRates::default(),
        };
        let speed = effective_speed(name, &cur.nics);
        let line = speed.map(line_rate_pps).filter(|l| *l > 0);
        let practical = policy.limits.get(name).copied().filter(|l| *l > 0);
        let pps = r.rx_pps.max(r.tx_pps);
        let line_pct = line.map(|l| pps / l as f64 * 100.0);
        let practical_pct = practical.map(|l| pps / l as f64 * 100.0);
        let lvl = level(line_pct, policy).max(level(practical_pct, policy));
        nics.push(NicLoad {
            name: name.clone(),
            kind: nic.kind.clone(),
            up: nic.up,
            speed_mbps: speed,
            line_rate_pps: line,
            practical_pps: practical,
            counters: nic.counters,
            rates: r,
            line_percent: line_pct,
            practical_percent: practical_pct,
            level: lvl,
            vips: roles.vips.get(name).cloned().unwrap_or_default(),
            to_realservers: roles.to_realservers.contains(name),
            idle: r.rx_pps + r.tx_pps < 0.5,
            master: nic.master.clone(),
        });
    }
    nics.sort_by(|a, b| {
        let role = |n: &NicLoad| !n.vips.is_empty() || n.to_realservers;
        role(b).cmp(&role(a)).then(a.name.cmp(&b.name))
    });
    let softirq = match (&prev.cpu, &cur.cpu) {
        (Some(a), Some(b)) => softirq_percent(a, b),
        _ => None,
    };
    let backlog_drops_ps = match (prev.backlog_drops, cur.backlog_drops) {
        (Some(a), Some(b)) if b >= a && secs > 0.0 => Some((b - a) as f64 / secs),
        _ => None,
    };
    DirectorLoad { interval_secs: secs, cpu_percent: cur.cpu_busy, softirq_percent: softirq, nics, backlog_drops_ps }
}

/// The first of the two readings a director load is measured between.
pub struct LoadWindow {
    start: std::time::Instant,
    sampler: Sampler,
    before: SysSample,
}

impl LoadWindow {
    /// Take the first reading of this host's interfaces and CPU.
    pub fn open() -> Self {
        let sampler = Sampler::new();
        LoadWindow { start: std::time::Instant::now(), before: sampler.sample(), sampler }
    }

    /// Wait until a second has passed since [`LoadWindow::open`], take the
    /// second reading, and compute the load, with the roles of `vips` and `rips`.
    pub fn close(self, policy: &NicPolicy, vips: &[IpAddr], rips: &[IpAddr]) -> DirectorLoad {
        std::thread::sleep(std::time::Duration::from_secs(1).saturating_sub(self.start.elapsed()));
        let after = self.sampler.sample();
        let secs = self.start.elapsed().as_secs_f64();
        let roles = find_roles(&after, vips, rips);
        compute(&self.before, &after, secs, policy, &roles)
    }
}

/// Which interfaces carry `vips` and which reach `rips` (route lookups only;
/// nothing is sent). At most 256 distinct realservers are looked up.
pub fn find_roles(sample: &SysSample, vips: &[IpAddr], rips: &[IpAddr]) -> Roles {
    let Ok(mut rt) = super::rtnl::Rtnl::connect() else { return Roles::default() };
    let by_index: BTreeMap<u32, String> = sample.nics.values().map(|n| (n.ifindex, n.name.clone())).collect();
    let mut roles = Roles::default();
    for a in rt.addresses().unwrap_or_default() {
        if vips.contains(&a.addr) {
            if let Some(name) = by_index.get(&a.ifindex) {
                roles.vips.entry(name.clone()).or_default().push(a.addr);
            }
        }
    }
    let mut seen = std::collections::BTreeSet::new();
    for rip in rips.iter().filter(|r| seen.insert(**r)).take(256) {
        if let Some(name) = rt.route_to(*rip).ok().and_then(|r| r.oif).and_then(|i| by_index.get(&i)) {
            if !roles.to_realservers.contains(name) {
                roles.to_realservers.push(name.clone());
            }
        }
    }
    roles
}

#[cfg(test)]
mod tests {
    use super::super::nic::{CpuTimes, Nic, NicCounters};
    use super::*;

    fn nic(name: &str, idx: u32, kind: NicKind, speed: Option<u64>, rx: u64) -> Nic {
        Nic {
            name: name.into(),
            ifindex: idx,
            up: true,
            kind,
            speed_mbps: speed,
            master: None,
            counters: NicCounters { rx_packets: rx, tx_packets: rx, ..Default::default() },
        }
    }

    fn sample(rx: u64) -> SysSample {
        let mut s = SysSample::default();
        for n in [
            nic("eth0", 2, NicKind::Device, Some(100), rx),
            nic("lo", 1, NicKind::Loopback, None, rx * 10),
            nic("veth9", 3, NicKind::Device, None, rx),
        ] {
            s.nics.insert(n.name.clone(), n);
        }
        s
    }

    #[test]
    fn thresholds_line_rate_and_practical_limits() {
        let mut policy = NicPolicy::default();
        // 110 000 pps on 100 Mb/s (148 809 line rate) = 73.9 %: warning.
        let load = compute(&sample(0), &sample(220_000), 2.0, &policy, &Roles::default());
        assert!(load.nics.iter().all(|n| n.name != "lo"), "loopback never counts");
        let eth0 = load.nics.iter().find(|n| n.name == "eth0").expect("eth0");
        assert_eq!(eth0.line_rate_pps, Some(148_809));
        assert_eq!(eth0.level, Level::Warning);
        let veth = load.nics.iter().find(|n| n.name == "veth9").expect("veth9");
        assert_eq!((veth.line_rate_pps, veth.level), (None, Level::Unknown));
        // A practical limit of 120 000 makes it critical; the unknown-speed one gets a limit too.
        policy.limits.insert("eth0".into(), 120_000);
        policy.limits.insert("veth9".into(), 1_000_000);
        let load = compute(&sample(0), &sample(220_000), 2.0, &policy, &Roles::default());
        let eth0 = load.nics.iter().find(|n| n.name == "eth0").expect("eth0");
        assert_eq!(eth0.level, Level::Critical);
        assert_eq!(load.worst().map(|n| n.name.as_str()), Some("eth0"));
        let veth = load.nics.iter().find(|n| n.name == "veth9").expect("veth9");
        assert_eq!(veth.level, Level::Ok);
    }

    #[test]
    fn cpu_use_is_the_samplers_and_the_softirq_share_comes_from_the_ticks() {
        let mut a = sample(0);
        a.cpu = Some(CpuTimes { total: 1000, softirq: 100 });
        a.cpu_busy = Some(99.0);
        let mut b = sample(0);
        b.cpu = Some(CpuTimes { total: 2000, softirq: 300 });
        b.cpu_busy = Some(42.5);
        let load = compute(&a, &b, 1.0, &NicPolicy::default(), &Roles::default());
        assert_eq!((load.cpu_percent, load.softirq_percent), (Some(42.5), Some(20.0)));
        b.cpu = None;
        b.cpu_busy = None;
        let load = compute(&a, &b, 1.0, &NicPolicy::default(), &Roles::default());
        assert_eq!((load.cpu_percent, load.softirq_percent), (None, None));
    }

    #[test]
    fn a_recreated_interface_starts_over() {
        let prev = sample(1_000_000);
        let mut cur = sample(10);
        if let Some(n) = cur.nics.get_mut("eth0") {
            n.ifindex = 7;
        }
        let load = compute(&prev, &cur, 1.0, &NicPolicy::default(), &Roles::default());
        for n in &load.nics {
            assert!(n.rates.rx_pps >= 0.0 && n.rates.tx_pps >= 0.0, "{n:?}");
        }
        let veth = load.nics.iter().find(|n| n.name == "veth9").expect("veth9");
        assert!(veth.rates.reset, "a counter that went backwards is flagged");
    }
}
