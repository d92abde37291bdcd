//! Why a CPU is left out, said on one line per CPU.

use crate::cpuset::CpuSet;
use crate::task::TaskSched;
use std::collections::BTreeMap;
use std::fmt;

/// Why a CPU is not used.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// Not in the caller's allowed CPUs (only for an explicit `--cpus`).
    NotAllowed,
    Isolated,
    NohzFull,
    Avoided,
    /// A real-time task of the pod may run here; `more` counts further ones.
    Realtime {
        task: TaskSched,
        more: usize,
    },
    /// A task of the pod is pinned to a set holding this CPU.
    Pinned {
        task: TaskSched,
        more: usize,
    },
}

impl Reason {
    /// Reasons `--allow-isolated` overrides for an explicit `--cpus`.
    pub(super) fn overridable(&self) -> bool {
        matches!(
            self,
            Reason::Isolated | Reason::NohzFull | Reason::Realtime { .. }
        )
    }
}

impl fmt::Display for Reason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let more = |f: &mut fmt::Formatter<'_>, n: usize| match n {
            0 => Ok(()),
            n => write!(f, " (and {n} more)"),
        };
        match self {
            Reason::NotAllowed => f.write_str("not in pinns' allowed CPUs"),
            Reason::Isolated => f.write_str("isolated"),
            Reason::NohzFull => f.write_str("nohz_full"),
            Reason::Avoided => f.write_str("in --avoid-cpus"),
            Reason::Realtime { task, more: n } => {
                write!(
                    f,
                    "{} priority {} task {}/{} ({}) of the target allowed on {}",
                    task.policy, task.rt_priority, task.pid, task.tid, task.comm, task.cpus_allowed
                )?;
                more(f, *n)
            }
            Reason::Pinned { task, more: n } => {
                write!(
                    f,
                    "task {}/{} ({}) of the target pinned to {}",
                    task.pid, task.tid, task.comm, task.cpus_allowed
                )?;
                more(f, *n)
            }
        }
    }
}

/// Each excluded CPU with every reason that applies to it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Exclusions(pub BTreeMap<u32, Vec<Reason>>);

impl Exclusions {
    pub fn cpus(&self) -> CpuSet {
        CpuSet::from_cpus(self.0.keys().copied())
    }

    pub(super) fn add(&mut self, cpus: &CpuSet, reason: Reason) {
        for cpu in cpus.iter() {
            self.0.entry(cpu).or_default().push(reason.clone());
        }
    }

    pub(super) fn only(&self, cpus: &CpuSet) -> Exclusions {
        Exclusions(
            self.0
                .iter()
                .filter(|(cpu, _)| cpus.contains(**cpu))
                .map(|(cpu, r)| (*cpu, r.clone()))
                .collect(),
        )
    }
}

/// One line: `CPU 0: isolated; CPU 1: SCHED_FIFO ... and in --avoid-cpus`.
impl fmt::Display for Exclusions {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, (cpu, reasons)) in self.0.iter().enumerate() {
            if i > 0 {
                f.write_str("; ")?;
            }
            write!(f, "CPU {cpu}: ")?;
            for (j, r) in reasons.iter().enumerate() {
                if j > 0 {
                    f.write_str(" and ")?;
                }
                write!(f, "{r}")?;
            }
        }
        Ok(())
    }
}
