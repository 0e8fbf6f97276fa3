//! The active ARP probe behind D-ARP-FOREIGN and D-ARP-ANNOUNCE: from the
//! director, ask "who has VIP" on the VIP's segment (sender address: the
//! director's own address on that interface, or 0.0.0.0 — never the VIP) and
//! note every MAC other than the director's that answers for the VIP or sends
//! ARP requests from it. The realservers' addresses are asked for in the same
//! window, to attribute MACs. Needs CAP_NET_RAW.

use std::collections::{BTreeMap, BTreeSet};
use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pnet_datalink::{Channel, Config};

/// A MAC address; prints as `aa:bb:cc:dd:ee:ff`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Mac(pub [u8; 6]);

impl std::fmt::Display for Mac {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let [a, b, c, d, e, g] = self.0;
        write!(f, "{a:02x}:{b:02x}:{c:02x}:{d:02x}:{e:02x}:{g:02x}")
    }
}

impl serde::Serialize for Mac {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

/// An ARP request frame (Ethernet broadcast) asking who has `target`.
pub fn request(own: Mac, sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&own.0);
    f.extend_from_slice(&[0x08, 0x06]); // ARP
    f.extend_from_slice(&[0, 1, 0x08, 0, 6, 4, 0, 1]); // Ethernet, IPv4, request
    f.extend_from_slice(&own.0);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// Parse an Ethernet frame as ARP: (op, sender MAC, sender IP, target IP).
pub fn parse(frame: &[u8]) -> Option<(u16, Mac, Ipv4Addr, Ipv4Addr)> {
    if frame.len() < 42 || frame[12..14] != [0x08, 0x06] || frame[14..20] != [0, 1, 0x08, 0, 6, 4] {
        return None;
    }
    let op = u16::from_be_bytes([frame[20], frame[21]]);
    let sha = Mac(frame[22..28].try_into().ok()?);
    let spa = Ipv4Addr::new(frame[28], frame[29], frame[30], frame[31]);
    let tpa = Ipv4Addr::new(frame[38], frame[39], frame[40], frame[41]);
    Some((op, sha, spa, tpa))
}

/// A packet socket: the interface's MAC and both ends.
pub type Socket = (Mac, Box<dyn pnet_datalink::DataLinkSender>, Box<dyn pnet_datalink::DataLinkReceiver>);

/// Open a packet socket on `iface`, reads waiting at most `read_timeout`.
/// CAP_NET_RAW is checked when it is opened, so it is raised only for that;
/// without it the error names `what` needs it and the fix.
pub fn open_socket(iface: &str, what: &str, read_timeout: Duration) -> Result<Socket, String> {
    let nic = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .ok_or_else(|| format!("interface '{iface}' not found"))?;
    let own = nic.mac.map(|m| Mac(m.octets())).ok_or_else(|| format!("interface '{iface}' has no MAC address"))?;
    let cfg = Config { read_timeout: Some(read_timeout), promiscuous: false, ..Config::default() };
    match super::privilege::with_net_raw(|| pnet_datalink::channel(&nic, cfg)) {
        Ok(Channel::Ethernet(tx, rx)) => Ok((own, tx, rx)),
        Ok(_) => Err("unsupported channel type".into()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => Err(format!(
            "{what} needs CAP_NET_RAW ({e}): run lvstop with sudo, or `sudo setcap cap_net_admin,cap_net_raw+ep $(command -v lvstop)`"
        )),
        Err(e) => Err(format!("cannot open a packet socket on {iface}: {e}")),
    }
}

/// What a probe heard.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProbeResult {
    /// The director's MAC on the interface.
    pub own: Option<Mac>,
    /// MACs that answered for the VIP (ARP replies with the VIP as sender).
    pub vip_answers: BTreeSet<Mac>,
    /// MACs that sent ARP requests with the VIP as their sender address.
    pub vip_announcers: BTreeSet<Mac>,
    /// MAC → addresses it answered for (from the realserver queries).
    pub who: BTreeMap<Mac, BTreeSet<Ipv4Addr>>,
}

/// Probe the VIPs on interface `iface` in one listening window: each
/// `(vip, sender)` is asked for with its own sender address, and `others`
/// (realservers) too, `rounds` times, listening `window` after each; then
/// listening goes on passively until `listen` has passed since the start.
/// What was heard, by VIP (the MACs that answered for the realservers are
/// shared by all).
pub fn probe(
    iface: &str,
    vips: &[(Ipv4Addr, Ipv4Addr)],
    others: &[Ipv4Addr],
    rounds: u32,
    window: Duration,
    listen: Duration,
) -> Result<BTreeMap<Ipv4Addr, ProbeResult>, String> {
    let start = Instant::now();
    let (own, mut tx, mut rx) = open_socket(iface, "the ARP probe", Duration::from_millis(50))?;
    let mut heard: BTreeMap<Ipv4Addr, ProbeResult> =
        vips.iter().map(|(vip, _)| (*vip, ProbeResult { own: Some(own), ..ProbeResult::default() })).collect();
    let mut who: BTreeMap<Mac, BTreeSet<Ipv4Addr>> = BTreeMap::new();
    let sender_of_others = vips.first().map_or(Ipv4Addr::UNSPECIFIED, |(_, s)| *s);
    let asks = vips.iter().copied().chain(others.iter().map(|o| (*o, sender_of_others)));
    let asks: Vec<(Ipv4Addr, Ipv4Addr)> = asks.collect();
    for round in 0..rounds {
        for (target, sender) in &asks {
            match tx.send_to(&request(own, *sender, *target), None) {
                Some(Ok(())) | None => {}
                Some(Err(e)) => return Err(format!("cannot send an ARP request on {iface}: {e}")),
            }
        }
        let mut deadline = Instant::now() + window;
        if round + 1 == rounds {
            deadline = deadline.max(start + listen);
        }
        while Instant::now() < deadline {
            let Ok(frame) = rx.next() else { continue };
            let Some((op, sha, spa, _)) = parse(frame) else { continue };
            if sha == own || !(op == 1 || op == 2) {
                continue;
            }
            match heard.get_mut(&spa) {
                Some(r) if op == 2 => {
                    r.vip_answers.insert(sha);
                }
                Some(r) => {
                    r.vip_announcers.insert(sha);
                }
                None if op == 2 => {
                    who.entry(sha).or_default().insert(spa);
                }
                None => {}
            }
        }
    }
    for r in heard.values_mut() {
        r.who.clone_from(&who);
    }
    Ok(heard)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn request_round_trips() {
        let own = Mac([2, 0, 0, 0, 0, 1]);
        let f = request(own, Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(198, 51, 100, 100));
        assert_eq!(f.len(), 42);
        assert_eq!(parse(&f), Some((1, own, Ipv4Addr::new(198, 51, 100, 1), Ipv4Addr::new(198, 51, 100, 100))));
        assert_eq!(parse(&f[..30]), None);
        assert_eq!(own.to_string(), "02:00:00:00:00:01");
    }
}
