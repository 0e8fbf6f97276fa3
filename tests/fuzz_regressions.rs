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
        let _ = lvstop::sys::ipvs_proc::read_conn_entries("/proc/net/ip_vs_conn", &data[..], |_| true);
        let _ = lvstop::sys::nic::parse_softnet(&text);
        if name == "cpu-sum-overflow" {
            let cpu = lvstop::sys::nic::parse_cpu(&text).expect("a cpu line");
            assert_eq!(cpu.total, u64::MAX, "the counters saturate");
        }
    }
}

#[test]
fn netlink_split_crashes_stay_fixed() {
    let found = inputs("netlink_split");
    assert!(!found.is_empty(), "the regression inputs are in tests/fuzz/netlink_split");
    for (name, data) in found {
        let Some((seq, dgram)) = data.split_first_chunk::<4>() else { continue };
        let r = lvstop::netlink::split_reply(dgram, u32::from_ne_bytes(*seq), |ty, p| {
            let _ = lvstop::sys::rtnl::parse_address(ty, p);
            let _ = lvstop::sys::rtnl::parse_neighbour(ty, p);
            let _ = lvstop::sys::rtnl::parse_route(ty, p);
            Ok(())
        });
        if name == "errno-neg-overflow" {
            assert!(
                matches!(r, Err(lvstop::netlink::NlError::Bad(ref m)) if m.contains("-2147483648")),
                "an error code of i32::MIN is a bad reply: {r:?}"
            );
        }
    }
}

#[test]
fn themes_keys_crashes_stay_fixed() {
    let found = inputs("themes_keys");
    assert!(!found.is_empty(), "the regression inputs are in tests/fuzz/themes_keys");
    let base = lvstop::ui::Theme::default_theme();
    for (name, data) in found {
        let Some((&sel, rest)) = data.split_first() else { continue };
        let Ok(text) = std::str::from_utf8(rest) else { continue };
        match sel % 3 {
            0 => {
                for line in text.split('\n') {
                    let _ = lvstop::config::Key::parse(line);
                }
            }
            1 => {
                for b in [Some(&base), None] {
                    if let Err(e) = lvstop::ui::Theme::parse("mine", text, b) {
                        assert!(lvstop::text::is_clean(&e), "{name}: a control character in a theme error: {e:?}");
                    }
                }
            }
            _ => {
                let _ = lvstop::config::parse(Path::new("/etc/lvstop/lvstop.toml"), &format!("[keys]\n{text}"));
            }
        }
    }
}
