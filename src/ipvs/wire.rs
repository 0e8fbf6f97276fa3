//! IPVS generic-netlink wire format: command and attribute numbers, and a small
//! attribute (TLV) encoder/decoder for the nested payloads. neli frames the
//! messages; these helpers give exact-length reads so that a malformed kernel
//! reply becomes a clear error instead of a silent misread.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// `IPVS_CMD_*`.
pub mod cmd {
    pub const NEW_SERVICE: u8 = 1;
    pub const SET_SERVICE: u8 = 2;
    pub const DEL_SERVICE: u8 = 3;
    pub const GET_SERVICE: u8 = 4;
    pub const NEW_DEST: u8 = 5;
    pub const SET_DEST: u8 = 6;
    pub const DEL_DEST: u8 = 7;
    pub const GET_DEST: u8 = 8;
    pub const GET_DAEMON: u8 = 11;
    pub const SET_CONFIG: u8 = 12;
    pub const GET_CONFIG: u8 = 13;
    pub const GET_INFO: u8 = 15;
    pub const ZERO: u8 = 16;
    pub const FLUSH: u8 = 17;
}

/// `IPVS_CMD_ATTR_*` (top level of requests and most replies).
pub mod top {
    pub const SERVICE: u16 = 1;
    pub const DEST: u16 = 2;
    pub const DAEMON: u16 = 3;
    pub const TIMEOUT_TCP: u16 = 4;
    pub const TIMEOUT_TCP_FIN: u16 = 5;
    pub const TIMEOUT_UDP: u16 = 6;
}

/// `IPVS_INFO_ATTR_*` (top level of the GET_INFO reply).
pub mod info {
    pub const VERSION: u16 = 1;
    pub const CONN_TAB_SIZE: u16 = 2;
}

/// `IPVS_SVC_ATTR_*`.
pub mod svc {
    pub const AF: u16 = 1;
    pub const PROTOCOL: u16 = 2;
    pub const ADDR: u16 = 3;
    pub const PORT: u16 = 4;
    pub const FWMARK: u16 = 5;
    pub const SCHED_NAME: u16 = 6;
    pub const FLAGS: u16 = 7;
    pub const TIMEOUT: u16 = 8;
    pub const NETMASK: u16 = 9;
    pub const STATS: u16 = 10;
    pub const PE_NAME: u16 = 11;
    pub const STATS64: u16 = 12;
}

/// `IPVS_DEST_ATTR_*`.
pub mod dest {
    pub const ADDR: u16 = 1;
    pub const PORT: u16 = 2;
    pub const FWD_METHOD: u16 = 3;
    pub const WEIGHT: u16 = 4;
    pub const U_THRESH: u16 = 5;
    pub const L_THRESH: u16 = 6;
    pub const ACTIVE_CONNS: u16 = 7;
    pub const INACT_CONNS: u16 = 8;
    pub const PERSIST_CONNS: u16 = 9;
    pub const STATS: u16 = 10;
    pub const ADDR_FAMILY: u16 = 11;
    pub const STATS64: u16 = 12;
    pub const TUN_TYPE: u16 = 13;
    pub const TUN_PORT: u16 = 14;
    pub const TUN_FLAGS: u16 = 15;
}

/// `IPVS_STATS_ATTR_*`.
pub mod stats {
    pub const CONNS: u16 = 1;
    pub const INPKTS: u16 = 2;
    pub const OUTPKTS: u16 = 3;
    pub const INBYTES: u16 = 4;
    pub const OUTBYTES: u16 = 5;
    pub const CPS: u16 = 6;
    pub const INPPS: u16 = 7;
    pub const OUTPPS: u16 = 8;
    pub const INBPS: u16 = 9;
    pub const OUTBPS: u16 = 10;
}

/// `IPVS_DAEMON_ATTR_*`.
pub mod daemon {
    pub const STATE: u16 = 1;
    pub const MCAST_IFN: u16 = 2;
    pub const SYNC_ID: u16 = 3;
    pub const SYNC_MAXLEN: u16 = 4;
    pub const MCAST_GROUP: u16 = 5;
    pub const MCAST_GROUP6: u16 = 6;
    pub const MCAST_PORT: u16 = 7;
    pub const MCAST_TTL: u16 = 8;
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
/// thousands of destinations parses tens of thousands of these.
#[derive(Debug, Clone, Copy)]
pub struct Attrs<'a> {
    what: &'static str,
    slots: [Option<&'a [u8]>; MAX_TYPE + 1],
}

impl<'a> Attrs<'a> {
    /// Parse a TLV sequence; `what` names it in errors. Unknown high types are ignored.
    pub fn parse(what: &'static str, mut buf: &'a [u8]) -> Result<Self, String> {
        let mut slots = [None; MAX_TYPE + 1];
        while buf.len() >= 4 {
            let len = usize::from(u16::from_ne_bytes([buf[0], buf[1]]));
            let ty = u16::from_ne_bytes([buf[2], buf[3]]) & 0x3fff;
            if len < 4 || len > buf.len() {
                return Err(format!("{what}: attribute {ty} has length {len} but {} bytes remain", buf.len()));
            }
            if let Some(slot) = slots.get_mut(usize::from(ty)) {
                if slot.is_none() {
                    *slot = Some(&buf[4..len]);
                }
            }
            let padded = (len + 3) & !3;
            buf = &buf[padded.min(buf.len())..];
        }
        Ok(Attrs { what, slots })
    }

    /// The payload of type `ty` (the first one, if repeated).
    pub fn get(&self, ty: u16) -> Option<&'a [u8]> {
        self.slots.get(usize::from(ty)).copied().flatten()
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

fn decode_str(p: &[u8]) -> String {
    let end = p.iter().position(|&b| b == 0).unwrap_or(p.len());
    String::from_utf8_lossy(&p[..end]).into_owned()
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
    }

    #[test]
    fn truncated_reply_is_an_error_not_a_panic() {
        let bytes = [40u8, 0, 1, 0, 1, 2];
        let err = Attrs::parse("svc", &bytes).expect_err("must fail");
        assert!(err.contains("length 40"), "{err}");
        assert!(Attrs::parse("svc", &[]).is_ok());
        assert!(Attrs::parse("svc", &[2, 0, 1, 0]).is_err());
    }
}
