//! The rules of `placement`, unit- and property-tested.

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

    /// What `enter` leaves unread: a task neither real-time nor possibly
    /// pinned changes nothing, not even a --verbose line, wherever it sorts.
    #[test]
    fn a_task_neither_realtime_nor_maybe_pinned_changes_nothing(
        mut i in inputs(),
        p in policy(),
        beyond in cpus(16),
        pid in 0..8i32,
    ) {
        prop_assume!(!p.is_realtime());
        let extra = TaskSched {
            pid,
            tid: pid,
            comm: "extra".into(),
            policy: p,
            rt_priority: 0,
            cpus_allowed: beyond.union(&i.online),
        };
        prop_assert!(!may_be_pinned(&extra.cpus_allowed, &i.online));
        let before = choose(&i);
        i.pod_tasks.push(extra);
        prop_assert_eq!(choose(&i), before);
    }

    #[test]
    fn a_pinned_task_may_be_pinned(allowed in cpus(12), online in cpus(12)) {
        let t = TaskSched { cpus_allowed: allowed.clone(), ..task(1, SchedPolicy::Other, "") };
        if is_pinned(&t, &online) {
            prop_assert!(may_be_pinned(&allowed, &online));
        }
    }
}
