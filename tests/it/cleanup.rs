//! `pinns cleanup` for real, as root: teardown by name, the orphan sweep
//! (with a runc container in one pod, kept pods, young pods, leftovers and
//! things that are not ours), a sweep racing concurrent pins, leaked cgroups
//! in a v2 and a v1 hierarchy, periodic sweeping and bad inputs.

use crate::common;

use common::runc::Bundle;
use common::{age, assert_one_line_error, path_str, run, sweep_all, TestDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn is_nsfs_mount(t: &TestDir, kind: &str, name: &str) -> bool {
    t.nsfs_mounts().contains(&t.pin_path(kind, name))
}

fn report(args: &[&str]) -> (i32, Value) {
    let (code, out, err) = run(args);
    let v = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("{args:?}: no JSON ({e}): {out} {err}"));
    (code, v)
}

fn outcome<'a>(r: &'a Value, name: &str) -> &'a str {
    r["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == name)
        .and_then(|i| i["outcome"].as_str())
        .unwrap_or("absent")
}

#[test]
#[serial_test::serial]
fn cleanup_by_name_removes_ours_and_reports_the_rest() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    t.pin("pod", &["--net", "--ipc", "--uts", "--mnt"]);
    assert_eq!(t.nsfs_mounts().len(), 4);
    // Each pin is reachable at its path (the mnt pin is not hidden under
    // the self bind of mntns made by the same call).
    for k in ["net", "ipc", "uts", "mnt"] {
        let fs = nix::sys::statfs::statfs(&t.pin_path(k, "pod"))
            .unwrap()
            .filesystem_type();
        assert_eq!(
            fs.0 as i64, 0x6e73_6673,
            "{k}ns/pod is not a namespace at its path"
        );
    }

    let (code, out, err) = run(&["cleanup", "-d", d, "-f", "pod"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("removed pin pod (ipc,uts,net,mnt)"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("cleanup: found 1, removed 1, kept 0, failed 0")
    );
    assert!(t.nsfs_mounts().is_empty(), "{:?}", t.nsfs_mounts());
    for k in ["net", "ipc", "uts", "mnt"] {
        assert!(!t.pin_path(k, "pod").exists());
    }
    // Idempotent: a second call succeeds and says there was nothing.
    let (code, out, _) = run(&["cleanup", "-d", d, "-f", "pod"]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to remove for pod"), "{out}");
    assert_eq!(
        out.lines().last(),
        Some("cleanup: found 0, removed 0, kept 0, failed 0")
    );
    let (code, out, _) = run(&[
        "cleanup",
        "-d",
        path_str(&t.path().join("absent")),
        "-f",
        "pod",
    ]);
    assert_eq!(code, 0);
    assert!(out.contains("nothing to remove"), "{out}");

    // An empty file a crashed pin left is ours: removed.
    std::fs::write(t.pin_path("net", "crashed"), "").unwrap();
    let (code, _, err) = run(&["cleanup", "-d", d, "-f", "crashed"]);
    assert_eq!(code, 0, "{err}");
    assert!(!t.pin_path("net", "crashed").exists());

    // Not ours: a non-empty file, a foreign (tmpfs) mount, a symlink. Each is
    // reported, the call fails, and each is exactly as it was.
    std::fs::write(t.pin_path("net", "data"), "precious").unwrap();
    let tmpfs = t.path().join("tmpfs");
    std::fs::create_dir(&tmpfs).unwrap();
    assert!(Command::new("mount")
        .args(["-t", "tmpfs", "tmpfs"])
        .arg(&tmpfs)
        .status()
        .unwrap()
        .success());
    std::fs::write(tmpfs.join("f"), "").unwrap();
    std::fs::write(t.pin_path("ipc", "foreign"), "").unwrap();
    assert!(Command::new("mount")
        .arg("--bind")
        .arg(tmpfs.join("f"))
        .arg(t.pin_path("ipc", "foreign"))
        .status()
        .unwrap()
        .success());
    let target = t.path().join("target");
    std::fs::write(&target, "").unwrap();
    std::os::unix::fs::symlink(&target, t.pin_path("uts", "link")).unwrap();
    let before = t.snapshot(&[]);
    for (name, what) in [
        ("data", "a non-empty plain file"),
        ("foreign", "a foreign mount"),
        ("link", "a symlink"),
    ] {
        let (code, out, _) = run(&["cleanup", "-d", d, "-f", name]);
        assert_eq!(code, 1, "{name}: {out}");
        assert!(
            out.contains(&format!("failed pin {name}")) && out.contains(what),
            "{out}"
        );
        assert!(out.lines().last().unwrap().ends_with("failed 1"), "{out}");
    }
    assert_eq!(t.snapshot(&[]), before);
    assert_eq!(
        std::fs::read_to_string(t.pin_path("net", "data")).unwrap(),
        "precious"
    );
}

// CRI-O-shaped pin names (lowercase UUIDs): only those can be orphans.
const ORPHAN1: &str = "c0000000-0000-4000-8000-000000000001";
const ORPHAN2: &str = "c0000000-0000-4000-8000-000000000002";
const KEPT_ARG: &str = "c0000000-0000-4000-8000-000000000003";
const KEPT_FILE: &str = "c0000000-0000-4000-8000-000000000004";
const BUSY: &str = "c0000000-0000-4000-8000-000000000005";
const YOUNG: &str = "c0000000-0000-4000-8000-000000000006";
const LEFTOVER_OLD: &str = "c0000000-0000-4000-8000-000000000007";
const LEFTOVER_YOUNG: &str = "c0000000-0000-4000-8000-000000000008";
const JUNK: &str = "c0000000-0000-4000-8000-000000000009";

/// A CRI-O-shaped name: `tag` and `i` in the first group.
fn uuid(tag: u16, i: usize) -> String {
    format!("{tag:04x}{i:04x}-0000-4000-8000-000000000000")
}

#[test]
#[serial_test::serial]
fn orphan_sweep_removes_exactly_the_idle_old_unkept_pins() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    let all = ["net", "ipc", "uts"];
    for name in [ORPHAN1, ORPHAN2, KEPT_ARG, KEPT_FILE, BUSY] {
        t.old_pin(name, &all);
    }
    t.pin_pod(YOUNG);
    for k in ["net", "ipc"] {
        std::fs::write(t.pin_path(k, LEFTOVER_OLD), "").unwrap();
        age(&t.pin_path(k, LEFTOVER_OLD), "2 hours ago");
        std::fs::write(t.pin_path(k, LEFTOVER_YOUNG), "").unwrap();
    }
    std::fs::write(t.pin_path("ipc", JUNK), "not ours").unwrap();
    age(&t.pin_path("ipc", JUNK), "2 hours ago");
    let keep_file = t.path().join("keep");
    std::fs::write(&keep_file, format!("# live pods\n{KEPT_FILE}\n")).unwrap();

    let _ctr = Bundle::new(t.path().join("bundle"))
        .args(&["/bin/busybox", "sleep", "600"])
        .join_pod(&t.pins(), BUSY)
        .run("pinns-sweep");

    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "cleanup",
            "-d",
            d,
            "--orphans",
            "--older-than",
            "1h",
            "--keep",
            KEPT_ARG,
            "--no-runtime",
        ];
        args.extend_from_slice(&["--keep-file", path_str(&keep_file), "--json"]);
        args.extend_from_slice(extra);
        report(&args)
    };

    // A dry run reports and changes nothing.
    let before = t.snapshot(&[]);
    let (code, r) = sweep(&["--dry-run"]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(t.snapshot(&[]), before);
    for name in [ORPHAN1, ORPHAN2, LEFTOVER_OLD] {
        assert_eq!(outcome(&r, name), "would-remove", "{name}: {r}");
    }
    assert_eq!(r["summary"]["removed"], 0);
    assert_eq!(r["summary"]["would_remove"], 3);

    let (code, r) = sweep(&[]);
    assert_eq!(code, 0, "{r}");
    for name in [ORPHAN1, ORPHAN2, LEFTOVER_OLD] {
        assert_eq!(outcome(&r, name), "removed", "{name}: {r}");
    }
    for name in [KEPT_ARG, KEPT_FILE, BUSY, YOUNG, LEFTOVER_YOUNG, JUNK] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
    }
    assert_eq!(
        r["summary"],
        serde_json::json!({"found": 9, "removed": 3, "would_remove": 0, "kept": 6, "failed": 0})
    );
    for k in all {
        assert!(!t.pin_path(k, ORPHAN1).exists() && !t.pin_path(k, ORPHAN2).exists());
        for name in [KEPT_ARG, KEPT_FILE, BUSY, YOUNG] {
            assert!(is_nsfs_mount(&t, k, name), "{k}ns/{name} lost");
        }
    }
    for k in ["net", "ipc"] {
        assert!(!t.pin_path(k, LEFTOVER_OLD).exists());
        assert!(t.pin_path(k, LEFTOVER_YOUNG).exists());
    }
    assert_eq!(
        std::fs::read_to_string(t.pin_path("ipc", JUNK)).unwrap(),
        "not ours"
    );

    // With no threshold and no keep set, the pin with a live process is
    // still never removed, nor the broken one.
    let (code, r) = report(&sweep_all(d));
    assert_eq!(code, 0, "{r}");
    assert_eq!(outcome(&r, BUSY), "kept");
    assert_eq!(outcome(&r, JUNK), "kept");
    assert_eq!(outcome(&r, YOUNG), "removed");
    assert!(is_nsfs_mount(&t, "net", BUSY));
}

