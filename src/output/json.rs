//! The building blocks of the JSON that `list`, `inspect` and `cleanup`
//! print (schema `pinns/v1`, described field by field in `docs/json.md`):
//! the schema's version, text fields, the namespace and process objects
//! every document shares, and printing. Each command builds its own
//! document from these (`list::json`, `inspect::json`, `cleanup::json`), so
//! one name means one thing in every command, and this layer knows no
//! command.
//!
//! Text a pod or the filesystem chose (names, paths, arguments) is a JSON
//! string when its bytes are UTF-8, which is exact; when they are not, the
//! string holds the text with U+FFFD in place of bad bytes and a sibling
//! field `<name>_hex` holds the exact bytes in hex.

use crate::escape::{hex, Text};
use crate::ns::NsKind;
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The value of every document's `schema` field. A change that removes or
/// retypes a field gets a new version; adding a field does not.
pub const SCHEMA: &str = "pinns/v1";

/// A text field: the string, and the exact bytes when they are not UTF-8.
pub fn text(t: &Text) -> (String, Option<String>) {
    (t.lossy(), t.hex_if_not_utf8())
}

pub fn path_text(p: &Path) -> (String, Option<String>) {
    text(&Text::from(p.as_os_str().as_bytes()))
}

/// A list of texts: the strings, and every element in hex when any one of
/// them is not UTF-8.
pub fn texts(ts: &[Text]) -> (Vec<String>, Option<Vec<String>>) {
    let strings = ts.iter().map(Text::lossy).collect();
    let any_bad = ts.iter().any(|t| t.hex_if_not_utf8().is_some());
    let hexes = any_bad.then(|| ts.iter().map(|t| hex(t.as_bytes())).collect());
    (strings, hexes)
}

/// One pin path (`DIR/<type>ns/NAME`).
#[derive(Debug, Serialize)]
pub struct Namespace {
    #[serde(rename = "type")]
    pub kind: String,
    pub path: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub path_hex: Option<String>,
    /// `namespace`, `leftover` or `broken`.
    pub content: &'static str,
    pub inode: Option<u64>,
    pub host: bool,
    pub problem: Option<&'static str>,
    /// Known to `inspect` only; null elsewhere.
    pub owner_userns: Option<u64>,
}

impl Namespace {
    pub fn new(kind: NsKind, path: &Path, content: &'static str) -> Namespace {
        let (path, path_hex) = path_text(path);
        Namespace {
            kind: kind.to_string(),
            path,
            path_hex,
            content,
            inode: None,
            host: false,
            problem: None,
            owner_userns: None,
        }
    }
}

/// A process living in a pod's own namespaces, as `list` and `cleanup`
/// give it: the pid. (`inspect` gives more, in an object that starts the
/// same way.)
#[derive(Debug, Serialize)]
pub struct Process {
    pub pid: i32,
}

pub fn pids(pids: &[i32]) -> Vec<Process> {
    pids.iter().map(|&pid| Process { pid }).collect()
}

pub fn unix_seconds(t: std::time::SystemTime) -> u64 {
    t.duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Prints `doc` and a newline on stdout, streamed through one buffer:
/// `list --json` over 5,000 pods is 5 MB, which [`to_string`] would hold,
/// and grow, whole before the first byte is written.
pub fn print<T: Serialize>(doc: &T, pretty: bool) -> crate::error::Result<()> {
    use crate::error::PathContext;
    use std::io::Write;
    let mut out = std::io::BufWriter::with_capacity(1 << 16, std::io::stdout().lock());
    let serialised = if pretty {
        serde_json::to_writer_pretty(&mut out, doc)
    } else {
        serde_json::to_writer(&mut out, doc)
    };
    serialised
        .map_err(std::io::Error::from)
        .and_then(|()| out.write_all(b"\n"))
        .and_then(|()| out.flush())
        .at("write", "standard output")
}

/// One document per line (`cleanup --interval` prints one per sweep), or
/// indented for a person reading `list` and `inspect`.
pub fn to_string<T: Serialize>(doc: &T, pretty: bool) -> String {
    let text = if pretty {
        serde_json::to_string_pretty(doc)
    } else {
        serde_json::to_string(doc)
    };
    // Our structs hold nothing serde_json can refuse (no maps with
    // non-string keys, no non-finite floats).
    text.expect("serialise JSON")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_fields_are_exact_or_carry_hex() {
        assert_eq!(text(&Text::from("ok\x1b")), ("ok\x1b".into(), None));
        assert_eq!(
            text(&Text::from(&b"a\xff"[..])),
            ("a\u{fffd}".into(), Some("61ff".into()))
        );
        let (s, h) = texts(&[Text::from("sh"), Text::from(&b"\xfe"[..])]);
        assert_eq!(s, ["sh", "\u{fffd}"]);
        assert_eq!(h.unwrap(), ["7368", "fe"]);
        assert_eq!(texts(&[Text::from("sh")]).1, None);
    }
}
