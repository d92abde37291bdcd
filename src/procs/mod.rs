//! What `/proc` says about processes: their tasks, scheduling facts,
//! command lines, and (in `scan`) who lives in which namespace.
//!
//! Every task (thread) is looked at, not only thread-group leaders: a
//! process whose main thread called `pthread_exit` while a worker runs on
//! has a zombie leader whose `/proc/PID/ns/*` links are gone, and a thread
//! may `setns(2)` into a pod on its own while its leader stays outside.
//! Both live in the pod's namespaces only through their own task's links.

mod scan;

pub use scan::{members, parse_ns_link, NsIndex};

use crate::cpuset::CpuSet;
use crate::escape::Text;
use crate::ns::NsKind;
use crate::sys;
use crate::task::{SchedPolicy, TaskSched};
use std::os::unix::ffi::OsStrExt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Inode of the namespace a `/proc/<pid>/ns/<type>` link or a pin refers to.
pub fn ns_inode(path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.ino())
}

/// Inode of our own namespace of `kind`, from the text of its
/// `/proc/self/ns` link: a `stat` would make the kernel open the namespace
/// to stat it, more than twice the time (see `sys::proclinks`).
pub fn own_ns_inode(kind: NsKind) -> std::io::Result<u64> {
    let link = std::fs::read_link(own_ns_path(kind))?;
    parse_ns_link(link.as_os_str().as_bytes(), kind).ok_or_else(|| {
        std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("not a {kind} namespace link: {}", link.display()),
        )
    })
}

/// `/proc/self/ns/<kind>`.
pub fn own_ns_path(kind: NsKind) -> String {
    format!("/proc/self/ns/{}", kind.proc_name())
}

/// One task: its thread-group (process) id and its own thread id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    pub pid: i32,
    pub tid: i32,
}

/// Every process (thread-group) id currently in `/proc`.
pub fn pids() -> Vec<i32> {
    sys::proclinks::numbered_entries("/proc")
}

/// Every thread id of a process; empty once it has exited.
pub fn tids(pid: i32) -> Vec<i32> {
    sys::proclinks::numbered_entries(&format!("/proc/{pid}/task"))
}

/// Every task of a process; an exited process yields an empty list.
pub fn tasks(pid: i32) -> Vec<TaskSched> {
    tids(pid)
        .into_iter()
        .filter_map(|tid| task(TaskId { pid, tid }))
        .collect()
}

/// Scheduling facts of one task; `None` once it has exited.
pub fn task(id: TaskId) -> Option<TaskSched> {
    let TaskId { pid, tid } = id;
    let base = format!("/proc/{pid}/task/{tid}");
    // Bytes: a thread name need not be UTF-8, and a task must not become
    // invisible (to `enter`'s placement, to `inspect`) because it is not.
    let stat = parse_stat(&std::fs::read(format!("{base}/stat")).ok()?)?;
    // `Name:` in status is the thread name again, not necessarily UTF-8.
    let status = std::fs::read(format!("{base}/status")).ok()?;
    let cpus_allowed = parse_cpus_allowed(&String::from_utf8_lossy(&status))?;
    Some(TaskSched {
        pid,
        tid,
        comm: stat.comm,
        policy: stat.policy,
        rt_priority: stat.rt_priority,
        cpus_allowed,
    })
}

/// The fields of `/proc/<pid>/stat` we use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stat {
    pub comm: Text,
    pub rt_priority: u32,
    pub policy: SchedPolicy,
}

/// Parses `/proc/<pid>/stat`. The command name is in parentheses and may
/// itself contain spaces and parentheses, so fields are counted from the
/// last `)`.
pub fn parse_stat(text: &[u8]) -> Option<Stat> {
    let open = text.iter().position(|b| *b == b'(')?;
    let close = text.iter().rposition(|b| *b == b')')?;
    let comm = Text::from(text.get(open + 1..close)?);
    // After ")": field 3 (state) is index 0, so field N is index N - 3.
    let rest = std::str::from_utf8(text.get(close + 1..)?).ok()?;
    let rest: Vec<&str> = rest.split_whitespace().collect();
    let rt_priority = rest.get(40 - 3)?.parse().ok()?;
    let policy = SchedPolicy::from_raw(rest.get(41 - 3)?.parse().ok()?);
    Some(Stat {
        comm,
        rt_priority,
        policy,
    })
}

