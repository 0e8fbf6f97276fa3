//! Outside text made safe for a terminal, a report and the audit log: one
//! function, used wherever text from a realserver, ssh, the kernel or a file
//! is shown.

/// `text` with every control character (C0, DEL, C1, and the Unicode
/// bidirectional overrides) replaced by a visible escape (`\x1b`, `\u{202e}`),
/// so that no escape sequence reaches the operator's terminal.
pub fn sanitize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        if is_unsafe(c) {
            if u32::from(c) < 0x100 {
                out.push_str(&format!("\\x{:02x}", u32::from(c)));
            } else {
                out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
            }
        } else {
            out.push(c);
        }
    }
    out
}

/// Whether `text` needs [`sanitize`].
pub fn is_clean(text: &str) -> bool {
    !text.chars().any(is_unsafe)
}

fn is_unsafe(c: char) -> bool {
    c.is_control() || matches!(c, '\u{200e}' | '\u{200f}' | '\u{202a}'..='\u{202e}' | '\u{2066}'..='\u{2069}')
}

/// `eprintln!` that never panics: on a closed or broken standard error (a
/// pipe whose reader went away) the line is lost, nothing more.
#[macro_export]
macro_rules! say {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stderr(), $($arg)*);
    }};
}

/// Whether `name` is an interface name lvstop accepts and places in a
/// suggested command: what Linux allows (1 to 15 bytes, no `/`, no white
/// space, no control character, not `.` or `..`), further limited to
/// characters a shell needs no quoting for (letters, digits, `_ . - + = , %`).
/// A realserver that reports another name gives a bad answer; a director
/// interface with another name is reported (D-IFNAME) and never placed in a
/// command.
pub fn valid_ifname(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 15
        && name != "."
        && name != ".."
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-' | b'+' | b'=' | b',' | b'%'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interface_names_are_what_linux_allows_and_a_shell_needs_no_quotes_for() {
        for ok in ["lo", "eth0", "eth0.100", "bond0", "veth1a2b3c4d5e6", "br-lan_2", "wg+0", "a=b,c%d"] {
            assert!(valid_ifname(ok), "{ok}");
        }
        for bad in ["", ".", "..", "a/b", "eth 0", "x;touch${IFS}/p", "e\u{1b}[2J", "abcdefghijklmnop", "$(id)", "é0"]
        {
            assert!(!valid_ifname(bad), "{bad}");
        }
    }

    #[test]
    fn escapes_never_reach_the_terminal() {
        assert_eq!(sanitize("eth0"), "eth0");
        assert_eq!(sanitize("\u{1b}]0;pwned\u{7}x"), "\\x1b]0;pwned\\x07x");
        assert_eq!(sanitize("a\u{9b}2Jb\r\n"), "a\\x9b2Jb\\x0d\\x0a");
        assert_eq!(sanitize("x\u{202e}y"), "x\\u{202e}y");
        assert_eq!(sanitize("198.51.100.11 — ok"), "198.51.100.11 — ok");
        assert!(is_clean("plain") && !is_clean("\u{1b}[2J"));
    }
}