#[test]
#[serial_test::serial]
fn pins_created_during_a_sweep_survive() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir).to_string();
    const N: usize = 60;
    // Old orphans to keep the sweeper busy, and old empty files that the
    // racing pins mount onto (CRI-O's pre-created files): the sweep sees
    // them as removable leftovers, then finds them pinned under the lock.
    for i in 0..N {
        t.old_pin(&uuid(0x01d, i), &["net", "ipc"]);
        for k in ["net", "ipc"] {
            let f = t.pin_path(k, &uuid(0x4e5, i));
            std::fs::write(&f, "").unwrap();
            age(&f, "2 hours ago");
        }
    }
    let pinner = {
        let d = d.clone();
        std::thread::spawn(move || {
            let mut pinned = Vec::new();
            for i in 0..N {
                for name in [uuid(0x2e3, i), uuid(0x4e5, i)] {
                    // As a runtime pre-creating the files does: new now.
                    for k in ["netns", "ipcns"] {
                        let file = Path::new(&d).join(k).join(&name);
                        if file.exists() {
                            age(&file, "now");
                        }
                    }
                    common::pin_in(Path::new(&d), &name, &["--net", "--ipc"]);
                    pinned.push(name);
                }
            }
            pinned
        })
    };
    let mut sweeps = 0;
    while !pinner.is_finished() || sweeps == 0 {
        let (code, out, err) = run(&[
            "cleanup",
            "-d",
            &d,
            "--orphans",
            "--older-than",
            "1h",
            "--no-runtime",
        ]);
        assert_eq!(code, 0, "{out}{err}");
        sweeps += 1;
    }
    let pinned = pinner.join().expect("pinner");
    for name in &pinned {
        assert!(
            is_nsfs_mount(&t, "net", name),
            "{name} was pinned during sweep and lost ({sweeps} sweeps)"
        );
    }
    for i in 0..N {
        assert!(!t.pin_path("net", &uuid(0x01d, i)).exists());
    }
}

