//! CPU placement beside the pod's real-time and pinned tasks (threads
//! included): the command is kept off their CPUs, and `--cpus` that would
//! land on one is refused.

use super::{enter, field};
use crate::common;
use common::{assert_one_line_error, path_str, TestDir, BIN};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

/// A process of the pod: `sleep 30` under `prefix` (chrt, taskset), in the
/// pod's net/ipc/uts namespaces. Killed and reaped on drop.
struct PodTask(Child);

impl PodTask {
    /// SCHED_FIFO priority 10, pinned to CPU 1.
    fn rt(t: &TestDir, name: &str) -> PodTask {
        Self::start(
            t,
            name,
            &["chrt", "-f", "10", "taskset", "-c", "1"],
            "1",
            "1",
        )
    }

    /// Waits until the sleep runs with `policy` (its number) on `cpus`.
    fn start(t: &TestDir, name: &str, prefix: &[&str], policy: &str, cpus: &str) -> PodTask {
        let mut cmd = Command::new("nsenter");
        for kind in ["net", "ipc", "uts"] {
            cmd.arg(format!("--{kind}={}", t.pin_path(kind, name).display()));
        }
        let child = cmd
            .args(prefix)
            .args(["sleep", "30"])
            .spawn()
            .expect("start the pod task");
        let task = PodTask(child);
        task.wait_until_placed(policy, cpus);
        task
    }

    fn pid(&self) -> u32 {
        self.0.id()
    }

