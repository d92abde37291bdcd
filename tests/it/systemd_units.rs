//! The packaged systemd units' sandboxes: rated by `systemd-analyze
//! security` below a threshold, and loose enough for the commands they run.
//!
//! systemd need not be PID 1 here, so a unit cannot be started; instead each
//! command runs as the unit would run it, under the unit's own
//! CapabilityBoundingSet= and NoNewPrivileges= (setpriv), traced by strace,
//! and every system call it makes must pass the unit's SystemCallFilter=
//! (expanded with `systemd-analyze syscall-filter`).

use crate::common;

use common::{ns_inode, path_str, TestDir, BIN};
use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};
use std::process::Command;

fn unit_path(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("packaging/systemd")
        .join(name)
}

/// Every value of `key=` in the unit, in order (space-separated words).
fn unit_values(name: &str, key: &str) -> Vec<Vec<String>> {
    let text = std::fs::read_to_string(unit_path(name)).expect("read unit");
    text.lines()
        .filter_map(|l| l.strip_prefix(key)?.strip_prefix('='))
        .map(|v| v.split_whitespace().map(str::to_string).collect())
        .collect()
}

/// Exposure levels reached (x10, as `--threshold` takes them): a unit that
/// loses a setting fails here.
const THRESHOLDS: &[(&str, u32)] = &[("pinns-cleanup.service", 39), ("pinns-kubens.service", 31)];

