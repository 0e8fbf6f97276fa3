//! keepalived.conf and ldirectord.cf, read to mark the services they manage:
//! the parsers never panic.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = lvstop::sys::managed::parse_keepalived(&text);
    let _ = lvstop::sys::managed::parse_ldirectord(&text);
});
