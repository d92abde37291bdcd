//! The namespaces of a pin, and their sysctls: created in pinns itself, or
//! in a helper child when a user or mount namespace is created.

use super::{IdMaps, PinPlan, Propagation};
use crate::error::{Error, Result};
use crate::ns::NsKind;
use crate::sys;
use crate::sys::process::{self, Channel, Forked};
use crate::sysctl::Sysctl;
use crate::sysctl_write::ProcSys;
use nix::errno::Errno;
use nix::mount::MsFlags;
use nix::sched::CloneFlags;
use nix::sys::wait::WaitStatus;
use nix::unistd::Pid;
use std::path::{Path, PathBuf};

/// The process whose namespaces get pinned: pinns itself, or a helper child
/// when a user or mount namespace is created (a user namespace needs its maps
/// written from outside; a new mount namespace must not be the one in which
/// we mount the pins). The helper is killed and reaped on drop.
pub(super) enum NsHolder {
    Caller,
    /// `pid` is None once the helper has been reaped.
    Helper {
        pid: Option<Pid>,
        channel: Channel,
    },
}

const MSG_USERNS: &[u8] = b"userns";
const MSG_MAPPED: &[u8] = b"mapped";
const MSG_READY: &[u8] = b"ready";
const MSG_ERROR: &[u8] = b"error:";

impl NsHolder {
    pub(super) fn create(plan: &PinPlan, proc_sys: Option<&ProcSys>) -> Result<NsHolder> {
        if plan.creates(NsKind::User) || plan.creates(NsKind::Mnt) {
            return Self::spawn_helper(plan, proc_sys);
        }
        let flags = plan.unshare_flags();
        if !flags.is_empty() {
            sys::namespace::unshare(flags)?;
        }
        apply_sysctls(proc_sys, &plan.sysctls)?;
        Ok(NsHolder::Caller)
    }

    pub(super) fn ns_path(&self, kind: NsKind) -> PathBuf {
        match self {
            NsHolder::Caller => format!("/proc/thread-self/ns/{kind}").into(),
            NsHolder::Helper { pid: Some(pid), .. } => format!("/proc/{pid}/ns/{kind}").into(),
            NsHolder::Helper { pid: None, .. } => PathBuf::from("/proc/helper-already-exited"),
        }
    }

    fn spawn_helper(plan: &PinPlan, proc_sys: Option<&ProcSys>) -> Result<NsHolder> {
        let (pid, channel) = match process::fork_with_channel()? {
            Forked::Child { channel } => run_helper(plan, proc_sys, &channel),
            Forked::Parent { child, channel } => (child, channel),
        };
        let mut holder = NsHolder::Helper {
            pid: Some(pid),
            channel,
        };
        if let Some(maps) = &plan.id_maps {
            holder.expect_message(MSG_USERNS)?;
            write_id_maps(pid, maps)?;
            holder.send(MSG_MAPPED)?;
        }
        holder.expect_message(MSG_READY)?;
        Ok(holder)
    }

    fn send(&self, msg: &[u8]) -> Result<()> {
        match self {
            NsHolder::Helper { channel, .. } => channel.send(msg),
            NsHolder::Caller => Ok(()),
        }
    }

    fn expect_message(&mut self, want: &[u8]) -> Result<()> {
        let NsHolder::Helper { channel, pid } = self else {
            return Ok(());
        };
        let got = channel.recv()?;
        if got == want {
            return Ok(());
        }
        if let Some(msg) = got.strip_prefix(MSG_ERROR) {
            return Err(Error::Helper(String::from_utf8_lossy(msg).into_owned()));
        }
        // The helper hung up without a word: say how it ended.
        let status = pid.take().map(process::reap);
        match status {
            Some(WaitStatus::Exited(_, process::HELPER_REPORTED)) => Err(Error::AlreadyReported),
            status => Err(Error::Helper(format!(
                "helper process ended before the namespaces were ready ({})",
                status_text(status)
            ))),
        }
    }
}

fn status_text(status: Option<WaitStatus>) -> String {
    match status {
        Some(WaitStatus::Exited(_, code)) => format!("exit status {code}"),
        Some(WaitStatus::Signaled(_, signal, _)) => format!("killed by {signal}"),
        _ => "status unknown".into(),
    }
}

impl Drop for NsHolder {
    fn drop(&mut self) {
        if let NsHolder::Helper { pid: Some(pid), .. } = self {
            process::kill_and_reap(*pid);
        }
    }
}

/// The helper child: creates the namespaces, reports, then waits to be killed.
fn run_helper(plan: &PinPlan, proc_sys: Option<&ProcSys>, channel: &Channel) -> ! {
    let result = helper_create(plan, proc_sys, channel);
    let report = match &result {
        Ok(()) => MSG_READY.to_vec(),
        Err(e) => [MSG_ERROR, e.to_string().as_bytes()].concat(),
    };
    match channel.send(&report) {
        // Hold the namespaces until the parent has pinned them and hangs up.
        Ok(()) => {
            let _ = channel.recv();
            process::exit_child(0)
        }
        // The parent hung up: it failed first and prints its own error; a
        // second line from us would only repeat it in other words. (Should
        // it still be waiting after all, it says how we ended.)
        Err(Error::Call {
            errno: Errno::EPIPE | Errno::ECONNRESET,
            ..
        }) => process::exit_child(1),
        // No way to tell the parent: say it ourselves, once.
        Err(send_error) => {
            let err = result.err().unwrap_or(send_error);
            crate::output::log::error(&err.to_string());
            process::exit_child(process::HELPER_REPORTED)
        }
    }
}

fn helper_create(plan: &PinPlan, proc_sys: Option<&ProcSys>, channel: &Channel) -> Result<()> {
    if let Some(maps) = &plan.id_maps {
        sys::namespace::unshare(CloneFlags::CLONE_NEWUSER)?;
        channel.send(MSG_USERNS)?;
        if channel.recv()? != MSG_MAPPED {
            return Err(Error::Helper("parent did not write the id mappings".into()));
        }
        // ipc sysctls may only be written by the namespace's own root.
        if maps.uid.maps_root() && maps.gid.maps_root() {
            process::become_namespace_root()?;
        }
    }
    let flags = plan.unshare_flags();
    if !flags.is_empty() {
        sys::namespace::unshare(flags)?;
    }
    if plan.creates(NsKind::Mnt) {
        set_propagation(plan.mnt_propagation)?;
    }
    apply_sysctls(proc_sys, &plan.sysctls)
}

fn set_propagation(propagation: Propagation) -> Result<()> {
    let flag = match propagation {
        Propagation::Unchanged => return Ok(()),
        Propagation::Slave => MsFlags::MS_SLAVE,
        Propagation::Private => MsFlags::MS_PRIVATE,
        Propagation::Shared => MsFlags::MS_SHARED,
    };
    sys::mount::set_propagation_recursive(Path::new("/"), flag)
}

fn apply_sysctls(proc_sys: Option<&ProcSys>, sysctls: &[Sysctl]) -> Result<()> {
    match proc_sys {
        Some(proc_sys) => sysctls.iter().try_for_each(|s| proc_sys.apply(s)),
        None => Ok(()),
    }
}

fn write_id_maps(pid: Pid, maps: &IdMaps) -> Result<()> {
    for (file, map) in [("gid_map", &maps.gid), ("uid_map", &maps.uid)] {
        let path = PathBuf::from(format!("/proc/{pid}/{file}"));
        sys::files::write_existing_file(&path, map.to_proc_format().as_bytes())?;
    }
    Ok(())
}
