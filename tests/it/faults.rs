//! Fault injection: every state-changing syscall of the pin path is made to
//! fail in turn (strace's `inject`), in each kind of pod. Each run must fail
//! with one `[pinns:e]` line naming the step and the error, and leave no
//! mount, no file, no process and no changed host sysctl behind.

use crate::common;

use common::*;
use std::collections::BTreeMap;
use std::process::Command;

/// Syscalls that change state, or whose failure must stop a pin.
const SYSCALLS: &[&str] = &[
    "unshare",
    "mkdir",
    "mkdirat",
    "openat",
    "mount",
    "open_tree",
    "move_mount",
    "write",
    "flock",
    "clone",
    "socketpair",
    "sendto",
    "recvfrom",
    "sethostname",
    "setdomainname",
    "setresuid",
    "setresgid",
    "fstatfs",
    "fsopen",
    "fsconfig",
    "fsmount",
];

/// The errno we inject: rare enough that seeing it in the message proves
/// the message reports the injected failure.
const ERRNO: &str = "ENOTRECOVERABLE";

const WATCHED: [&str; 3] = [
    "net.ipv4.ip_forward",
    "kernel.shm_rmid_forced",
    "kernel.domainname",
];

struct Scenario {
    name: &'static str,
    args: &'static [&'static str],
    /// Pin types a successful run leaves.
    kinds: &'static [&'static str],
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "plain pod",
        args: &[
            "--net",
            "--ipc",
            "--uts",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shm_rmid_forced=1",
            "-s",
            "kernel.hostname=fault",
            "-s",
            "kernel.domainname=fault.example",
        ],
        kinds: &["net", "ipc", "uts"],
    },
    Scenario {
        name: "host-network pod",
        args: &[
            "--net=host",
            "--ipc",
            "--uts",
            "-s",
            "kernel.shm_rmid_forced=1",
        ],
        kinds: &["net", "ipc", "uts"],
    },
    Scenario {
        name: "user-namespace pod",
        args: &[
            "--user",
            "--uid-mapping=0-100000-65536@",
            "--gid-mapping=0-100000-65536@",
            "--net",
            "--ipc",
            "--uts",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shm_rmid_forced=1",
            "-s",
            "kernel.hostname=fault",
        ],
        kinds: &["user", "net", "ipc", "uts"],
    },
    Scenario {
        name: "mount-namespace pin",
        args: &["-m", "--cgroup"],
        kinds: &["mnt", "cgroup"],
    },
];

fn pin_args<'a>(t: &'a TestDir, s: &'a Scenario) -> Vec<String> {
    let mut args = vec![
        "-d".to_string(),
        path_str(&t.pins()).to_string(),
        "-f".into(),
        "pod".into(),
    ];
    args.extend(s.args.iter().map(|a| a.to_string()));
    args
}

/// The syscalls of a clean run, per process, in order.
struct Baseline {
    calls: BTreeMap<String, Vec<String>>,
}

impl Baseline {
    fn record(s: &Scenario) -> Baseline {
        let t = TestDir::new();
        let trace = t.path().join("trace");
        let out = strace(
            &t,
            s,
            &[
                format!("--trace={}", SYSCALLS.join(",")),
                "-o".into(),
                path_str(&trace).into(),
            ],
        );
        assert!(
            out.status.success(),
            "{}: baseline failed: {}",
            s.name,
            String::from_utf8_lossy(&out.stderr)
        );
        let mut calls: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in std::fs::read_to_string(&trace).unwrap().lines() {
            if let Some((pid, call)) = line.split_once(' ').map(|(p, c)| (p, c.trim_start())) {
                // A call the kernel restarts (net sysctl writes retry while
                // another task holds the RTNL lock) shows once per attempt;
                // only completed calls count, so `when=N` always exists.
                let restarted = call.contains("ERESTART");
                let name = call.split('(').next().unwrap_or("");
                if !restarted && SYSCALLS.contains(&name) {
                    calls
                        .entry(pid.to_string())
                        .or_default()
                        .push(call.to_string());
                }
            }
        }
        Baseline { calls }
    }

