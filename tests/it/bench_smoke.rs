//! The pod-create benchmark runs end to end in quick mode against the real
//! kernel and runc, writes its CSV files with every mode, and leaves no
//! mount, no work directory and no container behind. No timing is asserted:
//! figures belong to the benchmark's report.

use crate::common;

use common::{host_sysctl, mounts_under, TestDir, BIN};
use std::path::Path;
use std::process::Command;

const MODES: [&str; 5] = ["pins", "pause", "pod-pins", "pod-pause", "unshare"];
const SWEEPS: [&str; 4] = ["host", "new", "shared-peer", "shared-peer-private"];

fn column(csv: &str, name: &str) -> Vec<String> {
    let mut lines = csv.lines();
    let header: Vec<&str> = lines.next().expect("csv header").split(',').collect();
    let idx = header
        .iter()
        .position(|h| *h == name)
        .unwrap_or_else(|| panic!("no column {name} in {header:?}"));
    lines
        .map(|l| l.split(',').nth(idx).expect("short csv row").to_string())
        .collect()
}

/// Containers whose bundle lies below `root`.
fn runc_containers_under(root: &Path) -> Vec<String> {
    // `runc list` reads every container of the host's runc root and fails
    // when one is deleted while it reads (another test's or benchmark's):
    // asked again, it answers.
    let list = || {
        Command::new("runc")
            .args(["list", "--format", "json"])
            .output()
            .expect("run runc list")
    };
    let mut out = list();
    for _ in 0..20 {
        if out.status.success() {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(50));
        out = list();
    }
    assert!(
        out.status.success(),
        "runc list: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    // No JSON parser among our dependencies: bundle paths are plain strings.
    text.split("\"bundle\":\"")
        .skip(1)
        .filter_map(|rest| rest.split('"').next())
        .filter(|bundle| Path::new(bundle).starts_with(root))
        .map(str::to_string)
        .collect()
}

#[test]
fn quick_benchmark_runs_end_to_end_and_leaves_nothing() {
    let t = TestDir::new();
    let out_dir = t.path().join("results");
    let tmp_parent = t.path().join("work");
    std::fs::create_dir(&tmp_parent).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/pod-create.sh");

    let out = Command::new(&script)
        .args(["--quick", "--no-chart", "--pinns", BIN])
        .arg("--out")
        .arg(&out_dir)
        .arg("--tmp")
        .arg(&tmp_parent)
        .output()
        .expect("run bench/pod-create.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "benchmark failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );

    let summary = std::fs::read_to_string(out_dir.join("pod-create.csv")).expect("pod-create.csv");
    assert_eq!(column(&summary, "mode"), MODES, "{summary}");
    for rss in column(&summary, "rss_kb_per_idle_pod").iter().zip(MODES) {
        let (value, mode) = (rss.0.parse::<f64>().expect("number"), rss.1);
        // Pins keep no process alive; a pause container keeps one.
        match mode {
            "pins" | "unshare" => assert_eq!(value, 0.0, "{mode}"),
            _ => assert!(value > 0.0, "{mode} keeps a process but measured {value}"),
        }
    }
    let samples = std::fs::read_to_string(out_dir.join("pod-create-samples.csv")).unwrap();
    for mode in MODES {
        for phase in ["create", "remove"] {
            let n = rows_starting(&samples, &format!("{mode},{phase},"));
            assert_eq!(n, 5, "{mode} {phase}: 5 pods x 1 round expected");
        }
    }
    let sweep = std::fs::read_to_string(out_dir.join("pod-create-sweep.csv")).expect("sweep csv");
    let variants = column(&sweep, "variant");
    for v in SWEEPS {
        assert_eq!(
            variants.iter().filter(|x| *x == v).count(),
            2,
            "{v} at sizes 0 and 20:\n{sweep}"
        );
    }

    assert_nothing_left(&tmp_parent);
}

/// The density benchmark (pinns, CRI-O's C helper where installed, the
/// syscall floor) runs in quick mode, writes a sample for every variant at
/// every density and beside the live pods of another DIR, and leaves no mount, namespace pin, file or host sysctl
/// change behind.
#[test]
fn quick_density_benchmark_runs_and_leaves_nothing() {
    let t = TestDir::new();
    let out_dir = t.path().join("results");
    let tmp_parent = t.path().join("work");
    std::fs::create_dir(&tmp_parent).unwrap();
    let keys = ["net.ipv4.ip_forward", "kernel.shm_rmid_forced"];
    let before: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/density.sh");
    let out = Command::new(&script)
        .args(["--quick", "--pinns", BIN])
        .arg("--out")
        .arg(&out_dir)
        .arg("--tmp")
        .arg(&tmp_parent)
        .output()
        .expect("run bench/density.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "benchmark failed\nstdout:\n{stdout}\nstderr:\n{stderr}"
    );
    let mut variants = vec!["pinns", "floor"];
    if Path::new("/opt/pinns-crio/crio-1.36-bundle/pinns-c").exists() {
        variants.push("c");
    }
    // Every level's pins, and the same pins into an empty DIR beside the
    // top level's live pods.
    for (file, levels) in [
        ("density-samples.csv", &["0", "20"][..]),
        ("density-elsewhere.csv", &["20"][..]),
    ] {
        let rows = std::fs::read_to_string(out_dir.join(file)).unwrap();
        for level in levels {
            for v in &variants {
                for sysctls in ["0", "1"] {
                    let n = rows_starting(&rows, &format!("{level},{v},{sysctls},"));
                    assert_eq!(n, 3, "{file}: {level}, {v}, sysctls {sysctls}:\n{rows}");
                }
            }
        }
    }
    assert!(stdout.contains("Control, a static program"), "{stdout}");
    assert!(stdout.contains("pinned in another DIR"), "{stdout}");
    let commands = std::fs::read_to_string(out_dir.join("density-commands.csv")).unwrap();
    for cmd in ["enter", "nsenter", "list", "findmnt -rn", "findmnt"] {
        assert!(
            commands
                .lines()
                .any(|l| l.starts_with(&format!("20,{cmd},"))),
            "{cmd}:\n{commands}"
        );
    }
    assert!(stdout.contains("Targets"), "{stdout}");
    assert_eq!(mounts_under(&tmp_parent), vec![], "mounts left behind");
    assert_eq!(
        std::fs::read_dir(&tmp_parent).unwrap().count(),
        0,
        "work directory left"
    );
    let after: Vec<String> = keys.iter().map(|k| host_sysctl(k)).collect();
    assert_eq!(before, after, "a host sysctl changed");
}

#[test]
fn refuses_a_work_directory_it_did_not_create() {
    let t = TestDir::new();
    let foreign = t.path().join("foreign");
    std::fs::create_dir(&foreign).unwrap();
    std::fs::write(foreign.join("keep"), "x").unwrap();
    let helper = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/podbench.py");
    let out = Command::new("/usr/bin/python3")
        .arg(helper)
        .args([
            "--token",
            "not-ours",
            "--pinns",
            BIN,
            "--pause-bundle",
            "x",
            "--app-bundle",
            "x",
        ])
        .args(["--container-prefix", "x-", "--out"])
        .arg(t.path())
        .arg("--workdir")
        .arg(&foreign)
        .output()
        .expect("run podbench.py");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("refusing to run"));
    assert!(foreign.join("keep").exists());
    assert_eq!(std::fs::read_dir(&foreign).unwrap().count(), 1);
}

