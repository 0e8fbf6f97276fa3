//! The inputs the fuzzers (`fuzz/`) found crashes with, replayed on stable
//! through the same parsers as their targets, with overflow checks on (test
//! profile): each must now be handled without a panic.

use std::path::Path;

fn inputs(target: &str) -> Vec<(String, Vec<u8>)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fuzz").join(target);
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(&dir)
        .map(|d| {
            d.flatten()
                .map(|e| (e.file_name().to_string_lossy().into_owned(), std::fs::read(e.path()).expect("read")))
                .collect()
        })
        .unwrap_or_default();
    out.sort();
    out
}

#[test]
fn proc_ipvs_crashes_stay_fixed() {
    let found = inputs("proc_ipvs");
    assert!(!found.is_empty(), "the regression inputs are in tests/fuzz/proc_ipvs");
    for (name, data) in found {
        let text = String::from_utf8_lossy(&data);
        let _ = lvstop::sys::ipvs_proc::parse_table("/proc/net/ip_vs", &text);
        let _ = lvstop::sys::ipvs_proc::parse_totals("/proc/net/ip_vs_stats", &text);
        let _ = lvstop::sys::ipvs_proc::parse_conns("/proc/net/ip_vs_conn", text.lines());
        let _ = lvstop::sys::nic::parse_softnet(&text);
        if name == "cpu-sum-overflow" {
            let cpu = lvstop::sys::nic::parse_cpu(&text).expect("a cpu line");
            assert_eq!(cpu.total, u64::MAX, "the counters saturate");
        }
    }
}