#[test]
fn units_are_rated_below_their_threshold() {
    for (unit, threshold) in THRESHOLDS {
        let out = Command::new("systemd-analyze")
            .args(["security", "--offline=yes", "--no-pager"])
            .arg(format!("--threshold={threshold}"))
            .arg(unit_path(unit))
            .output()
            .expect("run systemd-analyze");
        let text = String::from_utf8_lossy(&out.stdout);
        let overall = text
            .lines()
            .find(|l| l.contains("Overall exposure level"))
            .unwrap_or("no overall line");
        assert!(
            out.status.success(),
            "{unit} is rated above {}.{}: {overall}\n{}",
            threshold / 10,
            threshold % 10,
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

/// `systemd-analyze syscall-filter`: every group with its members (names
/// and nested groups).
fn syscall_groups() -> BTreeMap<String, Vec<String>> {
    let out = Command::new("systemd-analyze")
        .args(["syscall-filter", "--no-pager"])
        .output()
        .expect("run systemd-analyze syscall-filter");
    let mut groups = BTreeMap::new();
    let mut current: Option<String> = None;
    for line in String::from_utf8_lossy(&out.stdout).lines() {
        let word = line.trim();
        if word.is_empty() || word.starts_with('#') {
            continue;
        }
        if !line.starts_with(' ') && word.starts_with('@') {
            current = Some(word.to_string());
            groups.insert(word.to_string(), Vec::new());
        } else if let Some(group) = &current {
            groups.get_mut(group).unwrap().push(word.to_string());
        }
    }
    groups
}

fn expand(item: &str, groups: &BTreeMap<String, Vec<String>>, out: &mut BTreeSet<String>) {
    match groups.get(item) {
        Some(members) => members.iter().for_each(|m| expand(m, groups, out)),
        None => {
            out.insert(item.to_string());
        }
    }
}

/// The system calls the unit's SystemCallFilter= lines let through: the
/// allow lists, minus the `~` deny lists.
fn allowed_syscalls(unit: &str) -> BTreeSet<String> {
    let groups = syscall_groups();
    let (mut allow, mut deny) = (BTreeSet::new(), BTreeSet::new());
    for words in unit_values(unit, "SystemCallFilter") {
        let (set, words) = match words.first().and_then(|w| w.strip_prefix('~')) {
            Some(first) => (
                &mut deny,
                std::iter::once(first.to_string())
                    .chain(words[1..].iter().cloned())
                    .collect(),
            ),
            None => (&mut allow, words),
        };
        for w in &words {
            expand(w, &groups, set);
        }
    }
    assert!(
        !allow.is_empty(),
        "{unit} has no SystemCallFilter allow list"
    );
    allow.difference(&deny).cloned().collect()
}

/// setpriv's form of the unit's CapabilityBoundingSet=.
fn bounding_set(unit: &str) -> String {
    let caps: Vec<String> = unit_values(unit, "CapabilityBoundingSet")
        .concat()
        .iter()
        .map(|c| format!("+{}", c.trim_start_matches("CAP_").to_lowercase()))
        .collect();
    assert!(!caps.is_empty(), "{unit} has no CapabilityBoundingSet");
    format!("-all,{}", caps.join(","))
}

/// Runs pinns with `args` as `unit` would: its capability bounding set, no
/// new privileges, every system call traced. Returns the exit status and the
/// system calls made that the unit's filter would refuse.
fn run_as_unit(unit: &str, args: &[&str], trace: &Path) -> (bool, BTreeSet<String>) {
    assert_eq!(unit_values(unit, "NoNewPrivileges"), [["yes"]]);
    let status = Command::new("setpriv")
        .arg("--no-new-privs")
        .arg(format!("--bounding-set={}", bounding_set(unit)))
        .args(["strace", "-f", "-qq", "-o"])
        .arg(trace)
        .arg(BIN)
        .args(args)
        .status()
        .expect("run setpriv strace pinns");
    let allowed = allowed_syscalls(unit);
    let text = std::fs::read_to_string(trace).expect("read strace output");
    let refused = text
        .lines()
        .filter_map(|l| {
            let call = l.split_once(' ')?.1.trim_start();
            let name = call.split_once('(')?.0;
            let plain = name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            (plain && !name.is_empty() && !allowed.contains(name)).then(|| name.to_string())
        })
        .collect();
    (status.success(), refused)
}

#[test]
fn kubens_pin_and_its_removal_fit_the_unit_sandbox() {
    let t = TestDir::new();
    let dir = t.pins();
    let trace = t.path().join("trace");
    // The unit's ExecStart= and ExecStop=, on a test directory.
    let (ok, refused) = run_as_unit(
        "pinns-kubens.service",
        &[
            "-d",
            path_str(&dir),
            "-f",
            "mnt",
            "-m",
            "--mnt-propagation=slave",
        ],
        &trace,
    );
    assert!(ok, "the kubens pin failed in the unit's sandbox");
    assert!(
        refused.is_empty(),
        "system calls the unit refuses: {refused:?}"
    );
    assert_eq!(t.nsfs_mounts(), [dir.join("mntns/mnt")]);
    let (ok, refused) = run_as_unit(
        "pinns-kubens.service",
        &["cleanup", "-d", path_str(&dir), "-f", "mnt"],
        &trace,
    );
    assert!(ok, "removing the kubens pin failed in the unit's sandbox");
    assert!(
        refused.is_empty(),
        "system calls the unit refuses: {refused:?}"
    );
    assert!(t.nsfs_mounts().is_empty());
}

#[test]
fn sweep_fits_the_unit_sandbox_and_still_sees_other_users_pods() {
    let t = TestDir::new();
    let dir = t.pins();
    // Names and types as CRI-O makes them: anything else is foreign and
    // never swept.
    const USED: &str = "5f0c1a2e-0000-4000-8000-0000000000a1";
    const ORPHAN: &str = "5f0c1a2e-0000-4000-8000-0000000000a2";
    for name in [USED, ORPHAN] {
        common::pinns()
            .args(["-d", path_str(&dir), "-f", name, "--net", "--uts"])
            .assert()
            .success();
    }
    // A pod process of another user in the "used" pin: the sweep must see it
    // through /proc/PID/ns, which takes CAP_SYS_PTRACE.
    let used = dir.join("netns").join(USED);
    let mut pod = Command::new("nsenter")
        .arg(format!("--net={}", used.display()))
        .args([
            "setpriv",
            "--reuid=65534",
            "--regid=65534",
            "--clear-groups",
        ])
        .args(["sleep", "60"])
        .spawn()
        .expect("start a pod process as nobody");
    let want = ns_inode(&used);
    common::wait_until("the pod process to join", 10, || {
        common::is_in_ns(pod.id(), "net", want)
    });
    let trace = t.path().join("trace");
    let (ok, refused) = run_as_unit(
        "pinns-cleanup.service",
        &[
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            // No CRI runtime on a test machine; the unit's --runtime-endpoint
            // adds only crictl's connect to the unit's AF_UNIX allowance.
            "--no-runtime",
            "--older-than",
            "0s",
        ],
        &trace,
    );
    let _ = pod.kill();
    let _ = pod.wait();
    assert!(ok, "the sweep failed in the unit's sandbox");
    assert!(
        refused.is_empty(),
        "system calls the unit refuses: {refused:?}"
    );
    let mut left = t.nsfs_mounts();
    left.sort();
    assert_eq!(
        left,
        [used, dir.join("utsns").join(USED)],
        "the sweep must remove the orphan and keep the pin in use, whole"
    );
}
