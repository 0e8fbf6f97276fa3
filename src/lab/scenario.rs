//! What `lvstop lab` builds inside the VM: the plan (realservers, services,
//! IPv6, traffic rate, practice scenarios), the guest script that builds it,
//! the lvstop configuration the console uses there, and the IPVS services,
//! which lvstop creates itself over netlink (the lab needs no ipvsadm).

use std::fmt::Write as _;
use std::net::{IpAddr, SocketAddr};

use serde::{Deserialize, Serialize};

use super::topology::{rip, rip6, setup_script, Topology, VIP, VIP6};
use super::traffic::ClientPlan;
use crate::model::{DestSpec, ForwardMethod, ServiceKey, ServiceSpec};

/// An incident to practise.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum Scenario {
    /// One realserver answers ARP for the VIP (no arp_ignore/arp_announce).
    ArpProblem,
    /// Strict rp_filter on a realserver whose route to the clients leaves by another interface.
    RpFilter,
    /// Client packets/s near the director's configured practical limit.
    Overload,
    /// A realserver stops answering (its VIP is gone); its connections pile up as inactive.
    DeadRealserver,
    /// Long-lived connections, to practise draining a realserver until it is safe to remove.
    Drain,
}

impl Scenario {
    /// The flag value.
    pub fn name(self) -> &'static str {
        match self {
            Scenario::ArpProblem => "arp-problem",
            Scenario::RpFilter => "rp-filter",
            Scenario::Overload => "overload",
            Scenario::DeadRealserver => "dead-realserver",
            Scenario::Drain => "drain",
        }
    }

    /// Scenarios that take a realserver of their own, in the order they get one.
    const WITH_REALSERVER: [Scenario; 3] = [Scenario::RpFilter, Scenario::DeadRealserver, Scenario::ArpProblem];
}

/// The practical packets/s limit the lab configures for the director's LAN
/// interface, so its load gauge means something (a virtual NIC has no speed).
pub const LAB_LIMIT_PPS: u64 = 2000;

/// Long-lived connections held open in the drain scenario.
pub const HOLD_CONNECTIONS: usize = 40;

/// What to build.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LabPlan {
    /// Realservers (1-50).
    pub realservers: u8,
    /// IPv4 TCP services (1-20): port 80, then 8001, 8002…
    pub services: u8,
    /// IPv6 addresses and an IPv6 twin of the port-80 service.
    pub ipv6: bool,
    /// Mean client requests per second (they vary ±50% over two minutes).
    pub rate: f64,
    /// Scenarios, each at most once.
    pub scenarios: Vec<Scenario>,
}

impl LabPlan {
    /// A plan; raises the realserver count when the scenarios need more (one
    /// realserver per scenario that breaks one, plus a healthy one), and says so.
    pub fn new(
        realservers: u8,
        services: u8,
        ipv6: bool,
        rate: f64,
        mut scenarios: Vec<Scenario>,
    ) -> (Self, Option<String>) {
        scenarios.sort();
        scenarios.dedup();
        let needed = scenarios.iter().filter(|s| Scenario::WITH_REALSERVER.contains(s)).count() as u8 + 1;
        let note = (realservers < needed).then(|| {
            format!("the scenarios chosen need {needed} realservers (one each, plus a healthy one): using {needed}")
        });
        (LabPlan { realservers: realservers.max(needed), services, ipv6, rate, scenarios }, note)
    }

    /// Whether `s` is in the plan.
    pub fn has(&self, s: Scenario) -> bool {
        self.scenarios.contains(&s)
    }

    /// The realserver (1-based) a scenario breaks, if it breaks one.
    pub fn victim(&self, s: Scenario) -> Option<u8> {
        if !self.has(s) {
            return None;
        }
        Scenario::WITH_REALSERVER.iter().filter(|x| self.has(**x)).position(|x| *x == s).map(|i| i as u8 + 1)
    }

