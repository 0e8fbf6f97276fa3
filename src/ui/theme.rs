//! Themes: TOML data with a named palette and semantic slots. Widgets ask for
//! a slot (`theme.slot(Slot::StateDrained)`), never a raw colour.

use std::collections::BTreeMap;
use std::str::FromStr;

use ratatui::style::{Color, Modifier, Style};
use serde::Deserialize;

use crate::model::DestState;

/// Built-in themes: (name, TOML).
pub const BUILTIN: &[(&str, &str)] = &[
    ("default", include_str!("../../themes/default.toml")),
    ("light", include_str!("../../themes/light.toml")),
    ("high-contrast", include_str!("../../themes/high-contrast.toml")),
];

macro_rules! slots {
    ($( $variant:ident = $name:literal: $doc:literal, )*) => {
        /// Semantic style slots every theme defines.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
        pub enum Slot { $( #[doc = $doc] $variant, )* }
        impl Slot {
            /// Every slot.
            pub const ALL: &'static [Slot] = &[$(Slot::$variant),*];
            /// The slot's name in theme files.
            pub fn name(self) -> &'static str { match self { $(Slot::$variant => $name,)* } }
        }
    };
}

slots! {
    Base = "base": "ordinary text",
    Dim = "dim": "secondary text (units, zero Out* counters in DR)",
    Title = "title": "pane titles",
    TitleFocused = "title-focused": "the focused pane's title",
    Border = "border": "pane borders",
    BorderFocused = "border-focused": "the focused pane's border",
    Header = "header": "table headers",
    Selected = "selected": "the selected row",
    StateActive = "state-active": "a realserver taking traffic (weight > 0)",
    StateDrained = "state-drained": "a drained realserver (weight 0)",
    StateOverloaded = "state-overloaded": "a realserver over its upper threshold",
    StateIdle = "state-idle": "a realserver with weight but no connections",
    Changed = "changed": "a value that changed in the last few seconds",
    Ok = "ok": "success messages",
    Warning = "warning": "warnings",
    Error = "error": "errors",
    StatusBar = "status-bar": "the status line",
    ReadOnly = "read-only": "the READ-ONLY banner",
    Managed = "managed": "the keepalived/ldirectord marker",
    Sparkline = "sparkline": "service sparklines",
    ShareBar = "share-bar": "each realserver's share of its service's traffic",
    HelpKey = "help-key": "keys in the help screen",
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct ThemeFile {
    #[serde(default)]
    palette: BTreeMap<String, String>,
    #[serde(default)]
    slots: BTreeMap<String, SlotSpec>,
}

#[derive(Debug, Default, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct SlotSpec {
    fg: Option<String>,
    bg: Option<String>,
    #[serde(default)]
    bold: bool,
    #[serde(default)]
    dim: bool,
    #[serde(default)]
    reversed: bool,
}

/// A resolved theme.
#[derive(Debug, Clone, PartialEq)]
pub struct Theme {
    /// Name it was loaded as.
    pub name: String,
    styles: BTreeMap<Slot, Style>,
}

fn color(palette: &BTreeMap<String, String>, v: &str) -> Result<Color, String> {
    let v = palette.get(v).map_or(v, String::as_str);
    Color::from_str(v)
        .map_err(|_| format!("'{v}' is not a colour: use \"#rrggbb\", a terminal colour name or a palette name"))
}

impl Theme {
    /// Parse a theme; slots it does not define come from `base` (a partial theme
    /// patches the default). Errors name the slot or colour, on one line, with
    /// what the file said shown with control characters escaped.
    pub fn parse(name: &str, text: &str, base: Option<&Theme>) -> Result<Theme, String> {
        Theme::parse_unescaped(name, text, base).map_err(|e| crate::text::sanitize(&e))
    }

    fn parse_unescaped(name: &str, text: &str, base: Option<&Theme>) -> Result<Theme, String> {
        let file: ThemeFile = toml::from_str(text)
            .map_err(|e| format!("theme '{name}': {}", e.message().trim_end().replace('\n', ": ")))?;
        let mut styles = base.map(|b| b.styles.clone()).unwrap_or_default();
        for (slot_name, spec) in &file.slots {
            let slot = Slot::ALL
                .iter()
                .copied()
                .find(|s| s.name() == slot_name)
                .ok_or_else(|| format!("theme '{name}': unknown slot '{slot_name}'"))?;
            let mut st = Style::default();
            if let Some(fg) = &spec.fg {
                st = st.fg(color(&file.palette, fg).map_err(|e| format!("theme '{name}' slot '{slot_name}': {e}"))?);
            }
            if let Some(bg) = &spec.bg {
                st = st.bg(color(&file.palette, bg).map_err(|e| format!("theme '{name}' slot '{slot_name}': {e}"))?);
            }
            for (on, m) in [(spec.bold, Modifier::BOLD), (spec.dim, Modifier::DIM), (spec.reversed, Modifier::REVERSED)]
            {
                if on {
                    st = st.add_modifier(m);
                }
            }
            styles.insert(slot, st);
        }
        if let Some(missing) = Slot::ALL.iter().find(|s| !styles.contains_key(s)) {
            return Err(format!("theme '{name}': slot '{}' is not defined", missing.name()));
        }
        Ok(Theme { name: name.to_string(), styles })
    }

    /// The default theme (always valid: tested).
    pub fn default_theme() -> Theme {
        Theme::parse("default", BUILTIN[0].1, None).unwrap_or_else(|_| Theme::no_color())
    }

    /// A theme without colour (NO_COLOR): bold, reversed and dim only.
    pub fn no_color() -> Theme {
        let mut styles = BTreeMap::new();
        for s in Slot::ALL {
            let st = match s {
                Slot::Selected | Slot::StatusBar | Slot::ReadOnly => Style::default().add_modifier(Modifier::REVERSED),
                Slot::TitleFocused
                | Slot::Header
                | Slot::StateOverloaded
                | Slot::Error
                | Slot::Warning
                | Slot::Changed
                | Slot::HelpKey => Style::default().add_modifier(Modifier::BOLD),
                Slot::Dim | Slot::StateIdle => Style::default().add_modifier(Modifier::DIM),
                _ => Style::default(),
            };
            styles.insert(*s, st);
        }
        Theme { name: "no-color".into(), styles }
    }

    /// Load `name`: built in, or a user theme patched over the default.
    /// `user_file` reads a user theme by name (file I/O stays out of the UI):
    /// its path for messages and its text, or why it cannot be read.
    pub fn load(
        name: &str,
        user_file: impl FnOnce(&str) -> Option<Result<(String, String), String>>,
    ) -> Result<Theme, String> {
        let default = Theme::parse("default", BUILTIN[0].1, None)?;
        if let Some((_, text)) = BUILTIN.iter().find(|(n, _)| *n == name) {
            return Theme::parse(name, text, Some(&default));
        }
        match user_file(name) {
            None => Err(format!("unknown theme '{name}': use default, light or high-contrast")),
            Some(Err(why)) => {
                Err(format!("unknown theme '{name}': not built in (default, light, high-contrast) and {why}"))
            }
            Some(Ok((path, text))) => Theme::parse(name, &text, Some(&default)).map_err(|e| format!("{path}: {e}")),
        }
    }

    /// Only the built-in themes (no user theme directory).
    pub fn builtin(name: &str) -> Result<Theme, String> {
        Theme::load(name, |_| None)
    }

    /// The style of a slot.
    pub fn slot(&self, s: Slot) -> Style {
        self.styles.get(&s).copied().unwrap_or_default()
    }

    /// The style for a realserver state.
    pub fn state(&self, s: DestState) -> Style {
        self.slot(match s {
            DestState::Active => Slot::StateActive,
            DestState::Drained => Slot::StateDrained,
            DestState::Overloaded => Slot::StateOverloaded,
            DestState::Idle => Slot::StateIdle,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_builtin_theme_parses_and_fills_every_slot() {
        for (name, text) in BUILTIN {
            let t = Theme::parse(name, text, None).expect("a built-in theme parses");
            for s in Slot::ALL {
                assert!(t.styles.contains_key(s), "{name} lacks {}", s.name());
            }
        }
    }

    #[test]
    fn partial_user_themes_patch_the_default_and_errors_name_the_slot() {
        let base = Theme::default_theme();
        let t = Theme::parse("mine", "[slots]\nerror = { fg = \"#ff0000\" }\n", Some(&base)).expect("partial");
        assert_eq!(t.slot(Slot::Error).fg, Some(Color::Rgb(255, 0, 0)));
        assert_eq!(t.slot(Slot::Base), base.slot(Slot::Base));
        let e = Theme::parse("mine", "[slots]\nerorr = { fg = \"red\" }\n", Some(&base)).expect_err("typo");
        assert!(e.contains("'erorr'"), "{e}");
        let e = Theme::parse("mine", "[slots]\nerror = { fg = \"reddish\" }\n", Some(&base)).expect_err("colour");
        assert!(e.contains("'reddish'") && e.contains("'error'"), "{e}");
        let e = Theme::parse("mine", "[slots]\n\"\\u001b[2J\" = { fg = \"red\" }\n", Some(&base)).expect_err("esc");
        assert!(e.contains("'\\x1b[2J'"), "what the file said is shown escaped: {e}");
        let e = Theme::parse("mine", "b=\0", Some(&base)).expect_err("syntax");
        assert!(!e.contains('\n') && crate::text::is_clean(&e), "{e:?}");
        let e = Theme::builtin("nosuch").expect_err("unknown");
        assert!(e.contains("'nosuch'") && e.contains("high-contrast"), "{e}");
    }
}
