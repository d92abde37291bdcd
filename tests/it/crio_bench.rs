//! The seed talk's experiment through a real CRI-O, driven by
//! bench/crio-pods.sh (ignored in the test suite: it measures, it does not
//! check). For each variant (our pinns or CRI-O's C pinns, with
//! `drop_infra_ctr` true or false) one private CRI-O from tests/it/common/crio; each
//! round creates N pods with `crictl runp` one after the other (each call
//! returns when the pod is ready), measures what the idle pods keep resident
//! (processes in their cgroups, and the conmon monitors CRI-O started),
//! then removes them (`crictl stopp` + `crictl rmp`). The variants take
//! turns pod by pod, their order rotating, so that load from elsewhere falls
//! on all of them alike; each keeps its N pods up until the removal phase. Samples go to a CSV file; crio-pods.py
//! summarises them.
//!
//! Environment: PINNS_BENCH_N (pods per round, default 20), PINNS_BENCH_ROUNDS
//! (default 5), PINNS_BENCH_CSV (output, required), PINNS_BENCH_C_PINNS
//! (CRI-O's C pinns; default `pinns-c` beside crio).

use crate::common::crio;

use crio::{Crio, Options, Pod};
use std::io::Write;
use std::path::PathBuf;
use std::time::Instant;

fn env_num(key: &str, default: usize) -> usize {
    std::env::var(key)
        .ok()
        .map(|v| {
            v.parse()
                .unwrap_or_else(|_| panic!("{key}={v}: not a number"))
        })
        .unwrap_or(default)
}

/// Resident KiB of the processes this instance's pods keep: (those in the
/// pods' cgroups, i.e. pause processes; the others it started, i.e. conmon
/// monitors, which CRI-O does not move into a pod cgroup under cgroupfs).
/// CRI-O itself is not counted.
fn resident_kib(crio: &Crio) -> (u64, u64) {
    let mut in_pods = Vec::new();
    for dir in crio::cgroup_dirs(crio.name()) {
        collect_procs(&dir, &mut in_pods);
    }
    in_pods.sort_unstable();
    in_pods.dedup();
    let crio_pid = crio.pid().map(|p| p as i32);
    let monitors: Vec<u32> = crio::our_pids(crio.root(), crio.name())
        .into_iter()
        .filter(|p| Some(*p) != crio_pid)
        .map(|p| p as u32)
        .filter(|p| !in_pods.contains(p))
        .collect();
    (rss_sum(&in_pods), rss_sum(&monitors))
}

fn rss_sum(pids: &[u32]) -> u64 {
    pids.iter()
        .filter_map(|pid| std::fs::read_to_string(format!("/proc/{pid}/status")).ok())
        .filter_map(|s| {
            s.lines()
                .find(|l| l.starts_with("VmRSS:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
        })
        .sum()
}

fn collect_procs(dir: &std::path::Path, out: &mut Vec<u32>) {
    if let Ok(text) = std::fs::read_to_string(dir.join("cgroup.procs")) {
        out.extend(text.lines().filter_map(|l| l.trim().parse::<u32>().ok()));
    }
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            collect_procs(&entry.path(), out);
        }
    }
}

#[test]
#[ignore = "a benchmark: run by bench/crio-pods.sh"]
fn crio_pods() {
    let Some(tools) = crio::tools_or_skip() else {
        return;
    };
    let n = env_num("PINNS_BENCH_N", 20);
    let rounds = env_num("PINNS_BENCH_ROUNDS", 5);
    let csv = PathBuf::from(std::env::var_os("PINNS_BENCH_CSV").expect("PINNS_BENCH_CSV"));
    let c_pinns = std::env::var_os("PINNS_BENCH_C_PINNS")
        .map(PathBuf::from)
        .unwrap_or_else(|| tools.crio.with_file_name("pinns-c"));
    assert!(
        c_pinns.is_file(),
        "C pinns not found: {}",
        c_pinns.display()
    );
    let ours = PathBuf::from(env!("CARGO_BIN_EXE_pinns"));
    let mut variants = Vec::new();
    for (helper, path) in [("ours", &ours), ("c", &c_pinns)] {
        for drop_infra_ctr in [true, false] {
            let label = format!(
                "{helper}/{}",
                if drop_infra_ctr { "no-pause" } else { "pause" }
            );
            let options = Options {
                drop_infra_ctr,
                default_sysctls: Vec::new(),
            };
            variants.push((label, Crio::start_with(tools.clone(), path, &options)));
        }
    }
    let mut out = std::fs::File::create(&csv).expect("create CSV");
    writeln!(out, "variant,round,pod,phase,value").unwrap();
    let v = variants.len();
    for round in 0..rounds {
        // Pod by pod, the variants take turns (their order rotating), so
        // load from elsewhere on the machine falls on all of them alike.
        let mut ids = vec![Vec::new(); v];
        let mut create_all = vec![0.0; v];
        for i in 0..n {
            for k in 0..v {
                let j = (k + i + round) % v;
                let (label, crio) = &variants[j];
                let pod = Pod::new(&format!("bench-{round}-{i}"))
                    .sysctl("net.ipv4.ip_forward", "1")
                    .sysctl("kernel.shm_rmid_forced", "1");
                let t = Instant::now();
                ids[j].push(crio.runp(&pod));
                let ms = t.elapsed().as_secs_f64() * 1e3;
                create_all[j] += ms;
                writeln!(out, "{label},{round},{i},create_ms,{ms:.3}").unwrap();
            }
        }
        for (label, crio) in &variants {
            let (pods_kib, monitors_kib) = resident_kib(crio);
            let pause = pods_kib as f64 / n as f64;
            let conmon = monitors_kib as f64 / n as f64;
            writeln!(out, "{label},{round},,pause_kib_per_pod,{pause:.1}").unwrap();
            writeln!(out, "{label},{round},,conmon_kib_per_pod,{conmon:.1}").unwrap();
        }
        let mut remove_all = vec![0.0; v];
        for i in 0..n {
            for k in 0..v {
                let j = (k + i + round) % v;
                let (label, crio) = &variants[j];
                let t = Instant::now();
                crio.remove_pod(ids[j].get(i).expect("pod of this round"));
                let ms = t.elapsed().as_secs_f64() * 1e3;
                remove_all[j] += ms;
                writeln!(out, "{label},{round},{i},remove_ms,{ms:.3}").unwrap();
            }
        }
        for (j, (label, crio)) in variants.iter().enumerate() {
            let (files, mounts) = crio.ns_dir_contents();
            assert!(files.is_empty() && mounts.is_empty(), "{label}: pins left");
            let (c, r) = (create_all[j], remove_all[j]);
            writeln!(out, "{label},{round},,create_all_ms,{c:.1}").unwrap();
            writeln!(out, "{label},{round},,remove_all_ms,{r:.1}").unwrap();
            eprintln!(
                "round {round} {label:<14} create {c:8.0} ms  remove {r:8.0} ms (sum of {n} pods)"
            );
        }
    }
}
