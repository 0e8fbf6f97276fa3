//! The DR path probe behind D-DR-PATH: from the director, one TCP SYN to
//! VIP:PORT from the director's own address on the realserver's segment,
//! framed to the realserver's MAC exactly as IPVS forwards a client's packet
//! in direct routing, and the answer captured on a packet socket: a SYN-ACK
//! from VIP:PORT proves the realserver accepts packets for the VIP and serves
//! the port (the half-open connection is then reset); a RST, an ICMP error or
//! silence names what is wrong. Only to realservers of the IPVS table (or
//! named with `--realserver`), one SYN each per run (and a second one to
//! those silent after the wait, as TCP retransmits), paced. Needs CAP_NET_RAW.
//!
//! The director's kernel drops the realserver's answer (its source, the VIP,
//! is one of the director's own addresses), so nothing else sees it: the
//! packet socket reads it before IP does.

use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::{Duration, Instant};

use super::arp::Mac;

/// One realserver of one service to probe (the addresses of one family).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathTarget {
    /// The realserver.
    pub rip: IpAddr,
    /// Its MAC on the segment.
    pub mac: Mac,
    /// The service's virtual address.
    pub vip: IpAddr,
    /// The service's port.
    pub port: u16,
}

/// What came back for a SYN.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PathAnswer {
    /// A SYN-ACK from VIP:PORT: the realserver holds the VIP and serves the port.
    Accepted,
    /// A RST from VIP:PORT: it holds the VIP, but nothing listens on the port
    /// (or a firewall rejects with a reset).
    Reset,
    /// An ICMP (ICMPv6) destination-unreachable about the SYN, from this
    /// address, with this code.
    Unreachable {
        /// Who sent it.
        from: IpAddr,
        /// The code (ICMP: 3 port, 9/10/13 administratively prohibited;
        /// ICMPv6: 4 port, 1 administratively prohibited).
        code: u8,
    },
    /// Nothing within the wait.
    Silent,
}

/// The first source port the probe uses: above Linux's default ephemeral
/// range (32768-60999), so that no connection of the director's own is hit.
const PORT_BASE: u16 = 61000;

/// The most realservers probed in one run.
pub const MAX_TARGETS: usize = 512;

/// The gap between two SYNs (at most 500 a second).
const PACE: Duration = Duration::from_millis(2);

fn sum16(data: &[u8], mut acc: u32) -> u32 {
    let mut chunks = data.chunks_exact(2);
    for c in &mut chunks {
        acc += u32::from(u16::from_be_bytes([c[0], c[1]]));
    }
    if let [last] = chunks.remainder() {
        acc += u32::from(*last) << 8;
    }
    acc
}

fn fold(mut acc: u32) -> u16 {
    while acc > 0xffff {
        acc = (acc & 0xffff) + (acc >> 16);
    }
    !(acc as u16)
}

/// An Ethernet frame carrying a TCP segment (IPv4 or IPv6: `src` and `dst`
/// of one family) with `flags` (SYN 0x02, RST 0x04), sequence `seq`, no
/// payload; a SYN carries an MSS option.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: IpAddr,
    dst: IpAddr,
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
) -> Vec<u8> {
    let options: &[u8] = if flags & 0x02 != 0 { &[2, 4, 0x05, 0xb4] } else { &[] };
    let tcp_len = 20 + options.len();
    let mut tcp = vec![0u8; tcp_len];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = ((tcp_len / 4) as u8) << 4;
    tcp[13] = flags;
    let window: u16 = if flags & 0x02 != 0 { 64240 } else { 0 };
    tcp[14..16].copy_from_slice(&window.to_be_bytes());
    tcp[20..].copy_from_slice(options);
    let mut f = Vec::with_capacity(14 + 40 + tcp_len);
    f.extend_from_slice(&dst_mac.0);
    f.extend_from_slice(&src_mac.0);
    match (src, dst) {
        (IpAddr::V4(src), IpAddr::V4(dst)) => {
            f.extend_from_slice(&[0x08, 0x00]);
            f.extend_from_slice(&ipv4_header(src, dst, 6, tcp_len, seq as u16));
            let c = fold(sum16(&tcp, pseudo_sum(&src.octets(), &dst.octets(), 6, tcp_len)));
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
        }
        (IpAddr::V6(src), IpAddr::V6(dst)) => {
            f.extend_from_slice(&[0x86, 0xdd]);
            f.extend_from_slice(&ipv6_header(src, dst, 6, tcp_len, 64));
            let c = fold(sum16(&tcp, pseudo_sum(&src.octets(), &dst.octets(), 6, tcp_len)));
            tcp[16..18].copy_from_slice(&c.to_be_bytes());
        }
        // Addresses of two families make no packet.
        _ => return Vec::new(),
    }
    f.extend_from_slice(&tcp);
    f
}

