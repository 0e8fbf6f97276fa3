//! What another director's agent sends (anything, if that host is hostile or
//! broken): its answer line and its snapshot document. Nothing panics; a
//! document that is accepted carries only names a shell command may hold and
//! reads back as itself once written again; an agent's request parses or not.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = serde_json::from_slice::<lvstop::remote::director::Answer>(data);
    let _ = serde_json::from_slice::<lvstop::remote::director::Hello>(data);
    let _ = serde_json::from_slice::<lvstop::remote::director::Request>(data);
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok(snap) = lvstop::model::json::parse_dump(text) {
        for s in &snap.services {
            assert!(s.spec.scheduler.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-'));
        }
        let again = lvstop::report::dump_json(&snap, None);
        assert_eq!(lvstop::model::json::parse_dump(&again).as_ref(), Ok(&snap), "{again}");
        let _ = lvstop::model::diff::diff(&snap, &lvstop::model::Snapshot::empty());
    }
});
