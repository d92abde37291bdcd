//! `pinns list`: one row per pin name with its types, namespace inodes, age,
//! process count and state.
//!
//! Scaling: processes are matched to pins through one scan of `/proc`
//! ([`NsIndex`]), never one scan per pin, so the cost is one pass over the
//! processes plus two `fstatat` per pin path (see `pindir::inventory`), and
//! the table or the JSON goes out in one buffer.

pub mod json;
pub mod metrics;

use crate::classify::{classify_pin, OrphanRules, PinState, RuntimeSays};
use crate::duration;
use crate::error::{Error, Result};
use crate::keep::{Guard, KeepSet, Knowledge, RuntimeSource};
use crate::ns::NsKind;
use crate::pindir::inventory::{Inventory, Pin};
use crate::pindir::Content;
use crate::procs::NsIndex;
use nix::errno::Errno;
use serde::Serialize;
use std::path::Path;
use std::time::SystemTime;

#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub name: String,
    pub state: PinState,
    /// What the runtime said: `known`, `unknown` or `not-asked`.
    pub runtime: RuntimeSays,
    /// Why the pin is not one CRI-O made (state `foreign`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub foreign: Option<&'static str>,
    /// Whole seconds; absent when the age could not be read.
    pub age_seconds: Option<u64>,
    pub processes: usize,
    /// The processes counted, by pid.
    pub pids: Vec<i32>,
    pub namespaces: Vec<PathRow>,
}

/// One pin path of a row.
#[derive(Debug, Clone, Serialize)]
pub struct PathRow {
    #[serde(rename = "type")]
    pub kind: String,
    /// `namespace`, `leftover` (an empty file) or `broken`.
    pub content: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub inode: Option<u64>,
    /// The host's (PID 1's) namespace, as pinned for `--net=host`.
    pub host: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub problem: Option<&'static str>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Listing {
    pub dir: std::path::PathBuf,
    pub pins: Vec<Row>,
    pub warnings: Vec<String>,
}

/// Lists DIR. The runtime is asked as a sweep would ask it; when it cannot
/// be, a warning says so and no pin shows as an orphan.
pub fn list(
    dir: &Path,
    rules: &OrphanRules,
    keep: &KeepSet,
    runtime: &RuntimeSource,
) -> Result<Listing> {
    let mut pins =
        Inventory::open(dir)?.ok_or_else(|| Error::path("open directory", dir, Errno::ENOENT))?;
    pins.scan()?;
    let index = NsIndex::scan_kinds(&own_kinds(pins.pins.values()));
    let guard = Guard {
        keep: keep.clone(),
        runtime: runtime.ask_softly(),
    };
    if let Knowledge::NotAsked(why) = &guard.runtime {
        pins.warnings.push(why.clone());
    }
    let now = SystemTime::now();
    let rows = pins
        .pins
        .values()
        .map(|pin| row(pin, &index, rules, &guard, now))
        .collect();
    Ok(Listing {
        dir: pins.path().to_path_buf(),
        pins: rows,
        warnings: pins.warnings,
    })
}

/// The namespace types the pins' own namespaces are of: the only ones the
/// `/proc` scan has to read (each costs one stat per task of the node).
pub fn own_kinds<'a>(pins: impl IntoIterator<Item = &'a Pin>) -> Vec<NsKind> {
    let kinds: std::collections::BTreeSet<NsKind> = pins
        .into_iter()
        .flat_map(|p| p.own_namespaces().map(|(k, _)| k))
        .collect();
    kinds.into_iter().collect()
}

fn row(pin: &Pin, index: &NsIndex, rules: &OrphanRules, guard: &Guard, now: SystemTime) -> Row {
    let facts = guard.facts(pin, index, now);
    Row {
        name: pin.name.to_string(),
        state: classify_pin(&facts, rules),
        runtime: facts.runtime,
        foreign: facts.foreign,
        age_seconds: facts.age.map(|a| a.as_secs()),
        processes: facts.processes,
        pids: pin.processes(index),
        namespaces: path_rows(pin),
    }
}

