//! /proc/net/ip_vs, ip_vs_stats and ip_vs_conn as a kernel (or a bind mount)
//! might present them: the parsers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::sys::ipvs_proc::{parse_conns, parse_table, parse_totals};

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_table("/proc/net/ip_vs", &text);
    let _ = parse_totals("/proc/net/ip_vs_stats", &text);
    let _ = parse_conns("/proc/net/ip_vs_conn", text.lines());
    // Entry by entry from raw bytes, as `lvstop conns` reads them (bounded lines, any encoding),
    // and each entry written as the table and as JSON.
    let mut out = lvstop::report::ConnWriter::start(std::io::sink(), false).expect("sink");
    let mut json = lvstop::report::ConnWriter::start(std::io::sink(), true).expect("sink");
    let _ = lvstop::sys::ipvs_proc::read_conn_entries("/proc/net/ip_vs_conn", data, |e| {
        out.entry(&e).is_ok() && json.entry(&e).is_ok()
    });
    let _ = lvstop::sys::nic::parse_cpu(&text);
    let _ = lvstop::sys::nic::parse_softnet(&text);
});