    /// The TCP service ports.
    pub fn ports(&self) -> Vec<u16> {
        (0..u16::from(self.services.max(1))).map(|k| if k == 0 { 80 } else { 8000 + k }).collect()
    }

    /// The network the VM builds.
    pub fn topology(&self) -> Topology {
        Topology {
            realservers: self.realservers,
            ipv6: self.ipv6,
            arp_problem: self.victim(Scenario::ArpProblem).into_iter().collect(),
            router: true,
            rp_strict: self.victim(Scenario::RpFilter).into_iter().collect(),
            httpd: false,
        }
    }

    /// The services lvstop creates in the lab.
    pub fn services_to_create(&self) -> Vec<(ServiceSpec, Vec<DestSpec>)> {
        let mut out = Vec::new();
        let v4 = IpAddr::V4(VIP);
        for (k, port) in self.ports().into_iter().enumerate() {
            let sched = if k == 0 { "wlc" } else { "rr" };
            let dests = (1..=self.realservers)
                .map(|i| DestSpec::new(IpAddr::V4(rip(i)), port, ForwardMethod::Route).weight(u32::from(i % 3) + 1))
                .collect();
            out.push((ServiceSpec::new(ServiceKey::tcp(v4, port), sched), dests));
        }
        if self.ipv6 {
            let dests = (1..=self.realservers)
                .map(|i| DestSpec::new(IpAddr::V6(rip6(i)), 80, ForwardMethod::Route).weight(1))
                .collect();
            out.push((ServiceSpec::new(ServiceKey::tcp(IpAddr::V6(VIP6), 80), "rr"), dests));
        }
        if self.has(Scenario::Overload) {
            let dests = (1..=self.realservers)
                .map(|i| DestSpec::new(IpAddr::V4(rip(i)), 53, ForwardMethod::Route).weight(1))
                .collect();
            out.push((ServiceSpec::new(ServiceKey::udp(v4, 53), "rr"), dests));
        }
        out
    }

    /// The traffic the clients' network sends (IPv4, through the router).
    pub fn wan_traffic(&self) -> ClientPlan {
        ClientPlan {
            http: self.ports().into_iter().map(|p| SocketAddr::new(IpAddr::V4(VIP), p)).collect(),
            rate: self.rate,
            hold: self.has(Scenario::Drain).then(|| (SocketAddr::new(IpAddr::V4(VIP), 80), HOLD_CONNECTIONS)),
            udp: self
                .has(Scenario::Overload)
                .then(|| (SocketAddr::new(IpAddr::V4(VIP), 53), LAB_LIMIT_PPS as f64 * 0.95 - self.rate * 10.0)),
        }
    }

    /// The traffic of the on-link IPv6 client (a tenth of the rate).
    pub fn v6_traffic(&self) -> Option<ClientPlan> {
        self.ipv6.then(|| ClientPlan {
            http: vec![SocketAddr::new(IpAddr::V6(VIP6), 80)],
            rate: (self.rate / 10.0).max(0.5),
            ..ClientPlan::default()
        })
    }

    /// The lvstop configuration used inside the lab.
    pub fn config_toml(&self, ssh_dir: &str) -> String {
        format!(
            "# Written by lvstop lab.\ncheck-interval = 60.0\n\n[nic.limits]\nbr0 = {LAB_LIMIT_PPS}\n\n[ssh]\nuser = \"root\"\n\
             identity-file = \"{ssh_dir}/client\"\nknown-hosts = \"{ssh_dir}/known_hosts\"\nconnect-timeout = 20\ntimeout = 45\n"
        )
    }