/// Threads are processes too: an old pod whose only live task is a thread
/// (a pthread_exit'd leader with a SCHED_FIFO worker, or a thread that
/// setns'd into it while its leader stayed outside) survives the sweep; an
/// old idle pod beside them does not.
#[test]
#[serial_test::serial]
fn a_pod_alive_only_through_a_thread_survives_the_sweep() {
    let t = TestDir::new();
    let bin = common::threads::build(t.path());
    let gone = "7e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let outside = "8e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let idle = "9e0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    let all = ["net", "ipc", "uts"];
    for name in [gone, outside, idle] {
        t.old_pin(name, &all);
    }
    let a = common::threads::exit_leader_in(&bin, &t.pins(), gone, 0);
    let _b = common::threads::setns_thread_into(&bin, &t.pins(), outside, 0);
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&t.pins()),
        "--orphans",
        "--older-than",
        "0s",
        "--json",
        "--no-runtime",
    ]);
    assert_eq!(code, 0, "{r}");
    for name in [gone, outside] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
        for k in all {
            assert!(is_nsfs_mount(&t, k, name), "{k}ns/{name} lost: {r}");
        }
    }
    assert_eq!(outcome(&r, idle), "removed", "{r}");
    assert!(a.leader_is_gone());
}

/// A cgroup tree under a unique test directory; removed (with its process
/// killed) on drop, whatever the sweep left.
struct CgroupTree {
    root: PathBuf,
    sleeper: Option<std::process::Child>,
}

