//! Netlink plumbing shared by the IPVS (generic netlink) and rtnetlink
//! clients: neli provides the socket; requests are framed here and replies
//! parsed in place from the receive buffer, with an allocation-free,
//! exact-length attribute reader so a malformed kernel reply becomes a clear
//! error instead of a silent misread.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use neli::{
    consts::socket::{Msg, NlFamily},
    socket::NlSocket,
    utils::Groups,
};

const NLMSG_NOOP: u16 = 1;
const NLMSG_ERROR: u16 = 2;
const NLMSG_DONE: u16 = 3;
const NLMSG_OVERRUN: u16 = 4;
/// `NLM_F_REQUEST`.
pub const NLM_F_REQUEST: u16 = 0x1;
/// `NLM_F_ACK`.
pub const NLM_F_ACK: u16 = 0x4;
/// `NLM_F_DUMP_INTR`: the dump was interrupted by a change of what it lists
/// (set by rtnetlink; IPVS's dumps never set it).
pub const NLM_F_DUMP_INTR: u16 = 0x10;

/// How many times a dump the kernel flags as interrupted is read in all.
pub const DUMP_TRIES: u32 = 3;

/// `NLM_F_DUMP`.
pub const NLM_F_DUMP: u16 = 0x300;
/// `NLA_F_NESTED`.
pub const NLA_F_NESTED: u16 = 0x8000;
/// Receive buffer. The kernel allocates each dump chunk (and the DONE that
/// ends a dump) at the larger of one page less its bookkeeping
/// (NLMSG_GOODSIZE: 3776 bytes on x86_64) and the largest read it has seen on
/// the socket (capped at 32 KiB), and zeroes it where the kernel is built
/// with init_on_alloc (Debian's, among others). Reads of one such page keep
/// the two allocations of each of the many small dumps (one service's
/// realservers) within a page: 8 KiB reads made each of them four pages, a
/// fifth of the time of a 1000-service snapshot (lab VM). A datagram that
/// does not fit (a kernel with larger pages or chunks) grows the buffer to
/// fit, and the dump is read again (see [`NlError::Truncated`]).
pub const RECV_BUF: usize = 4096 - 320;

/// The largest the receive buffer grows to.
const MAX_RECV_BUF: usize = 1 << 20;

/// Receive buffer of a socket for one large dump (every service): IPVS
/// resumes a dump by skipping the entries already sent, so four times larger
/// chunks skip four times less.
pub const BULK_RECV_BUF: usize = 32 * 1024;

/// How long a request waits for the kernel's next reply before it fails
/// (a stuck call becomes an error the console shows, and it keeps refreshing).
pub const RECV_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(10);

/// Why a request failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NlError {
    /// The kernel answered with this errno.
    Errno(i32),
    /// The socket failed.
    Io(String),
    /// The reply could not be parsed.
    Bad(String),
    /// The kernel flagged the dump as interrupted every time it was read.
    Interrupted,
    /// A datagram of this many bytes did not fit the receive buffer; the
    /// buffer has been grown to fit it, so the request can be sent again
    /// (see [`retry_interrupted`]).
    Truncated(usize),
}

/// One netlink socket, used for one request at a time.
pub struct NlConn {
    sock: NlSocket,
    family: NlFamily,
    seq: u32,
    buf: Vec<u8>,
}

fn ne_u16(b: &[u8], at: usize) -> u16 {
    u16::from_ne_bytes([b[at], b[at + 1]])
}

fn ne_u32(b: &[u8], at: usize) -> u32 {
    u32::from_ne_bytes([b[at], b[at + 1], b[at + 2], b[at + 3]])
}

impl NlConn {
    /// Open a socket of a netlink family.
    pub fn connect(family: NlFamily) -> Result<Self, NlError> {
        Self::with_buffer(family, RECV_BUF)
    }

    /// Open a socket of a netlink family that reads `size` bytes at a time.
    pub fn with_buffer(family: NlFamily, size: usize) -> Result<Self, NlError> {
        Ok(NlConn { sock: open(family)?, family, seq: 0, buf: vec![0; size] })
    }

