//! The sweep of leaked pod cgroups in a v2 and a v1 (hybrid) hierarchy.

use super::{outcome, report};
use crate::common;
use common::{age, path_str};
use std::path::{Path, PathBuf};
use std::process::Command;

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
