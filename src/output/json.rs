//! The JSON that `list`, `inspect` and `cleanup` print: schema `pinns/v1`,
//! described field by field in `docs/json.md`. This module is that schema:
//! every object printed is one of the structs below, built from what the
//! commands found, so one name means one thing in every command.
//!
//! Text a pod or the filesystem chose (names, paths, arguments) is a JSON
//! string when its bytes are UTF-8, which is exact; when they are not, the
//! string holds the text with U+FFFD in place of bad bytes and a sibling
//! field `<name>_hex` holds the exact bytes in hex.

use crate::classify::PinState;
use crate::cleanup::{self, ItemKind, Outcome, Report, Summary};
use crate::escape::{hex, Text};
use crate::inspect::{self, Inspection};
use crate::list::{Listing, PathRow};
use crate::ns::NsKind;
use serde::Serialize;
use std::os::unix::ffi::OsStrExt;
use std::path::Path;

/// The value of every document's `schema` field. A change that removes or
/// retypes a field gets a new version; adding a field does not.
pub const SCHEMA: &str = "pinns/v1";

/// A text field: the string, and the exact bytes when they are not UTF-8.
fn text(t: &Text) -> (String, Option<String>) {
    (t.lossy(), t.hex_if_not_utf8())
}

fn path_text(p: &Path) -> (String, Option<String>) {
    text(&Text::from(p.as_os_str().as_bytes()))
}