    /// Send one message (`body` follows the 16-byte netlink header) and hand
    /// each reply's type and payload to `each` until ACK, DONE or an error.
    /// A request that ends before the kernel's last reply (`each` refused
    /// one, a reply made no sense, the kernel stopped answering) leaves the
    /// socket with a dump still running, which would make the kernel refuse
    /// the next one (EBUSY): the socket is then replaced by a fresh one.
    pub fn request(
        &mut self,
        nl_type: u16,
        flags: u16,
        body: &[u8],
        each: impl FnMut(u16, &[u8]) -> Result<(), String>,
    ) -> Result<(), NlError> {
        let result = self.exchange(nl_type, flags, body, each);
        if matches!(result, Err(NlError::Bad(_) | NlError::Io(_) | NlError::Truncated(_))) {
            if let Ok(sock) = open(self.family) {
                self.sock = sock;
            }
        }
        result
    }

    fn exchange(
        &mut self,
        nl_type: u16,
        flags: u16,
        body: &[u8],
        mut each: impl FnMut(u16, &[u8]) -> Result<(), String>,
    ) -> Result<(), NlError> {
        self.seq = self.seq.wrapping_add(1);
        let seq = self.seq;
        let len = u32::try_from(16 + body.len()).map_err(|_| NlError::Io("request too large".into()))?;
        let mut msg = Vec::with_capacity(16 + body.len());
        msg.extend_from_slice(&len.to_ne_bytes());
        msg.extend_from_slice(&nl_type.to_ne_bytes());
        msg.extend_from_slice(&(flags | NLM_F_REQUEST).to_ne_bytes());
        msg.extend_from_slice(&seq.to_ne_bytes());
        msg.extend_from_slice(&0u32.to_ne_bytes());
        msg.extend_from_slice(body);
        retry(|| self.sock.send(&msg, Msg::empty()))?;
        let NlConn { sock, buf, .. } = self;
        let mut interrupted = false;
        // Neither a dump nor acknowledged: the request's one reply ends it (the
        // kernel answers an error whatever the flags).
        let single = flags & (NLM_F_ACK | NLM_F_DUMP) == 0;
        loop {
            let (n, _) = retry(|| sock.recv(&mut buf[..], Msg::TRUNC))?;
            if n > buf.len() {
                if n > MAX_RECV_BUF {
                    return Err(NlError::Bad(format!("a {n}-byte reply is larger than {MAX_RECV_BUF} bytes")));
                }
                buf.resize(n.next_multiple_of(1024), 0);
                return Err(NlError::Truncated(n));
            }
            let mut replied = false;
            let reply = split_reply(&buf[..n], seq, |t, p| {
                replied = true;
                each(t, p)
            })?;
            match reply {
                Reply::Done if !interrupted => return Ok(()),
                Reply::Done | Reply::Interrupted => return Err(NlError::Interrupted),
                Reply::More if single && replied => return Ok(()),
                Reply::More => interrupted |= datagram_interrupted(&buf[..n], seq),
            }
        }
    }
}

/// A non-blocking socket of `family`, so that every wait for the kernel is
/// bounded (see [`retry`]).
fn open(family: NlFamily) -> Result<NlSocket, NlError> {
    let sock = NlSocket::connect(family, None, Groups::empty()).map_err(|e| NlError::Io(e.to_string()))?;
    sock.nonblock().map_err(|e| NlError::Io(e.to_string()))?;
    Ok(sock)
}

/// Whether a request's replies are complete.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Reply {
    /// The kernel sent ACK or DONE (without an error): the request is over.
    Done,
    /// More datagrams follow (a dump in progress).
    More,
    /// DONE, and a message of this dump carried NLM_F_DUMP_INTR: what it
    /// listed changed while it was read, so it may miss or repeat entries.
    Interrupted,
}

