//! Who lives in which namespace: one pass over `/proc` builds an index from
//! namespace inode to tasks, and per-task scheduling facts (policy, allowed
//! CPUs) are read for the tasks that matter.
//!
//! Every task (thread) is looked at, not only thread-group leaders: a
//! process whose main thread called `pthread_exit` while a worker runs on
//! has a zombie leader whose `/proc/PID/ns/*` links are gone, and a thread
//! may `setns(2)` into a pod on its own while its leader stays outside.
//! Both live in the pod's namespaces only through `/proc/PID/task/TID/ns/*`.

use crate::cpuset::CpuSet;
use crate::escape::Text;
use crate::ns::NsKind;
use crate::sys::proclinks::ProcDir;
use std::collections::{BTreeSet, HashMap};
use std::fmt;
use std::os::unix::fs::MetadataExt;
use std::path::Path;

/// Inode of the namespace a `/proc/<pid>/ns/<type>` link or a pin refers to.
pub fn ns_inode(path: &Path) -> std::io::Result<u64> {
    Ok(std::fs::metadata(path)?.ino())
}

/// One task: its thread-group (process) id and its own thread id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct TaskId {
    pub pid: i32,
    pub tid: i32,
}

/// Tasks by namespace, from one scan of `/proc`.
#[derive(Debug, Default)]
pub struct NsIndex {
    by_ns: HashMap<(NsKind, u64), Vec<TaskId>>,
}

impl NsIndex {
    /// Reads `/proc/<pid>/task/<tid>/ns/*` of every task once. Tasks that
    /// exit during the scan are skipped.
    pub fn scan() -> NsIndex {
        Self::scan_kinds(&NsKind::ALL)
    }

    pub fn scan_kinds(kinds: &[NsKind]) -> NsIndex {
        let mut index = NsIndex::default();
        if kinds.is_empty() {
            return index;
        }
        let Ok(proc) = ProcDir::open() else {
            return index;
        };
        for task in candidate_tasks(&proc) {
            for &kind in kinds {
                if let Some(ino) = link_inode(&proc, task, kind) {
                    index.add(kind, ino, task);
                }
            }
        }
        index
    }

    fn add(&mut self, kind: NsKind, ino: u64, task: TaskId) {
        self.by_ns.entry((kind, ino)).or_default().push(task);
    }

    /// Tasks living in the namespace of `kind` with inode `ino`.
    pub fn tasks_in(&self, kind: NsKind, ino: u64) -> &[TaskId] {
        self.by_ns
            .get(&(kind, ino))
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }

    /// Processes with at least one task in the namespace, sorted, each once.
    pub fn pids_in(&self, kind: NsKind, ino: u64) -> Vec<i32> {
        let pids: BTreeSet<i32> = self.tasks_in(kind, ino).iter().map(|t| t.pid).collect();
        pids.into_iter().collect()
    }
}

/// Tasks living in at least one of the `wanted` namespaces (kind, inode),
/// sorted: one pass over `/proc` that looks, per task, at the wanted kinds
/// only and stops at the first that matches. A task that matches is
/// checked once more not to be a kernel thread (see [`Scan`]).
pub fn members(wanted: &[(NsKind, u64)]) -> Vec<TaskId> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(proc) = ProcDir::open() else {
        return Vec::new();
    };
    let mut found: Vec<TaskId> = candidate_tasks(&proc)
        .filter(|&task| {
            wanted
                .iter()
                .any(|&(kind, ino)| link_inode(&proc, task, kind) == Some(ino))
        })
        .filter(|task| !is_kernel_thread(&proc, task.pid))
        .collect();
    found.sort_unstable();
    found
}

/// Every task that may live in a pod's namespaces: all but kernel threads,
/// which live in the initial namespaces and are most of the tasks on a
/// many-CPU node (see [`Scan`]).
fn candidate_tasks(proc: &ProcDir) -> impl Iterator<Item = TaskId> + '_ {
    let pids = pids();
    // Read after the listing: a kernel thread listed was already a child.
    let scan = Scan::new(proc);
    pids.into_iter()
        .flat_map(move |pid| scan.process_tasks(pid))
}