const UUID_A: &str = "0a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UUID_B: &str = "1a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UUID_K: &str = "2a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const UUID_Y: &str = "3a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d";
const HEX_A: &str = "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";
const HEX_B: &str = "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb";

impl CgroupTree {
    /// ROOT/kubepods.slice/{pod A (empty) / crio-A (empty), pod B / crio-B
    /// (a live sleep), pod K (kept), pod Y (young)}, ROOT/system-thing (no ID).
    fn new(hierarchy: &str) -> CgroupTree {
        let root = Path::new(hierarchy).join(format!("pinns-test-{}", std::process::id()));
        std::fs::create_dir(&root).unwrap_or_else(|e| panic!("mkdir {}: {e}", root.display()));
        let mut tree = CgroupTree {
            root,
            sleeper: None,
        };
        let slice = tree.root.join("kubepods.slice");
        let pod = |u: &str| {
            slice.join(format!(
                "kubepods-burstable-pod{}.slice",
                u.replace('-', "_")
            ))
        };
        for dir in [
            slice.clone(),
            pod(UUID_A),
            pod(UUID_A).join(format!("crio-{HEX_A}.scope")),
            pod(UUID_B),
            pod(UUID_B).join(format!("crio-{HEX_B}.scope")),
            slice.join(format!("pod{UUID_K}")),
            slice.join(format!("pod{UUID_Y}")),
            tree.root.join("system-thing"),
        ] {
            std::fs::create_dir(&dir).unwrap_or_else(|e| panic!("mkdir {}: {e}", dir.display()));
        }
        for dir in tree.dirs() {
            if !dir.ends_with(format!("pod{UUID_Y}")) {
                age(&dir, "2 hours ago");
            }
        }
        let sleeper = Command::new("sleep").arg("600").spawn().unwrap();
        let procs = pod(UUID_B).join(format!("crio-{HEX_B}.scope/cgroup.procs"));
        std::fs::write(&procs, sleeper.id().to_string()).unwrap();
        tree.sleeper = Some(sleeper);
        tree
    }

    /// Every directory below ROOT, deepest first.
    fn dirs(&self) -> Vec<PathBuf> {
        let mut out = Vec::new();
        fn walk(p: &Path, out: &mut Vec<PathBuf>) {
            for e in std::fs::read_dir(p).into_iter().flatten().flatten() {
                if e.file_type().map(|t| t.is_dir()).unwrap_or(false) {
                    walk(&e.path(), out);
                    out.push(e.path());
                }
            }
        }
        walk(&self.root, &mut out);
        out
    }

    fn exists(&self, rel: &str) -> bool {
        self.root.join(rel).is_dir()
    }
}

impl Drop for CgroupTree {
    fn drop(&mut self) {
        if let Some(mut s) = self.sleeper.take() {
            let _ = s.kill();
            let _ = s.wait();
        }
        for dir in self.dirs() {
            let _ = std::fs::remove_dir(&dir);
        }
        let _ = std::fs::remove_dir(&self.root);
    }
}

