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
//! 5. become the command (exec, as `nsenter` does), or, where a PID
//!    namespace other than ours was joined, spawn it there and wait for it.

mod inputs;
mod join;
mod targets;

use crate::caps::CapSet;
use crate::cpuset::CpuSet;
use crate::error::{Error, Result};
use crate::ns::NsKind;
use crate::output::log;
use crate::placement::{self, Placement};
use crate::sys;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use targets::Opened;

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

    let targets = targets::open(args)?;
    // Asked before the mount namespace is joined: its /proc may not be ours.
    let as_child = joins_another_pid_ns(&targets)?;
    let inputs = inputs::read(&targets, avoid, explicit, args.allow_isolated)?;
    let placement = placement::choose(&inputs)?;
    if args.verbose {
        report(&targets, &placement, args.nice);
    }
    apply_placement(&placement, args.nice)?;
    join::join(&targets)?;
    // After joining (setns needs CAP_SYS_ADMIN), before the command starts.
    if let Some(keep) = args.caps {
        sys::caps::restrict_to(keep)?;
    }
    let command = command(args);
    if args.verbose {
        crate::output::log::info(&format!("running {command:?}"));
    }
    if as_child {
        return sys::exec::run(&command);
    }
    match sys::exec::replace_with(&command)? {}
}

/// A joined PID namespace holds only children made after the join: the
/// command must then be one. Our own (a `--pid` target in our PID
/// namespace) changes nothing, and then pinns becomes the command.
fn joins_another_pid_ns(targets: &[Opened]) -> Result<bool> {
    match targets.iter().find(|t| t.kind == NsKind::Pid) {
        Some(t) => Ok(targets::own_ns(NsKind::Pid)? != t.inode),
        None => Ok(false),
    }
}

fn parse_cpus(list: Option<&str>) -> Result<CpuSet> {
    Ok(list.map(CpuSet::parse).transpose()?.unwrap_or_default())
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