/// How kernel threads are left out cheaply. Every kernel thread but
/// kthreadd is a child of kthreadd, and one read of its `children` file
/// names them all (kthreadd itself is tested first): a child with no program (`/proc/PID/exe` reads ENOENT)
/// is a kernel thread, one `readlink` each; the only other children of
/// kthreadd are usermode helpers, programs like any other. Any other
/// process of one task is its leader, looked at without a listing of its
/// tasks; one that exited has no namespace links to match.
///
/// The `children` file may miss a child that exits while it is read, and
/// it is absent without CONFIG_PROC_CHILDREN, or where PID 2 is not
/// kthreadd (a PID namespace of our own): then every process is first
/// tested as `is_kernel_thread` does. A kernel thread missed still lives
/// in the initial namespaces only, and [`members`] tests what matched.
struct Scan<'a> {
    proc: &'a ProcDir,
    kthreadd_children: Option<BTreeSet<i32>>,
}

const KTHREADD: i32 = 2;

impl<'a> Scan<'a> {
    fn new(proc: &'a ProcDir) -> Scan<'a> {
        let kthreadd_children = is_kernel_thread(proc, KTHREADD)
            .then(|| proc.children(KTHREADD).ok())
            .flatten()
            .map(|text| parse_pid_list(&text).chain([KTHREADD]).collect());
        Scan {
            proc,
            kthreadd_children,
        }
    }

    /// The tasks of process `pid`, none for a kernel thread.
    fn process_tasks(&self, pid: i32) -> Vec<TaskId> {
        let tids = match &self.kthreadd_children {
            Some(kthreads) if kthreads.contains(&pid) && !self.has_exe(pid) => Vec::new(),
            Some(_) => self.tids(pid),
            None if is_kernel_thread(self.proc, pid) => Vec::new(),
            None => self.tids(pid),
        };
        tids.into_iter().map(|tid| TaskId { pid, tid }).collect()
    }

    /// The task count comes first (one `stat`), so that a single-threaded
    /// process, most of a node's, is never listed: its one task is its
    /// leader.
    fn tids(&self, pid: i32) -> Vec<i32> {
        match self.proc.task_count(pid) {
            Ok(1) => vec![pid],
            _ => tids(pid),
        }
    }

    fn has_exe(&self, pid: i32) -> bool {
        self.proc.has_exe(pid).unwrap_or(true)
    }
}

/// Whether `pid` is a kernel thread (or a process with nothing left
/// alive): no program, as for a thread-group leader that has exited, and a
/// single task, so that no worker outlives a gone leader.
fn is_kernel_thread(proc: &ProcDir, pid: i32) -> bool {
    !proc.has_exe(pid).unwrap_or(true) && matches!(proc.task_count(pid), Ok(1))
}

/// PIDs in a `children` file: decimal numbers separated by spaces.
pub fn parse_pid_list(text: &[u8]) -> impl Iterator<Item = i32> + '_ {
    text.split(|b| b.is_ascii_whitespace())
        .filter_map(|n| std::str::from_utf8(n).ok()?.parse().ok())
}

/// A task's namespace inode, read with one `readlink` (see `sys::proclinks`).
fn link_inode(proc: &ProcDir, task: TaskId, kind: NsKind) -> Option<u64> {
    let mut buf = [0u8; 64];
    let link = proc.ns_link(task.tid, kind.proc_name(), &mut buf).ok()?;
    parse_ns_link(link, kind)
}

/// The inode in a namespace link's text, `<type>:[<inode>]`, if it is of
/// `kind`.
pub fn parse_ns_link(link: &[u8], kind: NsKind) -> Option<u64> {
    let rest = link.strip_prefix(kind.proc_name().as_bytes())?;
    let digits = rest.strip_prefix(b":[")?.strip_suffix(b"]")?;
    if digits.is_empty() || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    std::str::from_utf8(digits).ok()?.parse().ok()
}

