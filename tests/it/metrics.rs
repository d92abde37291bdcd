//! `--metrics-file`: the textfiles `list` and `cleanup` write, parsed as the
//! Prometheus text format (every sample declared by HELP and TYPE, values
//! numbers), their figures against what really happened, atomic replacement
//! (0644 whatever the umask, no temporary file left, a new inode each time),
//! every round of `--interval`, and the example alert rules. Run as root.

use crate::common;

use common::{path_str, pinns, run, TestDir};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

/// Samples by series (`name{labels}`), after checking the whole file.
fn parse(text: &str) -> BTreeMap<String, f64> {
    let mut help = BTreeSet::new();
    let mut types = BTreeMap::new();
    let mut samples = BTreeMap::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            let (name, words) = rest.split_once(' ').expect("HELP name text");
            assert!(!words.trim().is_empty(), "empty HELP: {line}");
            assert!(help.insert(name.to_string()), "HELP twice: {name}");
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, ty) = rest.split_once(' ').expect("TYPE name type");
            assert!(
                ["gauge", "counter", "untyped", "summary", "histogram"].contains(&ty),
                "{line}"
            );
            assert!(
                types.insert(name.to_string(), ty.to_string()).is_none(),
                "TYPE twice: {name}"
            );
        } else {
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "stray line {line:?}"
            );
            let (series, value) = line.rsplit_once(' ').expect("series value");
            let name = series.split('{').next().unwrap();
            assert!(
                name.starts_with("pinns_")
                    && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                "metric name {name:?}"
            );
            if let Some(labels) = series.strip_prefix(name) {
                if !labels.is_empty() {
                    let inner = labels.strip_prefix('{').and_then(|l| l.strip_suffix('}'));
                    let inner = inner.unwrap_or_else(|| panic!("labels of {line:?}"));
                    for pair in inner.split(',') {
                        let (k, v) = pair.split_once('=').expect("label=value");
                        assert!(
                            k.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                            "{line}"
                        );
                        assert!(
                            v.starts_with('"') && v.ends_with('"') && v.len() >= 2,
                            "{line}"
                        );
                    }
                }
            }
            assert!(
                help.contains(name) && types.contains_key(name),
                "{name} undeclared before its sample"
            );
            let v: f64 = value
                .parse()
                .unwrap_or_else(|e| panic!("value of {line:?}: {e}"));
            assert!(v.is_finite(), "{line}");
            assert!(
                samples.insert(series.to_string(), v).is_none(),
                "series twice: {series}"
            );
        }
    }
    assert!(text.ends_with('\n'), "no final newline");
    samples
}

/// The file is a whole, fresh, readable file, alone in its directory.
fn assert_written(path: &Path) -> u64 {
    let md = std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    assert_eq!(
        md.permissions().mode() & 0o7777,
        0o644,
        "{}",
        path.display()
    );
    let names: Vec<_> = std::fs::read_dir(path.parent().unwrap())
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, [path.file_name().unwrap()], "temporary file left");
    md.ino()
}

// CRI-O-shaped pin names (lowercase UUIDs): only those can be orphans.
const IDLE_A: &str = "b1000000-0000-4000-8000-000000000001";
const IDLE_B: &str = "b1000000-0000-4000-8000-000000000002";
const JUNK: &str = "b1000000-0000-4000-8000-000000000003";
const POD: &str = "b1000000-0000-4000-8000-000000000004";

/// Runs pinns under `umask 077`, which must not make the file unreadable.
fn pinns_with_umask(args: &[&str]) -> std::process::Output {
    // "$@": a tenth argument written as $10 would be $1 followed by 0.
    Command::new("sh")
        .args(["-c", "umask 077; exec \"$0\" \"$@\"", common::BIN])
        .args(args)
        .output()
        .unwrap()
}

