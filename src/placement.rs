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

use crate::cpuset::CpuSet;
use crate::task::TaskSched;
use std::collections::BTreeMap;
use std::fmt;

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
    fn overridable(&self) -> bool {
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

    fn add(&mut self, cpus: &CpuSet, reason: Reason) {
        for cpu in cpus.iter() {
            self.0.entry(cpu).or_default().push(reason.clone());
        }
    }

    fn only(&self, cpus: &CpuSet) -> Exclusions {
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
mod tests {
    use super::*;
    use crate::task::SchedPolicy;
    use proptest::prelude::*;

    fn set(list: &str) -> CpuSet {
        CpuSet::parse(list).unwrap()
    }

    fn task(pid: i32, policy: SchedPolicy, cpus: &str) -> TaskSched {
        TaskSched {
            pid,
            tid: pid,
            comm: format!("t{pid}").into(),
            policy,
            rt_priority: if policy.is_realtime() { 10 } else { 0 },
            cpus_allowed: set(cpus),
        }
    }

    fn machine(cpus: &str) -> Inputs {
        Inputs {
            allowed: set(cpus),
            online: set(cpus),
            ..Inputs::default()
        }
    }

    #[test]
    fn nothing_to_avoid_uses_every_allowed_cpu() {
        let mut i = machine("0-3");
        i.pod_tasks = vec![task(10, SchedPolicy::Other, "0-3")];
        let p = choose(&i).unwrap();
        assert_eq!(p.cpus, set("0-3"));
        assert!(p.excluded.0.is_empty());
    }

    #[test]
    fn telco_pod_leaves_the_housekeeping_cpu() {
        let mut i = machine("0-1");
        i.pod_tasks = vec![task(10, SchedPolicy::Fifo, "1")];
        let p = choose(&i).unwrap();
        assert_eq!(p.cpus, set("0"));
        let reasons = &p.excluded.0[&1];
        assert!(matches!(reasons[0], Reason::Realtime { .. }));
        assert!(matches!(reasons[1], Reason::Pinned { .. }));
        let text = p.excluded.to_string();
        assert!(
            text.starts_with("CPU 1: SCHED_FIFO priority 10 task 10/10 (t10)"),
            "{text}"
        );
    }

    #[test]
    fn every_source_of_exclusion_counts() {
        let mut i = machine("0-7");
        i.isolated = set("4-5");
        i.nohz_full = set("5-6");
        i.avoid = set("0");
        i.pod_tasks = vec![
            task(10, SchedPolicy::RoundRobin, "7"),
            task(11, SchedPolicy::Other, "3"),
            task(12, SchedPolicy::Other, "0-7"),
        ];
        let p = choose(&i).unwrap();
        assert_eq!(p.cpus, set("1-2"));
        assert_eq!(p.excluded.cpus(), set("0,3-7"));
        assert_eq!(p.excluded.0[&5], vec![Reason::Isolated, Reason::NohzFull]);
    }

    #[test]
    fn an_unpinned_realtime_task_occupies_all_its_cpus() {
        let mut i = machine("0-1");
        i.pod_tasks = vec![task(10, SchedPolicy::Deadline, "0-1")];
        let err = choose(&i).unwrap_err();
        let text = err.to_string();
        assert!(text.contains("CPU 0: SCHED_DEADLINE"), "{text}");
        assert!(text.contains("CPU 1: SCHED_DEADLINE"), "{text}");
    }

    #[test]
    fn nothing_safe_names_each_cpu_and_why() {
        let mut i = machine("0-1");
        i.isolated = set("0");
        i.pod_tasks = vec![
            task(10, SchedPolicy::Fifo, "1"),
            task(11, SchedPolicy::Fifo, "1"),
        ];
        let err = choose(&i).unwrap_err();
        let PlacementError::NothingSafe(ex) = &err else {
            panic!("{err:?}")
        };
        assert_eq!(ex.cpus(), set("0-1"));
        let text = err.to_string();
        assert!(text.contains("CPU 0: isolated"), "{text}");
        assert!(text.contains("CPU 1: SCHED_FIFO"), "{text}");
        assert!(text.contains("(and 1 more)"), "{text}");
        assert!(!text.contains('\n'));
    }

    #[test]
    fn cpus_outside_the_callers_affinity_are_not_candidates() {
        let mut i = machine("0-3");
        i.allowed = set("2-3");
        i.isolated = set("0,3");
        let p = choose(&i).unwrap();
        assert_eq!(p.cpus, set("2"));
        assert_eq!(p.excluded.cpus(), set("3"));
    }

    #[test]
    fn explicit_cpus_refused_on_isolated_or_realtime() {
        let mut i = machine("0-1");
        i.pod_tasks = vec![task(10, SchedPolicy::Fifo, "1")];
        i.explicit = Some(set("1"));
        let err = choose(&i).unwrap_err();
        assert!(matches!(err, PlacementError::Refused { .. }));
        assert!(err.to_string().contains("CPU 1: SCHED_FIFO"), "{err}");
        i.allow_isolated = true;
        assert_eq!(choose(&i).unwrap().cpus, set("1"));

        let mut i = machine("0-1");
        i.isolated = set("0");
        i.explicit = Some(set("0-1"));
        let err = choose(&i).unwrap_err().to_string();
        assert!(
            err.contains("CPU 0: isolated") && !err.contains("CPU 1"),
            "{err}"
        );
        i.allow_isolated = true;
        assert_eq!(choose(&i).unwrap().cpus, set("0-1"));
    }

    #[test]
    fn explicit_cpus_must_be_allowed_even_with_override() {
        let mut i = machine("0-3");
        i.allowed = set("0-1");
        i.explicit = Some(set("1-2"));
        i.allow_isolated = true;
        let err = choose(&i).unwrap_err().to_string();
        assert!(err.contains("CPU 2: not in pinns' allowed CPUs"), "{err}");
        i.explicit = Some(CpuSet::default());
        assert_eq!(choose(&i).unwrap_err(), PlacementError::EmptyExplicit);
    }

    #[test]
    fn explicit_cpus_may_take_a_pinned_non_realtime_cpu() {
        let mut i = machine("0-3");
        i.pod_tasks = vec![task(10, SchedPolicy::Other, "0-2")];
        assert_eq!(choose(&i).unwrap().cpus, set("3"));
        i.explicit = Some(set("2"));
        let p = choose(&i).unwrap();
        assert_eq!(p.cpus, set("2"));
        assert_eq!(p.excluded.cpus(), set("0-1"));
    }

    #[test]
    fn pinned_means_a_strict_subset_of_online() {
        let online = set("0-3");
        assert!(is_pinned(&task(1, SchedPolicy::Other, "2"), &online));
        assert!(is_pinned(&task(1, SchedPolicy::Other, "0-2"), &online));
        assert!(!is_pinned(&task(1, SchedPolicy::Other, "0-3"), &online));
        // Bits for CPUs that are not online do not make a task unpinned.
        assert!(!is_pinned(&task(1, SchedPolicy::Other, "0-7"), &online));
        assert!(is_pinned(&task(1, SchedPolicy::Other, "1,5-7"), &online));
    }

    fn cpus(max: u32) -> impl Strategy<Value = CpuSet> {
        proptest::collection::btree_set(0..max, 0..(max as usize)).prop_map(CpuSet::from_cpus)
    }

    fn policy() -> impl Strategy<Value = SchedPolicy> {
        prop_oneof![
            Just(SchedPolicy::Other),
            Just(SchedPolicy::Batch),
            Just(SchedPolicy::Fifo),
            Just(SchedPolicy::RoundRobin),
            Just(SchedPolicy::Deadline),
        ]
    }

    fn inputs() -> impl Strategy<Value = Inputs> {
        let tasks = proptest::collection::vec((policy(), cpus(8)), 0..6);
        (
            cpus(8),
            cpus(8),
            cpus(8),
            cpus(8),
            tasks,
            proptest::option::of(cpus(8)),
            any::<bool>(),
        )
            .prop_map(
                |(allowed, isolated, nohz_full, avoid, tasks, explicit, allow_isolated)| Inputs {
                    allowed,
                    online: CpuSet::parse("0-7").unwrap(),
                    isolated,
                    nohz_full,
                    avoid,
                    explicit,
                    allow_isolated,
                    pod_tasks: tasks
                        .into_iter()
                        .enumerate()
                        .map(|(i, (p, c))| TaskSched {
                            pid: i as i32 + 1,
                            tid: i as i32 + 1,
                            comm: "x".into(),
                            policy: p,
                            rt_priority: 0,
                            cpus_allowed: c,
                        })
                        .collect(),
                },
            )
    }

    /// CPUs that automatic placement must never choose.
    fn dangerous(i: &Inputs) -> CpuSet {
        let mut bad = i.isolated.union(&i.nohz_full).union(&i.avoid);
        for t in &i.pod_tasks {
            if t.policy.is_realtime() || is_pinned(t, &i.online) {
                bad = bad.union(&t.cpus_allowed);
            }
        }
        bad
    }

    proptest! {
        #[test]
        fn automatic_choice_is_safe_and_maximal(mut i in inputs()) {
            i.explicit = None;
            let bad = dangerous(&i);
            match choose(&i) {
                Ok(p) => {
                    prop_assert!(!p.cpus.is_empty());
                    prop_assert!(p.cpus.is_subset(&i.allowed));
                    prop_assert!(p.cpus.intersection(&bad).is_empty());
                    // Nothing safe is left out, and every left-out CPU says why.
                    prop_assert_eq!(p.cpus.union(&p.excluded.cpus()), i.allowed.clone());
                    prop_assert!(p.excluded.0.values().all(|r| !r.is_empty()));
                }
                Err(PlacementError::NothingSafe(ex)) => {
                    prop_assert!(i.allowed.difference(&bad).is_empty());
                    prop_assert_eq!(ex.cpus(), i.allowed.clone());
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }

        #[test]
        fn explicit_choice_is_taken_or_refused(i in inputs()) {
            let Some(want) = i.explicit.clone() else { return Ok(()) };
            let mut hard = want.difference(&i.allowed);
            if !i.allow_isolated {
                hard = hard.union(&want.intersection(&i.isolated.union(&i.nohz_full)));
                for t in i.pod_tasks.iter().filter(|t| t.policy.is_realtime()) {
                    hard = hard.union(&want.intersection(&t.cpus_allowed));
                }
            }
            match choose(&i) {
                Ok(p) => {
                    prop_assert!(hard.is_empty());
                    prop_assert_eq!(p.cpus, want);
                }
                Err(PlacementError::EmptyExplicit) => prop_assert!(want.is_empty()),
                Err(PlacementError::Refused { reasons, .. }) => {
                    prop_assert_eq!(reasons.cpus(), hard);
                }
                Err(e) => prop_assert!(false, "unexpected {e:?}"),
            }
        }
    }
}
