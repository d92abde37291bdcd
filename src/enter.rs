//! `pinns enter`: run a command in a pod's namespaces on CPUs where it
//! cannot disturb the pod's latency-sensitive tasks (see `placement`).
//!
//! Order of work, each step before anything is changed by the next:
//! 1. resolve the target to namespace files and open them all (paths are
//!    resolved in our own mount namespace, before we leave it; a `--pid`
//!    target is held by a pidfd from before the lookup until after it);
//! 2. find the pod's tasks and choose the CPUs (reads the host's `/proc`);
//! 3. set affinity, SCHED_OTHER and nice on ourselves (inherited by the command);
//! 4. join the namespaces;
//! 5. fork (the command lands in a joined PID namespace), exec, wait.

use crate::caps::CapSet;
use crate::cpuset::CpuSet;
use crate::crictl;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::ns::NsKind;
use crate::output::log;
use crate::pindir::PinDir;
use crate::placement::{self, Inputs, Placement};
use crate::procs::{self, TaskSched};
use crate::sys::pidfd::PidFd;
use crate::sys::{self, process};
use nix::errno::Errno;
use std::ffi::OsString;
use std::fs::File;
use std::os::fd::AsFd;
use std::path::{Path, PathBuf};

/// Test seam, compiled into debug builds only (what `cargo test` runs): a
/// directory standing in for `/sys/devices/system/cpu` when reading
/// `isolated` and `nohz_full` (and nothing else), which cannot be changed on
/// a running kernel. A release binary has no such input: root's environment
/// must not decide which CPUs count as isolated.
#[cfg(debug_assertions)]
const SYSFS_CPU_DIR_ENV: &str = "PINNS_SYSFS_CPU_DIR";
const SYSFS_CPU_DIR: &str = "/sys/devices/system/cpu";

/// The kinds joined for `--pid` when no selection flag is given (the user
/// namespace is dropped later if it is our own).
const PROCESS_DEFAULT: [NsKind; 7] = NsKind::ALL;

/// Whose namespaces `enter` joins.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// The namespaces pinned as `dir/<type>ns/name`.
    Pin { dir: PathBuf, name: String },
    /// A running process's (`/proc/PID/ns/*`).
    Process(i32),
    /// A CRI pod sandbox's (ID or name), resolved with `crictl inspectp`.
    Pod(String),
}

/// What `pinns enter` is asked to do, as the command line gives it (values
/// are checked here, in the order the work needs them).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnterRequest {
    pub target: Target,
    /// The kinds to join; empty means the target's default set.
    pub selected: Vec<NsKind>,
    /// Run on exactly these CPUs (kernel list format).
    pub cpus: Option<String>,
    /// Never run on these CPUs.
    pub avoid_cpus: Option<String>,
    /// Accept isolated, nohz_full and real-time-occupied CPUs in `cpus`.
    pub allow_isolated: bool,
    pub nice: Option<i32>,
    /// Keep only these capabilities for the command.
    pub caps: Option<CapSet>,
    pub verbose: bool,
    /// Empty: `$SHELL` or `/bin/sh`.
    pub command: Vec<OsString>,
}

impl EnterRequest {
    /// Whether a mount namespace will be joined: selected, or (nothing
    /// selected) the target's: a process's always, a pin name's if pinned.
    pub fn joins_mnt(&self) -> bool {
        if !self.selected.is_empty() {
            return self.selected.contains(&NsKind::Mnt);
        }
        match &self.target {
            Target::Pin { dir, name } => {
                std::fs::symlink_metadata(dir.join(NsKind::Mnt.dir_name()).join(name)).is_ok()
            }
            Target::Process(_) | Target::Pod(_) => true,
        }
    }

    fn pid(&self) -> Option<i32> {
        match self.target {
            Target::Process(pid) => Some(pid),
            _ => None,
        }
    }
}

