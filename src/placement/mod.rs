//! Where `pinns enter` may run its command: the housekeeping CPUs, never
//! one that a latency-sensitive workload of the pod depends on.
//!
//! Pure policy: the inputs are read elsewhere (sysfs, `/proc`) and passed in,
//! so every rule here is unit- and property-tested without root.
//!
//! Rules, for automatic placement: start from the caller's allowed CPUs and
//! exclude every CPU that is
//! - isolated (`/sys/devices/system/cpu/isolated`, `isolcpus=`),
//! - `nohz_full` (tick-less CPUs are reserved for one busy task each),
//! - named by `--avoid-cpus`,
//! - allowed to a task (thread) of the pod running SCHED_FIFO, SCHED_RR or
//!   SCHED_DEADLINE ("RT-occupied": such a task may be on any CPU it is
//!   allowed on, and it preempts us or we delay it),
//! - allowed to a task of the pod that is *pinned*: its allowed set is a
//!   strict subset of the online CPUs. An unrestricted task can be moved by
//!   the scheduler and loses nothing when we run beside it; a restricted one
//!   was placed there on purpose (CPU manager exclusive CPUs, `taskset`) and
//!   cannot move away from us.
//!
//! An explicit `--cpus` set is taken as given but refused when it holds a CPU
//! that is isolated, `nohz_full` or RT-occupied, unless `--allow-isolated`;
//! it must always be within the caller's allowed CPUs. Whatever is refused or
//! left empty is an error naming each CPU and why: never a silent fallback.

mod reasons;

pub use reasons::{Exclusions, Reason};

use crate::cpuset::CpuSet;
use crate::task::TaskSched;
use std::collections::BTreeMap;

/// Everything the policy looks at.
#[derive(Debug, Clone, Default)]
pub struct Inputs {
    /// The caller's allowed CPUs (`sched_getaffinity`).
    pub allowed: CpuSet,
    pub online: CpuSet,
    pub isolated: CpuSet,
    pub nohz_full: CpuSet,
    /// `--avoid-cpus`.
    pub avoid: CpuSet,
    /// `--cpus`.
    pub explicit: Option<CpuSet>,
    /// `--allow-isolated`.
    pub allow_isolated: bool,
    /// Every task (thread) of every process living in the target's namespaces.
    pub pod_tasks: Vec<TaskSched>,
}

/// The outcome: where the command runs, and what was left out and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Placement {
    pub cpus: CpuSet,
    /// Allowed CPUs that are not used, with their reasons (for `--verbose`).
    pub excluded: Exclusions,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PlacementError {
    #[error("no safe CPU to run on: {0} (choose CPUs with --cpus; --allow-isolated overrides isolated and real-time CPUs)")]
    NothingSafe(Exclusions),
    #[error("--cpus {cpus} refused: {reasons}")]
    Refused { cpus: CpuSet, reasons: Exclusions },
    #[error("--cpus is empty")]
    EmptyExplicit,
}

/// Chooses the command's CPUs.
pub fn choose(inputs: &Inputs) -> Result<Placement, PlacementError> {
    let excluded = exclusions(inputs);
    match &inputs.explicit {
        None => automatic(inputs, excluded),
        Some(cpus) => explicit(inputs, cpus, excluded),
    }
}

fn automatic(inputs: &Inputs, excluded: Exclusions) -> Result<Placement, PlacementError> {
    let excluded = excluded.only(&inputs.allowed);
    let cpus = inputs.allowed.difference(&excluded.cpus());
    if cpus.is_empty() {
        return Err(PlacementError::NothingSafe(excluded));
    }
    Ok(Placement { cpus, excluded })
}

fn explicit(
    inputs: &Inputs,
    cpus: &CpuSet,
    mut excluded: Exclusions,
) -> Result<Placement, PlacementError> {
    if cpus.is_empty() {
        return Err(PlacementError::EmptyExplicit);
    }
    excluded.add(&cpus.difference(&inputs.allowed), Reason::NotAllowed);
    let refusals = Exclusions(
        excluded
            .only(cpus)
            .0
            .into_iter()
            .filter_map(|(cpu, reasons)| {
                let blocking: Vec<Reason> = reasons
                    .into_iter()
                    .filter(|r| refuses_explicit(r, inputs.allow_isolated))
                    .collect();
                (!blocking.is_empty()).then_some((cpu, blocking))
            })
            .collect(),
    );
    if !refusals.0.is_empty() {
        return Err(PlacementError::Refused {
            cpus: cpus.clone(),
            reasons: refusals,
        });
    }
    // What the user chose over our advice stays visible in --verbose.
    let excluded = excluded.only(&inputs.allowed.difference(cpus));
    Ok(Placement {
        cpus: cpus.clone(),
        excluded,
    })
}

/// Whether a reason blocks an explicitly requested CPU.
fn refuses_explicit(reason: &Reason, allow_isolated: bool) -> bool {
    match reason {
        Reason::NotAllowed => true,
        r if r.overridable() => !allow_isolated,
        // Pinned (non-RT) and avoided CPUs are the user's call with --cpus.
        _ => false,
    }
}

/// Every CPU that automatic placement would leave out, with its reasons.
fn exclusions(inputs: &Inputs) -> Exclusions {
    let mut ex = Exclusions::default();
    ex.add(&inputs.isolated, Reason::Isolated);
    ex.add(&inputs.nohz_full, Reason::NohzFull);
    ex.add(&inputs.avoid, Reason::Avoided);

    let mut tasks: Vec<&TaskSched> = inputs.pod_tasks.iter().collect();
    tasks.sort_by_key(|t| (t.pid, t.tid));
    let realtime = tasks.iter().copied().filter(|t| t.policy.is_realtime());
    add_per_cpu(&mut ex, realtime, |task, more| Reason::Realtime {
        task,
        more,
    });
    let pinned = tasks
        .iter()
        .copied()
        .filter(|t| is_pinned(t, &inputs.online));
    add_per_cpu(&mut ex, pinned, |task, more| Reason::Pinned { task, more });
    ex
}

/// A task is pinned when it may run on only some of the online CPUs.
pub fn is_pinned(task: &TaskSched, online: &CpuSet) -> bool {
    let on = task.cpus_allowed.intersection(online);
    !on.is_empty() && on.len() < online.len()
}

/// Whether a task allowed on `allowed` may be pinned (see [`is_pinned`]):
/// only if some online CPU is not allowed to it. A task that is neither
/// this nor real-time adds no exclusion, whatever it is allowed on beyond
/// the online CPUs, so `enter` need not find out whether it is of the pod.
pub fn may_be_pinned(allowed: &CpuSet, online: &CpuSet) -> bool {
    !online.is_subset(allowed)
}

/// Adds one reason per CPU naming the first task (lowest pid/tid) and a count
/// of the others, so a pod with hundreds of threads still gives one line.
fn add_per_cpu<'a>(
    ex: &mut Exclusions,
    tasks: impl Iterator<Item = &'a TaskSched>,
    reason: impl Fn(TaskSched, usize) -> Reason,
) {
    let mut per_cpu: BTreeMap<u32, (&TaskSched, usize)> = BTreeMap::new();
    for task in tasks {
        for cpu in task.cpus_allowed.iter() {
            per_cpu
                .entry(cpu)
                .and_modify(|(_, more)| *more += 1)
                .or_insert((task, 0));
        }
    }
    for (cpu, (task, more)) in per_cpu {
        ex.0.entry(cpu)
            .or_default()
            .push(reason(task.clone(), more));
    }
}

#[cfg(test)]
mod tests;
