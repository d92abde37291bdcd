//! CPU affinity, scheduling policy and niceness of the calling process,
//! and the affinity and policy of any task, asked by thread id.

use crate::cpuset::{CpuSet, MAX_CPU};
use crate::error::{Error, Result};
use crate::task::SchedPolicy;
use nix::errno::Errno;
use nix::unistd::Pid;

/// The CPUs this process may run on.
pub fn affinity() -> Result<CpuSet> {
    task_affinity(0)
}

/// The CPUs task `tid` may run on (0: the calling thread), as
/// `sched_getaffinity(2)` answers: the task's own mask, less CPUs that are
/// not active. One call on the task itself, no `/proc` path to walk; ESRCH
/// once the task is gone. Read a word at a time: this is asked of every
/// task on the node by `enter`.
pub fn task_affinity(tid: i32) -> Result<CpuSet> {
    const WORDS: usize = (MAX_CPU as usize + 1) / 64;
    let mut mask = [0u64; WORDS];
    // SAFETY: `mask` is writable for the size passed and outlives the call.
    let written = unsafe {
        libc::syscall(
            libc::SYS_sched_getaffinity,
            tid,
            std::mem::size_of_val(&mask),
            mask.as_mut_ptr(),
        )
    };
    let written =
        Errno::result(written).map_err(|e| Error::call(format!("sched_getaffinity({tid})"), e))?;
    // The kernel writes its own mask size in bytes, a whole number of words.
    let words = &mask[..(written as usize / 8).min(WORDS)];
    Ok(CpuSet::from_cpus(words.iter().enumerate().flat_map(
        |(i, &word)| set_bits(word).map(move |bit| (i * 64) as u32 + bit),
    )))
}

/// The numbers of the bits set in `word`, lowest first.
fn set_bits(mut word: u64) -> impl Iterator<Item = u32> {
    std::iter::from_fn(move || {
        (word != 0).then(|| {
            let bit = word.trailing_zeros();
            word &= word - 1;
            bit
        })
    })
}

/// The scheduling policy of task `tid`, as `/proc/<tid>/stat` would say it
/// (the kernel adds SCHED_RESET_ON_FORK to the answer, a flag and not a
/// policy of its own). One call, no `/proc` path; ESRCH once it is gone.
pub fn task_policy(tid: i32) -> Result<SchedPolicy> {
    // SAFETY: no pointers involved.
    let raw = unsafe { libc::sched_getscheduler(tid) };
    let raw =
        Errno::result(raw).map_err(|e| Error::call(format!("sched_getscheduler({tid})"), e))?;
    Ok(SchedPolicy::from_raw(
        (raw & !libc::SCHED_RESET_ON_FORK) as u32,
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

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn a_task_is_asked_by_thread_id() {
        let me = std::process::id() as i32;
        assert_eq!(task_affinity(me).unwrap(), affinity().unwrap());
        assert!(!affinity().unwrap().is_empty());
        // The test runs SCHED_OTHER unless started under chrt.
        let stat = std::fs::read("/proc/self/stat").unwrap();
        let policy = crate::procs::parse_stat(&stat).unwrap().policy;
        assert_eq!(task_policy(me).unwrap(), policy);
        // No task has a negative id; PID_MAX_LIMIT is 4 Mi.
        for gone in [i32::MAX, 1 << 23] {
            assert_eq!(task_policy(gone).unwrap_err().errno(), Some(Errno::ESRCH));
            assert_eq!(task_affinity(gone).unwrap_err().errno(), Some(Errno::ESRCH));
        }
    }

    proptest! {
        #[test]
        fn set_bits_are_the_bits_set(word in any::<u64>()) {
            let bits: Vec<u32> = set_bits(word).collect();
            prop_assert_eq!(bits.len() as u32, word.count_ones());
            prop_assert_eq!(bits.iter().fold(0u64, |w, b| w | 1 << b), word);
            prop_assert!(bits.windows(2).all(|p| p[0] < p[1]));
        }
    }
}
