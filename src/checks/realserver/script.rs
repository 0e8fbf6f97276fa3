//! The read-only script run on a realserver over ssh.

use std::net::Ipv4Addr;

/// The script's last line: the answer is read up to it, and is whole only with it.
pub const END: &str = "@@end";

/// The read-only script run on a realserver (POSIX sh). Its only variable
/// parts are the two addresses, typed so that they print as digits and dots:
/// `dip` (the director's address on the realserver's segment, if known) and
/// `client_probe` (an off-link address standing for the clients). The
/// rp_filter drop counter is read first and last, at least a second apart.
pub fn script(dip: Option<Ipv4Addr>, client_probe: Ipv4Addr) -> String {
    let dip = dip.map(|d| format!(" ip -o route get {d} 2>/dev/null")).unwrap_or_default();
    format!(
        "LC_ALL=C; export LC_ALL
echo @@netstat1; grep '^TcpExt:' /proc/net/netstat 2>/dev/null
echo @@sysctl; grep -H . /proc/sys/net/ipv4/ip_forward /proc/sys/net/ipv4/conf/*/arp_ignore /proc/sys/net/ipv4/conf/*/arp_announce /proc/sys/net/ipv4/conf/*/rp_filter 2>/dev/null
echo @@addr; ip -o -4 addr show
echo @@link; ip -o link show
echo @@route; ip -4 route show; ip -4 route show table local
echo @@routeget-dip;{dip}
echo @@routeget-client; ip -o route get {client_probe} 2>/dev/null
echo @@tcp; cat /proc/net/tcp /proc/net/tcp6 2>/dev/null
echo @@udp; cat /proc/net/udp /proc/net/udp6 2>/dev/null
echo @@arptables; arptables -V 2>/dev/null; arptables -L -n 2>/dev/null
echo @@nft; nft list ruleset arp 2>/dev/null
sleep 1
echo @@netstat2; grep '^TcpExt:' /proc/net/netstat 2>/dev/null
echo {END}"
    )
}
