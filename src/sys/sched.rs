//! CPU affinity, scheduling policy and niceness of the calling process.

use crate::cpuset::CpuSet;
use crate::error::{Error, Result};
use nix::errno::Errno;
use nix::unistd::Pid;

/// The CPUs this process may run on.
pub fn affinity() -> Result<CpuSet> {
    let mask = nix::sched::sched_getaffinity(Pid::from_raw(0))
        .map_err(|e| Error::call("sched_getaffinity", e))?;
    let count = nix::sched::CpuSet::count();
    Ok(CpuSet::from_cpus(
        (0..count)
            .filter(|&cpu| mask.is_set(cpu).unwrap_or(false))
            .map(|cpu| cpu as u32),
    ))
}

/// Restricts this process (and what it forks and execs) to `cpus`.
pub fn set_affinity(cpus: &CpuSet) -> Result<()> {
    let op = || format!("sched_setaffinity({cpus})");
    let mut mask = nix::sched::CpuSet::new();
    for cpu in cpus.iter() {
        mask.set(cpu as usize).map_err(|e| Error::call(op(), e))?;
    }
    nix::sched::sched_setaffinity(Pid::from_raw(0), &mask).map_err(|e| Error::call(op(), e))
}

/// Switches this process to SCHED_OTHER, whatever policy it inherited
/// (SCHED_FIFO/RR/DEADLINE/BATCH/IDLE), so its children compete normally.
pub fn set_sched_other() -> Result<()> {
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: `param` is a valid sched_param that outlives the call.
    let rc = unsafe { libc::sched_setscheduler(0, libc::SCHED_OTHER, &param) };
    Errno::result(rc)
        .map(drop)
        .map_err(|e| Error::call("sched_setscheduler(SCHED_OTHER)", e))
}

/// Sets the nice value of this process (inherited by what it forks).
pub fn set_nice(nice: i32) -> Result<()> {
    // SAFETY: no pointers involved; `who` 0 is the calling process.
    let rc = unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) };
    Errno::result(rc)
        .map(drop)
        .map_err(|e| Error::call(format!("setpriority(nice {nice})"), e))
}