/// An IPv4 header without options: DF, TTL 64.
fn ipv4_header(src: Ipv4Addr, dst: Ipv4Addr, proto: u8, payload: usize, id: u16) -> [u8; 20] {
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&((20 + payload) as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&id.to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = proto;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = fold(sum16(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    ip
}

/// An IPv6 header without extension headers.
fn ipv6_header(src: Ipv6Addr, dst: Ipv6Addr, next: u8, payload: usize, hops: u8) -> [u8; 40] {
    let mut ip = [0u8; 40];
    ip[0] = 0x60;
    ip[4..6].copy_from_slice(&(payload as u16).to_be_bytes());
    ip[6] = next;
    ip[7] = hops;
    ip[8..24].copy_from_slice(&src.octets());
    ip[24..40].copy_from_slice(&dst.octets());
    ip
}

/// The checksum sum of the pseudo-header of either family (4- or 16-byte addresses).
fn pseudo_sum(src: &[u8], dst: &[u8], proto: u8, len: usize) -> u32 {
    let mut acc = sum16(src, sum16(dst, 0));
    acc += u32::from(proto);
    acc += (len as u32) >> 16;
    acc += (len as u32) & 0xffff;
    acc
}

/// A neighbour solicitation for `target` from `src` (the director's address on
/// the segment), to the target's solicited-node multicast group: how the
/// probe learns an IPv6 realserver's MAC, as the ARP probe asks an IPv4 one's.
pub fn neighbour_solicitation(own: Mac, src: Ipv6Addr, target: Ipv6Addr) -> Vec<u8> {
    let t = target.octets();
    let group = Ipv6Addr::new(0xff02, 0, 0, 0, 0, 1, 0xff00 | u16::from(t[13]), u16::from_be_bytes([t[14], t[15]]));
    let mut icmp = vec![135u8, 0, 0, 0, 0, 0, 0, 0];
    icmp.extend_from_slice(&t);
    icmp.extend_from_slice(&[1, 1]);
    icmp.extend_from_slice(&own.0);
    let c = fold(sum16(&icmp, pseudo_sum(&src.octets(), &group.octets(), 58, icmp.len())));
    icmp[2..4].copy_from_slice(&c.to_be_bytes());
    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    f.extend_from_slice(&[0x33, 0x33, 0xff, t[13], t[14], t[15]]);
    f.extend_from_slice(&own.0);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&ipv6_header(src, group, 58, icmp.len(), 255));
    f.extend_from_slice(&icmp);
    f
}

/// A neighbour advertisement: the address it is for, and the MAC it came from.
pub fn parse_advert(frame: &[u8]) -> Option<(Ipv6Addr, Mac)> {
    let ip = frame.get(14..)?;
    if frame.get(12..14)? != [0x86, 0xdd] || ip.len() < 40 + 24 || ip[6] != 58 || ip[40] != 136 {
        return None;
    }
    let target: [u8; 16] = ip[48..64].try_into().ok()?;
    Some((Ipv6Addr::from(target), Mac(frame[6..12].try_into().ok()?)))
}

/// What a captured frame says about a probe: which probe it answers, by
/// (VIP, port, our source port), the answer, and for a SYN-ACK the
/// sequence number the reset must carry (the SYN-ACK's acknowledgement).
pub fn parse_answer(frame: &[u8], dip: IpAddr) -> Option<((IpAddr, u16, u16), PathAnswer, u32)> {
    let ip = frame.get(14..)?;
    let (src, dst, proto, l4): (IpAddr, IpAddr, u8, &[u8]) = match frame.get(12..14)? {
        [0x08, 0x00] if ip.len() >= 20 && ip[0] >> 4 == 4 => {
            let ihl = usize::from(ip[0] & 0x0f) * 4;
            if ihl < 20 {
                return None;
            }
            let a = |o: usize| IpAddr::V4(Ipv4Addr::new(ip[o], ip[o + 1], ip[o + 2], ip[o + 3]));
            (a(12), a(16), ip[9], ip.get(ihl..)?)
        }
        [0x86, 0xdd] if ip.len() >= 40 && ip[0] >> 4 == 6 => {
            let a = |o: usize| -> Option<IpAddr> {
                Some(IpAddr::V6(Ipv6Addr::from(<[u8; 16]>::try_from(&ip[o..o + 16]).ok()?)))
            };
            (a(8)?, a(24)?, ip[6], &ip[40..])
        }
        _ => return None,
    };
    if dst != dip {
        return None;
    }
    match proto {
        6 => {
            let tcp = l4.get(..20)?;
            let (sport, dport) = (u16::from_be_bytes([tcp[0], tcp[1]]), u16::from_be_bytes([tcp[2], tcp[3]]));
            let ack = u32::from_be_bytes([tcp[8], tcp[9], tcp[10], tcp[11]]);
            let flags = tcp[13];
            let answer = if flags & 0x04 != 0 {
                PathAnswer::Reset
            } else if flags & 0x12 == 0x12 {
                PathAnswer::Accepted
            } else {
                return None;
            };
            Some(((src, sport, dport), answer, ack))
        }
        // Destination unreachable, quoting our SYN: its IP header and the first bytes of TCP.
        1 | 58 => {
            let (kind, code) = (*l4.first()?, *l4.get(1)?);
            let inner = l4.get(8..)?;
            let (vip, t) = match (proto, kind) {
                (1, 3) => {
                    let ihl = usize::from(*inner.first()? & 0x0f) * 4;
                    if ihl < 20
                        || inner.len() < ihl + 4
                        || inner[9] != 6
                        || IpAddr::from(<[u8; 4]>::try_from(&inner[12..16]).ok()?) != dip
                    {
                        return None;
                    }
                    (IpAddr::from(<[u8; 4]>::try_from(&inner[16..20]).ok()?), &inner[ihl..])
                }
                (58, 1) => {
                    if inner.len() < 44
                        || inner[6] != 6
                        || IpAddr::from(<[u8; 16]>::try_from(&inner[8..24]).ok()?) != dip
                    {
                        return None;
                    }
                    (IpAddr::from(<[u8; 16]>::try_from(&inner[24..40]).ok()?), &inner[40..])
                }
                _ => return None,
            };
            let (sport, dport) = (u16::from_be_bytes([t[0], t[1]]), u16::from_be_bytes([t[2], t[3]]));
            Some(((vip, dport, sport), PathAnswer::Unreachable { from: src, code }, 0))
        }
        _ => None,
    }
}

/// Open a packet socket on `iface` for the probe.
fn open(iface: &str) -> Result<super::arp::Socket, String> {
    super::arp::open_socket(iface, "the DR path probe", Duration::from_millis(20))
}

/// Ask the MACs of IPv6 realservers on `iface` (neighbour solicitations from
/// `src`), listening `wait`: the MAC that advertised each.
pub fn solicit(
    iface: &str,
    src: Ipv6Addr,
    targets: &[Ipv6Addr],
    wait: Duration,
) -> Result<BTreeMap<Ipv6Addr, Mac>, String> {
    let (own, mut tx, mut rx) = open(iface)?;
    for t in targets.iter().take(MAX_TARGETS) {
        if let Some(Err(e)) = tx.send_to(&neighbour_solicitation(own, src, *t), None) {
            return Err(format!("cannot send a neighbour solicitation on {iface}: {e}"));
        }
        std::thread::sleep(PACE);
    }
    let mut found = BTreeMap::new();
    let deadline = Instant::now() + wait;
    while Instant::now() < deadline && found.len() < targets.len() {
        if let Ok(frame) = rx.next() {
            if let Some((addr, mac)) = parse_advert(frame).filter(|(a, m)| targets.contains(a) && *m != own) {
                found.insert(addr, mac);
            }
        }
    }
    Ok(found)
}

/// Probe `targets` (at most [`MAX_TARGETS`]) on interface `iface` from the
/// director's address `dip` there (of the targets' family): one SYN each,
/// paced, then listen until every one has answered or `wait` has passed since
/// the last SYN; as TCP retransmits a SYN, those still silent get a second
/// one (from the same port: a late answer to the first counts) and another
/// `wait`. Each SYN-ACK is answered with a RST. The answers, in `targets` order.
pub fn probe(iface: &str, dip: IpAddr, targets: &[PathTarget], wait: Duration) -> Result<Vec<PathAnswer>, String> {
    let targets = &targets[..targets.len().min(MAX_TARGETS)];
    let (own, mut tx, mut rx) = open(iface)?;
    let base = PORT_BASE + fastrand::u16(0..(65535 - PORT_BASE - MAX_TARGETS as u16));
    let mut got = Got { answers: vec![PathAnswer::Silent; targets.len()], answered: vec![false; targets.len()] };
    // One sequence number per target: the second SYN is a retransmission of
    // the first, which a realserver that half-opened on the first answers
    // with its SYN-ACK again (another would get a bare ACK, or a RST).
    let isn: Vec<u32> = targets.iter().map(|_| fastrand::u32(..)).collect();
    for round in 0..2 {
        for (i, t) in targets.iter().enumerate() {
            if got.answered[i] {
                continue;
            }
            let sport = base + i as u16;
            let syn = tcp_frame(own, t.mac, dip, t.vip, sport, t.port, isn[i], 0x02);
            match tx.send_to(&syn, None) {
                Some(Ok(())) | None => {}
                Some(Err(e)) if round == 0 => return Err(format!("cannot send a SYN on {iface}: {e}")),
                // The first round's answers stand; the rest stay silent.
                Some(Err(_)) => return Ok(got.answers),
            }
            // Paced: read what has come while waiting.
            let until = Instant::now() + PACE;
            while Instant::now() < until {
                if let Ok(frame) = rx.next() {
                    got.take(frame, dip, base, targets, own, &mut *tx);
                }
            }
        }
        let deadline = Instant::now() + wait;
        while Instant::now() < deadline && got.answered.iter().any(|a| !a) {
            if let Ok(frame) = rx.next() {
                got.take(frame, dip, base, targets, own, &mut *tx);
            }
        }
        if got.answered.iter().all(|a| *a) {
            break;
        }
    }
    Ok(got.answers)
}

/// The answers so far.
struct Got {
    answers: Vec<PathAnswer>,
    answered: Vec<bool>,
}

impl Got {
    /// Note what `frame` answers (the first answer of each probe counts) and
    /// reset a connection a SYN-ACK half-opened.
    fn take(
        &mut self,
        frame: &[u8],
        dip: IpAddr,
        base: u16,
        targets: &[PathTarget],
        own: Mac,
        tx: &mut dyn pnet_datalink::DataLinkSender,
    ) {
        let Some(((vip, port, sport), answer, ack)) = parse_answer(frame, dip) else { return };
        let Some(i) = sport.checked_sub(base).map(usize::from) else { return };
        let Some(t) = targets.get(i).filter(|t| t.vip == vip && t.port == port) else { return };
        if self.answered[i] {
            return;
        }
        self.answered[i] = true;
        self.answers[i] = answer;
        if answer == PathAnswer::Accepted {
            let _ = tx.send_to(&tcp_frame(own, t.mac, dip, t.vip, sport, t.port, ack, 0x04), None);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const DIP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 1));
    const VIP: IpAddr = IpAddr::V4(Ipv4Addr::new(198, 51, 100, 100));

    /// The one's complement sum of a segment with its pseudo-header verifies (is 0).
    fn verifies(src: IpAddr, dst: IpAddr, proto: u8, seg: &[u8]) -> bool {
        let o = |a: IpAddr| match a {
            IpAddr::V4(a) => a.octets().to_vec(),
            IpAddr::V6(a) => a.octets().to_vec(),
        };
        fold(sum16(seg, pseudo_sum(&o(src), &o(dst), proto, seg.len()))) == 0
    }

    #[test]
    fn a_syn_is_well_formed_and_its_answers_are_recognised() {
        let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        let syn = tcp_frame(a, b, DIP, VIP, 61000, 80, 0x1234_5678, 0x02);
        assert_eq!(syn.len(), 14 + 20 + 24);
        assert_eq!(&syn[0..6], &b.0, "framed to the realserver's MAC");
        assert_eq!(fold(sum16(&syn[14..34], 0)), 0, "IP header checksum");
        assert!(verifies(DIP, VIP, 6, &syn[34..]), "TCP checksum");
        // The realserver's SYN-ACK: from VIP:80 to DIP:61000, ack = our seq + 1.
        let mut synack = tcp_frame(b, a, VIP, DIP, 80, 61000, 99, 0x12);
        synack[34 + 8..34 + 12].copy_from_slice(&0x1234_5679u32.to_be_bytes());
        assert_eq!(parse_answer(&synack, DIP), Some(((VIP, 80, 61000), PathAnswer::Accepted, 0x1234_5679)));
        let rst = tcp_frame(b, a, VIP, DIP, 80, 61000, 0, 0x14);
        assert_eq!(parse_answer(&rst, DIP).map(|x| x.1), Some(PathAnswer::Reset));
        // Not for us, or not an answer: ignored.
        assert_eq!(parse_answer(&synack, IpAddr::V4(Ipv4Addr::new(198, 51, 100, 2))), None);
        assert_eq!(parse_answer(&syn, VIP), None, "our own SYN is no answer");
        assert_eq!(parse_answer(&synack[..40], DIP), None);
        assert!(tcp_frame(a, b, DIP, "2001:db8::1".parse().expect("v6"), 1, 2, 3, 0x02).is_empty());
        // ICMP port unreachable from the realserver, quoting our SYN.
        let rip = Ipv4Addr::new(198, 51, 100, 12);
        let mut icmp = Vec::new();
        icmp.extend_from_slice(&a.0);
        icmp.extend_from_slice(&b.0);
        icmp.extend_from_slice(&[0x08, 0x00]);
        let IpAddr::V4(dip4) = DIP else { unreachable!() };
        icmp.extend_from_slice(&ipv4_header(rip, dip4, 1, 36, 0));
        icmp.extend_from_slice(&[3, 13, 0, 0, 0, 0, 0, 0]);
        icmp.extend_from_slice(&syn[14..14 + 28]);
        assert_eq!(
            parse_answer(&icmp, DIP),
            Some(((VIP, 80, 61000), PathAnswer::Unreachable { from: IpAddr::V4(rip), code: 13 }, 0))
        );
        for cut in 0..icmp.len() {
            let _ = parse_answer(&icmp[..cut], DIP);
        }
    }

    #[test]
    fn ipv6_probes_and_neighbour_solicitations() {
        let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        let dip: IpAddr = "2001:db8::1".parse().expect("dip");
        let vip: IpAddr = "2001:db8::100".parse().expect("vip");
        let syn = tcp_frame(a, b, dip, vip, 61001, 443, 7, 0x02);
        assert_eq!((syn.len(), &syn[12..14]), (14 + 40 + 24, &[0x86, 0xdd][..]));
        assert!(verifies(dip, vip, 6, &syn[54..]), "TCP checksum over the IPv6 pseudo-header");
        let synack = tcp_frame(b, a, vip, dip, 443, 61001, 1, 0x12);
        assert_eq!(parse_answer(&synack, dip).map(|x| (x.0, x.1)), Some(((vip, 443, 61001), PathAnswer::Accepted)));
        // ICMPv6 port unreachable quoting the SYN.
        let rip: Ipv6Addr = "2001:db8::12".parse().expect("rip");
        let IpAddr::V6(dip6) = dip else { unreachable!() };
        let mut icmp6 = vec![1u8, 4, 0, 0, 0, 0, 0, 0];
        icmp6.extend_from_slice(&syn[14..14 + 48]);
        let mut f = Vec::new();
        f.extend_from_slice(&a.0);
        f.extend_from_slice(&b.0);
        f.extend_from_slice(&[0x86, 0xdd]);
        f.extend_from_slice(&ipv6_header(rip, dip6, 58, icmp6.len(), 64));
        f.extend_from_slice(&icmp6);
        assert_eq!(
            parse_answer(&f, dip).map(|x| (x.0, x.1)),
            Some(((vip, 443, 61001), PathAnswer::Unreachable { from: IpAddr::V6(rip), code: 4 }))
        );
        for cut in 0..f.len() {
            let _ = parse_answer(&f[..cut], dip);
        }
        // A solicitation for the realserver goes to its solicited-node group, checksummed.
        let ns = neighbour_solicitation(a, dip6, rip);
        assert_eq!(&ns[0..6], &[0x33, 0x33, 0xff, 0, 0, 0x12]);
        let group: Ipv6Addr = "ff02::1:ff00:12".parse().expect("group");
        assert_eq!(&ns[14 + 24..14 + 40], &group.octets());
        assert!(verifies(dip, IpAddr::V6(group), 58, &ns[54..]), "ICMPv6 checksum");
        // Its advertisement names the MAC it came from.
        let mut na = ns.clone();
        na[6..12].copy_from_slice(&b.0);
        na[54] = 136;
        assert_eq!(parse_advert(&na), Some((rip, b)));
        assert_eq!(parse_advert(&ns), None, "a solicitation is no advertisement");
    }
}
