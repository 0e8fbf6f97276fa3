//! Actions and the keys bound to them. One table feeds key dispatch, the help
//! screen and the config file's `[keys]` section.

use std::collections::BTreeMap;
use std::fmt;

use ratatui::crossterm::event::{KeyCode, KeyEvent, KeyModifiers};

/// Where a key binding applies: the main view, a confirmation, or text entry
/// (forms and prompts, where unbound printable keys are typed). The checks
/// view scrolls with the main view's movement keys.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Context {
    /// The tables.
    Main,
    /// A change waiting for yes or no.
    Confirm,
    /// A form or a one-line prompt.
    Input,
}

macro_rules! actions {
    ($( $variant:ident, $ctx:ident, $name:literal, $write:literal, $desc:literal, [$($key:literal),*]; )*) => {
        /// Everything a key can do, in the main view and in the overlays.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum Action { $( #[doc = $desc] $variant, )* }

        impl Action {
            /// Every action, in help order.
            pub const ALL: &'static [Action] = &[$(Action::$variant),*];

            /// Name used in the config file.
            pub fn name(self) -> &'static str { match self { $(Action::$variant => $name,)* } }

            /// One-line description for the help screen.
            pub fn description(self) -> &'static str { match self { $(Action::$variant => $desc,)* } }

            /// Whether the action changes the IPVS table (never bound when read-only).
            pub fn is_write(self) -> bool { match self { $(Action::$variant => $write,)* } }

            /// Default keys.
            pub fn default_keys(self) -> &'static [&'static str] { match self { $(Action::$variant => &[$($key),*],)* } }

            /// Where its keys apply.
            pub fn context(self) -> Context { match self { $(Action::$variant => Context::$ctx,)* } }
        }
    };
}

actions! {
    Quit, Main, "quit", false, "quit lvstop", ["q"];
    Help, Main, "help", false, "show this help", ["?", "f1"];
    Up, Main, "up", false, "select the previous row", ["up", "k"];
    Down, Main, "down", false, "select the next row", ["down", "j"];
    PageUp, Main, "page-up", false, "scroll a page up", ["pageup"];
    PageDown, Main, "page-down", false, "scroll a page down", ["pagedown", "space"];
    Top, Main, "top", false, "select the first row", ["home", "g"];
    Bottom, Main, "bottom", false, "select the last row", ["end", "G"];
    Focus, Main, "focus", false, "switch between services and realservers", ["tab", "backtab", "enter"];
    Filter, Main, "filter", false, "filter by address, port, scheduler or state", ["/"];
    Sort, Main, "sort", false, "cycle the sort column", ["s"];
    SortReverse, Main, "sort-reverse", false, "reverse the sort order", ["S"];
    Refresh, Main, "refresh", false, "refresh now", ["ctrl-r", "f5"];
    NicPanel, Main, "nic-panel", false, "show or hide the director (interface load) panel", ["n"];
    Checks, Main, "checks", false, "show the LVS-DR check findings (and run the checks again)", ["c"];
    Connections, Main, "connections", false, "show the connections of the selected service or realserver (who is on it, until when)", ["o"];
    NextDirector, Main, "next-director", false, "show the next director of [directors] (this host first; :director NAME)", [">"];
    Pair, Main, "pair", false, "show this director beside another of [directors] (tables, VIPs, sync; :pair NAME)", ["P"];
    CommandLine, Main, "command", false, "command line (:weight RIP N, :drain RIP, :restore RIP, :save[!] FILE, :zero)", [":"];
    WeightUp, Main, "weight-up", true, "raise the realserver's weight by the step", ["+", "="];
    WeightDown, Main, "weight-down", true, "lower the realserver's weight by the step", ["-"];
    WeightSet, Main, "weight-set", true, "type an exact weight", ["w"];
    Drain, Main, "drain", true, "drain the realserver (weight 0, old weight remembered)", ["d"];
    Restore, Main, "restore", true, "restore a drained realserver's weight", ["r"];
    DrainEverywhere, Main, "drain-everywhere", true, "drain this realserver in every service", ["D"];
    Add, Main, "add", true, "add a service, or a realserver to the selected service", ["a"];
    Edit, Main, "edit", true, "edit the selected service or realserver", ["e"];
    Delete, Main, "delete", true, "delete the selected service or realserver", ["x", "delete"];
    Zero, Main, "zero", true, "zero the counters of the selected service", ["z"];
    Undo, Main, "undo", true, "undo the last change", ["u"];
    ConfirmYes, Confirm, "confirm", false, "apply the change shown", ["y", "Y", "enter"];
    ConfirmBoth, Confirm, "confirm-both", false, "apply the weights shown here and on the pair view's other director", ["b"];
    ConfirmNo, Confirm, "cancel", false, "cancel the change shown", ["n", "N", "q", "esc"];
    Submit, Input, "submit", false, "apply the form or the prompt", ["enter"];
    InputCancel, Input, "input-cancel", false, "close the form or the prompt without applying it", ["esc"];
    NextField, Input, "next-field", false, "move to the next field of a form", ["tab", "down"];
    PrevField, Input, "prev-field", false, "move to the previous field of a form", ["backtab", "up"];
    DeleteChar, Input, "delete-char", false, "delete the character before the cursor", ["backspace"];
    ClearField, Input, "clear-field", false, "clear the field or the prompt", ["ctrl-u"];
}