#[test]
#[serial_test::serial]
fn cgroup_sweep_removes_only_empty_old_unknown_cgroups_leaf_first() {
    let v2 = CgroupTree::new("/sys/fs/cgroup/unified");
    let v1 = CgroupTree::new("/sys/fs/cgroup/pids");
    let (r2, r1) = (
        path_str(&v2.root).to_string(),
        path_str(&v1.root).to_string(),
    );
    let args = |extra: &[&str]| {
        let mut a = vec![
            "cleanup",
            "--cgroups",
            &r2,
            "--cgroups",
            &r1,
            "--older-than",
            "1h",
            "--keep",
            UUID_K,
            "--json",
            "--no-runtime",
        ];
        a.extend_from_slice(extra);
        a.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let before: Vec<_> = [&v2, &v1].iter().map(|t| t.dirs()).collect();
    let (code, r) = report(
        &args(&["--dry-run"])
            .iter()
            .map(String::as_str)
            .collect::<Vec<_>>(),
    );
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["would_remove"], 4, "{r}");
    let after: Vec<_> = [&v2, &v1].iter().map(|t| t.dirs()).collect();
    assert_eq!(before, after, "dry run removed something");

    let (code, r) = report(&args(&[]).iter().map(String::as_str).collect::<Vec<_>>());
    assert_eq!(code, 0, "{r}");
    let pod_a = format!(
        "kubepods.slice/kubepods-burstable-pod{}.slice",
        UUID_A.replace('-', "_")
    );
    let pod_b = format!(
        "kubepods.slice/kubepods-burstable-pod{}.slice",
        UUID_B.replace('-', "_")
    );
    for tree in [&v2, &v1] {
        // Leaf first: the container's scope went, then the pod that held it.
        assert!(!tree.exists(&pod_a), "{}: {r}", tree.root.display());
        assert!(
            tree.exists(&format!("{pod_b}/crio-{HEX_B}.scope")),
            "occupied cgroup removed"
        );
        assert!(tree.exists(&pod_b), "parent of an occupied cgroup removed");
        assert!(
            tree.exists(&format!("kubepods.slice/pod{UUID_K}")),
            "kept cgroup removed"
        );
        assert!(
            tree.exists(&format!("kubepods.slice/pod{UUID_Y}")),
            "young cgroup removed"
        );
        assert!(
            tree.exists("kubepods.slice") && tree.exists("system-thing"),
            "a cgroup without an ID removed"
        );
        assert!(tree.root.is_dir(), "ROOT removed");
        let items: Vec<&str> = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|i| i["outcome"] == "removed")
            .map(|i| i["name"].as_str().unwrap())
            .collect();
        let scope = items.iter().position(|n| {
            *n == tree
                .root
                .join(format!("{pod_a}/crio-{HEX_A}.scope"))
                .to_str()
                .unwrap()
        });
        let pod = items
            .iter()
            .position(|n| *n == tree.root.join(&pod_a).to_str().unwrap());
        assert!(scope.unwrap() < pod.unwrap(), "not leaf first: {items:?}");
    }
    assert_eq!(r["summary"]["removed"], 4, "{r}");
    assert_eq!(r["summary"]["failed"], 0, "{r}");
}