/// A list of texts: the strings, and every element in hex when any one of
/// them is not UTF-8.
fn texts(ts: &[Text]) -> (Vec<String>, Option<Vec<String>>) {
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
    fn new(kind: NsKind, path: &Path, content: &'static str) -> Namespace {
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

/// A process living in a pod's own namespaces. `list` and `cleanup` give
/// the pid only; `inspect` fills in the rest.
#[derive(Debug, Serialize)]
pub struct Process {
    pub pid: i32,
    #[serde(flatten)]
    pub detail: Option<ProcessDetail>,
}

#[derive(Debug, Serialize)]
pub struct ProcessDetail {
    pub comm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub argv: Vec<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub argv_hex: Option<Vec<String>>,
    pub namespaces: Vec<String>,
    pub cpus_allowed: String,
    pub policy: String,
    pub realtime_threads: Vec<Thread>,
    /// Effective capabilities by name; null when /proc/PID/status was unreadable.
    pub capabilities: Option<Vec<String>>,
}

#[derive(Debug, Serialize)]
pub struct Thread {
    pub tid: i32,
    pub comm: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub comm_hex: Option<String>,
    pub policy: String,
    pub priority: u32,
    pub cpus_allowed: String,
}

/// One line of a uid_map or gid_map.
#[derive(Debug, Serialize, PartialEq, Eq)]
pub struct IdRange {
    pub inside: u64,
    pub outside: u64,
    pub count: u64,
}

#[derive(Debug, Serialize)]
pub struct UserMaps {
    pub uid_map: Vec<IdRange>,
    pub gid_map: Vec<IdRange>,
}

#[derive(Debug, Serialize)]
pub struct Uts {
    pub hostname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub hostname_hex: Option<String>,
    pub domainname: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub domainname_hex: Option<String>,
}

#[derive(Debug, Serialize)]
pub struct Interface {
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    pub up: bool,
    pub loopback: bool,
    pub addresses: Vec<String>,
    pub rx_bytes: u64,
    pub tx_bytes: u64,
}

/// `pinns inspect --json`.
#[derive(Debug, Serialize)]
pub struct InspectDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub name: String,
    pub age_seconds: Option<u64>,
    pub process_count: usize,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
    pub user_maps: Option<UserMaps>,
    pub uts: Option<Uts>,
    pub interfaces: Option<Vec<Interface>>,
    pub warnings: Vec<String>,
}

pub fn inspect_doc(i: &Inspection) -> InspectDoc {
    let (dir, dir_hex) = path_text(&i.dir);
    InspectDoc {
        schema: SCHEMA,
        command: "inspect",
        dir,
        dir_hex,
        name: i.name.clone(),
        age_seconds: i.age_seconds,
        process_count: i.processes.len(),
        processes: i.processes.iter().map(process_detail).collect(),
        namespaces: i
            .namespaces
            .iter()
            .map(|ns| Namespace {
                inode: ns.inode,
                host: ns.host,
                problem: ns.problem,
                owner_userns: ns.owner_userns,
                ..Namespace::new(ns.kind, &ns.path, ns.content)
            })
            .collect(),
        user_maps: i.user_maps.as_ref().map(|m| UserMaps {
            uid_map: id_ranges(&m.uid_map),
            gid_map: id_ranges(&m.gid_map),
        }),
        uts: i.uts.as_ref().map(|u| {
            let (hostname, hostname_hex) = text(&u.hostname);
            let (domainname, domainname_hex) = text(&u.domainname);
            Uts {
                hostname,
                hostname_hex,
                domainname,
                domainname_hex,
            }
        }),
        interfaces: i.interfaces.as_ref().map(|ifaces| {
            ifaces
                .iter()
                .map(|x| {
                    let (name, name_hex) = text(&x.name);
                    Interface {
                        name,
                        name_hex,
                        up: x.up,
                        loopback: x.loopback,
                        addresses: x.addresses.clone(),
                        rx_bytes: x.rx_bytes,
                        tx_bytes: x.tx_bytes,
                    }
                })
                .collect()
        }),
        warnings: i.warnings.clone(),
    }
}

fn process_detail(p: &inspect::ProcessInfo) -> Process {
    let (comm, comm_hex) = text(&p.comm);
    let (argv, argv_hex) = texts(&p.argv);
    Process {
        pid: p.pid,
        detail: Some(ProcessDetail {
            comm,
            comm_hex,
            argv,
            argv_hex,
            namespaces: p.namespaces.iter().map(ToString::to_string).collect(),
            cpus_allowed: p.cpus_allowed.clone(),
            policy: p.policy.clone(),
            realtime_threads: p
                .realtime_threads
                .iter()
                .map(|t| {
                    let (comm, comm_hex) = text(&t.comm);
                    Thread {
                        tid: t.tid,
                        comm,
                        comm_hex,
                        policy: t.policy.clone(),
                        priority: t.priority,
                        cpus_allowed: t.cpus_allowed.clone(),
                    }
                })
                .collect(),
            capabilities: p.capabilities.clone(),
        }),
    }
}

/// `/proc/<pid>/uid_map` lines: inside, outside, count.
pub fn id_ranges(map: &str) -> Vec<IdRange> {
    map.lines()
        .filter_map(|line| {
            let n: Vec<u64> = line
                .split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
                .ok()?;
            let [inside, outside, count] = n.as_slice() else {
                return None;
            };
            Some(IdRange {
                inside: *inside,
                outside: *outside,
                count: *count,
            })
        })
        .collect()
}

/// The namespaces of a pin named `name` under `dir`, as `list` and
/// `cleanup` saw them.
fn namespaces(dir: Option<&Path>, name: &str, rows: &[PathRow]) -> Vec<Namespace> {
    rows.iter()
        .filter_map(|r| {
            let kind = NsKind::from_proc_name(&r.kind)?;
            let path = dir.map_or_else(
                || Path::new(&kind.dir_name()).join(name),
                |d| d.join(kind.dir_name()).join(name),
            );
            Some(Namespace {
                inode: r.inode,
                host: r.host,
                problem: r.problem,
                ..Namespace::new(kind, &path, r.content)
            })
        })
        .collect()
}

fn pids(pids: &[i32]) -> Vec<Process> {
    pids.iter()
        .map(|&pid| Process { pid, detail: None })
        .collect()
}

/// One pin in `list`.
#[derive(Debug, Serialize)]
pub struct Pin {
    pub name: String,
    pub state: PinState,
    /// What the container runtime said of the name.
    pub runtime: crate::classify::RuntimeSays,
    /// Why it is not a pin CRI-O made (state `foreign`).
    pub foreign: Option<&'static str>,
    pub age_seconds: Option<u64>,
    pub process_count: usize,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
}

/// `pinns list --json`.
#[derive(Debug, Serialize)]
pub struct ListDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub pins: Vec<Pin>,
    pub warnings: Vec<String>,
}