/// `Cpus_allowed_list` from `/proc/<pid>/status`.
pub fn parse_cpus_allowed(status: &str) -> Option<CpuSet> {
    status
        .lines()
        .find_map(|l| l.strip_prefix("Cpus_allowed_list:"))
        .and_then(|v| CpuSet::parse(v).ok())
}

/// The arguments of a process, exactly as in `/proc/<pid>/cmdline`; empty
/// for kernel threads and zombies.
pub fn argv(pid: i32) -> Vec<Text> {
    let raw = std::fs::read(format!("/proc/{pid}/cmdline")).unwrap_or_default();
    split_cmdline(&raw)
}

/// `cmdline` is NUL-terminated arguments; an argument may be empty.
pub fn split_cmdline(raw: &[u8]) -> Vec<Text> {
    let raw = raw.strip_suffix(b"\0").unwrap_or(raw);
    if raw.is_empty() {
        return Vec::new();
    }
    raw.split(|b| *b == 0).map(Text::from).collect()
}

/// The thread name of a process (`/proc/<pid>/comm`, without its newline).
pub fn comm(pid: i32) -> Text {
    let raw = std::fs::read(format!("/proc/{pid}/comm")).unwrap_or_default();
    Text::from(raw.strip_suffix(b"\n").unwrap_or(&raw))
}

/// The command line of a process, arguments joined by spaces (lossy UTF-8),
/// or its `comm` in brackets for kernel threads and zombies.
pub fn command_line(pid: i32) -> String {
    let args: Vec<String> = argv(pid).iter().map(Text::lossy).collect();
    if !args.is_empty() {
        return args.join(" ");
    }
    format!("[{}]", comm(pid).lossy())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn stat_line(comm: &str, rt: u32, policy: u32) -> String {
        let mut fields: Vec<String> = (3..=52).map(|i| i.to_string()).collect();
        fields[40 - 3] = rt.to_string();
        fields[41 - 3] = policy.to_string();
        format!("1234 ({comm}) {}", fields.join(" "))
    }

    #[test]
    fn parses_stat_with_awkward_comm() {
        let s = parse_stat(stat_line("rt loop (x)", 50, 1).as_bytes()).unwrap();
        assert_eq!(s.comm, Text::from("rt loop (x)"));
        assert_eq!(s.rt_priority, 50);
        assert_eq!(s.policy, SchedPolicy::Fifo);
        assert!(s.policy.is_realtime());
        let s = parse_stat(stat_line("sh", 0, 0).as_bytes()).unwrap();
        assert_eq!(s.policy, SchedPolicy::Other);
        assert!(!s.policy.is_realtime());
        assert!(parse_stat(b"1234 (short) S 1").is_none());
        // A thread name is any bytes but NUL, newlines and parentheses too.
        let mut raw = stat_line("x", 5, 2).into_bytes();
        raw.splice(6..7, b"a)\n\xff(".iter().copied());
        let s = parse_stat(&raw).unwrap();
        assert_eq!(s.comm, Text::from(&b"a)\n\xff("[..]));
        assert_eq!(s.policy, SchedPolicy::RoundRobin);
    }

    #[test]
    fn splits_cmdline_exactly() {
        assert!(split_cmdline(b"").is_empty());
        assert_eq!(
            split_cmdline(b"sh\0-c\0\0\xff\n\0"),
            ["sh", "-c", ""]
                .map(Text::from)
                .into_iter()
                .chain([Text::from(&b"\xff\n"[..])])
                .collect::<Vec<_>>()
        );
    }

    #[test]
    fn parses_cpus_allowed() {
        let status =
            "Name:\tsh\nCpus_allowed:\t3\nCpus_allowed_list:\t0-1\nMems_allowed_list:\t0\n";
        assert_eq!(parse_cpus_allowed(status).unwrap().to_string(), "0-1");
        assert!(parse_cpus_allowed("Name:\tsh\n").is_none());
    }

    #[test]
    fn own_namespace_links_name_what_stat_finds() {
        for kind in NsKind::ALL {
            let path = own_ns_path(kind);
            assert_eq!(
                own_ns_inode(kind).unwrap(),
                ns_inode(Path::new(&path)).unwrap(),
                "{path}"
            );
        }
    }

    proptest! {
        #[test]
        fn stat_parser_never_panics(s in any::<Vec<u8>>()) {
            let _ = parse_stat(&s);
        }
    }
}