/// `--cgroups /sys/fs/cgroup` on this hybrid node (a tmpfs of v1 controller
/// mounts plus cgroup2 at `unified`) sweeps each hierarchy instead of
/// refusing: the test trees in `unified` and `pids` are both found. A dry
/// run, since the whole hierarchies are not the test's own.
#[test]
#[serial_test::serial]
fn a_v1_or_hybrid_cgroup_root_is_swept_hierarchy_by_hierarchy() {
    let root = Path::new("/sys/fs/cgroup");
    let v2 = CgroupTree::new("/sys/fs/cgroup/unified");
    let v1 = CgroupTree::new("/sys/fs/cgroup/pids");
    let before: Vec<_> = [&v2, &v1].iter().map(|t| t.dirs()).collect();
    let (code, r) = report(&[
        "cleanup",
        "--cgroups",
        path_str(root),
        "--older-than",
        "1h",
        "--keep",
        UUID_K,
        "--no-runtime",
        "--dry-run",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["failed"], 0, "{r}");
    let pod_a = format!(
        "kubepods.slice/kubepods-burstable-pod{}.slice",
        UUID_A.replace('-', "_")
    );
    for tree in [&v2, &v1] {
        for rel in [pod_a.clone(), format!("{pod_a}/crio-{HEX_A}.scope")] {
            let path = tree.root.join(rel);
            assert_eq!(outcome(&r, path_str(&path)), "would-remove", "{r}");
        }
        let kept = tree.root.join(format!("kubepods.slice/pod{UUID_K}"));
        assert_eq!(outcome(&r, path_str(&kept)), "kept", "{r}");
    }
    let after: Vec<_> = [&v2, &v1].iter().map(|t| t.dirs()).collect();
    assert_eq!(before, after, "dry run removed something");
}

#[test]
#[serial_test::serial]
fn interval_sweeps_until_terminated() {
    let t = TestDir::new();
    let dir = t.pins();
    let (first, second) = (uuid(0xf1, 1), uuid(0xf1, 2));
    t.pin(&first, &["--net", "--ipc"]);
    let mut child = Command::new(common::BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            "--older-than",
            "0s",
            "--interval",
            "200ms",
            "--no-runtime",
        ])
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let gone = |name: &str| {
        (0..100).any(|_| {
            std::thread::sleep(std::time::Duration::from_millis(50));
            !t.pin_path("net", name).exists()
        })
    };
    assert!(gone(&first), "first sweep did not remove the orphan");
    t.pin(&second, &["--net", "--ipc"]);
    assert!(gone(&second), "a later sweep did not remove the new orphan");
    let status = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "exit after SIGTERM: {status:?}");
    let mut out = String::new();
    std::io::Read::read_to_string(child.stdout.as_mut().unwrap(), &mut out).unwrap();
    let summaries = out
        .lines()
        .filter(|l| l.starts_with("cleanup: found"))
        .count();
    assert!(summaries >= 2, "{out}");
    assert!(
        out.ends_with("failed 0\n"),
        "the last sweep was not finished: {out}"
    );
}

/// A periodic sweep outlives a runtime it cannot reach (CRI-O restarting):
/// each round says why in one line and removes nothing; it does not exit
/// (a DaemonSet would crash-loop), and SIGTERM still ends it with 0.
#[test]
#[serial_test::serial]
fn interval_sweeps_without_a_runtime_remove_nothing_and_go_on() {
    let t = TestDir::new();
    let dir = t.pins();
    let orphan = uuid(0xf2, 1);
    t.old_pin(&orphan, &["net", "ipc"]);
    let mut child = Command::new(common::BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            "--older-than",
            "0s",
        ])
        .args(["--interval", "100ms", "--crictl", "/nonexistent/crictl"])
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(std::time::Duration::from_millis(800));
    assert!(child.try_wait().unwrap().is_none(), "the sweep loop exited");
    let status = common::terminate(&mut child);
    assert_eq!(status.code(), Some(0), "{status:?}");
    let mut err = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut err).unwrap();
    let lines: Vec<&str> = err.lines().collect();
    assert!(lines.len() >= 2, "one line per round: {err}");
    assert!(
        lines.iter().all(
            |l| l.starts_with("[pinns:e] cannot ask the container runtime")
                && l.contains("nothing was removed")
        ),
        "{err}"
    );
    assert!(is_nsfs_mount(&t, "net", &orphan) && is_nsfs_mount(&t, "ipc", &orphan));
}

