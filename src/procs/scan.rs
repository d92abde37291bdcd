//! Who lives in which namespace: one pass over `/proc` builds an index from
//! namespace inode to tasks ([`NsIndex`]), or finds the tasks of a few
//! namespaces ([`members`]), leaving kernel threads out cheaply ([`Scan`]).

use super::{pids, tids, TaskId};
use crate::ns::NsKind;
use crate::sys::{self, proclinks::ProcDir};
use nix::errno::Errno;
use std::cell::Cell;
use std::collections::{BTreeSet, HashMap};

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
        for task in candidate_tasks(&proc, numbers_ours(&proc)) {
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
///
/// `worth_reading(tid)` is asked first, with no `/proc` path walked yet:
/// a task it refuses is left out, its namespace links never read (`enter`
/// asks the kernel whether the task is real-time or pinned). It is given
/// thread ids as our PID namespace numbers them, so it is not asked, and
/// every task is read, where this `/proc` is another namespace's.
pub fn members(wanted: &[(NsKind, u64)], worth_reading: impl Fn(i32) -> bool) -> Vec<TaskId> {
    if wanted.is_empty() {
        return Vec::new();
    }
    let Ok(proc) = ProcDir::open() else {
        return Vec::new();
    };
    let ours = numbers_ours(&proc);
    let mut found: Vec<TaskId> = candidate_tasks(&proc, ours)
        .filter(|task| !ours || worth_reading(task.tid))
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

/// Whether this `/proc` numbers tasks as our PID namespace does, so that
/// its numbers may be given to calls that take a process id.
fn numbers_ours(proc: &ProcDir) -> bool {
    proc.own_pid().ok() == Some(std::process::id() as i32)
}

/// Every task that may live in a pod's namespaces: all but kernel threads,
/// which live in the initial namespaces and are most of the tasks on a
/// many-CPU node (see [`Scan`]). `ours`: see [`numbers_ours`].
fn candidate_tasks(proc: &ProcDir, ours: bool) -> impl Iterator<Item = TaskId> + '_ {
    let pids = pids();
    // Read after the listing: a kernel thread listed was already a child.
    let scan = Scan::new(proc, ours);
    pids.into_iter()
        .flat_map(move |pid| scan.process_tasks(pid))
}

/// How kernel threads are left out cheaply. Every kernel thread but
/// kthreadd is a child of kthreadd, and one read of its `children` file
/// names them all (kthreadd itself is tested first). A child of kthreadd
/// is a kernel thread when it has no user memory: `kcmp` finds it sharing
/// kthreadd's (absent) address space, one call with no path walked; or,
/// where that cannot be asked or finds memory (a kernel thread may borrow
/// a process's), when it has no program (`/proc/PID/exe` reads ENOENT,
/// one `readlink`). The only other children of kthreadd are usermode
/// helpers, programs like any other. No user memory means no program
/// (the program is a property of the memory), so the `kcmp` answer leaves
/// out only what the `exe` test would (`kcmp_leaves_out_only_kernel_threads`
/// checks it against every child of kthreadd). Any other process of one
/// task is its leader, looked at without a listing of its tasks; one that
/// exited has no namespace links to match.
///
/// The `children` file may miss a child that exits while it is read, and
/// it is absent without CONFIG_PROC_CHILDREN, or where PID 2 is not
/// kthreadd (a PID namespace of our own): then every process is first
/// tested as `is_kernel_thread` does. A kernel thread missed still lives
/// in the initial namespaces only, and [`members`] tests what matched.
struct Scan<'a> {
    proc: &'a ProcDir,
    kthreadd_children: Option<BTreeSet<i32>>,
    /// Whether `kcmp` is asked: only where this `/proc`'s numbers are our
    /// PID namespace's (the call takes ours), and no longer once it failed
    /// other than for a task gone, as it then fails for every task (no
    /// CONFIG_KCMP, a seccomp filter).
    kcmp_works: Cell<bool>,
}

const KTHREADD: i32 = 2;