/// A key with modifiers, as written in the config file (`q`, `ctrl-r`, `f5`, `delete`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Key {
    code: KeyCodeOrd,
    ctrl: bool,
    alt: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum KeyCodeOrd {
    Char(char),
    F(u8),
    Named(&'static str),
}

const NAMED: &[(&str, KeyCode)] = &[
    ("enter", KeyCode::Enter),
    ("esc", KeyCode::Esc),
    ("tab", KeyCode::Tab),
    ("backtab", KeyCode::BackTab),
    ("backspace", KeyCode::Backspace),
    ("delete", KeyCode::Delete),
    ("insert", KeyCode::Insert),
    ("up", KeyCode::Up),
    ("down", KeyCode::Down),
    ("left", KeyCode::Left),
    ("right", KeyCode::Right),
    ("home", KeyCode::Home),
    ("end", KeyCode::End),
    ("pageup", KeyCode::PageUp),
    ("pagedown", KeyCode::PageDown),
];

impl Key {
    /// Parse `q`, `G`, `ctrl-r`, `alt-x`, `f5`, `delete`, `space`.
    pub fn parse(s: &str) -> Result<Key, String> {
        let mut ctrl = false;
        let mut alt = false;
        let mut rest = s;
        loop {
            if let Some(r) = rest.strip_prefix("ctrl-").filter(|r| !r.is_empty()) {
                ctrl = true;
                rest = r;
            } else if let Some(r) = rest.strip_prefix("alt-").filter(|r| !r.is_empty()) {
                alt = true;
                rest = r;
            } else {
                break;
            }
        }
        let mut chars = rest.chars();
        let code = match (chars.next(), chars.next()) {
            // A terminal reports ctrl-X as ctrl-x.
            (Some(c), None) if !c.is_control() && ctrl => KeyCodeOrd::Char(c.to_ascii_lowercase()),
            (Some(c), None) if !c.is_control() => KeyCodeOrd::Char(c),
            _ if rest == "space" => KeyCodeOrd::Char(' '),
            _ => {
                if let Some(n) =
                    rest.strip_prefix('f').and_then(|n| n.parse::<u8>().ok()).filter(|n| (1..=12).contains(n))
                {
                    KeyCodeOrd::F(n)
                } else if let Some((name, _)) = NAMED.iter().find(|(n, _)| *n == rest) {
                    KeyCodeOrd::Named(name)
                } else {
                    return Err(format!(
                        "unknown key '{s}': use a single character, space, f1-f12, {}, optionally prefixed by ctrl- or alt-",
                        NAMED.iter().map(|(n, _)| *n).collect::<Vec<_>>().join(", ")
                    ));
                }
            }
        };
        Ok(Key { code, ctrl, alt })
    }

    /// The key as hints show it (`Enter`, `Shift-Tab`, `↑`, `Ctrl-R`, `y`).
    pub fn label(&self) -> String {
        let mut out = String::new();
        if self.ctrl {
            out.push_str("Ctrl-");
        }
        if self.alt {
            out.push_str("Alt-");
        }
        match self.code {
            KeyCodeOrd::Char(' ') => out.push_str("Space"),
            KeyCodeOrd::Char(c) => out.push(c),
            KeyCodeOrd::F(n) => out.push_str(&format!("F{n}")),
            KeyCodeOrd::Named(n) => out.push_str(match n {
                "enter" => "Enter",
                "esc" => "Esc",
                "tab" => "Tab",
                "backtab" => "Shift-Tab",
                "backspace" => "Backspace",
                "delete" => "Delete",
                "insert" => "Insert",
                "up" => "↑",
                "down" => "↓",
                "left" => "←",
                "right" => "→",
                "home" => "Home",
                "end" => "End",
                "pageup" => "PgUp",
                "pagedown" => "PgDn",
                other => other,
            }),
        }
        out
    }

    /// The key of a terminal event (shift is folded into the character).
    pub fn from_event(e: &KeyEvent) -> Option<Key> {
        let ctrl = e.modifiers.contains(KeyModifiers::CONTROL);
        let alt = e.modifiers.contains(KeyModifiers::ALT);
        let code = match e.code {
            KeyCode::Char(c) => KeyCodeOrd::Char(if ctrl { c.to_ascii_lowercase() } else { c }),
            KeyCode::F(n) => KeyCodeOrd::F(n),
            other => KeyCodeOrd::Named(NAMED.iter().find(|(_, k)| *k == other)?.0),
        };
        Some(Key { code, ctrl, alt })
    }
}

impl fmt::Display for Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.ctrl {
            f.write_str("ctrl-")?;
        }
        if self.alt {
            f.write_str("alt-")?;
        }
        match self.code {
            KeyCodeOrd::Char(' ') => f.write_str("space"),
            KeyCodeOrd::Char(c) => write!(f, "{c}"),
            KeyCodeOrd::F(n) => write!(f, "f{n}"),
            KeyCodeOrd::Named(n) => f.write_str(n),
        }
    }
}