    /// nsenter execs chrt, which execs taskset, which execs sleep.
    fn wait_until_placed(&self, policy: &str, cpus: &str) {
        let deadline = Instant::now() + Duration::from_secs(10);
        let pid = self.pid();
        loop {
            let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
            let sched = std::fs::read_to_string(format!("/proc/{pid}/sched")).unwrap_or_default();
            let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap_or_default();
            if comm.trim() == "sleep" {
                assert_eq!(
                    field(&sched, "policy").trim_start_matches(':').trim(),
                    policy,
                    "not policy {policy}: {sched}"
                );
                assert_eq!(field(&status, "Cpus_allowed_list:"), cpus);
                return;
            }
            assert!(Instant::now() < deadline, "pod task never became sleep");
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

impl Drop for PodTask {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn require_two_cpus() {
    let online = std::fs::read_to_string("/sys/devices/system/cpu/online").unwrap();
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    assert!(
        online.trim() == "0-1" && field(&status, "Cpus_allowed_list:") == "0-1",
        "the telco scenario is written for CPUs 0-1 (online {online:?})"
    );
}

const PLACEMENT_SCRIPT: &str =
    "grep Cpus_allowed_list /proc/self/status; grep '^policy' /proc/self/sched; chrt -p $$; \
     echo nice=$(cut -d' ' -f19 /proc/self/stat)";

#[test]
fn the_command_runs_beside_the_pods_rt_task_never_on_its_cpu() {
    require_two_cpus();
    let t = TestDir::new();
    t.pin("telco", &["-n", "-i", "-u"]);
    let rt = PodTask::rt(&t, "telco");

    // The caller itself is SCHED_FIFO: the command must not inherit it.
    let pins = t.pins();
    let out = Command::new("chrt")
        .args([
            "-f",
            "5",
            BIN,
            "enter",
            "-v",
            "--nice",
            "5",
            "-d",
            path_str(&pins),
            "telco",
            "--",
            "sh",
            "-c",
            PLACEMENT_SCRIPT,
        ])
        .output()
        .expect("run pinns under chrt");
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    assert_eq!(field(&stdout, "Cpus_allowed_list:"), "0", "{stdout}");
    assert_eq!(
        field(&stdout, "policy").trim_start_matches(':').trim(),
        "0",
        "{stdout}"
    );
    assert!(
        stdout.contains("current scheduling policy: SCHED_OTHER"),
        "{stdout}"
    );
    assert_eq!(field(&stdout, "nice="), "5");
    // --verbose names the chosen CPUs and the RT task that keeps CPU 1.
    assert!(stderr.contains("[pinns:i] CPUs chosen: 0"), "{stderr}");
    let why = stderr
        .lines()
        .find(|l| l.contains("CPU 1 excluded"))
        .unwrap_or_else(|| panic!("{stderr}"));
    assert!(
        why.contains("SCHED_FIFO priority 10") && why.contains(&format!("task {}/", rt.pid())),
        "{why}"
    );
    assert!(
        why.contains("(sleep)") && why.contains("pinned to 1"),
        "{why}"
    );
}

#[test]
fn explicit_cpus_on_the_rt_cpu_are_refused() {
    require_two_cpus();
    let t = TestDir::new();
    t.pin("telco2", &["-n", "-i", "-u"]);
    let rt = PodTask::rt(&t, "telco2");
    let before = t.snapshot(&[]);

    let (code, _, err) = enter(&t, &["telco2", "--cpus", "1", "--", "true"]);
    assert_one_line_error(code, &err, "--cpus 1 refused: CPU 1: SCHED_FIFO");
    assert!(err.contains(&format!("task {}/", rt.pid())), "{err}");
    assert_eq!(t.snapshot(&[]), before);

    // The CPU the policy would choose anyway is fine, and the override works.
    let (code, out, err) = enter(
        &t,
        &["telco2", "--cpus", "0", "--", "sh", "-c", PLACEMENT_SCRIPT],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "Cpus_allowed_list:"), "0");
    let (code, out, err) = enter(
        &t,
        &[
            "telco2",
            "--cpus",
            "1",
            "--allow-isolated",
            "--",
            "sh",
            "-c",
            PLACEMENT_SCRIPT,
        ],
    );
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "Cpus_allowed_list:"), "1");
}

#[test]
fn with_every_cpu_excluded_the_error_names_each() {
    require_two_cpus();
    let t = TestDir::new();
    t.pin("telco3", &["-n", "-i", "-u"]);
    let _rt = PodTask::rt(&t, "telco3");
    let sysfs = t.path().join("sysfs-cpu");
    std::fs::create_dir(&sysfs).unwrap();
    std::fs::write(sysfs.join("isolated"), "0\n").unwrap();
    let before = t.snapshot(&[]);

    let pins = t.pins();
    let out = Command::new(BIN)
        .args(["enter", "-d", path_str(&pins), "telco3", "--", "true"])
        .env("PINNS_SYSFS_CPU_DIR", &sysfs)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert_one_line_error(out.status.code().unwrap(), &err, "no safe CPU to run on");
    assert!(err.contains("CPU 0: isolated"), "{err}");
    assert!(err.contains("CPU 1: SCHED_FIFO priority 10"), "{err}");
    assert_eq!(t.snapshot(&[]), before);

    // --avoid-cpus counts too, and an explicit isolated CPU is refused.
    let (code, _, err) = enter(&t, &["telco3", "--avoid-cpus", "0", "--", "true"]);
    assert_one_line_error(code, &err, "CPU 0: in --avoid-cpus");
    let out = Command::new(BIN)
        .args([
            "enter",
            "-d",
            path_str(&pins),
            "telco3",
            "--cpus",
            "0",
            "--",
            "true",
        ])
        .env("PINNS_SYSFS_CPU_DIR", &sysfs)
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "--cpus 0 refused: CPU 0: isolated",
    );
}