#[test]
#[serial_test::serial]
fn list_and_sweep_write_their_figures() {
    let t = TestDir::new();
    let dir = t.pins();
    let d = path_str(&dir);
    t.pin(IDLE_A, &["--net", "--ipc"]);
    t.pin(IDLE_B, &["--net", "--ipc"]);
    std::fs::write(dir.join("ipcns").join(JUNK), "not ours").unwrap();
    let metrics = t.path().join("textfile");
    std::fs::create_dir(&metrics).unwrap();

    let list_file = metrics.join("pinns-list.prom");
    let out = pinns_with_umask(&[
        "list",
        "-d",
        d,
        "--older-than",
        "0s",
        "--no-runtime",
        "--metrics-file",
        path_str(&list_file),
    ]);
    assert!(out.status.success(), "{out:?}");
    assert_written(&list_file);
    let m = parse(&std::fs::read_to_string(&list_file).unwrap());
    assert_eq!(
        m["pinns_pins{command=\"list\",state=\"orphan\"}"], 2.0,
        "{m:?}"
    );
    assert_eq!(
        m["pinns_pins{command=\"list\",state=\"broken\"}"], 1.0,
        "{m:?}"
    );
    assert_eq!(
        m["pinns_pins{command=\"list\",state=\"in-use\"}"], 0.0,
        "{m:?}"
    );
    assert_eq!(m["pinns_foreign_entries{command=\"list\"}"], 1.0);
    std::fs::remove_file(&list_file).unwrap();

    // A dry run, then the real sweep over the same file.
    let file = metrics.join("pinns-cleanup.prom");
    let sweep = |extra: &[&str]| {
        let mut args = vec![
            "cleanup",
            "-d",
            d,
            "--orphans",
            "--older-than",
            "0s",
            "--no-runtime",
        ];
        args.extend_from_slice(extra);
        args.extend_from_slice(&["--metrics-file", path_str(&file)]);
        pinns_with_umask(&args)
    };
    let out = sweep(&["--dry-run"]);
    assert!(out.status.success(), "{out:?}");
    let first = assert_written(&file);
    let m = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(m["pinns_orphans_found"], 2.0, "{m:?}");
    assert_eq!(m["pinns_orphans_removed"], 0.0);
    assert_eq!(m["pinns_sweep_dry_run"], 1.0);
    assert_eq!(m["pinns_sweep_success"], 1.0);

    let out = sweep(&[]);
    assert!(out.status.success(), "{out:?}");
    let second = assert_written(&file);
    assert_ne!(first, second, "replaced in place, not renamed over");
    let m = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(m["pinns_orphans_found"], 2.0, "{m:?}");
    assert_eq!(m["pinns_orphans_removed"], 2.0);
    assert_eq!(m["pinns_orphans_failed"], 0.0);
    assert_eq!(m["pinns_pins{command=\"cleanup\",state=\"orphan\"}"], 2.0);
    assert_eq!(m["pinns_pins{command=\"cleanup\",state=\"broken\"}"], 1.0);
    assert_eq!(m["pinns_foreign_entries{command=\"cleanup\"}"], 1.0);
    assert_eq!(m["pinns_sweep_dry_run"], 0.0);
    assert!(m["pinns_sweep_duration_seconds"] >= 0.0);
    let success = m["pinns_last_success_timestamp_seconds"];
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs_f64();
    assert!((now - success).abs() < 300.0, "{success} vs {now}");

    // A sweep that fails as a whole still writes, and keeps the last success.
    std::fs::remove_file(dir.join("ipcns").join(JUNK)).unwrap();
    let gone = t.path().join("gone");
    let out = pinns_with_umask(&[
        "cleanup",
        "-d",
        path_str(&gone),
        "--orphans",
        "--metrics-file",
        path_str(&file),
    ]);
    assert!(!out.status.success(), "{out:?}");
    assert_eq!(
        String::from_utf8_lossy(&out.stderr).lines().count(),
        1,
        "{out:?}"
    );
    assert_written(&file);
    let m = parse(&std::fs::read_to_string(&file).unwrap());
    assert_eq!(m["pinns_sweep_success"], 0.0);
    assert_eq!(m["pinns_last_success_timestamp_seconds"], success);
    assert!(!m.contains_key("pinns_orphans_found"), "{m:?}");
}