/// Every process (thread-group) id currently in `/proc`.
pub fn pids() -> Vec<i32> {
    numeric_entries("/proc")
}

/// Every thread id of a process; empty once it has exited.
pub fn tids(pid: i32) -> Vec<i32> {
    numeric_entries(&format!("/proc/{pid}/task"))
}

fn numeric_entries(dir: &str) -> Vec<i32> {
    let Ok(dir) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    dir.flatten()
        .filter_map(|e| e.file_name().to_str()?.parse::<i32>().ok())
        .collect()
}

/// A task's scheduling policy (`sched(7)`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SchedPolicy {
    Other,
    Fifo,
    RoundRobin,
    Batch,
    Idle,
    Deadline,
    Unknown(u32),
}

impl SchedPolicy {
    pub fn from_raw(raw: u32) -> SchedPolicy {
        match raw {
            0 => SchedPolicy::Other,
            1 => SchedPolicy::Fifo,
            2 => SchedPolicy::RoundRobin,
            3 => SchedPolicy::Batch,
            5 => SchedPolicy::Idle,
            6 => SchedPolicy::Deadline,
            n => SchedPolicy::Unknown(n),
        }
    }

    /// Policies that preempt ordinary tasks and may never yield a CPU.
    pub fn is_realtime(self) -> bool {
        matches!(
            self,
            SchedPolicy::Fifo | SchedPolicy::RoundRobin | SchedPolicy::Deadline
        )
    }
}

impl fmt::Display for SchedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SchedPolicy::Other => f.write_str("SCHED_OTHER"),
            SchedPolicy::Fifo => f.write_str("SCHED_FIFO"),
            SchedPolicy::RoundRobin => f.write_str("SCHED_RR"),
            SchedPolicy::Batch => f.write_str("SCHED_BATCH"),
            SchedPolicy::Idle => f.write_str("SCHED_IDLE"),
            SchedPolicy::Deadline => f.write_str("SCHED_DEADLINE"),
            SchedPolicy::Unknown(n) => write!(f, "policy {n}"),
        }
    }
}

