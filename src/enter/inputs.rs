//! What placement is given: the pod's tasks (from `/proc`) and the
//! machine's CPU lists (from sysfs).

use super::Opened;
use crate::cpuset::CpuSet;
use crate::error::{Error, PathContext, Result};
use crate::placement::{self, Inputs};
use crate::procs;
use crate::sys;
use crate::task::TaskSched;
use nix::errno::Errno;
use std::io::Read;
use std::path::{Path, PathBuf};

/// Test seam, compiled into debug builds only (what `cargo test` runs): a
/// directory standing in for `/sys/devices/system/cpu` when reading
/// `isolated` and `nohz_full` (and nothing else), which cannot be changed on
/// a running kernel. A release binary has no such input: root's environment
/// must not decide which CPUs count as isolated.
#[cfg(debug_assertions)]
const SYSFS_CPU_DIR_ENV: &str = "PINNS_SYSFS_CPU_DIR";
const SYSFS_CPU_DIR: &str = "/sys/devices/system/cpu";

/// Everything placement looks at, for the opened targets.
pub(super) fn read(
    targets: &[Opened],
    avoid: CpuSet,
    explicit: Option<CpuSet>,
    allow_isolated: bool,
) -> Result<Inputs> {
    let online = read_cpu_list(Path::new(SYSFS_CPU_DIR), "online", true)?;
    let tasks = pod_tasks(targets, &online)?;
    Ok(Inputs {
        allowed: sys::sched::affinity()?,
        online,
        isolated: read_cpu_list(&sysfs_cpu_dir(), "isolated", false)?,
        nohz_full: read_cpu_list(&sysfs_cpu_dir(), "nohz_full", false)?,
        avoid,
        explicit,
        allow_isolated,
        pod_tasks: tasks,
    })
}

/// The tasks (threads) living in the target's namespaces, whether or not
/// their thread-group leader does (see `procs`), that placement may count:
/// real-time or pinned ones. A namespace we share ourselves (the host's,
/// e.g. a pod with host IPC) says nothing about membership and is left
/// out. `/proc` is read once for all of them.
fn pod_tasks(targets: &[Opened], online: &CpuSet) -> Result<Vec<TaskSched>> {
    let mut kinds = Vec::new();
    // The members of these are "the pod" for CPU placement (see NsKind::pod_own).
    for t in targets.iter().filter(|t| t.kind.pod_own()) {
        if super::targets::own_ns(t.kind)? != t.inode {
            kinds.push((t.kind, t.inode));
        }
    }
    let ids = procs::members(&kinds, |tid| may_count(tid, online));
    let me = std::process::id() as i32;
    Ok(ids
        .into_iter()
        .filter(|t| t.pid != me)
        .filter_map(procs::task)
        .collect())
}

/// Whether task `tid` may count for placement, asked of the kernel before
/// any `/proc` path of it is walked: most tasks of a node are neither
/// pinned nor real-time, and then whose namespaces they live in changes
/// nothing (`placement::may_be_pinned`). What is kept is judged by its
/// `/proc` files, as every task was. A task gone (ESRCH) is left out, as
/// its links would be; any other failure keeps it.
fn may_count(tid: i32, online: &CpuSet) -> bool {
    let gone = |e: &Error| e.errno() == Some(Errno::ESRCH);
    match sys::sched::task_affinity(tid) {
        Ok(allowed) if placement::may_be_pinned(&allowed, online) => return true,
        Ok(_) => {}
        Err(e) => return !gone(&e),
    }
    match sys::sched::task_policy(tid) {
        Ok(policy) => policy.is_realtime(),
        Err(e) => !gone(&e),
    }
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
    // Read through `take`: a `File` asks its size first, and a sysfs file
    // has none to tell (it says 4096).
    let read = std::fs::File::open(&path).and_then(|f| {
        let mut text = String::with_capacity(256);
        f.take(u64::MAX).read_to_string(&mut text).map(|_| text)
    });
    match read {
        Ok(text) => Ok(CpuSet::parse(&text)?),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound && !required => Ok(CpuSet::default()),
        Err(e) => Err(e).at("read", path),
    }
}
