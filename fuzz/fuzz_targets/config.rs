//! lvstop.toml as an operator (or a stranger with write access) might write
//! it: parsing never panics, and an error always names a line that exists.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Err(e) = lvstop::config::parse(std::path::Path::new("/etc/lvstop/lvstop.toml"), text) {
        let _ = e.to_string();
    }
});
