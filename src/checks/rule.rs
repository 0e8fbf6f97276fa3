//! The rule ids: `D-*` judged on the director, `P-*` on a pair of directors
//! (`lvstop check --director A --director B`), `R-*` on a realserver
//! (D-BYPASS, a director symptom, is seen in a realserver's sockets).

use std::fmt;

/// Declares [`Rule`] with its ids, in one list.
macro_rules! rules {
    ($($(#[$doc:meta])* $variant:ident => $id:literal,)*) => {
        /// A check rule.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Rule {
            $($(#[$doc])* $variant,)*
        }

        impl Rule {
            /// Every rule, director rules first.
            pub const ALL: &'static [Rule] = &[$(Rule::$variant,)*];

            /// The rule's id, e.g. `D-VIP-ABSENT`.
            pub fn id(self) -> &'static str {
                match self {
                    $(Rule::$variant => $id,)*
                }
            }
        }
    };
}

rules! {
    /// A service's VIP is not on the director.
    DVipAbsent => "D-VIP-ABSENT",
    /// The director will not answer ARP for a VIP.
    DVipNoAnswer => "D-VIP-NOANSWER",
    /// IP forwarding on, though DR and TUN do not need it.
    DFwdOn => "D-FWD-ON",
    /// A NAT realserver with forwarding off.
    DFwdNat => "D-FWD-NAT",
    /// A DR realserver off the director's segment, or unroutable.
    DRsOffLink => "D-RS-OFFLINK",
    /// A DR realserver without layer-2 reachability.
    DRsNeigh => "D-RS-NEIGH",
    /// A DR or tunnel destination port differs from the service's.
    DPortRemap => "D-PORT-REMAP",
    /// A destination with weight 0.
    DDrain => "D-DRAIN",
    /// A sh or mh service without its fallback flag, with a destination it cannot use.
    DSchedFallback => "D-SCHED-FALLBACK",
    /// Connection entries of a realserver removed from the table.
    DNoDest => "D-NODEST",
    /// conn_reuse_mode=0 on a kernel that no longer needs it.
    DConnReuse => "D-CONN-REUSE",
    /// A mh service without connection sync, sloppy_tcp off.
    DSloppy => "D-SLOPPY",
    /// Strict rp_filter on a VIP interface with clients routed elsewhere.
    DRpfAsym => "D-RPF-ASYM",
    /// accept_local with forwarding: the director as the realservers' gateway.
    DAcceptLocal => "D-ACCEPT-LOCAL",
    /// Martians are not logged.
    DMartianLog => "D-MARTIAN-LOG",
    /// The IPVS rate estimator is off.
    DEstimationOff => "D-ESTIMATION-OFF",
    /// Another host answers ARP for a VIP.
    DArpForeign => "D-ARP-FOREIGN",
    /// Another host sends ARP requests with a VIP as sender.
    DArpAnnounce => "D-ARP-ANNOUNCE",
    /// An interface near its packet limit.
    DLoad => "D-LOAD",
    /// Received packets dropped (NIC or CPU backlog).
    DNicDrops => "D-NIC-DROPS",
    /// A realserver that does not complete TCP handshakes.
    DHandshake => "D-HANDSHAKE",
    /// A SYN framed to a realserver as IPVS forwards it got no SYN-ACK.
    DDrPath => "D-DR-PATH",
    /// A director interface whose name lvstop will not place in a command.
    DIfName => "D-IFNAME",
    /// Clients reach a realserver without the director.
    DBypass => "D-BYPASS",
    /// Two directors' tables differ.
    PDrift => "P-DRIFT",
    /// A VIP held by more than one director.
    PVipSplit => "P-VIP-SPLIT",
    /// A VIP of the pair's services held by no director.
    PVipNone => "P-VIP-NONE",
    /// Connection sync on one director only.
    PSyncOneSided => "P-SYNC-ONESIDED",
    /// The backup's sync id differs from the master's.
    PSyncId => "P-SYNC-ID",
    /// The backup holds few of the master's connections.
    PSyncEmpty => "P-SYNC-EMPTY",
    /// The VIP is missing on a realserver.
    RVipAbsent => "R-VIP-ABSENT",
    /// The VIP is on an ARP-capable interface of a realserver.
    RVipArpDev => "R-VIP-ARPDEV",
    /// The VIP has a prefix shorter than a host's.
    RVipPrefix => "R-VIP-PREFIX",
    /// arp_ignore lets a realserver answer ARP for the VIP.
    RArpIgnore => "R-ARP-IGNORE",
    /// arp_ignore=8: a realserver answers no ARP at all.
    RArpIgnore8 => "R-ARP-IGNORE-8",
    /// arp_ignore silences an interface without IPv4.
    RArpUnnumbered => "R-ARP-UNNUMBERED",
    /// arp_announce lets a realserver send ARP from the VIP.
    RArpAnnounce => "R-ARP-ANNOUNCE",
    /// Strict rp_filter drops client packets from the director.
    RRpfStrict => "R-RPF-STRICT",
    /// rp_filter on tunl0 drops decapsulated packets.
    RRpfTun => "R-RPF-TUN",
    /// The rp_filter drop counter is rising.
    RRpfCounter => "R-RPF-COUNTER",
    /// A DR realserver reaches the director through a gateway.
    RL2 => "R-L2",
    /// A realserver's default route is the director.
    RGwDirector => "R-GW-DIRECTOR",
    /// Nothing listens on VIP:port.
    RListen => "R-LISTEN",
    /// IP forwarding on a realserver.
    RFwd => "R-FWD",
    /// The realserver could not be read.
    RUnreachable => "R-UNREACHABLE",
    /// The realserver answered, but not with what the script prints.
    RBadAnswer => "R-BAD-ANSWER",
}

impl Rule {
    /// Whether the finding says a realserver was not read (unreachable, or a
    /// bad answer): it is about access, not about the host's configuration.
    pub fn is_unread_host(self) -> bool {
        matches!(self, Rule::RUnreachable | Rule::RBadAnswer)
    }

    /// The rule's explanation (title, usual severity, what / why / fix).
    pub fn doc(self) -> Option<&'static super::explain::RuleDoc> {
        super::explain::doc(self.id())
    }

    /// The rule with id `id`, in any case.
    pub fn parse(id: &str) -> Option<Rule> {
        Rule::ALL.iter().copied().find(|r| r.id().eq_ignore_ascii_case(id.trim()))
    }
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

impl serde::Serialize for Rule {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(self.id())
    }
}

#[cfg(test)]
mod tests {
    use super::Rule;

    #[test]
    fn ids_are_unique_and_parse_back_in_any_case() {
        assert_eq!(Rule::ALL.len(), 46);
        let mut ids: Vec<&str> = Rule::ALL.iter().map(|r| r.id()).collect();
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), 46);
        for r in Rule::ALL {
            assert_eq!(Rule::parse(r.id()), Some(*r));
            assert_eq!(Rule::parse(&r.id().to_lowercase()), Some(*r));
        }
        assert_eq!(Rule::parse("d-vip-absent"), Some(Rule::DVipAbsent));
        assert_eq!(Rule::parse("R-ARP-IGNORE-8"), Some(Rule::RArpIgnore8));
        assert_eq!(Rule::parse("D-NOPE"), None);
        assert_eq!(serde_json::to_string(&Rule::RUnreachable).expect("json"), "\"R-UNREACHABLE\"");
    }
}
