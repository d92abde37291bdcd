//! A task's scheduling facts: what `procs` reads from `/proc` and
//! `placement` judges, a type of neither.

use crate::cpuset::CpuSet;
use crate::escape::Text;
use std::fmt;

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
