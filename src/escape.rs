//! Text that a pod or the filesystem controls, made safe for a terminal.
//!
//! Process arguments, thread names, hostnames, interface names and file
//! names are bytes chosen by whoever runs in a pod or writes to a directory.
//! Printed as they are, they can move the cursor, retitle or clear the
//! operator's terminal, or forge whole lines of our output ("processes:
//! none"). Human output therefore shows them through [`escape`]; JSON output
//! carries them exactly (see `docs/json.md`).
//!
//! The escaped form is printable, one line, and decodes back to the original
//! bytes ([`unescape`]), so two different names never look the same:
//! - `\` becomes `\\`; newline, tab and carriage return `\n`, `\t`, `\r`;
//! - every other C0 control character, DEL and every byte that is not part
//!   of valid UTF-8 becomes `\xNN` (two lowercase hex digits);
//! - C1 control characters (U+0080 to U+009F) and the Unicode characters that
//!   reorder or break lines without being visible (bidirectional overrides
//!   and isolates, the line and paragraph separators) become `\u{NNNN}`;
//! - everything else, including non-ASCII letters, is kept.

use std::fmt;

/// The printable, single-line, reversible form of `bytes`.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            push_char(&mut out, c);
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// [`escape`] for text that is already a `str`.
pub fn escape_str(text: &str) -> String {
    escape(text.as_bytes())
}

/// Makes a message one printable line without touching backslashes: for
/// text whose pod-controlled parts were already escaped (an error message),
/// so that they are not escaped twice. Not reversible; [`escape`] is.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push('\\'),
            c => push_char(&mut out, c),
        }
    }
    out
}

fn push_char(out: &mut String, c: char) {
    match c {
        '\\' => out.push_str("\\\\"),
        '\n' => out.push_str("\\n"),
        '\t' => out.push_str("\\t"),
        '\r' => out.push_str("\\r"),
        '\0'..='\x1f' | '\x7f' => out.push_str(&format!("\\x{:02x}", c as u32)),
        c if hidden(c) => out.push_str(&format!("\\u{{{:04x}}}", c as u32)),
        c => out.push(c),
    }
}

/// C1 controls, and characters that change how the rest of a line is shown
/// while being invisible themselves.
fn hidden(c: char) -> bool {
    matches!(c,
        '\u{80}'..='\u{9f}'
        | '\u{200e}' | '\u{200f}'              // left-to-right / right-to-left marks
        | '\u{2028}' | '\u{2029}'              // line and paragraph separators
        | '\u{202a}'..='\u{202e}'              // bidirectional embeddings, overrides
        | '\u{2066}'..='\u{2069}'              // bidirectional isolates
    )
}

/// The bytes an [`escape`]d text stands for; `None` if `text` is not
/// something [`escape`] can produce. Only the tests need it: it proves the
/// escaping loses nothing.
#[cfg(test)]
pub fn unescape(text: &str) -> Option<Vec<u8>> {
    let mut out = Vec::with_capacity(text.len());
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0u8; 4];
            out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        match chars.next()? {
            '\\' => out.push(b'\\'),
            'n' => out.push(b'\n'),
            't' => out.push(b'\t'),
            'r' => out.push(b'\r'),
            'x' => {
                let hex: String = chars.by_ref().take(2).collect();
                (hex.len() == 2).then_some(())?;
                out.push(u8::from_str_radix(&hex, 16).ok()?);
            }
            'u' => {
                (chars.next()? == '{').then_some(())?;
                let hex: String = chars.by_ref().take_while(|c| *c != '}').collect();
                let c = char::from_u32(u32::from_str_radix(&hex, 16).ok()?)?;
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            _ => return None,
        }
    }
    Some(out)
}

/// Bytes from a pod or the filesystem. `Display` shows them [`escape`]d, so
/// formatting one into a message can never print them raw. (The serde form,
/// an array of bytes, only carries them from a child process to pinns; JSON
/// output is written by `output::json`.)
#[derive(
    Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub struct Text(Vec<u8>);

impl Text {
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The text as UTF-8, with U+FFFD for bytes that are not.
    pub fn lossy(&self) -> String {
        String::from_utf8_lossy(&self.0).into_owned()
    }