#[test]
#[serial_test::serial]
fn bad_inputs_fail_in_one_line_and_change_nothing() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    let old = uuid(0x01d, 0);
    t.old_pin(&old, &["net", "ipc"]);
    let no_crictl = t.path().join("empty-path");
    std::fs::create_dir(&no_crictl).unwrap();
    let before = t.snapshot(&[]);
    let tmp = path_str(t.path());
    // Refused by the command line parser: clap's whole message.
    for (args, needle) in [
        (vec!["cleanup"], "required"),
        (vec!["cleanup", "-d", d], "required"),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--no-runtime",
                "--runtime-endpoint",
                "unix:///x",
            ],
            "cannot be used with",
        ),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--older-than",
                "10 parsecs",
            ],
            "duration",
        ),
        (
            vec!["cleanup", "-d", d, "--orphans", "--older-than", "5x"],
            "unit",
        ),
        (
            vec!["cleanup", "-d", d, "--orphans", "--interval", "x"],
            "duration",
        ),
        (
            vec!["cleanup", "-d", d, "-f", "old", "--interval", "1m"],
            "--interval",
        ),
    ] {
        let (code, _, err) = run(&args);
        common::assert_usage_error(code, &err, needle);
    }
    for (args, needle) in [
        (vec!["cleanup", "-d", d, "-f", "../old"], "pin name"),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--keep-file",
                "/nonexistent/keep",
            ],
            "keep file",
        ),
        (
            vec!["cleanup", "--cgroups", tmp, "--older-than", "0s"],
            "not on a cgroup filesystem",
        ),
        (
            vec![
                "cleanup",
                "-d",
                d,
                "--orphans",
                "--older-than",
                "0s",
                "--cgroups",
                tmp,
            ],
            "not on a cgroup filesystem",
        ),
        (
            vec![
                "cleanup",
                "-d",
                path_str(&t.path().join("nowhere")),
                "--orphans",
            ],
            "nowhere",
        ),
    ] {
        let (code, _, err) = run(&args);
        assert_one_line_error(code, &err, needle);
    }
    // Without crictl the runtime cannot be asked: a clear error naming why,
    // and the orphan stays (the old --keep-from-crictl spelling alike).
    for extra in [&[][..], &["--keep-from-crictl"]] {
        let out = common::pinns()
            .env("PATH", &no_crictl)
            .env_remove("CONTAINER_RUNTIME_ENDPOINT")
            .args(["cleanup", "-d", d, "--orphans", "--older-than", "0s"])
            .args(extra)
            .output()
            .unwrap();
        assert_one_line_error(
            out.status.code().unwrap(),
            &String::from_utf8_lossy(&out.stderr),
            "crictl is not installed (not found); nothing was removed",
        );
    }
    assert_eq!(t.snapshot(&[]), before);
    assert!(is_nsfs_mount(&t, "net", &old));
}