impl<'a> Scan<'a> {
    fn new(proc: &'a ProcDir, ours: bool) -> Scan<'a> {
        let kthreadd_children = is_kernel_thread(proc, KTHREADD)
            .then(|| proc.children(KTHREADD).ok())
            .flatten()
            .map(|text| parse_pid_list(&text).chain([KTHREADD]).collect());
        Scan {
            proc,
            kthreadd_children,
            kcmp_works: Cell::new(ours),
        }
    }

    /// The tasks of process `pid`, none for a kernel thread.
    fn process_tasks(&self, pid: i32) -> Vec<TaskId> {
        let tids = match &self.kthreadd_children {
            Some(kthreads) if kthreads.contains(&pid) && self.is_kthread_child(pid) => Vec::new(),
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

    /// Whether `pid`, a child of kthreadd, is a kernel thread (see [`Scan`]).
    fn is_kthread_child(&self, pid: i32) -> bool {
        // kthreadd compared with itself says nothing.
        if pid != KTHREADD && self.kcmp_works.get() {
            match sys::process::shares_address_space(pid, KTHREADD) {
                Ok(true) => return true,
                Ok(false) => {}
                Err(e) if e.errno() == Some(Errno::ESRCH) => {}
                Err(_) => self.kcmp_works.set(false),
            }
        }
        !self.has_exe(pid)
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::procs::{ns_inode, task, tasks, tids};
    use proptest::prelude::*;
    use std::path::Path;

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
        assert_eq!(proc.own_pid().unwrap(), me);
        for kind in NsKind::ALL {
            let ino = ns_inode(Path::new(&format!("/proc/self/ns/{kind}"))).unwrap();
            assert_eq!(link_inode(&proc, task, kind), Some(ino), "{kind}");
        }
        let net = ns_inode(Path::new("/proc/self/ns/net")).unwrap();
        let all = |_| true;
        assert!(members(&[(NsKind::Ipc, 1), (NsKind::Net, net)], all).contains(&task));
        assert!(!members(&[(NsKind::Net, 1)], all).contains(&task));
        assert!(members(&[], all).is_empty());
        // What the filter refuses is not read; it is asked by thread id.
        assert!(!members(&[(NsKind::Net, net)], |tid| tid != me).contains(&task));
        assert!(members(&[(NsKind::Net, net)], |tid| tid == me).contains(&task));
        // kthreadd (PID 2 where the PID namespace is the host's) is a
        // kernel thread: no task of it is looked at.
        if let Ok(comm) = std::fs::read_to_string("/proc/2/comm") {
            assert_eq!(is_kernel_thread(&proc, 2), comm.trim() == "kthreadd");
            let scan = Scan::new(&proc, true);
            assert_eq!(scan.kthreadd_children.is_some(), comm.trim() == "kthreadd");
            assert_eq!(scan.process_tasks(2).is_empty(), comm.trim() == "kthreadd");
            // Every child of kthreadd without a program is left out.
            for child in scan.kthreadd_children.iter().flatten() {
                if !scan.has_exe(*child) {
                    assert!(scan.process_tasks(*child).is_empty(), "{child}");
                }
            }
        }
        let scan = Scan::new(&proc, true);
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

    #[test]
    fn kcmp_leaves_out_only_kernel_threads() {
        let me = std::process::id() as i32;
        let proc = ProcDir::open().unwrap();
        let scan = Scan::new(&proc, numbers_ours(&proc));
        // The rule before `kcmp`, and where it cannot be asked: `exe` only.
        let exe_only = Scan::new(&proc, false);
        let Some(children) = scan.kthreadd_children.clone() else {
            return; // PID 2 is not kthreadd here: `kcmp` is never asked.
        };
        // A program has user memory: it is never taken for a kernel thread.
        assert!(!sys::process::shares_address_space(me, KTHREADD).unwrap());
        assert!(!scan.is_kthread_child(me));
        let mut without_memory = 0;
        for child in children.into_iter().filter(|c| *c != KTHREADD) {
            // Both rules give every child of kthreadd the same tasks.
            assert_eq!(
                scan.process_tasks(child),
                exe_only.process_tasks(child),
                "{child}"
            );
            // What `kcmp` leaves out, the `exe` test leaves out too.
            match sys::process::shares_address_space(child, KTHREADD) {
                Ok(true) => {
                    without_memory += 1;
                    assert!(!scan.has_exe(child), "{child} has a program");
                }
                Ok(false) => {}
                Err(e) => assert_eq!(e.errno(), Some(Errno::ESRCH), "{child}: {e}"),
            }
        }
        // kthreadd's children are kernel threads but for a rare helper.
        assert!(without_memory > 0);
        assert!(scan.kcmp_works.get(), "kcmp failed on this kernel");
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
    }
}
