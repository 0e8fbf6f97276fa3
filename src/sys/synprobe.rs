//! The DR path probe behind D-DR-PATH: from the director, one TCP SYN to
//! VIP:PORT from the director's own address on the realserver's segment,
//! framed to the realserver's MAC exactly as IPVS forwards a client's packet
//! in direct routing, and the answer captured on a packet socket: a SYN-ACK
//! from VIP:PORT proves the realserver accepts packets for the VIP and serves
//! the port (the half-open connection is then reset); a RST, an ICMP error or
//! silence names what is wrong. Only to realservers of the IPVS table (or
//! named with `--realserver`), one SYN each per run, paced. Needs CAP_NET_RAW.
//!
//! The director's kernel drops the realserver's answer (its source, the VIP,
//! is one of the director's own addresses), so nothing else sees it: the
//! packet socket reads it before IP does.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use pnet_datalink::{Channel, Config};

use super::arp::Mac;

/// One realserver of one service to probe.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct PathTarget {
    /// The realserver.
    pub rip: Ipv4Addr,
    /// Its MAC on the segment.
    pub mac: Mac,
    /// The service's virtual address.
    pub vip: Ipv4Addr,
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
    /// An ICMP destination-unreachable about the SYN, from this address, with this code.
    Unreachable {
        /// Who sent it.
        from: Ipv4Addr,
        /// The ICMP code (3 port, 9/10/13 administratively prohibited…).
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

/// An Ethernet frame carrying an IPv4 TCP segment with `flags` (SYN 0x02,
/// RST 0x04), sequence `seq`, no payload; a SYN carries an MSS option.
#[allow(clippy::too_many_arguments)]
pub fn tcp_frame(
    src_mac: Mac,
    dst_mac: Mac,
    src: Ipv4Addr,
    dst: Ipv4Addr,
    sport: u16,
    dport: u16,
    seq: u32,
    flags: u8,
) -> Vec<u8> {
    let options: &[u8] = if flags & 0x02 != 0 { &[2, 4, 0x05, 0xb4] } else { &[] };
    let tcp_len = 20 + options.len();
    let total = 20 + tcp_len;
    let mut f = Vec::with_capacity(14 + total);
    f.extend_from_slice(&dst_mac.0);
    f.extend_from_slice(&src_mac.0);
    f.extend_from_slice(&[0x08, 0x00]);
    // IPv4 header: no options, DF, TTL 64, protocol TCP.
    let mut ip = [0u8; 20];
    ip[0] = 0x45;
    ip[2..4].copy_from_slice(&(total as u16).to_be_bytes());
    ip[4..6].copy_from_slice(&(seq as u16).to_be_bytes());
    ip[6] = 0x40;
    ip[8] = 64;
    ip[9] = 6;
    ip[12..16].copy_from_slice(&src.octets());
    ip[16..20].copy_from_slice(&dst.octets());
    let c = fold(sum16(&ip, 0));
    ip[10..12].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&ip);
    let mut tcp = vec![0u8; tcp_len];
    tcp[0..2].copy_from_slice(&sport.to_be_bytes());
    tcp[2..4].copy_from_slice(&dport.to_be_bytes());
    tcp[4..8].copy_from_slice(&seq.to_be_bytes());
    tcp[12] = ((tcp_len / 4) as u8) << 4;
    tcp[13] = flags;
    let window: u16 = if flags & 0x02 != 0 { 64240 } else { 0 };
    tcp[14..16].copy_from_slice(&window.to_be_bytes());
    tcp[20..].copy_from_slice(options);
    // Checksum over the pseudo-header and the segment.
    let mut pseudo = [0u8; 12];
    pseudo[0..4].copy_from_slice(&src.octets());
    pseudo[4..8].copy_from_slice(&dst.octets());
    pseudo[9] = 6;
    pseudo[10..12].copy_from_slice(&(tcp_len as u16).to_be_bytes());
    let c = fold(sum16(&tcp, sum16(&pseudo, 0)));
    tcp[16..18].copy_from_slice(&c.to_be_bytes());
    f.extend_from_slice(&tcp);
    f
}

/// What a captured frame says about a probe: which probe it answers, by
/// (VIP, port, our source port), the answer, and for a SYN-ACK the
/// sequence number the reset must carry (the SYN-ACK's acknowledgement).
pub fn parse_answer(frame: &[u8], dip: Ipv4Addr) -> Option<((Ipv4Addr, u16, u16), PathAnswer, u32)> {
    let ip = frame.get(14..)?;
    if frame.get(12..14)? != [0x08, 0x00] || ip.len() < 20 || ip[0] >> 4 != 4 {
        return None;
    }
    let ihl = usize::from(ip[0] & 0x0f) * 4;
    let src = Ipv4Addr::new(ip[12], ip[13], ip[14], ip[15]);
    let dst = Ipv4Addr::new(ip[16], ip[17], ip[18], ip[19]);
    if dst != dip || ihl < 20 {
        return None;
    }
    let l4 = ip.get(ihl..)?;
    match ip[9] {
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
        1 => {
            // Destination unreachable, quoting our SYN: its IP header and the first 8 bytes of TCP.
            let (kind, code) = (*l4.first()?, *l4.get(1)?);
            if kind != 3 {
                return None;
            }
            let inner = l4.get(8..)?;
            let inner_ihl = usize::from(*inner.first()? & 0x0f) * 4;
            if inner.len() < inner_ihl + 4 || inner_ihl < 20 || inner[9] != 6 || inner[12..16] != dip.octets() {
                return None;
            }
            let vip = Ipv4Addr::new(inner[16], inner[17], inner[18], inner[19]);
            let t = &inner[inner_ihl..];
            let (sport, dport) = (u16::from_be_bytes([t[0], t[1]]), u16::from_be_bytes([t[2], t[3]]));
            Some(((vip, dport, sport), PathAnswer::Unreachable { from: src, code }, 0))
        }
        _ => None,
    }
}