/// Scheduling facts of one task (thread).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TaskSched {
    pub pid: i32,
    pub tid: i32,
    /// Bytes the process chose (`prctl(PR_SET_NAME)`): shown escaped.
    pub comm: Text,
    pub policy: SchedPolicy,
    pub rt_priority: u32,
    pub cpus_allowed: CpuSet,
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
    fn reads_this_process() {
        let me = std::process::id() as i32;
        let tasks = tasks(me);
        assert!(tasks.iter().any(|t| t.tid == me));
        assert!(tasks.iter().all(|t| !t.cpus_allowed.is_empty()));
        let ino = ns_inode(Path::new("/proc/self/ns/net")).unwrap();
        let index = NsIndex::scan_kinds(&[NsKind::Net]);
        assert!(index.pids_in(NsKind::Net, ino).contains(&me));
        assert!(index
            .tasks_in(NsKind::Net, ino)
            .contains(&TaskId { pid: me, tid: me }));
    }

    #[test]
    fn indexes_threads_not_only_leaders() {
        let (tx, rx) = std::sync::mpsc::channel();
        let (stop_tx, stop_rx) = std::sync::mpsc::channel::<()>();
        let worker = std::thread::spawn(move || {
            // "PID/task/TID" names this thread.
            let link = std::fs::read_link("/proc/thread-self").unwrap();
            let tid: i32 = link.file_name().unwrap().to_str().unwrap().parse().unwrap();
            tx.send(tid).unwrap();
            let _ = stop_rx.recv();
        });
        let tid = rx.recv().unwrap();
        let me = std::process::id() as i32;
        assert_ne!(tid, me);
        assert!(tids(me).contains(&tid));
        let ino = ns_inode(Path::new("/proc/self/ns/uts")).unwrap();
        let index = NsIndex::scan_kinds(&[NsKind::Uts]);
        assert!(index
            .tasks_in(NsKind::Uts, ino)
            .contains(&TaskId { pid: me, tid }));
        // A process with many tasks in the namespace is one pid.
        assert_eq!(
            index
                .pids_in(NsKind::Uts, ino)
                .iter()
                .filter(|p| **p == me)
                .count(),
            1
        );
        assert!(task(TaskId { pid: me, tid }).is_some());
        stop_tx.send(()).unwrap();
        worker.join().unwrap();
    }

    #[test]
    fn namespace_links_name_their_kind_and_inode() {
        assert_eq!(
            parse_ns_link(b"net:[4026531840]", NsKind::Net),
            Some(4026531840)
        );
        assert_eq!(parse_ns_link(b"net:[4026531840]", NsKind::Ipc), None);
        assert_eq!(parse_ns_link(b"net:[]", NsKind::Net), None);
        assert_eq!(parse_ns_link(b"net:[12", NsKind::Net), None);
        assert_eq!(parse_ns_link(b"net:[+12]", NsKind::Net), None);
        assert_eq!(parse_ns_link(b"mnt:[7] ", NsKind::Mnt), None);
    }

    #[test]
    fn link_and_stat_agree_and_members_finds_this_thread() {
        let me = std::process::id() as i32;
        let proc = ProcDir::open().unwrap();
        let task = TaskId { pid: me, tid: me };
        for kind in NsKind::ALL {
            let ino = ns_inode(Path::new(&format!("/proc/self/ns/{kind}"))).unwrap();
            assert_eq!(link_inode(&proc, task, kind), Some(ino), "{kind}");
        }
        let net = ns_inode(Path::new("/proc/self/ns/net")).unwrap();
        assert!(members(&[(NsKind::Ipc, 1), (NsKind::Net, net)]).contains(&task));
        assert!(!members(&[(NsKind::Net, 1)]).contains(&task));
        assert!(members(&[]).is_empty());
        // kthreadd (PID 2 where the PID namespace is the host's) is a
        // kernel thread: no task of it is looked at.
        if let Ok(comm) = std::fs::read_to_string("/proc/2/comm") {
            assert_eq!(is_kernel_thread(&proc, 2), comm.trim() == "kthreadd");
            let scan = Scan::new(&proc);
            assert_eq!(scan.kthreadd_children.is_some(), comm.trim() == "kthreadd");
            assert_eq!(scan.process_tasks(2).is_empty(), comm.trim() == "kthreadd");
            // Every child of kthreadd without a program is left out.
            for child in scan.kthreadd_children.iter().flatten() {
                if !scan.has_exe(*child) {
                    assert!(scan.process_tasks(*child).is_empty(), "{child}");
                }
            }
        }
        let scan = Scan::new(&proc);
        assert!(scan.process_tasks(me).contains(&task));
        assert!(!is_kernel_thread(&proc, me));
        // A single-threaded process is its leader, found without a listing.
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id() as i32;
        assert_eq!(proc.task_count(pid).unwrap(), 1);
        assert_eq!(scan.process_tasks(pid), vec![TaskId { pid, tid: pid }]);
        child.kill().unwrap();
        child.wait().unwrap();
        assert!(scan.process_tasks(pid).is_empty());
    }

    proptest! {
        #[test]
        fn ns_link_parser_reads_what_the_kernel_writes(ino in any::<u32>()) {
            let text = format!("uts:[{ino}]");
            prop_assert_eq!(parse_ns_link(text.as_bytes(), NsKind::Uts), Some(u64::from(ino)));
        }

        #[test]
        fn pid_lists_read_back(pids in proptest::collection::vec(1..i32::MAX, 0..50)) {
            let text: String = pids.iter().map(|p| format!("{p} ")).collect();
            prop_assert_eq!(parse_pid_list(text.as_bytes()).collect::<Vec<_>>(), pids);
        }

        #[test]
        fn stat_parser_never_panics(s in any::<Vec<u8>>()) {
            let _ = parse_stat(&s);
        }
    }
}
