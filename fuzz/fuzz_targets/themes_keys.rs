//! A user theme, a key name and a config file's [keys] table, as an operator
//! (or a stranger with write access) might write them; the first byte picks
//! which. The parsers never panic; a key's name parses back to the same key
//! and its label carries no control character; a theme error carries no
//! control character; a keymap the config accepts never binds ctrl-c, leaves
//! no action without a key and types no plain character in forms.
#![no_main]

use libfuzzer_sys::fuzz_target;
use lvstop::config::keymap::refuse;
use lvstop::config::{Action, Context, Key};
use lvstop::text::is_clean;
use lvstop::ui::{Slot, Theme};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let Ok(text) = std::str::from_utf8(rest) else { return };
    match sel % 3 {
        0 => {
            for line in text.split('\n').take(16) {
                if let Ok(k) = Key::parse(line) {
                    assert_eq!(Key::parse(&k.to_string()), Ok(k), "{line:?} named as {k}");
                    assert!(is_clean(&k.label()), "key label {:?}", k.label());
                }
            }
        }
        1 => {
            let base = Theme::default_theme();
            for b in [Some(&base), None] {
                match Theme::parse("mine", text, b) {
                    Ok(t) => {
                        if b.is_some() {
                            for s in Slot::ALL {
                                let _ = t.slot(*s);
                            }
                        }
                    }
                    Err(e) => assert!(is_clean(&e), "a control character in a theme error: {e:?}"),
                }
            }
        }
        _ => {
            let file = format!("[keys]\n{text}");
            let Ok(c) = lvstop::config::parse(std::path::Path::new("/etc/lvstop/lvstop.toml"), &file) else {
                return;
            };
            let ctrl_c = Key::parse("ctrl-c").expect("ctrl-c");
            for cx in [Context::Main, Context::Confirm, Context::Input] {
                assert_eq!(c.keys.action_in(cx, &ctrl_c), None, "ctrl-c bound in {cx:?}");
            }
            assert!(c.keys.unbound().is_empty(), "actions without a key: {:?}", c.keys.unbound());
            for a in Action::ALL {
                for k in c.keys.keys_of(*a) {
                    assert_eq!(refuse(*a, &k), None, "{k} bound to {}", a.name());
                    assert!(is_clean(&k.label()), "key label {:?}", k.label());
                }
                let _ = c.keys.label(*a);
            }
        }
    }
});