    /// The guest script: build the network, start the realservers' servers and
    /// sshd, create the services, start the traffic, break what the scenarios
    /// break, then run `command` (the console, or `--run`). `$LVSTOP_BIN` is lvstop.
    pub fn guest_script(&self, command: &str) -> String {
        let t = self.topology();
        let mut s = String::new();
        let say = |s: &mut String, m: &str| {
            let _ = writeln!(s, "echo 'lvstop lab: {m}' >&2");
        };
        let scen: Vec<&str> = self.scenarios.iter().map(|x| x.name()).collect();
        say(
            &mut s,
            &format!(
                "building the LVS-DR: director, {} realservers, router, clients{}{}",
                self.realservers,
                if self.ipv6 { ", IPv6" } else { "" },
                if scen.is_empty() { String::new() } else { format!("; scenarios: {}", scen.join(", ")) }
            ),
        );
        s.push_str("L=/tmp/lab; mkdir -p $L; dmesg -n 1 2>/dev/null || true\n");
        s.push_str("printf '%s\\n' \"$LVSTOP_LAB_PLAN\" > $L/plan.json\n");
        // A script of its own, run by `sh -e`: inside `( … ) || …` the shell would ignore `set -e`.
        let _ = writeln!(s, "cat > $L/setup.sh <<'LVSTOP_SETUP'\n{}LVSTOP_SETUP", setup_script(&t));
        s.push_str("sh -e $L/setup.sh >$L/setup.log 2>&1 || { echo 'lvstop lab: building the network failed:' >&2; cat $L/setup.log >&2; exit 1; }\n");
        let ports: Vec<String> = self.ports().iter().map(ToString::to_string).collect();
        let udp = if self.has(Scenario::Overload) { " --udp-ports 53" } else { "" };
        for i in 1..=self.realservers {
            let _ = writeln!(
                s,
                "LAB_NAME=rs{i} ip netns exec rs{i} \"$LVSTOP_BIN\" lab-guest serve --ports {}{udp} >$L/serve{i}.log 2>&1 &",
                ports.join(",")
            );
        }
        // sshd in every realserver, for the realserver checks (when the host has OpenSSH).
        s.push_str(
            "if [ -x /usr/sbin/sshd ] && command -v ssh-keygen >/dev/null; then\n  mkdir -p $L/ssh /run/sshd && \
             ssh-keygen -q -t ed25519 -N '' -f $L/ssh/client && cp $L/ssh/client.pub $L/ssh/authorized_keys && : > $L/ssh/known_hosts\n",
        );
        for i in 1..=self.realservers {
            let r = rip(i);
            let _ = writeln!(
                s,
                "  ssh-keygen -q -t ed25519 -N '' -f $L/ssh/host{i} && printf 'ListenAddress {r}\\nHostKey %s\\nPidFile %s\\n\
                 AuthorizedKeysFile %s\\nPermitRootLogin prohibit-password\\nPasswordAuthentication no\\nKbdInteractiveAuthentication no\\n\
                 UsePAM no\\nStrictModes no\\n' $L/ssh/host{i} $L/ssh/sshd{i}.pid $L/ssh/authorized_keys > $L/ssh/sshd{i}.conf && \
                 ip netns exec rs{i} /usr/sbin/sshd -f $L/ssh/sshd{i}.conf && echo \"{r} $(cut -d' ' -f1,2 $L/ssh/host{i}.pub)\" >> $L/ssh/known_hosts \\\n    || echo 'lvstop lab: sshd did not start on rs{i}: its realserver checks will say unreachable' >&2"
            );
        }
        s.push_str("else echo 'lvstop lab: no OpenSSH server on this host: the realserver checks will say unreachable' >&2; fi\n");
        let _ = writeln!(s, "cat > $L/lvstop.toml <<'LVSTOP_EOF'\n{}LVSTOP_EOF", self.config_toml("/tmp/lab/ssh"));
        s.push_str("export LVSTOP_CONFIG=$L/lvstop.toml\n");
        s.push_str("\"$LVSTOP_BIN\" lab-guest services --plan $L/plan.json || exit 1\n");
        if let Some(i) = self.victim(Scenario::DeadRealserver) {
            // The realserver stops answering: its VIP is gone, so it drops every
            // client packet silently (forwarding is off) while the host stays up.
            let _ = writeln!(s, "ip netns exec rs{i} ip addr del {VIP}/32 dev lo || exit 1");
            if self.ipv6 {
                let _ = writeln!(s, "ip netns exec rs{i} ip addr del {VIP6}/128 dev lo || exit 1");
            }
        }
        say(&mut s, "starting client traffic");
        let _ = writeln!(
            s,
            "ip netns exec wan \"$LVSTOP_BIN\" lab-guest client --plan $L/plan.json --from wan >$L/client.log 2>&1 &"
        );
        if self.ipv6 {
            let _ = writeln!(
                s,
                "ip netns exec client \"$LVSTOP_BIN\" lab-guest client --plan $L/plan.json --from v6 >$L/client6.log 2>&1 &"
            );
        }
        let _ = writeln!(s, "sleep 2\n{command}");
        s
    }
}