/// Only real-time and pinned tasks of the pod count, whatever else runs in
/// it (the others are never looked at closely): an unpinned SCHED_OTHER
/// task leaves every CPU free, a pinned SCHED_OTHER one keeps its CPU, and
/// an unpinned SCHED_FIFO one (reset-on-fork, a flag the kernel adds to its
/// policy) keeps every CPU it may run on.
#[test]
fn only_the_pods_pinned_and_realtime_tasks_keep_cpus() {
    require_two_cpus();
    let t = TestDir::new();
    let name = "7d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d";
    t.pin(name, &["-n", "-i", "-u"]);
    let grep = ["grep", "Cpus_allowed_list", "/proc/self/status"];
    let enter_v = |t: &TestDir| enter(t, &[&["-v", name, "--"][..], &grep].concat());

    let free = PodTask::start(&t, name, &[], "0", "0-1");
    let (code, out, err) = enter_v(&t);
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "Cpus_allowed_list:"), "0-1", "{out}");
    assert!(err.contains("[pinns:i] CPUs chosen: 0-1"), "{err}");
    assert!(!err.contains("excluded"), "{err}");

    let pinned = PodTask::start(&t, name, &["taskset", "-c", "1"], "0", "1");
    let (code, out, err) = enter_v(&t);
    assert_eq!(code, 0, "{err}");
    assert_eq!(field(&out, "Cpus_allowed_list:"), "0", "{out}");
    let why = err
        .lines()
        .find(|l| l.contains("CPU 1 excluded"))
        .unwrap_or_else(|| panic!("{err}"));
    let p = pinned.pid();
    assert!(
        why.ends_with(&format!("task {p}/{p} (sleep) of the target pinned to 1")),
        "{why}"
    );
    assert!(!err.contains(&format!("task {}/", free.pid())), "{err}");
    assert!(!err.contains("CPU 0 excluded"), "{err}");

    let rt = PodTask::start(&t, name, &["chrt", "-R", "-f", "10"], "1", "0-1");
    let before = t.snapshot(&[]);
    let (code, _, err) = enter(&t, &[name, "--", "true"]);
    assert_one_line_error(code, &err, "no safe CPU to run on");
    let r = rt.pid();
    let fifo = format!("SCHED_FIFO priority 10 task {r}/{r} (sleep) of the target allowed on 0-1");
    assert!(err.contains(&format!("CPU 0: {fifo};")), "{err}");
    assert!(
        err.contains(&format!("CPU 1: {fifo} and task {p}/{p}")),
        "{err}"
    );
    assert_eq!(t.snapshot(&[]), before);
}

/// Threads are processes too: a pod whose only live task is a SCHED_FIFO
/// thread (its leader called pthread_exit), and one whose RT thread joined
/// the pod by setns while its leader stayed on the host. Either way the
/// command is kept off the RT thread's CPU, and --verbose names the thread.
#[test]
fn the_command_avoids_the_cpu_of_an_rt_thread_whose_leader_is_gone_or_outside() {
    require_two_cpus();
    let t = TestDir::new();
    let bin = common::threads::build(t.path());
    for (name, how) in [
        ("5d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "exit-leader"),
        ("6d0c1a2b-3e4f-4a5b-8c6d-7e8f9a0b1c2d", "setns-thread"),
    ] {
        t.pin(name, &["-n", "-i", "-u"]);
        let rt = match how {
            "exit-leader" => common::threads::exit_leader_in(&bin, &t.pins(), name, 1),
            _ => common::threads::setns_thread_into(&bin, &t.pins(), name, 1),
        };
        let (code, out, err) = enter(
            &t,
            &[
                "-v",
                name,
                "--",
                "grep",
                "Cpus_allowed_list",
                "/proc/self/status",
            ],
        );
        assert_eq!(code, 0, "{how}: {err}");
        assert_eq!(field(&out, "Cpus_allowed_list:"), "0", "{how}: {out}");
        let why = err
            .lines()
            .find(|l| l.contains("CPU 1 excluded"))
            .unwrap_or_else(|| panic!("{how}: {err}"));
        assert!(
            why.contains("SCHED_FIFO priority 10")
                && why.contains(&format!("task {}/{} (threads)", rt.pid(), rt.tid)),
            "{how}: {why}"
        );
        // An explicit --cpus on the thread's CPU is refused for the same reason.
        let (code, _, err) = enter(&t, &["--cpus", "1", name, "--", "true"]);
        assert_one_line_error(code, &err, "--cpus 1 refused: CPU 1: SCHED_FIFO");
    }
}