    /// The exact bytes in lowercase hex, when they are not valid UTF-8 (and
    /// a JSON string could therefore not carry them).
    pub fn hex_if_not_utf8(&self) -> Option<String> {
        std::str::from_utf8(&self.0).is_err().then(|| hex(&self.0))
    }
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

impl From<Vec<u8>> for Text {
    fn from(bytes: Vec<u8>) -> Text {
        Text(bytes)
    }
}

impl From<&[u8]> for Text {
    fn from(bytes: &[u8]) -> Text {
        Text(bytes.to_vec())
    }
}

impl From<&str> for Text {
    fn from(text: &str) -> Text {
        Text(text.as_bytes().to_vec())
    }
}

impl From<String> for Text {
    fn from(text: String) -> Text {
        Text(text.into_bytes())
    }
}

impl fmt::Display for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&escape(&self.0))
    }
}

impl fmt::Debug for Text {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "\"{}\"", escape(&self.0))
    }
}

/// A path shown to a person: escaped like any filesystem-controlled text.
pub fn path(p: &std::path::Path) -> String {
    use std::os::unix::ffi::OsStrExt;
    escape(p.as_os_str().as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn escapes_what_a_terminal_would_act_on() {
        assert_eq!(escape(b"plain name-1.2"), "plain name-1.2");
        assert_eq!(escape("Grüße, 日本".as_bytes()), "Grüße, 日本");
        assert_eq!(escape(b"\x1b[31mred"), "\\x1b[31mred");
        assert_eq!(escape(b"a\nprocesses: none"), "a\\nprocesses: none");
        assert_eq!(escape(b"tab\there\r"), "tab\\there\\r");
        assert_eq!(escape(b"back\\slash"), "back\\\\slash");
        assert_eq!(escape(b"\x7f\x00"), "\\x7f\\x00");
        assert_eq!(escape(b"bad\xff\xfe"), "bad\\xff\\xfe");
        // U+009B is a one-character CSI on some terminals.
        assert_eq!(escape("\u{9b}2J".as_bytes()), "\\u{009b}2J");
        assert_eq!(escape("abc\u{202e}fed".as_bytes()), "abc\\u{202e}fed");
        // A lone byte 0x9b is invalid UTF-8, not the character U+009B.
        assert_eq!(escape(b"\x9b"), "\\x9b");
    }

    #[test]
    fn one_line_leaves_backslashes_alone() {
        assert_eq!(one_line("a \\x1b b"), "a \\x1b b");
        assert_eq!(one_line("line\nnext\x1b"), "line\\nnext\\x1b");
    }

    #[test]
    fn refuses_what_escape_never_writes() {
        for bad in ["\\", "\\q", "\\x1", "\\xzz", "\\u{110000}", "\\u1234"] {
            assert_eq!(unescape(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn text_displays_escaped() {
        let t = Text::from(&b"x\x1b]0;title\x07"[..]);
        assert_eq!(t.to_string(), "x\\x1b]0;title\\x07");
        assert_eq!(t.hex_if_not_utf8(), None);
        let t = Text::from(&b"\xff"[..]);
        assert_eq!(t.hex_if_not_utf8().as_deref(), Some("ff"));
        assert_eq!(t.lossy(), "\u{fffd}");
    }

    /// Bytes biased towards what matters: controls, backslashes, escapes'
    /// own letters, UTF-8 lead and continuation bytes.
    fn nasty_bytes() -> impl Strategy<Value = Vec<u8>> {
        let byte = prop_oneof![
            any::<u8>(),
            prop::sample::select(b"\\\n\t\rxu{}\x1b\x7f\xc2\x9b\xe2\x80\xae\xff".to_vec()),
        ];
        prop::collection::vec(byte, 0..40)
    }

    proptest! {
        #[test]
        fn output_is_printable_and_one_line(bytes in nasty_bytes()) {
            let out = escape(&bytes);
            prop_assert!(!out.chars().any(|c| c.is_control() || hidden(c)), "{out:?}");
        }

        #[test]
        fn decodes_back_to_the_same_bytes(bytes in nasty_bytes()) {
            prop_assert_eq!(unescape(&escape(&bytes)), Some(bytes));
        }

        #[test]
        fn different_inputs_look_different(a in nasty_bytes(), b in nasty_bytes()) {
            prop_assume!(a != b);
            prop_assert_ne!(escape(&a), escape(&b));
        }

        #[test]
        fn printable_text_is_kept(s in "[^\\p{Cc}\\\\\u{200e}\u{200f}\u{2028}\u{2029}\u{202a}-\u{202e}\u{2066}-\u{2069}]*") {
            prop_assert_eq!(escape(s.as_bytes()), s);
        }

        #[test]
        fn one_line_has_no_control(s in any::<String>()) {
            let out = one_line(&s);
            prop_assert!(!out.chars().any(|c| c.is_control() || hidden(c)));
        }
    }
}