pub fn enter(args: &EnterRequest) -> Result<u8> {
    sys::setid::refuse_setid()?;
    let avoid = parse_cpus(args.avoid_cpus.as_deref())?;
    let explicit = args.cpus.as_deref().map(CpuSet::parse).transpose()?;

    let held = args.pid().map(hold_process).transpose()?;
    // A pin is judged, and opened, by the pin directory's own rules.
    let pins = match &args.target {
        Target::Pin { dir, name } => Some((PinDir::open(dir)?, PinName::parse(name)?)),
        _ => None,
    };
    let targets = open_all(&candidates(args)?, &describe(&args.target), pins.as_ref())?;
    if let (Some(pid), Some(held)) = (args.pid(), &held) {
        still_the_same_process(pid, held)?;
    }
    let tasks = pod_tasks(&targets)?;
    let inputs = Inputs {
        allowed: sys::sched::affinity()?,
        online: read_cpu_list(Path::new(SYSFS_CPU_DIR), "online", true)?,
        isolated: read_cpu_list(&sysfs_cpu_dir(), "isolated", false)?,
        nohz_full: read_cpu_list(&sysfs_cpu_dir(), "nohz_full", false)?,
        avoid,
        explicit,
        allow_isolated: args.allow_isolated,
        pod_tasks: tasks,
    };
    let placement = placement::choose(&inputs)?;
    if args.verbose {
        report(&targets, &placement, args.nice);
    }
    apply_placement(&placement, args.nice)?;
    join(&targets)?;
    // After joining (setns needs CAP_SYS_ADMIN), before the command starts.
    if let Some(keep) = args.caps {
        sys::caps::restrict_to(keep)?;
    }
    let command = command(args);
    if args.verbose {
        crate::output::log::info(&format!("running {command:?}"));
    }
    let status = sys::exec::run(&command)?;
    Ok(status)
}

fn parse_cpus(list: Option<&str>) -> Result<CpuSet> {
    Ok(list.map(CpuSet::parse).transpose()?.unwrap_or_default())
}

/// A namespace file that may be joined.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Candidate {
    kind: NsKind,
    path: PathBuf,
    /// Missing or not a namespace is an error (else: skipped, for pins).
    required: bool,
}

fn candidates(args: &EnterRequest) -> Result<Vec<Candidate>> {
    let selected = &args.selected;
    let mut found = match &args.target {
        Target::Pin { dir, name } => pin_candidates(dir, &PinName::parse(name)?, selected)?,
        Target::Process(pid) => process_candidates(*pid, selected)?,
        Target::Pod(pod) => pod_candidates(pod, crictl::resolve(pod)?, selected)?,
    };
    found.sort_by_key(|c| c.kind);
    found.dedup_by_key(|c| c.kind);
    Ok(found)
}

fn pin_candidates(dir: &Path, name: &PinName, selected: &[NsKind]) -> Result<Vec<Candidate>> {
    if selected.contains(&NsKind::Pid) {
        return Err(Error::Usage(
            "a PID namespace is never pinned; enter it with --pid PID".into(),
        ));
    }
    let kinds: Vec<NsKind> = if selected.is_empty() {
        NsKind::pinnable().collect()
    } else {
        selected.to_vec()
    };
    Ok(kinds
        .into_iter()
        .map(|kind| Candidate {
            kind,
            path: dir.join(kind.dir_name()).join(name.as_str()),
            required: !selected.is_empty(),
        })
        .collect())
}

/// `--pid`: the process is held by a pidfd before its `/proc/PID/ns` files
/// are looked up, so that the PID cannot silently come to name another
/// process (see [`still_the_same_process`]).
fn hold_process(pid: i32) -> Result<PidFd> {
    PidFd::open(pid).map_err(|e| match e {
        Errno::ESRCH => Error::Refused(format!("no process with pid {pid}")),
        e => Error::call(format!("pidfd_open({pid})"), e),
    })
}

/// After the namespace files of `--pid PID` are open: if the process held
/// since before the lookup is gone, the PID may have been reused and the
/// files may belong to a stranger. While it lives (or is an unreaped
/// zombie) its PID is not reused, so the files are its own.
fn still_the_same_process(pid: i32, held: &PidFd) -> Result<()> {
    match held.is_alive() {
        Ok(true) => Ok(()),
        Ok(false) => Err(Error::Refused(format!(
            "process {pid} exited while its namespaces were being opened; nothing joined"
        ))),
        Err(e) => Err(Error::call(format!("pidfd_send_signal({pid}, 0)"), e)),
    }
}