/// DIR/netns is shared: under namespaces_dir=/var/run it is /run/netns, where
/// `ip netns add` keeps the node's own namespaces. Real `ip netns add` pins
/// (in a private mount namespace whose /run is a fresh tmpfs, so the host's
/// /run/netns is never touched) and hand-made ones (a new netns bind-mounted
/// on DIR/netns/NAME, what ip netns does) are reported as foreign and never
/// removed, whatever their age; a CRI-O-shaped orphan beside them is.
#[test]
#[serial_test::serial]
fn other_tools_namespaces_in_dir_netns_are_foreign_and_never_removed() {
    let crio = "d0000000-0000-4000-8000-000000000001";
    let qrouter = "qrouter-6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let upper = "6F1C2B3A-4D5E-4F60-8A7B-9C0D1E2F3A4B";
    let lone = "6f1c2b3a-4d5e-4f60-8a7b-9c0d1e2f3a4b";
    let script = format!(
        "set -e; mount -t tmpfs tmpfs /run; \
         for n in vrf-blue {qrouter} {upper} {lone}; do ip netns add $n; done; \
         {bin} -d /run -f {crio} --net --ipc --uts; \
         {bin} cleanup -d /run --orphans --older-than 0s --no-runtime --json; \
         echo; ip netns list; ls /run/ipcns",
        bin = common::BIN
    );
    let out = Command::new("unshare")
        .args(["-m", "sh", "-c", &script])
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let (json, after) = stdout
        .split_once("\n\n")
        .expect("report, then ip netns list");
    let r: Value = serde_json::from_str(json).unwrap();
    for name in ["vrf-blue", qrouter, upper, lone] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
        let item = r["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|i| i["name"] == name)
            .unwrap();
        assert!(
            item["reason"].as_str().unwrap().starts_with("foreign: "),
            "{item}"
        );
        assert!(
            after
                .lines()
                .any(|l| l.split_whitespace().next() == Some(name)),
            "ip netns lost {name}: {after}"
        );
    }
    assert_eq!(outcome(&r, crio), "removed", "{r}");
    assert!(!after.contains(crio), "{after}");
    assert_eq!(r["summary"]["removed"], 1, "{r}");

    // By hand in the test's own DIR, checked from outside: the shapes that
    // are not CRI-O's stay mounted and `list` calls them foreign.
    let t = TestDir::new();
    let dir = t.pins();
    for k in ["netns", "cgroupns"] {
        std::fs::create_dir_all(dir.join(k)).unwrap();
    }
    let by_hand = |kind: &str, name: &str| {
        let f = t.pin_path(kind, name);
        std::fs::write(&f, "").unwrap();
        age(&f, "2 hours ago");
        let flag = format!("--{kind}={}", f.display());
        let ok = Command::new("unshare")
            .args([&flag, "true"])
            .status()
            .unwrap();
        assert!(ok.success(), "unshare {flag}");
    };
    for name in ["vrf-blue", qrouter, upper, lone] {
        by_hand("net", name);
    }
    // A UUID with a type CRI-O never pins: not CRI-O's either.
    let cg = "d0000000-0000-4000-8000-000000000002";
    by_hand("net", cg);
    by_hand("cgroup", cg);
    let before = t.nsfs_mounts();
    assert_eq!(before.len(), 6);
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&dir),
        "--orphans",
        "--older-than",
        "0s",
        "--no-runtime",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(r["summary"]["kept"], 5, "{r}");
    assert_eq!(r["summary"]["removed"], 0, "{r}");
    assert_eq!(t.nsfs_mounts(), before);
    let l = common::pinns_json(&[
        "list",
        "-d",
        path_str(&dir),
        "--older-than",
        "0s",
        "--no-runtime",
        "--json",
    ]);
    for row in l["pins"].as_array().unwrap() {
        assert_eq!(row["state"], "foreign", "{row}");
        assert!(row["foreign"].is_string(), "{row}");
    }
}

/// CRI-O pre-creates the four pin files of a user-namespaced pod (chowned to
/// the pod's mapped root) and leaves them, empty, when pinning fails. The
/// sweep clears them when they are old and ours by name; young ones and
/// foreign-named ones stay.
#[test]
#[serial_test::serial]
fn empty_pin_files_of_a_failed_userns_pod_are_cleared_when_old() {
    let t = TestDir::new();
    let dir = t.pins();
    let (old, young) = (uuid(0x05e, 1), uuid(0x05e, 2));
    let foreign = "userns-pod-1";
    let kinds = ["net", "ipc", "uts", "user"];
    for name in [old.as_str(), young.as_str(), foreign] {
        for k in kinds {
            std::fs::create_dir_all(dir.join(format!("{k}ns"))).unwrap();
            let f = t.pin_path(k, name);
            std::fs::write(&f, "").unwrap();
            std::os::unix::fs::chown(&f, Some(100000), Some(100000)).unwrap();
            if name != young {
                age(&f, "2 hours ago");
            }
        }
    }
    let (code, r) = report(&[
        "cleanup",
        "-d",
        path_str(&dir),
        "--orphans",
        "--older-than",
        "10m",
        "--no-runtime",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(outcome(&r, &old), "removed", "{r}");
    assert_eq!(outcome(&r, &young), "kept", "{r}");
    assert_eq!(outcome(&r, foreign), "kept", "{r}");
    for k in kinds {
        assert!(!t.pin_path(k, &old).exists(), "{k}ns/{old} left");
        assert!(t.pin_path(k, &young).exists());
        assert!(t.pin_path(k, foreign).exists());
    }
}