/// Split one received datagram into netlink messages and hand each reply to
/// request `seq` (its type and payload) to `each`; messages of other requests
/// are skipped. A message whose length does not fit is an error, never a
/// misread; an error message with a negative code is that errno (i32::MIN,
/// which has none, is a bad reply).
pub fn split_reply(
    data: &[u8],
    seq: u32,
    mut each: impl FnMut(u16, &[u8]) -> Result<(), String>,
) -> Result<Reply, NlError> {
    let n = data.len();
    let mut off = 0;
    let interrupted = datagram_interrupted(data, seq);
    while off + 16 <= n {
        let len = ne_u32(data, off) as usize;
        if len < 16 || off + len > n {
            return Err(NlError::Bad(format!("netlink message of length {len} at offset {off} in a {n}-byte reply")));
        }
        let ty = ne_u16(data, off + 4);
        let mseq = ne_u32(data, off + 8);
        let payload = &data[off + 16..off + len];
        off += (len + 3) & !3;
        if mseq != seq {
            continue;
        }
        match ty {
            NLMSG_ERROR | NLMSG_DONE => {
                let code = payload.get(..4).map_or(0, |b| i32::from_ne_bytes([b[0], b[1], b[2], b[3]]));
                if code >= 0 {
                    return Ok(if interrupted { Reply::Interrupted } else { Reply::Done });
                }
                // i32::MIN has no errno (negating it overflows): a bad reply.
                return Err(code
                    .checked_neg()
                    .map_or_else(|| NlError::Bad(format!("netlink error code {code}")), NlError::Errno));
            }
            NLMSG_NOOP => {}
            NLMSG_OVERRUN => return Err(NlError::Bad("netlink overrun".into())),
            _ => each(ty, payload).map_err(NlError::Bad)?,
        }
    }
    Ok(Reply::More)
}

/// Whether a message of request `seq` in `data` carries NLM_F_DUMP_INTR
/// (messages are walked as [`split_reply`] does; a malformed one ends the walk).
fn datagram_interrupted(data: &[u8], seq: u32) -> bool {
    let mut off = 0;
    while off + 16 <= data.len() {
        let len = ne_u32(data, off) as usize;
        if len < 16 || off + len > data.len() {
            return false;
        }
        if ne_u32(data, off + 8) == seq && ne_u16(data, off + 6) & NLM_F_DUMP_INTR != 0 {
            return true;
        }
        off += (len + 3) & !3;
    }
    false
}

/// Read a dump again while the kernel flags it as interrupted, or once more
/// after a datagram did not fit the buffer (grown since), at most
/// [`DUMP_TRIES`] times in all; `attempt` starts from nothing each time.
pub fn retry_interrupted<T>(mut attempt: impl FnMut() -> Result<T, NlError>) -> Result<T, NlError> {
    let mut tries = 1;
    let mut grown = false;
    loop {
        match attempt() {
            Err(NlError::Interrupted) if tries < DUMP_TRIES => tries += 1,
            Err(NlError::Truncated(_)) if !grown && tries < DUMP_TRIES => {
                grown = true;
                tries += 1;
            }
            other => return other,
        }
    }
}

/// Run a non-blocking socket call until it succeeds: EINTR and EAGAIN are
/// retried (EAGAIN with a short sleep) for at most [`RECV_TIMEOUT`]; ENOBUFS
/// (replies the kernel dropped) is named. The clock is read only once the
/// kernel has made the call wait: most calls never do (a dump's first chunk
/// is ready when its request returns), and a snapshot of a thousand services
/// made three thousand clock reads, system calls where the clock source has
/// no vDSO (the lab VM).
fn retry<T>(mut call: impl FnMut() -> std::io::Result<T>) -> Result<T, NlError> {
    let mut deadline = None;
    loop {
        match call() {
            Ok(v) => return Ok(v),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                let deadline = *deadline.get_or_insert_with(|| std::time::Instant::now() + RECV_TIMEOUT);
                if std::time::Instant::now() >= deadline {
                    return Err(NlError::Io(format!("the kernel did not answer within {} s", RECV_TIMEOUT.as_secs())));
                }
                std::thread::sleep(std::time::Duration::from_millis(1));
            }
            Err(e) if e.raw_os_error() == Some(libc::ENOBUFS) => {
                return Err(NlError::Io(
                    "the kernel dropped replies (ENOBUFS: the socket's receive buffer overflowed): retry".into(),
                ))
            }
            Err(e) => return Err(NlError::Io(e.to_string())),
        }
    }
}

