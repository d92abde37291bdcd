//! Fault injection: every state-changing syscall of the pin path is made to
//! fail in turn (strace's `inject`), in each kind of pod. Each run must fail
//! with one `[pinns:e]` line naming the step and the error, and leave no
//! mount, no file, no process and no changed host sysctl behind. Shared here:
//! the syscalls and pod scenarios, a clean run's baseline and the strace runner.

mod inject;
mod kill;
mod sweep;

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
    // CRI-O's usual pod: the fast pin path (src/fastpin/) makes it.
    Scenario {
        name: "usual pod (fast path)",
        args: &[
            "--ipc",
            "--net",
            "--uts",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shm_rmid_forced=1",
        ],
        kinds: &["net", "ipc", "uts"],
    },
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
/// The scenario's pin under strace, with `action` (`error=E`, `signal=KILL`)
/// injected into the `nth` call of `syscall`.
fn strace_inject(
    t: &TestDir,
    s: &Scenario,
    syscall: &str,
    action: &str,
    nth: usize,
) -> std::process::Output {
    strace(
        t,
        s,
        &[
            "-o".into(),
            "/dev/null".into(),
            format!("--trace={syscall}"),
            format!("--inject={syscall}:{action}:when={nth}"),
        ],
    )
}

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
