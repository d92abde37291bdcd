//! pinns killed at each step leaves only what `pinns cleanup` removes.

use super::{lingering, strace_inject, Baseline, Scenario, SCENARIOS, WATCHED};
use crate::common;
use common::*;

/// Pin types under DIR that hold something for `name`: an nsfs mount or a
/// plain file.
fn leftover_types(t: &TestDir, name: &str) -> std::collections::BTreeSet<String> {
    ["user", "cgroup", "ipc", "uts", "net", "mnt"]
        .into_iter()
        .filter(|kind| std::fs::symlink_metadata(t.pin_path(kind, name)).is_ok())
        .map(str::to_string)
        .collect()
}

fn wait_until_gone(t: &TestDir, what: &str) {
    for _ in 0..100 {
        if lingering(t).is_empty() {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("{what}: a process outlived pinns: {:?}", lingering(t));
}

/// Killed at a step, pinns cannot undo; what it leaves must be exactly what
/// `pinns cleanup -f NAME` removes, and after that nothing is left.
fn kill_at(s: &Scenario, syscall: &str, nth: usize) -> bool {
    let t = TestDir::new();
    let before = t.snapshot(&WATCHED);
    let out = strace_inject(&t, s, syscall, "signal=KILL", nth);
    let what = format!("{} / SIGKILL at {syscall} #{nth}", s.name);
    wait_until_gone(&t, &what);
    assert_eq!(
        t.snapshot(&WATCHED).sysctls,
        before.sysctls,
        "{what}: host sysctl changed"
    );
    let killed = !out.status.success();
    let left = leftover_types(&t, "pod");
    let report = pinns_json(&["cleanup", "-d", path_str(&t.pins()), "-f", "pod", "--json"]);
    let removed: std::collections::BTreeSet<String> = report["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|i| i["outcome"] == "removed")
        .flat_map(|i| {
            i["namespaces"]
                .as_array()
                .unwrap()
                .iter()
                .map(|n| n["type"].as_str().unwrap().to_string())
        })
        .collect();
    assert_eq!(
        removed, left,
        "{what}: cleanup removed other than what was left"
    );
    assert!(
        t.nsfs_mounts().is_empty(),
        "{what}: nsfs mounts after cleanup: {:?}",
        t.nsfs_mounts()
    );
    assert!(
        t.plain_files().is_empty(),
        "{what}: files after cleanup: {:?}",
        t.plain_files()
    );
    killed
}

#[test]
fn killed_at_any_step_leaves_only_what_cleanup_removes() {
    let (mut points, mut killed) = (0, 0);
    for s in SCENARIOS {
        let baseline = Baseline::record(s);
        for (syscall, n) in baseline.counts() {
            for nth in 1..=n {
                points += 1;
                killed += usize::from(kill_at(s, &syscall, nth));
            }
        }
    }
    eprintln!("SIGKILL injection: {points} points, {killed} killed pinns mid-way");
    assert!(
        killed > points / 2,
        "most kill points should stop pinns: {killed}/{points}"
    );
    readme_count("kill-points", points);
}