#[test]
fn interrupted_benchmark_leaves_nothing() {
    use std::time::{Duration, Instant};

    let t = TestDir::new();
    let tmp_parent = t.path().join("work");
    std::fs::create_dir(&tmp_parent).unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("bench/pod-create.sh");
    let mut child = Command::new(&script)
        .args([
            "--quick",
            "-n",
            "200",
            "--sweep",
            "none",
            "--no-chart",
            "--pinns",
            BIN,
        ])
        .arg("--out")
        .arg(t.path().join("results"))
        .arg("--tmp")
        .arg(&tmp_parent)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start bench/pod-create.sh");

    // Interrupt once it holds both pins and containers (the pause mode runs
    // after the pins mode, which leaves its own work directory mounted).
    let deadline = Instant::now() + Duration::from_secs(120);
    while runc_containers_under(&tmp_parent).is_empty() {
        assert!(Instant::now() < deadline, "no container appeared");
        assert!(
            child.try_wait().unwrap().is_none(),
            "benchmark ended before it was interrupted"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(!mounts_under(&tmp_parent).is_empty());
    let status = common::terminate(&mut child);
    assert!(
        !status.success(),
        "an interrupted run must not report success"
    );

    assert_nothing_left(&tmp_parent);
}

/// No mount, work directory or runc container of the benchmark remains.
fn assert_nothing_left(tmp_parent: &std::path::Path) {
    assert_eq!(
        mounts_under(tmp_parent),
        vec![],
        "mounts left by the benchmark"
    );
    assert_eq!(
        std::fs::read_dir(tmp_parent).unwrap().count(),
        0,
        "work directory left behind"
    );
    assert_eq!(
        runc_containers_under(tmp_parent),
        Vec::<String>::new(),
        "containers left behind"
    );
}

/// How many lines of a CSV file start with `prefix`.
fn rows_starting(csv: &str, prefix: &str) -> usize {
    csv.lines().filter(|l| l.starts_with(prefix)).count()
}