fn process_candidates(pid: i32, selected: &[NsKind]) -> Result<Vec<Candidate>> {
    let proc_dir = PathBuf::from(format!("/proc/{pid}"));
    if !proc_dir.exists() {
        return Err(Error::Refused(format!("no process with pid {pid}")));
    }
    let kinds = if selected.is_empty() {
        PROCESS_DEFAULT.to_vec()
    } else {
        selected.to_vec()
    };
    Ok(kinds
        .into_iter()
        .map(|kind| Candidate {
            kind,
            path: proc_dir.join("ns").join(kind.proc_name()),
            required: true,
        })
        .collect())
}

fn pod_candidates(
    pod: &str,
    found: crictl::PodNamespaces,
    selected: &[NsKind],
) -> Result<Vec<Candidate>> {
    if let Some(missing) = selected
        .iter()
        .find(|k| !found.iter().any(|(f, _)| f == *k))
    {
        return Err(Error::Refused(format!(
            "pod {pod:?} has no {missing} namespace to join"
        )));
    }
    Ok(found
        .into_iter()
        .filter(|(kind, _)| selected.is_empty() || selected.contains(kind))
        .map(|(kind, path)| Candidate {
            kind,
            path,
            required: true,
        })
        .collect())
}

/// An opened namespace file.
#[derive(Debug)]
struct Opened {
    kind: NsKind,
    path: PathBuf,
    file: File,
    inode: u64,
}

/// Opens every candidate (close-on-exec), checks it is a namespace, and
/// leaves out our own user namespace (the kernel refuses to re-enter it).
fn open_all(
    candidates: &[Candidate],
    target: &str,
    pins: Option<&(Option<PinDir>, PinName)>,
) -> Result<Vec<Opened>> {
    let own_user =
        procs::ns_inode(Path::new("/proc/self/ns/user")).at("stat", "/proc/self/ns/user")?;
    let mut targets = Vec::new();
    for c in candidates {
        let opened = match pins {
            Some((dir, name)) => open_pinned(dir.as_ref(), name, c)?,
            None => open_one(c)?,
        };
        let Some(target) = opened else {
            continue;
        };
        if target.kind == NsKind::User && target.inode == own_user {
            continue;
        }
        targets.push(target);
    }
    if targets.is_empty() {
        return Err(Error::Refused(format!("nothing to join: {target}")));
    }
    Ok(targets)
}

/// Why a target with nothing to join is empty, for the error.
fn describe(target: &Target) -> String {
    let only_ours = "has no namespace but our own user namespace";
    match target {
        Target::Pin { dir, name } => format!(
            "no namespace is pinned as {}/<type>ns/{name}",
            dir.display()
        ),
        Target::Process(pid) => format!("process {pid} {only_ours}"),
        Target::Pod(pod) => format!("pod {pod:?} {only_ours}"),
    }
}

/// Opens a pinned namespace through the pin directory's descriptors (no
/// symlink below DIR is followed); anything but a namespace is nothing to
/// join.
fn open_pinned(dir: Option<&PinDir>, name: &PinName, c: &Candidate) -> Result<Option<Opened>> {
    let type_dir = match dir {
        Some(dir) => dir.open_type(c.kind)?,
        None => None,
    };
    let found = match &type_dir {
        Some(td) => td.open_namespace(name, None)?,
        None => None,
    };
    match found {
        Some((inode, fd)) => Ok(Some(Opened {
            kind: c.kind,
            path: c.path.clone(),
            file: File::from(fd),
            inode,
        })),
        None if !c.required => Ok(None),
        None if type_dir
            .map(|td| td.examine(name))
            .transpose()?
            .flatten()
            .is_some() =>
        {
            Err(Error::Refused(format!(
                "{} is not a namespace (nothing pinned there)",
                c.path.display()
            )))
        }
        None => Err(Error::Refused(format!(
            "no {} namespace at {}",
            c.kind,
            c.path.display()
        ))),
    }
}

fn open_one(c: &Candidate) -> Result<Option<Opened>> {
    let file = match File::open(&c.path) {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !c.required => return Ok(None),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            return Err(Error::Refused(format!(
                "no {} namespace at {}",
                c.kind,
                c.path.display()
            )))
        }
        Err(e) => return Err(e).at("open namespace", &c.path),
    };
    if !sys::namespace::is_nsfs(file.as_fd(), &c.path)? {
        if !c.required {
            // A leftover plain file where a pin was: not a namespace to join.
            return Ok(None);
        }
        return Err(Error::Refused(format!(
            "{} is not a namespace (nothing pinned there)",
            c.path.display()
        )));
    }
    let inode = sys::files::stat_fd(file.as_fd(), &c.path)?.st_ino;
    Ok(Some(Opened {
        kind: c.kind,
        path: c.path.clone(),
        file,
        inode,
    }))
}

