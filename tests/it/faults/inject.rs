//! Each injected failure rolls the pin back completely.

use super::{lingering, strace_inject, Baseline, Scenario, ERRNO, SCENARIOS, WATCHED};
use crate::common;
use common::*;

#[derive(Default)]
struct Tally {
    injected: usize,
    failed_cleanly: usize,
    /// Failures the dynamic loader reports before our main() runs.
    loader: usize,
    /// Injections the run tolerated (a failure our code does not depend on).
    tolerated: Vec<String>,
}

fn inject(s: &Scenario, baseline: &Baseline, syscall: &str, nth: usize, tally: &mut Tally) {
    let t = TestDir::new();
    let before = t.snapshot(&WATCHED);
    let out = strace_inject(&t, s, syscall, &format!("error={ERRNO}"), nth);
    let what = format!("{} / {syscall} #{nth}", s.name);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    tally.injected += 1;

    assert!(
        lingering(&t).is_empty(),
        "{what}: a process was left running"
    );
    assert_eq!(
        t.snapshot(&WATCHED).sysctls,
        before.sysctls,
        "{what}: host sysctl changed"
    );

    if out.status.success() {
        assert!(
            baseline.is_runtime_internal(syscall, nth),
            "{what}: the failure was ignored"
        );
        // Tolerated only if the pin is complete and correct.
        for kind in s.kinds {
            assert!(
                t.nsfs_mounts().contains(&t.pin_path(kind, "pod")),
                "{what}: exit 0 but the {kind} pin is missing"
            );
        }
        tally.tolerated.push(what);
        return;
    }
    assert!(
        t.nsfs_mounts().is_empty(),
        "{what}: nsfs mounts left: {:?}",
        t.nsfs_mounts()
    );
    assert!(
        t.mounts().is_empty(),
        "{what}: mounts left: {:?}",
        t.mounts()
    );
    // DIR and its <type>ns directories are shared by concurrent pins and
    // never removed by an undo; nothing else may be left.
    assert!(
        t.files().iter().all(|p| is_layout_dir(&t, p)),
        "{what}: left {:?}",
        t.files()
    );
    if stderr.contains("error while loading shared libraries") {
        tally.loader += 1;
        return;
    }
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(
        lines.len() == 1 && lines[0].starts_with("[pinns:e] ") && lines[0].contains(ERRNO),
        "{what}: expected one [pinns:e] line naming {ERRNO}, got {stderr:?}"
    );
    tally.failed_cleanly += 1;
}

/// DIR itself or one of its `<type>ns` directories, empty.
fn is_layout_dir(t: &TestDir, path: &std::path::Path) -> bool {
    let layout = *path == t.pins()
        || (path.parent() == Some(&t.pins())
            && path.file_name().and_then(|n| n.to_str()).is_some_and(|n| {
                ["user", "cgroup", "ipc", "uts", "net", "mnt"]
                    .iter()
                    .any(|k| n == format!("{k}ns"))
            }));
    layout && path.is_dir() && !path.is_symlink()
}

#[test]
fn every_injected_failure_rolls_back_completely() {
    let mut tally = Tally::default();
    let mut points = Vec::new();
    for s in SCENARIOS {
        let baseline = Baseline::record(s);
        for (syscall, n) in baseline.counts() {
            for nth in 1..=n {
                inject(s, &baseline, &syscall, nth, &mut tally);
                points.push(format!("{}: {syscall} #{nth}", s.name));
            }
        }
    }
    eprintln!(
        "fault injection: {} points, {} failed cleanly with our message, {} in the loader, tolerated: {:?}",
        tally.injected, tally.failed_cleanly, tally.loader, tally.tolerated
    );
    // Every scenario exercised the steps the issue names.
    for step in [
        "unshare",
        "mkdirat",
        "openat",
        "mount",
        "write",
        "clone",
        "sethostname",
    ] {
        assert!(
            points.iter().any(|p| p.contains(&format!(": {step} #"))),
            "{step} never injected"
        );
    }
    assert!(
        tally.failed_cleanly > tally.injected / 2,
        "most injections should reach our code"
    );
    readme_count("fault-injection-points", tally.injected);
}