/// What each path of a pin holds (shared with `cleanup`'s report).
pub fn path_rows(pin: &Pin) -> Vec<PathRow> {
    pin.entries
        .iter()
        .map(|e| {
            let (inode, host) = match e.content {
                Content::Namespace { inode, host } => (Some(inode), host),
                _ => (None, false),
            };
            PathRow {
                kind: e.kind.to_string(),
                content: e.content.word(),
                inode,
                host,
                problem: e.content.problem().map(|p| p.words()),
            }
        })
        .collect()
}

impl Listing {
    /// Aligned columns, no colour: NAME STATE AGE PROCS NAMESPACES.
    pub fn text(&self) -> String {
        let mut table = Vec::with_capacity(self.pins.len() + 1);
        table.push(["NAME", "STATE", "AGE", "PROCS", "NAMESPACES"].map(String::from));
        for r in &self.pins {
            table.push([
                crate::escape::escape_str(&r.name),
                r.state.to_string(),
                r.age_seconds
                    .map(|s| duration::format(std::time::Duration::from_secs(s)))
                    .unwrap_or_else(|| "?".into()),
                r.processes.to_string(),
                namespaces_cell(&r.namespaces),
            ]);
        }
        align(&table)
    }
}

/// `type:inode` (`(host)` after the node's own), or `type:content`, for
/// each path, in one string.
fn namespaces_cell(paths: &[PathRow]) -> String {
    use std::fmt::Write as _;
    let mut cell = String::with_capacity(paths.len() * 16);
    for (i, p) in paths.iter().enumerate() {
        if i > 0 {
            cell.push(' ');
        }
        // Writing to a String cannot fail.
        let _ = match (p.content, p.inode, p.host) {
            ("namespace", Some(ino), true) => write!(cell, "{}:{ino}(host)", p.kind),
            ("namespace", Some(ino), false) => write!(cell, "{}:{ino}", p.kind),
            (content, _, _) => write!(cell, "{}:{content}", p.kind),
        };
    }
    cell
}

/// Pads every column but the last to its widest cell, two spaces between
/// columns; written into one string (a table of 5,000 pins is one write).
pub fn align<const N: usize>(rows: &[[String; N]]) -> String {
    let mut widths = [0usize; N];
    for row in rows {
        for (w, cell) in widths.iter_mut().zip(row) {
            *w = (*w).max(cell.chars().count());
        }
    }
    let line_guess: usize = widths.iter().sum::<usize>() + 2 * N;
    let mut out = String::with_capacity(rows.len() * line_guess);
    for row in rows {
        let start = out.len();
        for (i, cell) in row.iter().enumerate() {
            out.push_str(cell);
            if i + 1 < N {
                let pad = widths[i] - cell.chars().count() + 2;
                out.extend(std::iter::repeat(' ').take(pad));
            }
        }
        let end = start + out[start..].trim_end().len();
        out.truncate(end);
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up() {
        let rows = [
            ["NAME".to_string(), "STATE".into(), "X".into()],
            [
                "a-long-name".to_string(),
                "in use".into(),
                "net:1 uts:2".into(),
            ],
            ["b".to_string(), "idle".into(), "".into()],
        ];
        let text = align(&rows);
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines[0], "NAME         STATE   X");
        assert_eq!(lines[1], "a-long-name  in use  net:1 uts:2");
        assert_eq!(lines[2], "b            idle");
    }

    #[test]
    fn cells_name_type_and_inode() {
        let p = |content, inode, host| PathRow {
            kind: "net".into(),
            content,
            inode,
            host,
            problem: None,
        };
        let cell = |p| namespaces_cell(&[p]);
        assert_eq!(cell(p("namespace", Some(5), false)), "net:5");
        assert_eq!(cell(p("namespace", Some(5), true)), "net:5(host)");
        assert_eq!(cell(p("leftover", None, false)), "net:leftover");
        assert_eq!(cell(p("broken", None, false)), "net:broken");
        assert_eq!(
            namespaces_cell(&[p("namespace", Some(5), false), p("broken", None, false)]),
            "net:5 net:broken"
        );
        assert_eq!(namespaces_cell(&[]), "");
    }
}