/// Every task (thread) living in the target's namespaces, whether or not its
/// thread-group leader does (see `procs`). A namespace we share ourselves
/// (the host's, e.g. a pod with host IPC) says nothing about membership and
/// is left out. `/proc` is read once for all of them.
fn pod_tasks(targets: &[Opened]) -> Result<Vec<TaskSched>> {
    let mut kinds = Vec::new();
    // The members of these are "the pod" for CPU placement (see NsKind::pod_own).
    for t in targets.iter().filter(|t| t.kind.pod_own()) {
        let own = format!("/proc/self/ns/{}", t.kind);
        if procs::ns_inode(Path::new(&own)).at("stat", &own)? != t.inode {
            kinds.push((t.kind, t.inode));
        }
    }
    let ids = procs::members(&kinds);
    let me = std::process::id() as i32;
    Ok(ids
        .into_iter()
        .filter(|t| t.pid != me)
        .filter_map(procs::task)
        .collect())
}

fn sysfs_cpu_dir() -> PathBuf {
    #[cfg(debug_assertions)]
    if let Some(dir) = std::env::var_os(SYSFS_CPU_DIR_ENV) {
        return PathBuf::from(dir);
    }
    PathBuf::from(SYSFS_CPU_DIR)
}

/// Reads a sysfs CPU list; an absent optional file (a kernel without
/// NO_HZ_FULL has no `nohz_full`) is the empty set.
fn read_cpu_list(dir: &Path, file: &str, required: bool) -> Result<CpuSet> {
    let path = dir.join(file);
    match std::fs::read_to_string(&path) {
        Ok(text) => Ok(CpuSet::parse(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(CpuSet::default()),
        Err(e) => Err(e).at("read", path),
    }
}

fn report(targets: &[Opened], placement: &Placement, nice: Option<i32>) {
    for t in targets {
        log::info(&format!(
            "joining {} namespace {} (inode {})",
            t.kind,
            crate::escape::path(&t.path),
            t.inode
        ));
    }
    log::info(&format!("CPUs chosen: {}", placement.cpus));
    for (cpu, reasons) in &placement.excluded.0 {
        let why: Vec<String> = reasons.iter().map(ToString::to_string).collect();
        log::info(&format!("CPU {cpu} excluded: {}", why.join(" and ")));
    }
    match nice {
        Some(n) => log::info(&format!("policy: SCHED_OTHER, nice {n}")),
        None => log::info("policy: SCHED_OTHER"),
    }
}

/// Affinity, policy and nice are set on pinns itself: the command inherits
/// them through fork and exec. The kernel may quietly narrow an affinity to
/// the caller's cpuset, so the result is read back.
fn apply_placement(placement: &Placement, nice: Option<i32>) -> Result<()> {
    sys::sched::set_affinity(&placement.cpus)?;
    let got = sys::sched::affinity()?;
    if got != placement.cpus {
        return Err(Error::Refused(format!(
            "asked the kernel for CPUs {} but got {got} (cpuset of pinns' cgroup?)",
            placement.cpus
        )));
    }
    sys::sched::set_sched_other()?;
    if let Some(n) = nice {
        sys::sched::set_nice(n)?;
    }
    Ok(())
}

/// Joins every target. See [`join_order`].
fn join(targets: &[Opened]) -> Result<()> {
    let user = targets.iter().find(|t| t.kind == NsKind::User);
    let mut owned = Vec::new();
    for t in targets {
        let by_user = match user {
            Some(u) if t.kind != NsKind::User => {
                sys::namespace::owner_userns_inode(t.file.as_fd(), &t.path)? == u.inode
            }
            _ => false,
        };
        owned.push((t.kind, by_user));
    }
    for i in join_order(&owned) {
        let t = &targets[i];
        sys::namespace::setns(t.file.as_fd(), t.kind.clone_flag(), &t.path)?;
        if t.kind == NsKind::User {
            // As root of the pod's user namespace, like its own processes.
            process::become_namespace_root()?;
        }
    }
    Ok(())
}

/// The order of `setns` calls, as indices into `targets` (given in `NsKind`
/// order, each paired with "owned by the joined user namespace").
///
/// Joining a user namespace gives all capabilities *in it* and none outside,
/// so namespaces it does not own (the host's cgroup namespace, say) are
/// joined first, while we still have the host's capabilities; then the user
/// namespace; then the namespaces it owns, which need its capabilities. Each
/// group keeps the `NsKind` order, so the mount namespace is last in its group.
pub fn join_order(targets: &[(NsKind, bool)]) -> Vec<usize> {
    let pick = |want: &dyn Fn(NsKind, bool) -> bool| -> Vec<usize> {
        (0..targets.len())
            .filter(|&i| want(targets[i].0, targets[i].1))
            .collect()
    };
    let has_user = targets.iter().any(|(k, _)| *k == NsKind::User);
    if !has_user {
        return (0..targets.len()).collect();
    }
    let mut order = pick(&|k, owned| k != NsKind::User && !owned);
    order.extend(pick(&|k, _| k == NsKind::User));
    order.extend(pick(&|k, owned| k != NsKind::User && owned));
    order
}

/// COMMAND, or `$SHELL` when it exists in the joined mount namespace, or
/// `/bin/sh`.
fn command(args: &EnterRequest) -> Vec<OsString> {
    if !args.command.is_empty() {
        return args.command.clone();
    }
    let shell = std::env::var_os("SHELL")
        .filter(|s| !s.is_empty() && Path::new(s).is_file())
        .unwrap_or_else(|| OsString::from("/bin/sh"));
    vec![shell]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn without_a_user_namespace_the_order_is_the_table_order() {
        let t = [
            (NsKind::Ipc, false),
            (NsKind::Net, false),
            (NsKind::Mnt, false),
        ];
        assert_eq!(join_order(&t), vec![0, 1, 2]);
    }

    #[test]
    fn user_namespace_first_then_what_it_owns_mount_last() {
        let t = [
            (NsKind::User, false),
            (NsKind::Ipc, true),
            (NsKind::Uts, true),
            (NsKind::Net, true),
            (NsKind::Mnt, true),
        ];
        assert_eq!(join_order(&t), vec![0, 1, 2, 3, 4]);
    }

    #[test]
    fn namespaces_the_user_namespace_does_not_own_go_before_it() {
        let t = [
            (NsKind::User, false),
            (NsKind::Cgroup, false),
            (NsKind::Net, true),
            (NsKind::Pid, false),
            (NsKind::Mnt, true),
        ];
        let order: Vec<NsKind> = join_order(&t).into_iter().map(|i| t[i].0).collect();
        assert_eq!(
            order,
            vec![
                NsKind::Cgroup,
                NsKind::Pid,
                NsKind::User,
                NsKind::Net,
                NsKind::Mnt
            ]
        );
    }

    #[test]
    fn pin_targets_cover_the_pinnable_kinds_or_the_selection() {
        let name = PinName::parse("pod").unwrap();
        let all = pin_candidates(Path::new("/r"), &name, &[]).unwrap();
        assert_eq!(all.len(), NsKind::pinnable().count());
        assert!(all.iter().all(|c| !c.required));
        assert_eq!(all[0].path, PathBuf::from("/r/userns/pod"));
        let some = pin_candidates(Path::new("/r"), &name, &[NsKind::Net]).unwrap();
        assert_eq!(
            some,
            vec![Candidate {
                kind: NsKind::Net,
                path: "/r/netns/pod".into(),
                required: true
            }]
        );
        assert!(pin_candidates(Path::new("/r"), &name, &[NsKind::Pid]).is_err());
    }

    #[test]
    fn pod_selection_must_exist_in_the_pod() {
        let found = vec![
            (NsKind::Net, PathBuf::from("/n")),
            (NsKind::Ipc, "/i".into()),
        ];
        let c = pod_candidates("p", found.clone(), &[NsKind::Net]).unwrap();
        assert_eq!(c.len(), 1);
        let err = pod_candidates("p", found, &[NsKind::Uts]).unwrap_err();
        assert!(err.to_string().contains("no uts namespace"), "{err}");
    }
}