#[test]
#[serial_test::serial]
fn every_interval_round_rewrites_the_file() {
    let t = TestDir::new();
    let dir = t.pins();
    t.pin(POD, &["--net", "--ipc"]);
    let metrics = t.path().join("textfile");
    std::fs::create_dir(&metrics).unwrap();
    let file = metrics.join("pinns-cleanup.prom");
    let mut child = Command::new(common::BIN)
        .args([
            "cleanup",
            "-d",
            path_str(&dir),
            "--orphans",
            "--interval",
            "1s",
            "--no-runtime",
        ])
        .args(["--metrics-file", path_str(&file)])
        .stdout(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let inode = || std::fs::metadata(&file).ok().map(|m| m.ino());
    let deadline = Instant::now() + Duration::from_secs(30);
    let mut seen = BTreeSet::new();
    while seen.len() < 3 && Instant::now() < deadline {
        if let Some(ino) = inode() {
            seen.insert(ino);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(common::terminate(&mut child).success());
    assert!(seen.len() >= 3, "rewritten {} times in 30s", seen.len());
    assert_written(&file);
    parse(&std::fs::read_to_string(&file).unwrap());
}

#[test]
fn a_metrics_file_that_cannot_be_written_fails_in_one_line() {
    let t = TestDir::new();
    let dir = t.pins();
    t.pin(POD, &["--net", "--ipc"]);
    let file = t.path().join("no-such-dir/x.prom");
    for cmd in ["list", "cleanup"] {
        let mut args = vec![cmd, "-d", path_str(&dir), "--metrics-file", path_str(&file)];
        if cmd == "cleanup" {
            args.extend_from_slice(&["--orphans", "--dry-run", "--no-runtime"]);
        }
        let out = pinns().args(&args).output().unwrap();
        common::assert_one_line_error(
            out.status.code().unwrap_or(-1),
            &String::from_utf8_lossy(&out.stderr),
            "metrics file",
        );
    }
    let _ = run(&["cleanup", "-d", path_str(&dir), "-f", POD]);
}

#[test]
fn example_alerts_are_valid_rules_on_our_metrics() {
    use yaml_rust2::YamlLoader;
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("packaging/prometheus/pinns-alerts.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    let docs = YamlLoader::load_from_str(&text).expect("valid YAML");
    assert_eq!(docs.len(), 1);
    // The metric names pinns writes, from a real list and a real sweep.
    let t = TestDir::new();
    std::fs::create_dir(t.pins()).unwrap();
    let mut known = BTreeSet::new();
    for cmd in [
        &["list", "--no-runtime"][..],
        &["cleanup", "--orphans", "--no-runtime"],
    ] {
        let file = t.path().join("m.prom");
        let out = pinns()
            .args(cmd)
            .args(["-d", path_str(&t.pins()), "--metrics-file", path_str(&file)])
            .output()
            .unwrap();
        assert!(out.status.success(), "{out:?}");
        let m = parse(&std::fs::read_to_string(&file).unwrap());
        known.extend(m.keys().map(|k| k.split('{').next().unwrap().to_string()));
    }
    assert!(known.len() > 5, "{known:?}");
    let groups = docs[0]["groups"].as_vec().expect("groups");
    let mut alerts = Vec::new();
    for g in groups {
        assert!(g["name"].as_str().is_some(), "group without a name");
        for rule in g["rules"].as_vec().expect("rules") {
            let name = rule["alert"].as_str().expect("alert name");
            let expr = rule["expr"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}: expr"));
            assert!(
                rule["labels"]["severity"].as_str().is_some(),
                "{name}: severity"
            );
            assert!(
                rule["annotations"]["summary"].as_str().is_some(),
                "{name}: summary"
            );
            if let Some(f) = rule["for"].as_str() {
                assert!(f.ends_with('m') || f.ends_with('h'), "{name}: for {f}");
            }
            let used: Vec<&str> = expr
                .split(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                .filter(|w| w.starts_with("pinns_"))
                .collect();
            assert!(!used.is_empty(), "{name} watches no pinns metric");
            for m in used {
                assert!(known.contains(m), "{name}: pinns writes no {m}");
            }
            assert_eq!(
                expr.matches('(').count(),
                expr.matches(')').count(),
                "{name}"
            );
            alerts.push(name.to_string());
        }
    }
    for wanted in [
        "PinnsOrphanedPinsGrowing",
        "PinnsLeakedCgroupsGrowing",
        "PinnsSweepFailing",
        "PinnsSweepStale",
    ] {
        assert!(
            alerts.iter().any(|a| a == wanted),
            "{wanted} missing: {alerts:?}"
        );
    }
}