/// Builds a sequence of netlink attributes (4-byte aligned TLVs, host order).
#[derive(Debug, Default, Clone)]
pub struct TlvWriter(Vec<u8>);

impl TlvWriter {
    /// Append an attribute with a raw payload.
    pub fn bytes(&mut self, ty: u16, payload: &[u8]) -> &mut Self {
        let len = 4 + payload.len();
        self.0.extend_from_slice(&(len as u16).to_ne_bytes());
        self.0.extend_from_slice(&ty.to_ne_bytes());
        self.0.extend_from_slice(payload);
        while self.0.len() % 4 != 0 {
            self.0.push(0);
        }
        self
    }

    /// Append a host-order u8.
    pub fn u8(&mut self, ty: u16, v: u8) -> &mut Self {
        self.bytes(ty, &[v])
    }

    /// Append a host-order u16.
    pub fn u16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.bytes(ty, &v.to_ne_bytes())
    }

    /// Append a network-order u16 (ports).
    pub fn be16(&mut self, ty: u16, v: u16) -> &mut Self {
        self.bytes(ty, &v.to_be_bytes())
    }

    /// Append a host-order u32.
    pub fn u32(&mut self, ty: u16, v: u32) -> &mut Self {
        self.bytes(ty, &v.to_ne_bytes())
    }

    /// Append a NUL-terminated string.
    pub fn string(&mut self, ty: u16, s: &str) -> &mut Self {
        let mut b = s.as_bytes().to_vec();
        b.push(0);
        self.bytes(ty, &b)
    }

    /// Append an address as the kernel's 16-byte `union nf_inet_addr`.
    pub fn addr(&mut self, ty: u16, a: IpAddr) -> &mut Self {
        let mut buf = [0u8; 16];
        match a {
            IpAddr::V4(v4) => buf[..4].copy_from_slice(&v4.octets()),
            IpAddr::V6(v6) => buf = v6.octets(),
        }
        self.bytes(ty, &buf)
    }

    /// The encoded attributes.
    pub fn into_inner(self) -> Vec<u8> {
        self.0
    }
}

/// Highest attribute type kept by [`Attrs`]; IPVS and nlctrl use far fewer.
const MAX_TYPE: usize = 31;

/// A parsed attribute list indexed by type (without the NESTED/BYTEORDER bits).
/// Borrowed from the receive buffer and allocation-free: a snapshot of
/// thousands of destinations parses tens of thousands of these. Small, since
/// it is passed by value: each payload is kept as its place in the buffer.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    what: &'static str,
    buf: &'a [u8],
    /// Each type's payload as its start and end in `buf`; a start of 0 when
    /// absent (a payload starts after its 4-byte header).
    slots: [(u32, u32); MAX_TYPE + 1],
}

impl<'a> Attrs<'a> {
    /// Parse a TLV sequence; `what` names it in errors. Unknown high types are ignored.
    pub fn parse(what: &'static str, buf: &'a [u8]) -> Result<Self, String> {
        let too_long = || format!("{what}: {} bytes of attributes", buf.len());
        let mut slots = [(0, 0); MAX_TYPE + 1];
        let mut at = 0;
        while let Some(rest) = buf.get(at..).filter(|r| r.len() >= 4) {
            let len = usize::from(u16::from_ne_bytes([rest[0], rest[1]]));
            let ty = u16::from_ne_bytes([rest[2], rest[3]]) & 0x3fff;
            if len < 4 || len > rest.len() {
                return Err(format!("{what}: attribute {ty} has length {len} but {} bytes remain", rest.len()));
            }
            if let Some(slot) = slots.get_mut(usize::from(ty)) {
                if slot.0 == 0 {
                    let start = u32::try_from(at + 4).map_err(|_| too_long())?;
                    let end = u32::try_from(at + len).map_err(|_| too_long())?;
                    *slot = (start, end);
                }
            }
            at += (len + 3) & !3;
        }
        Ok(Attrs { what, buf, slots })
    }

