//! `pinns cleanup` for real, as root: teardown by name, the orphan sweep
//! (with a runc container in one pod, kept pods, young pods, leftovers and
//! things that are not ours), a sweep racing concurrent pins, leaked cgroups
//! in a v2 and a v1 hierarchy, periodic sweeping and bad inputs.

mod common;

use common::runc::Bundle;
use common::{assert_one_line_error, path_str, run, TestDir};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

fn pin(dir: &Path, name: &str, extra: &[&str]) {
    let mut args = vec!["-d", path_str(dir), "-f", name];
    args.extend_from_slice(extra);
    let (code, _, err) = run(&args);
    assert_eq!(code, 0, "pin {name}: {err}");
}

fn is_nsfs_mount(t: &TestDir, kind: &str, name: &str) -> bool {
    t.nsfs_mounts().contains(&t.pin_path(kind, name))
}

/// Sets a file's mtime back, as if it had been created `ago` earlier.
fn age(path: &Path, ago: &str) {
    let ok = Command::new("touch")
        .args(["-h", "-d", ago])
        .arg(path)
        .status()
        .unwrap()
        .success();
    assert!(ok, "touch -d {ago} {}", path.display());
}

/// Pins `name` onto empty files dated two hours back (as CRI-O pre-creates
/// them): the pin is "old" by the age of the file under its mount.
fn old_pin(t: &TestDir, name: &str, kinds: &[&str]) {
    for k in kinds {
        std::fs::create_dir_all(t.pins().join(format!("{k}ns"))).unwrap();
        let f = t.pin_path(k, name);
        std::fs::write(&f, "").unwrap();
        age(&f, "2 hours ago");
    }
    let flags: Vec<String> = kinds.iter().map(|k| format!("--{k}")).collect();
    pin(
        &t.pins(),
        name,
        &flags.iter().map(String::as_str).collect::<Vec<_>>(),
    );
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
    pin(&dir, "pod", &["--net", "--ipc", "--uts", "--mnt"]);
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

#[test]
#[serial_test::serial]
fn orphan_sweep_removes_exactly_the_idle_old_unkept_pins() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    let all = ["net", "ipc", "uts"];
    for name in ["orphan1", "orphan2", "kept-arg", "kept-file", "busy"] {
        old_pin(&t, name, &all);
    }
    pin(&dir, "young", &["--net", "--ipc", "--uts"]);
    std::fs::write(t.pin_path("net", "leftover-old"), "").unwrap();
    age(&t.pin_path("net", "leftover-old"), "2 hours ago");
    std::fs::write(t.pin_path("net", "leftover-young"), "").unwrap();
    std::fs::write(t.pin_path("ipc", "junk"), "not ours").unwrap();
    age(&t.pin_path("ipc", "junk"), "2 hours ago");
    let keep_file = t.path().join("keep");
    std::fs::write(&keep_file, "# live pods\nkept-file\n").unwrap();

    let _ctr = Bundle::new(t.path().join("bundle"))
        .args(&["/bin/busybox", "sleep", "600"])
        .join_pod(&t.pins(), "busy")
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
            "kept-arg",
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
    for name in ["orphan1", "orphan2", "leftover-old"] {
        assert_eq!(outcome(&r, name), "would-remove", "{name}: {r}");
    }
    assert_eq!(r["summary"]["removed"], 0);
    assert_eq!(r["summary"]["would_remove"], 3);

    let (code, r) = sweep(&[]);
    assert_eq!(code, 0, "{r}");
    for name in ["orphan1", "orphan2", "leftover-old"] {
        assert_eq!(outcome(&r, name), "removed", "{name}: {r}");
    }
    for name in [
        "kept-arg",
        "kept-file",
        "busy",
        "young",
        "leftover-young",
        "junk",
    ] {
        assert_eq!(outcome(&r, name), "kept", "{name}: {r}");
    }
    assert_eq!(
        r["summary"],
        serde_json::json!({"found": 9, "removed": 3, "would_remove": 0, "kept": 6, "failed": 0})
    );
    for k in all {
        assert!(!t.pin_path(k, "orphan1").exists() && !t.pin_path(k, "orphan2").exists());
        for name in ["kept-arg", "kept-file", "busy", "young"] {
            assert!(is_nsfs_mount(&t, k, name), "{k}ns/{name} lost");
        }
    }
    assert!(!t.pin_path("net", "leftover-old").exists());
    assert!(t.pin_path("net", "leftover-young").exists());
    assert_eq!(
        std::fs::read_to_string(t.pin_path("ipc", "junk")).unwrap(),
        "not ours"
    );

    // With no threshold and no keep set, the pin with a live process is
    // still never removed, nor the broken one.
    let (code, r) = report(&[
        "cleanup",
        "-d",
        d,
        "--orphans",
        "--older-than",
        "0s",
        "--json",
    ]);
    assert_eq!(code, 0, "{r}");
    assert_eq!(outcome(&r, "busy"), "kept");
    assert_eq!(outcome(&r, "junk"), "kept");
    assert_eq!(outcome(&r, "young"), "removed");
    assert!(is_nsfs_mount(&t, "net", "busy"));
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
        old_pin(&t, &format!("old-{i}"), &["net"]);
        let f = t.pin_path("net", &format!("reuse-{i}"));
        std::fs::write(&f, "").unwrap();
        age(&f, "2 hours ago");
    }
    let pinner = {
        let d = d.clone();
        std::thread::spawn(move || {
            let mut pinned = Vec::new();
            for i in 0..N {
                for name in [format!("new-{i}"), format!("reuse-{i}")] {
                    // As a runtime pre-creating the file does: it is new now.
                    let file = Path::new(&d).join("netns").join(&name);
                    if file.exists() {
                        age(&file, "now");
                    }
                    let (code, _, err) = run(&["-d", &d, "-f", &name, "--net"]);
                    assert_eq!(code, 0, "pin {name}: {err}");
                    pinned.push(name);
                }
            }
            pinned
        })
    };
    let mut sweeps = 0;
    while !pinner.is_finished() || sweeps == 0 {
        let (code, out, err) = run(&["cleanup", "-d", &d, "--orphans", "--older-than", "1h"]);
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
        assert!(!t.pin_path("net", &format!("old-{i}")).exists());
    }
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

#[test]
#[serial_test::serial]
fn interval_sweeps_until_terminated() {
    let t = TestDir::new();
    let dir = t.pins();
    pin(&dir, "first", &["--net"]);
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
    assert!(gone("first"), "first sweep did not remove the orphan");
    pin(&dir, "second", &["--net"]);
    assert!(
        gone("second"),
        "a later sweep did not remove the new orphan"
    );
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
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

#[test]
#[serial_test::serial]
fn bad_inputs_fail_in_one_line_and_change_nothing() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    old_pin(&t, "old", &["net"]);
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
    // --keep-from-crictl without crictl: a clear error, and the orphan stays.
    let out = common::pinns()
        .env("PATH", &no_crictl)
        .args([
            "cleanup",
            "-d",
            d,
            "--orphans",
            "--older-than",
            "0s",
            "--keep-from-crictl",
        ])
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "crictl is not installed",
    );
    assert_eq!(t.snapshot(&[]), before);
    assert!(is_nsfs_mount(&t, "net", "old"));
}