/// Why `key` cannot be given to `action`, if it cannot: Ctrl-C always quits,
/// and in forms and prompts a plain character (or space) is typed, so it
/// cannot also be an action there.
pub fn refuse(action: Action, key: &Key) -> Option<String> {
    if key.ctrl && key.code == KeyCodeOrd::Char('c') {
        return Some(format!("'{key}' always quits lvstop: give '{}' another key", action.name()));
    }
    let typed = matches!(key.code, KeyCodeOrd::Char(_)) && !key.ctrl && !key.alt;
    (action.context() == Context::Input && typed).then(|| {
        format!(
            "'{key}' is typed in forms and prompts, so '{}' cannot use it: use a named key (enter, tab, …) or ctrl-/alt-",
            action.name()
        )
    })
}

/// Key → action in each context, plus the reverse for help.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Keymap {
    bindings: BTreeMap<(Context, Key), Action>,
}

impl Keymap {
    /// The default bindings.
    pub fn defaults() -> Self {
        let mut bindings = BTreeMap::new();
        for a in Action::ALL {
            for k in a.default_keys() {
                if let Ok(key) = Key::parse(k) {
                    bindings.insert((a.context(), key), *a);
                }
            }
        }
        Keymap { bindings }
    }

    /// Give `keys` to `action` (an override from the config file). A key taken
    /// from another action of the same context leaves that action its other
    /// keys; see [`Keymap::unbound`].
    pub fn rebind(&mut self, action: Action, keys: &[Key]) {
        self.bindings.retain(|_, a| *a != action);
        for k in keys {
            self.bindings.insert((action.context(), *k), action);
        }
    }

    /// Actions left without any key.
    pub fn unbound(&self) -> Vec<Action> {
        Action::ALL.iter().copied().filter(|a| self.keys_of(*a).is_empty()).collect()
    }

    /// The main view's action bound to `key`.
    pub fn action(&self, key: &Key) -> Option<Action> {
        self.action_in(Context::Main, key)
    }