    /// The payload of type `ty` (the first one, if repeated).
    pub fn get(&self, ty: u16) -> Option<&'a [u8]> {
        let (start, end) = *self.slots.get(usize::from(ty))?;
        if start == 0 {
            return None;
        }
        self.buf.get(usize::try_from(start).ok()?..usize::try_from(end).ok()?)
    }

    fn exact<const N: usize>(&self, ty: u16) -> Result<Option<[u8; N]>, String> {
        match self.get(ty) {
            None => Ok(None),
            Some(p) => p
                .get(..N)
                .and_then(|s| <[u8; N]>::try_from(s).ok())
                .map(Some)
                .ok_or_else(|| format!("{}: attribute {ty} has {} bytes, expected {N}", self.what, p.len())),
        }
    }

    fn require<T>(&self, ty: u16, v: Result<Option<T>, String>) -> Result<T, String> {
        v?.ok_or_else(|| format!("{}: attribute {ty} is missing", self.what))
    }

    /// Optional host-order u8.
    pub fn opt_u8(&self, ty: u16) -> Result<Option<u8>, String> {
        Ok(self.exact::<1>(ty)?.map(|b| b[0]))
    }

    /// Optional host-order u16.
    pub fn opt_u16(&self, ty: u16) -> Result<Option<u16>, String> {
        Ok(self.exact::<2>(ty)?.map(u16::from_ne_bytes))
    }

    /// Optional network-order u16.
    pub fn opt_be16(&self, ty: u16) -> Result<Option<u16>, String> {
        Ok(self.exact::<2>(ty)?.map(u16::from_be_bytes))
    }

    /// Optional host-order u32.
    pub fn opt_u32(&self, ty: u16) -> Result<Option<u32>, String> {
        Ok(self.exact::<4>(ty)?.map(u32::from_ne_bytes))
    }

    /// Required host-order u16.
    pub fn u16(&self, ty: u16) -> Result<u16, String> {
        self.require(ty, self.opt_u16(ty))
    }

    /// Required network-order u16.
    pub fn be16(&self, ty: u16) -> Result<u16, String> {
        self.require(ty, self.opt_be16(ty))
    }

    /// Required host-order u32.
    pub fn u32(&self, ty: u16) -> Result<u32, String> {
        self.require(ty, self.opt_u32(ty))
    }

    /// A counter that is u64 in STATS64 and u32 (or u64 for bytes) in STATS:
    /// read whichever width the kernel sent.
    pub fn counter(&self, ty: u16) -> Result<u64, String> {
        match self.get(ty) {
            None => Ok(0),
            Some(p) if p.len() == 8 => Ok(u64::from_ne_bytes(p.try_into().map_err(|_| "unreachable".to_string())?)),
            Some(p) if p.len() == 4 => {
                Ok(u64::from(u32::from_ne_bytes(p.try_into().map_err(|_| "unreachable".to_string())?)))
            }
            Some(p) => Err(format!("{}: counter {ty} has {} bytes, expected 4 or 8", self.what, p.len())),
        }
    }

    /// Required NUL-terminated string.
    pub fn string(&self, ty: u16) -> Result<String, String> {
        let p = self.get(ty).ok_or_else(|| format!("{}: attribute {ty} is missing", self.what))?;
        Ok(decode_str(p))
    }

    /// Optional NUL-terminated string (absent or empty → None).
    pub fn opt_string(&self, ty: u16) -> Option<String> {
        self.get(ty).map(decode_str).filter(|s| !s.is_empty())
    }

    /// A nested attribute list.
    pub fn nested(&self, ty: u16, what: &'static str) -> Result<Option<Attrs<'a>>, String> {
        self.get(ty).map(|p| Attrs::parse(what, p)).transpose()
    }

    /// An address of family `af` from a 4- or 16-byte payload.
    pub fn addr(&self, ty: u16, af: u16) -> Result<IpAddr, String> {
        let p = self.get(ty).ok_or_else(|| format!("{}: address attribute {ty} is missing", self.what))?;
        match af {
            2 if p.len() >= 4 => Ok(IpAddr::V4(Ipv4Addr::new(p[0], p[1], p[2], p[3]))),
            10 if p.len() >= 16 => {
                let mut b = [0u8; 16];
                b.copy_from_slice(&p[..16]);
                Ok(IpAddr::V6(Ipv6Addr::from(b)))
            }
            _ => Err(format!("{}: address of family {af} has {} bytes", self.what, p.len())),
        }
    }
}