/// Probe `targets` (at most [`MAX_TARGETS`]) on interface `iface` from the
/// director's address `dip` there: one SYN each, paced, then listen until
/// every one has answered or `wait` has passed since the last SYN; each
/// SYN-ACK is answered with a RST. The answers, in `targets` order.
pub fn probe(iface: &str, dip: Ipv4Addr, targets: &[PathTarget], wait: Duration) -> Result<Vec<PathAnswer>, String> {
    let targets = &targets[..targets.len().min(MAX_TARGETS)];
    let nic = pnet_datalink::interfaces()
        .into_iter()
        .find(|i| i.name == iface)
        .ok_or_else(|| format!("interface '{iface}' not found"))?;
    let own = nic.mac.map(|m| Mac(m.octets())).ok_or_else(|| format!("interface '{iface}' has no MAC address"))?;
    let cfg = Config { read_timeout: Some(Duration::from_millis(20)), promiscuous: false, ..Config::default() };
    let (mut tx, mut rx) = match super::privilege::with_net_raw(|| pnet_datalink::channel(&nic, cfg)) {
        Ok(Channel::Ethernet(tx, rx)) => (tx, rx),
        Ok(_) => return Err("unsupported channel type".into()),
        Err(e) if e.kind() == std::io::ErrorKind::PermissionDenied => {
            return Err(format!(
                "the DR path probe needs CAP_NET_RAW ({e}): run lvstop with sudo, or `sudo setcap cap_net_admin,cap_net_raw+ep $(command -v lvstop)`"
            ))
        }
        Err(e) => return Err(format!("cannot open a packet socket on {iface}: {e}")),
    };
    let base = PORT_BASE + fastrand::u16(0..(65535 - PORT_BASE - MAX_TARGETS as u16));
    let mut got = Got { answers: vec![PathAnswer::Silent; targets.len()], answered: vec![false; targets.len()] };
    for (i, t) in targets.iter().enumerate() {
        let sport = base + i as u16;
        let syn = tcp_frame(own, t.mac, dip, t.vip, sport, t.port, fastrand::u32(..), 0x02);
        match tx.send_to(&syn, None) {
            Some(Ok(())) | None => {}
            Some(Err(e)) => return Err(format!("cannot send a SYN on {iface}: {e}")),
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
        dip: Ipv4Addr,
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

    const DIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 1);
    const VIP: Ipv4Addr = Ipv4Addr::new(198, 51, 100, 100);

    #[test]
    fn a_syn_is_well_formed_and_its_answers_are_recognised() {
        let (a, b) = (Mac([2, 0, 0, 0, 0, 1]), Mac([2, 0, 0, 0, 0, 2]));
        let syn = tcp_frame(a, b, DIP, VIP, 61000, 80, 0x1234_5678, 0x02);
        assert_eq!(syn.len(), 14 + 20 + 24);
        assert_eq!(&syn[0..6], &b.0, "framed to the realserver's MAC");
        // Checksums verify: the one's complement sum over each header is 0xffff.
        assert_eq!(fold(sum16(&syn[14..34], 0)), 0, "IP header checksum");
        let mut pseudo = [0u8; 12];
        pseudo[0..4].copy_from_slice(&DIP.octets());
        pseudo[4..8].copy_from_slice(&VIP.octets());
        pseudo[9] = 6;
        pseudo[11] = 24;
        assert_eq!(fold(sum16(&syn[34..], sum16(&pseudo, 0))), 0, "TCP checksum");
        // The realserver's SYN-ACK: from VIP:80 to DIP:61000, ack = our seq + 1.
        let mut synack = tcp_frame(b, a, VIP, DIP, 80, 61000, 99, 0x12);
        synack[34 + 8..34 + 12].copy_from_slice(&0x1234_5679u32.to_be_bytes());
        assert_eq!(parse_answer(&synack, DIP), Some(((VIP, 80, 61000), PathAnswer::Accepted, 0x1234_5679)));
        let rst = tcp_frame(b, a, VIP, DIP, 80, 61000, 0, 0x14);
        assert_eq!(parse_answer(&rst, DIP).map(|x| x.1), Some(PathAnswer::Reset));
        // Not for us, or not an answer: ignored.
        assert_eq!(parse_answer(&synack, Ipv4Addr::new(198, 51, 100, 2)), None);
        assert_eq!(parse_answer(&syn, VIP), None, "our own SYN is no answer");
        assert_eq!(parse_answer(&synack[..40], DIP), None);
        // ICMP port unreachable from the realserver, quoting our SYN.
        let rip = Ipv4Addr::new(198, 51, 100, 12);
        let mut icmp = Vec::new();
        icmp.extend_from_slice(&a.0);
        icmp.extend_from_slice(&b.0);
        icmp.extend_from_slice(&[0x08, 0x00]);
        let mut ip = [0u8; 20];
        ip[0] = 0x45;
        ip[9] = 1;
        ip[12..16].copy_from_slice(&rip.octets());
        ip[16..20].copy_from_slice(&DIP.octets());
        icmp.extend_from_slice(&ip);
        icmp.extend_from_slice(&[3, 13, 0, 0, 0, 0, 0, 0]);
        icmp.extend_from_slice(&syn[14..14 + 28]);
        assert_eq!(
            parse_answer(&icmp, DIP),
            Some(((VIP, 80, 61000), PathAnswer::Unreachable { from: rip, code: 13 }, 0))
        );
        for cut in 0..icmp.len() {
            let _ = parse_answer(&icmp[..cut], DIP);
        }
    }
}