pub fn list_doc(l: &Listing) -> ListDoc {
    let dir = l.dir.as_path();
    let (dir_text, dir_hex) = path_text(dir);
    ListDoc {
        schema: SCHEMA,
        command: "list",
        dir: dir_text,
        dir_hex,
        pins: l
            .pins
            .iter()
            .map(|r| Pin {
                name: r.name.clone(),
                state: r.state,
                runtime: r.runtime,
                foreign: r.foreign,
                age_seconds: r.age_seconds,
                process_count: r.processes,
                processes: pids(&r.pids),
                namespaces: namespaces(Some(dir), &r.name, &r.namespaces),
            })
            .collect(),
        warnings: l.warnings.clone(),
    }
}

/// One pin or cgroup a sweep looked at.
#[derive(Debug, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// Pin name, or the cgroup's path.
    pub name: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name_hex: Option<String>,
    pub outcome: Outcome,
    pub state: Option<PinState>,
    pub reason: String,
    pub age_seconds: Option<u64>,
    /// Pins only (null for a cgroup).
    pub process_count: Option<usize>,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
}

/// When a sweep ran and how long it took.
#[derive(Debug, Clone, Copy)]
pub struct Timing {
    pub started: std::time::SystemTime,
    pub duration: std::time::Duration,
}

/// `pinns cleanup --json`: one per sweep.
#[derive(Debug, Serialize)]
pub struct CleanupDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub dry_run: bool,
    /// Unix time, whole seconds.
    pub started_at: u64,
    pub duration_seconds: f64,
    pub items: Vec<Item>,
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub summary: Summary,
}

pub fn cleanup_doc(r: &Report, timing: Timing) -> CleanupDoc {
    let (dir, dir_hex) = match &r.dir {
        Some(d) => {
            let (t, h) = path_text(d);
            (Some(t), h)
        }
        None => (None, None),
    };
    CleanupDoc {
        schema: SCHEMA,
        command: "cleanup",
        dir,
        dir_hex,
        dry_run: r.dry_run,
        started_at: unix_seconds(timing.started),
        duration_seconds: timing.duration.as_secs_f64(),
        items: r.items.iter().map(|i| item(r.dir.as_deref(), i)).collect(),
        notes: r.notes.clone(),
        warnings: r.warnings.clone(),
        summary: r.summary.clone(),
    }
}

fn item(dir: Option<&Path>, i: &cleanup::Item) -> Item {
    let (name, name_hex) = text(&i.name);
    let pin = i.kind == ItemKind::Pin;
    Item {
        kind: i.kind,
        namespaces: namespaces(dir, &name, &i.namespaces),
        name,
        name_hex,
        outcome: i.outcome,
        state: i.state,
        reason: i.reason.clone(),
        age_seconds: i.age_seconds,
        process_count: pin.then_some(i.pids.len()),
        processes: pids(&i.pids),
    }
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

    #[test]
    fn reads_id_maps() {
        let map = "         0     100000      65536\n      bad\n 1 2 3\n";
        assert_eq!(
            id_ranges(map),
            vec![
                IdRange {
                    inside: 0,
                    outside: 100000,
                    count: 65536
                },
                IdRange {
                    inside: 1,
                    outside: 2,
                    count: 3
                }
            ]
        );
    }
}