/// Create the plan's services (inside the lab, over netlink).
pub fn create_services(plan: &LabPlan) -> Result<(), crate::ipvs::IpvsError> {
    let mut nl = crate::ipvs::NetlinkIpvs::connect()?;
    for (svc, dests) in plan.services_to_create() {
        nl.add_service(&svc)?;
        for d in &dests {
            nl.add_dest(&svc.key, d)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scenarios_get_their_own_realserver_and_the_count_is_raised() {
        let all = vec![
            Scenario::Drain,
            Scenario::ArpProblem,
            Scenario::Overload,
            Scenario::RpFilter,
            Scenario::DeadRealserver,
            Scenario::Drain,
        ];
        let (p, note) = LabPlan::new(3, 2, true, 20.0, all);
        assert_eq!(p.realservers, 4);
        assert!(note.expect("a note").contains("need 4 realservers"));
        assert_eq!(p.scenarios.len(), 5);
        assert_eq!(
            (p.victim(Scenario::RpFilter), p.victim(Scenario::DeadRealserver), p.victim(Scenario::ArpProblem)),
            (Some(1), Some(2), Some(3))
        );
        let t = p.topology();
        assert_eq!((t.arp_problem, t.rp_strict), (vec![3], vec![1]));
        // 2 TCP services, the IPv6 twin and the UDP service of the overload.
        let svcs = p.services_to_create();
        assert_eq!(svcs.len(), 4);
        assert_eq!(p.ports(), vec![80, 8001]);
        assert!(svcs.iter().all(|(_, d)| d.len() == 4));
        let w = p.wan_traffic();
        assert_eq!(w.hold.map(|h| h.1), Some(HOLD_CONNECTIONS));
        assert!(w.udp.is_some_and(|(_, pps)| pps > 1000.0));
        let (p, note) = LabPlan::new(3, 1, false, 20.0, vec![Scenario::ArpProblem]);
        assert_eq!((p.realservers, note), (3, None));
        assert_eq!(p.victim(Scenario::ArpProblem), Some(1));
        assert!(p.v6_traffic().is_none());
    }

    #[test]
    fn the_guest_script_builds_serves_and_breaks_what_it_should() {
        let (p, _) = LabPlan::new(3, 1, true, 20.0, vec![Scenario::DeadRealserver]);
        let s = p.guest_script("\"$LVSTOP_BIN\"");
        assert!(s.contains("ip netns exec rs1 ip addr del 198.51.100.100/32 dev lo || exit 1"), "{s}");
        assert!(s.contains("sh -e $L/setup.sh"), "{s}");
        let setup = s.split("<<'LVSTOP_SETUP'").nth(1).and_then(|r| r.split("\nLVSTOP_SETUP").next()).expect("setup");
        assert!(setup.starts_with("\nset -e") && !setup.contains(" && "), "one command per line: {setup}");
        assert!(s.contains("lab-guest services --plan"));
        assert!(s.contains("lab-guest client --plan $L/plan.json --from wan"));
        assert!(s.contains("br0 = 2000"));
        assert!(s.ends_with("\"$LVSTOP_BIN\"\n"));
    }
}