    /// Per syscall, the most calls any one process made: strace counts
    /// `when=N` per process.
    fn counts(&self) -> BTreeMap<String, usize> {
        let mut counts = BTreeMap::new();
        for calls in self.calls.values() {
            let mut mine: BTreeMap<String, usize> = BTreeMap::new();
            for call in calls {
                *mine
                    .entry(call.split('(').next().unwrap_or("").to_string())
                    .or_default() += 1;
            }
            for (name, n) in mine {
                let max = counts.entry(name).or_insert(0);
                *max = (*max).max(n);
            }
        }
        counts
    }

    /// Whether the Nth call of `syscall` in some process opens one of the
    /// [`RUNTIME_FILES`].
    fn is_runtime_internal(&self, syscall: &str, nth: usize) -> bool {
        self.calls.values().any(|calls| {
            calls
                .iter()
                .filter(|c| c.starts_with(&format!("{syscall}(")))
                .nth(nth - 1)
                .is_some_and(|c| RUNTIME_FILES.iter().any(|f| c.contains(f)))
        })
    }
}

/// Files the loader and C library open for themselves: a failure to open
/// one is retried elsewhere or ignored by them, before or beside our code.
const RUNTIME_FILES: &[&str] = &["\"/etc/ld.so.cache\"", ".so", "\"/proc/self/maps\""];

/// Runs pinns under strace, without the test harness's LD_LIBRARY_PATH (it
/// would add dozens of loader lookups that are not ours).
fn strace(t: &TestDir, s: &Scenario, strace_args: &[String]) -> std::process::Output {
    Command::new("strace")
        .args(["-f", "-qq"])
        .args(strace_args)
        .arg(BIN)
        .args(pin_args(t, s))
        .env_remove("LD_LIBRARY_PATH")
        .output()
        .expect("run strace (apt-get install strace)")
}

/// Processes still running with this test's directory in their arguments:
/// a helper child that outlived the call.
fn lingering(t: &TestDir) -> Vec<i32> {
    let needle = path_str(t.path()).to_string();
    pinns::procs::pids()
        .into_iter()
        .filter(|pid| pinns::procs::command_line(*pid).contains(&needle))
        .collect()
}

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
    let out = strace(
        &t,
        s,
        &[
            "-o".into(),
            "/dev/null".into(),
            format!("--trace={syscall}"),
            format!("--inject={syscall}:error={ERRNO}:when={nth}"),
        ],
    );
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
    let out = strace(
        &t,
        s,
        &[
            "-o".into(),
            "/dev/null".into(),
            format!("--trace={syscall}"),
            format!("--inject={syscall}:signal=KILL:when={nth}"),
        ],
    );
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

/// A sweep whose unmount or unlink fails on one pin goes on with the others,
/// reports the failure in its exit status and summary, and leaves that pin
/// either intact or removable by the next sweep; nothing is half-destroyed
/// beyond what a second sweep finishes.
#[test]
fn a_failing_item_does_not_stop_the_sweep() {
    const PODS: usize = 3;
    for syscall in ["umount2", "unlinkat"] {
        // Each pod has two pins: one unmount and one unlink each.
        for nth in 1..=PODS * 2 {
            let t = TestDir::new();
            let d = path_str(&t.pins()).to_string();
            for i in 0..PODS {
                // A CRI-O-shaped name: only those are swept.
                t.pin(
                    &format!("{i:08x}-0000-4000-8000-000000000000"),
                    &["--net", "--ipc"],
                );
            }
            let what = format!("cleanup / {syscall} #{nth}");
            let out = Command::new("strace")
                .args(["-f", "-qq", "-o", "/dev/null"])
                .arg(format!("--trace={syscall}"))
                .arg(format!("--inject={syscall}:error={ERRNO}:when={nth}"))
                .arg(BIN)
                .args(sweep_all(&d))
                .env_remove("LD_LIBRARY_PATH")
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(1),
                "{what}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let report: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
            assert_eq!(report["summary"]["failed"], 1, "{what}: {report}");
            assert_eq!(
                report["summary"]["removed"],
                PODS - 1,
                "{what}: the sweep stopped early: {report}"
            );
            // The next sweep finishes the job.
            let (status, _, stderr) = run(&[
                "cleanup",
                "-d",
                &d,
                "--orphans",
                "--older-than",
                "0s",
                "--no-runtime",
            ]);
            assert_eq!(status, 0, "{what}: second sweep: {stderr}");
            assert!(t.nsfs_mounts().is_empty(), "{what}: {:?}", t.nsfs_mounts());
            assert!(t.plain_files().is_empty(), "{what}: {:?}", t.plain_files());
        }
    }
}