/// A string attribute up to its NUL, with control characters escaped: names
/// the kernel sends (schedulers, persistence engines, interface labels, the
/// sync daemon's interface) are outside data too.
fn decode_str(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    crate::text::sanitize(&String::from_utf8_lossy(&p[..end]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roundtrip_and_padding() {
        let mut w = TlvWriter::default();
        w.u16(1, 2).string(6, "wrr").be16(4, 80).u32(8, 300);
        let bytes = w.into_inner();
        assert_eq!(bytes.len() % 4, 0);
        let a = Attrs::parse("svc", &bytes).expect("parse");
        assert_eq!(a.u16(1), Ok(2));
        assert_eq!(a.string(6).as_deref(), Ok("wrr"));
        assert_eq!(a.be16(4), Ok(80));
        assert_eq!(a.u32(8), Ok(300));
        assert!(a.u32(1).is_err(), "a u16 attribute must not read as u32");
        assert!(a.u32(9).is_err());
        let mut w = TlvWriter::default();
        w.string(6, "w\u{1b}]0;x\u{7}rr");
        let bytes = w.into_inner();
        let a = Attrs::parse("svc", &bytes).expect("parse");
        assert_eq!(a.string(6).as_deref(), Ok(r"w\x1b]0;x\x07rr"), "a kernel name reaches no terminal raw");
    }

    #[test]
    fn truncated_reply_is_an_error_not_a_panic() {
        let bytes = [40u8, 0, 1, 0, 1, 2];
        let err = Attrs::parse("svc", &bytes).expect_err("must fail");
        assert!(err.contains("length 40"), "{err}");
        assert!(Attrs::parse("svc", &[]).is_ok());
        assert!(Attrs::parse("svc", &[2, 0, 1, 0]).is_err());
    }

    /// A netlink message: header (length, type, flags, seq, pid) and payload.
    fn msg(ty: u16, flags: u16, seq: u32, payload: &[u8]) -> Vec<u8> {
        let mut m = Vec::new();
        m.extend_from_slice(&(16 + payload.len() as u32).to_ne_bytes());
        m.extend_from_slice(&ty.to_ne_bytes());
        m.extend_from_slice(&flags.to_ne_bytes());
        m.extend_from_slice(&seq.to_ne_bytes());
        m.extend_from_slice(&0u32.to_ne_bytes());
        m.extend_from_slice(payload);
        m
    }

    #[test]
    fn a_dump_flagged_interrupted_is_told_and_read_again() {
        let entry = msg(20, 2, 7, &[0; 8]);
        let done = msg(NLMSG_DONE, 2, 7, &[0; 4]);
        let clean: Vec<u8> = [entry.clone(), done.clone()].concat();
        assert_eq!(split_reply(&clean, 7, |_, _| Ok(())), Ok(Reply::Done));
        let flagged: Vec<u8> = [msg(20, 2 | NLM_F_DUMP_INTR, 7, &[0; 8]), done].concat();
        assert_eq!(split_reply(&flagged, 7, |_, _| Ok(())), Ok(Reply::Interrupted));
        // Another request's flag is not this one's.
        let other: Vec<u8> = [msg(20, NLM_F_DUMP_INTR, 6, &[0; 8]), entry].concat();
        assert_eq!(split_reply(&other, 7, |_, _| Ok(())), Ok(Reply::More));
        assert!(!datagram_interrupted(&other, 7) && datagram_interrupted(&other, 6));
        let mut tries = 0;
        let r: Result<(), NlError> = retry_interrupted(|| {
            tries += 1;
            Err(NlError::Interrupted)
        });
        assert_eq!((r, tries), (Err(NlError::Interrupted), DUMP_TRIES));
        let mut tries = 0;
        let r = retry_interrupted(|| {
            tries += 1;
            if tries < 2 {
                Err(NlError::Interrupted)
            } else {
                Ok(tries)
            }
        });
        assert_eq!(r, Ok(2));
    }
}