    /// The action bound to `key` in `context`.
    pub fn action_in(&self, context: Context, key: &Key) -> Option<Action> {
        self.bindings.get(&(context, *key)).copied()
    }

    /// The action a terminal key event means in `context`.
    pub fn action_of(&self, context: Context, e: &KeyEvent) -> Option<Action> {
        Key::from_event(e).and_then(|k| self.action_in(context, &k))
    }

    /// Keys bound to `action`, in a stable order.
    pub fn keys_of(&self, action: Action) -> Vec<Key> {
        self.bindings.iter().filter(|(_, a)| **a == action).map(|((_, k), _)| *k).collect()
    }

    /// The key to show for `action` in hints: its first default key that is
    /// still bound to it, else its first key, in the terminal's usual words.
    pub fn label(&self, action: Action) -> String {
        self.hint(action).unwrap_or_else(|| "(unbound)".to_string())
    }

    /// Like [`Keymap::label`], but None when the action has no key (read-only
    /// mode unbinds the changing actions), so that a hint can leave it out.
    pub fn hint(&self, action: Action) -> Option<String> {
        let bound = self.keys_of(action);
        let primary = action
            .default_keys()
            .iter()
            .filter_map(|k| Key::parse(k).ok())
            .find(|k| bound.contains(k))
            .or_else(|| bound.first().copied());
        primary.map(|k| k.label())
    }

    /// The same keymap without write actions (read-only mode: they are not bound at all).
    #[must_use]
    pub fn read_only(&self) -> Self {
        Keymap { bindings: self.bindings.iter().filter(|(_, a)| !a.is_write()).map(|(k, a)| (*k, *a)).collect() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_parse_and_print() {
        for s in ["q", "G", "+", ":", "ctrl-r", "f5", "delete", "space", "alt-x", "backtab"] {
            assert_eq!(Key::parse(s).map(|k| k.to_string()).as_deref(), Ok(s));
        }
        let e = Key::parse("hyper-q").expect_err("bad");
        assert!(e.contains("'hyper-q'"), "{e}");
        assert!(Key::parse("").is_err());
        assert!(Key::parse("f13").is_err());
        assert_eq!(Key::parse("ctrl-X"), Key::parse("ctrl-x"), "a terminal reports ctrl-X as ctrl-x");
        let e = refuse(Action::NextField, &Key::parse("j").expect("j")).expect("typed");
        assert!(e.contains("'j' is typed") && e.contains("next-field"), "{e}");
        assert!(refuse(Action::NextField, &Key::parse("ctrl-j").expect("ctrl-j")).is_none());
        assert!(refuse(Action::Down, &Key::parse("j").expect("j")).is_none());
        assert!(refuse(Action::InputCancel, &Key::parse("ctrl-c").expect("c"))
            .expect("quits")
            .contains("always quits"));
    }

    #[test]
    fn every_action_has_a_default_key_and_no_key_is_shared() {
        let map = Keymap::defaults();
        let mut total = 0;
        for a in Action::ALL {
            assert!(!map.keys_of(*a).is_empty(), "{a:?} has no key");
            total += a.default_keys().len();
        }
        assert_eq!(map.bindings.len(), total, "two actions of one context share a default key");
        // The same key means different things in different contexts.
        let enter = Key::parse("enter").expect("enter");
        assert_eq!(map.action_in(Context::Main, &enter), Some(Action::Focus));
        assert_eq!(map.action_in(Context::Confirm, &enter), Some(Action::ConfirmYes));
        assert_eq!(map.action_in(Context::Input, &enter), Some(Action::Submit));
    }

    #[test]
    fn read_only_binds_no_write_action() {
        let ro = Keymap::defaults().read_only();
        assert!(ro.bindings.values().all(|a| !a.is_write()));
        assert_eq!(ro.action_in(Context::Confirm, &Key::parse("y").expect("y")), Some(Action::ConfirmYes));
        assert_eq!(ro.action(&Key::parse("d").expect("d")), None);
        assert_eq!(ro.action(&Key::parse("q").expect("q")), Some(Action::Quit));
    }
}
