//! `pinns enter`, for real, as root: pods pinned by the real binary, a
//! SCHED_FIFO process pinned to CPU 1, a runc container, a fake crictl that
//! prints a CRI-O-shaped `inspectp` answer pointing at real pins.

use crate::common;

use common::runc::Bundle;
use common::{assert_one_line_error, ns_inode, path_str, run, TestDir, BIN};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// `pinns enter -d PINS <args>`, returning (status, stdout, stderr).
fn enter(t: &TestDir, args: &[&str]) -> (i32, String, String) {
    let pins = t.pins();
    let mut all = vec!["enter", "-d", path_str(&pins)];
    all.extend_from_slice(args);
    run(&all)
}

fn inode_in(output: &str, kind: &str) -> u64 {
    // `readlink /proc/self/ns/net` prints `net:[4026532250]`.
    let prefix = format!("{kind}:[");
    let line = output
        .lines()
        .find(|l| l.starts_with(&prefix))
        .unwrap_or_else(|| panic!("no {kind} line in {output:?}"));
    line[prefix.len()..line.len() - 1].parse().expect("inode")
}

fn field<'a>(output: &'a str, key: &str) -> &'a str {
    output
        .lines()
        .find_map(|l| l.strip_prefix(key))
        .unwrap_or_else(|| panic!("no {key:?} in {output:?}"))
        .trim()
}

const NS_SCRIPT: &str = "for k in net ipc uts mnt pid user; do readlink /proc/self/ns/$k; done";

#[test]
fn enters_the_pinned_namespaces_and_sees_the_pods_view() {
    let t = TestDir::new();
    t.pin(
        "pod-a",
        &[
            "-n",
            "-i",
            "-u",
            "-s",
            "kernel.hostname=pod-a",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "kernel.shmmni=1234",
        ],
    );
    let script = format!(
        "{NS_SCRIPT}; echo host=$(hostname); echo fwd=$(cat /proc/sys/net/ipv4/ip_forward); \
         echo shmmni=$(cat /proc/sys/kernel/shmmni); echo cgroup=$(cat /proc/self/cgroup | tr '\\n' ' ')"
    );
    let (code, out, err) = enter(&t, &["pod-a", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "pod-a")),
            "{kind}: {out}"
        );
    }
    // Not pinned, so not joined: still ours.
    for kind in ["mnt", "pid", "user"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(format!("/proc/self/ns/{kind}")),
            "{kind}: {out}"
        );
    }
    assert_eq!(field(&out, "host="), "pod-a");
    assert_eq!(field(&out, "fwd="), "1");
    assert_eq!(field(&out, "shmmni="), "1234");
    // The command stays in the caller's cgroup.
    let ours = std::fs::read_to_string("/proc/self/cgroup")
        .unwrap()
        .replace('\n', " ");
    assert_eq!(field(&out, "cgroup="), ours.trim());
    assert_ne!(common::host_sysctl("kernel.hostname"), "pod-a");
}

#[test]
fn selection_flags_narrow_what_is_joined() {
    let t = TestDir::new();
    t.pin("pod-b", &["-n", "-i", "-u", "-s", "kernel.hostname=pod-b"]);
    let (code, out, err) = enter(&t, &["pod-b", "--uts", "--", "sh", "-c", NS_SCRIPT]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(inode_in(&out, "uts"), ns_inode(t.pin_path("uts", "pod-b")));
    assert_eq!(inode_in(&out, "net"), ns_inode("/proc/self/ns/net"));
    assert_eq!(inode_in(&out, "ipc"), ns_inode("/proc/self/ns/ipc"));
}

#[test]
fn enters_a_pinned_user_namespace_first_as_its_root() {
    let t = TestDir::new();
    t.pin(
        "pod-u",
        &[
            "-U",
            "--uid-mapping=0-200000-65536@",
            "--gid-mapping=0-200000-65536@",
            "-n",
            "-u",
            "-s",
            "kernel.hostname=pod-u",
        ],
    );
    let script = format!("{NS_SCRIPT}; echo uid=$(id -u); echo host=$(hostname)");
    let (code, out, err) = enter(&t, &["pod-u", "--", "sh", "-c", &script]);
    assert_eq!(code, 0, "{err}");
    for kind in ["user", "net", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "pod-u")),
            "{kind}: {out}"
        );
    }
    assert_eq!(field(&out, "uid="), "0");
    assert_eq!(field(&out, "host="), "pod-u");
}

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

#[test]
fn enters_a_runc_container_by_pid() {
    let t = TestDir::new();
    t.pin(
        "ctr-pod",
        &["-n", "-i", "-u", "-s", "kernel.hostname=ctr-pod"],
    );
    let bundle = Bundle::new(t.path().join("bundle"))
        .file("/marker", "inside-the-container\n")
        .join_namespace("network", t.pin_path("net", "ctr-pod"))
        .join_namespace("ipc", t.pin_path("ipc", "ctr-pod"))
        .join_namespace("uts", t.pin_path("uts", "ctr-pod"));
    let ctr = bundle.run("pinns-enter");
    let pid = ctr.pid.to_string();

    let script = format!("{NS_SCRIPT}; echo host=$(hostname); echo marker=$(cat /marker); echo me=$$; grep Cpus_allowed_list /proc/self/status");
    let (code, out, err) = run(&["enter", "--pid", &pid, "--", "/bin/sh", "-c", &script]);
    assert_eq!(code, 0, "{err}\n{}", ctr.output());
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&out, kind),
            ns_inode(t.pin_path(kind, "ctr-pod")),
            "{kind}: {out}"
        );
    }
    for kind in ["mnt", "pid"] {
        let container = ns_inode(format!("/proc/{pid}/ns/{kind}"));
        assert_eq!(inode_in(&out, kind), container, "{kind}: {out}");
        assert_ne!(container, ns_inode(format!("/proc/self/ns/{kind}")));
    }
    assert_eq!(field(&out, "host="), "ctr-pod");
    assert_eq!(field(&out, "marker="), "inside-the-container");
    // Forked into the container's PID namespace, where its init is 1.
    let me: i32 = field(&out, "me=").parse().unwrap();
    assert!(me > 1 && me < 100, "pid {me} is not a container pid");
    // The container's sleep is SCHED_OTHER and unpinned: nothing to avoid.
    assert_eq!(
        field(&out, "Cpus_allowed_list:"),
        std::fs::read_to_string("/sys/devices/system/cpu/online")
            .unwrap()
            .trim()
    );

    // Narrowed to the PID namespace only: the host's mount namespace.
    let (code, out, err) = run(&[
        "enter", "--pid", &pid, "--pidns", "--", "sh", "-c", NS_SCRIPT,
    ]);
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        inode_in(&out, "pid"),
        ns_inode(format!("/proc/{pid}/ns/pid"))
    );
    assert_eq!(inode_in(&out, "mnt"), ns_inode("/proc/self/ns/mnt"));
    assert_eq!(inode_in(&out, "net"), ns_inode("/proc/self/ns/net"));
}

/// `crictl inspectp -o json` of a pod of a real CRI-O 1.36.3 (see
/// tests/fixtures/README.md), its pin paths moved into the test's DIR.
const FIXTURE: &str = include_str!("../fixtures/crio-1.36/crictl-inspectp-plain-pod.json");
const FIXTURE_UUID: &str = "47989609-ad0a-4377-93b6-6619d5c81755";
const FIXTURE_ID: &str = "69ac56ccad967f68d18d9e8384f52d8dcc49e2f982e924ed052b74b0edeecfb3";

/// A `crictl` on PATH that answers `inspectp -o json <the fixture's id>` with
/// the fixture, its /var/run pins moved to `pins`, and fails otherwise.
fn fake_crictl(t: &TestDir, pins: &Path) -> PathBuf {
    let bin = t.path().join("fakebin");
    std::fs::create_dir_all(&bin).unwrap();
    let answer = t.path().join("inspectp.json");
    let json = FIXTURE.replace("\"/var/run/", &format!("\"{}/", pins.display()));
    std::fs::write(&answer, json).unwrap();
    let script = format!(
        "#!/bin/sh\nif [ \"$1 $2 $3\" = \"inspectp -o json\" ] && [ \"$4\" = {FIXTURE_ID} ]; then cat {}; exit 0; fi\n\
         echo \"getting sandbox status of pod \\\"$4\\\": rpc error: code = NotFound desc = could not find pod\" >&2\nexit 1\n",
        answer.display()
    );
    // Written here, installed by a child: see copy_executable.
    let source = t.path().join("crictl.sh");
    std::fs::write(&source, script).unwrap();
    let crictl = bin.join("crictl");
    common::copy_executable(&source, &crictl);
    std::fs::set_permissions(&crictl, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    bin
}

fn path_with(dir: &Path) -> String {
    format!(
        "{}:{}",
        dir.display(),
        std::env::var("PATH").unwrap_or_default()
    )
}

#[test]
fn enters_a_cri_pod_resolved_by_crictl() {
    let t = TestDir::new();
    t.pin(
        FIXTURE_UUID,
        &["-n", "-i", "-u", "-s", "kernel.hostname=cnf-du-0"],
    );
    let bin = fake_crictl(&t, &t.pins());
    let script = format!("{NS_SCRIPT}; echo host=$(hostname)");
    let out = Command::new(BIN)
        .args(["enter", "--pod", FIXTURE_ID, "--", "sh", "-c", &script])
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    let (stdout, stderr) = (
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr),
    );
    assert!(out.status.success(), "{stderr}");
    for kind in ["net", "ipc", "uts"] {
        assert_eq!(
            inode_in(&stdout, kind),
            ns_inode(t.pin_path(kind, FIXTURE_UUID)),
            "{kind}"
        );
    }
    assert_eq!(field(&stdout, "host="), "cnf-du-0");

    let out = Command::new(BIN)
        .args(["enter", "--pod", "no-such-pod", "--", "true"])
        .env("PATH", path_with(&bin))
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "could not find pod",
    );

    // Without crictl: a clear error.
    let out = Command::new(BIN)
        .args(["enter", "--pod", FIXTURE_ID, "--", "true"])
        .env("PATH", t.path().join("empty-path"))
        .output()
        .unwrap();
    assert_one_line_error(
        out.status.code().unwrap(),
        &String::from_utf8_lossy(&out.stderr),
        "needs crictl, which is not installed",
    );
}

#[test]
fn the_command_gets_only_fds_0_1_2_even_when_pinns_inherits_more() {
    let t = TestDir::new();
    t.pin("fds", &["-n"]);
    let pins = t.pins();
    // bash gives pinns an fd 7 without close-on-exec; it must not pass on.
    let stdout = common::stdout_ok(
        Command::new("bash")
            .args([
                "-c",
                "exec 7</dev/null; echo outer=$(ls /proc/$$/fd | tr '\\n' ' '); exec \"$@\"",
                "bash",
            ])
            // ls (a child, so not counting its own directory fd) lists the shell's
            // fds; `; true` keeps sh from exec'ing ls in its place.
            .args([
                BIN,
                "enter",
                "-d",
                path_str(&pins),
                "fds",
                "--",
                "sh",
                "-c",
                "echo inner; ls /proc/$$/fd; true",
            ])
            .stdin(Stdio::null()),
    );
    assert!(
        field(&stdout, "outer=").split(' ').any(|fd| fd == "7"),
        "{stdout}"
    );
    let inner: Vec<&str> = stdout
        .lines()
        .skip_while(|l| *l != "inner")
        .skip(1)
        .collect();
    assert_eq!(inner, ["0", "1", "2"], "{stdout}");
}

#[test]
fn the_exit_status_is_passed_through() {
    let t = TestDir::new();
    t.pin("status", &["-u"]);
    let (code, _, err) = enter(&t, &["status", "--", "sh", "-c", "exit 7"]);
    assert_eq!(code, 7, "{err}");
    let (code, _, _) = enter(&t, &["status", "--", "sh", "-c", "kill -TERM $$"]);
    assert_eq!(code, 128 + 15);
    let (code, _, err) = enter(&t, &["status", "--", "/no/such/command"]);
    assert_eq!(code, 127);
    assert_one_line_error(code, &err, "cannot execute \"/no/such/command\"");
}

#[test]
fn sigint_to_pinns_reaches_the_command() {
    let t = TestDir::new();
    t.pin("sig", &["-u"]);
    let pins = t.pins();
    let mut child = Command::new(BIN)
        .args(["enter", "-d", path_str(&pins), "sig", "--", "sh", "-c"])
        // Bounded: if the signal never arrives, the test fails after ~10 s
        // instead of hanging.
        .arg("trap 'echo got-INT; exit 42' INT; echo ready; i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo no-signal")
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    assert_eq!(lines.next().unwrap().unwrap(), "ready");
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGINT).unwrap();
    assert_eq!(lines.next().unwrap().unwrap(), "got-INT");
    let status = child.wait().unwrap();
    assert_eq!(
        status.code(),
        Some(42),
        "pinns must outlive the signal and pass the status on"
    );
}

#[test]
fn bad_inputs_are_one_line_errors_that_change_nothing() {
    let t = TestDir::new();
    t.pin("bad", &["-n", "-i"]);
    let sysfs = t.path().join("sysfs-cpu");
    std::fs::create_dir(&sysfs).unwrap();
    std::fs::write(sysfs.join("isolated"), "0\n").unwrap();
    let pins = t.pins();
    let before = t.snapshot(&["kernel.hostname"]);
    let cases: &[(&[&str], &str)] = &[
        (&["bad", "--cpus", "1-0"], "runs backwards"),
        (&["bad", "--cpus", "x"], "not a CPU number"),
        (&["bad", "--avoid-cpus", "0,,1"], "not a CPU number"),
        (&["bad", "--cpus", "8000"], "not in pinns' allowed CPUs"),
        (&["bad", "--cpus", "0"], "--cpus 0 refused: CPU 0: isolated"),
        (&["no-such-pod"], "no namespace is pinned as"),
        (&["bad", "--uts"], "no uts namespace at"),
        (&["bad", "--pidns"], "never pinned"),
        (&["../bad"], "single path component"),
        (&["--pid", "2147483647"], "no process with pid 2147483647"),
    ];
    for (args, needle) in cases {
        let out = Command::new(BIN)
            .args(["enter", "-d", path_str(&pins)])
            .args(*args)
            .args(["--", "true"])
            .env("PINNS_SYSFS_CPU_DIR", &sysfs)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        assert_one_line_error(out.status.code().unwrap_or(-1), &err, needle);
        assert_eq!(
            t.snapshot(&["kernel.hostname"]),
            before,
            "{args:?} changed something"
        );
    }
    // Refused by the command line parser: clap's whole message.
    let usage: &[(&[&str], &str)] = &[
        (&["--pid", "0"], "--pid"),
        (&[], "required"),
        (&["bad", "--nice", "40"], "--nice"),
    ];
    for (args, needle) in usage {
        let out = Command::new(BIN)
            .args(["enter", "-d", path_str(&pins)])
            .args(*args)
            .args(["--", "true"])
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&out.stderr);
        common::assert_usage_error(out.status.code().unwrap_or(-1), &err, needle);
        assert_eq!(
            t.snapshot(&["kernel.hostname"]),
            before,
            "{args:?} changed something"
        );
    }
}

#[test]
fn ctrl_c_on_a_terminal_reaches_the_command_and_pinns_survives_it() {
    let t = TestDir::new();
    t.pin("tty", &["-u"]);
    let pins = t.pins();
    // script(1) runs pinns on a new pseudo-terminal; the ^C byte written to
    // it makes the terminal driver send SIGINT to the foreground group.
    // script starts `$SHELL -c`; `exec` makes pinns replace that shell, which
    // would otherwise share the group and die of the ^C itself (dash does,
    // bash execs a lone command anyway), whatever SHELL the caller has.
    let inner = format!(
        "exec {BIN} enter -d {} tty -- sh -c 'trap \"echo got-INT; exit 42\" INT; echo ready; \
         i=0; while [ $i -lt 200 ]; do sleep 0.05; i=$((i+1)); done; echo no-signal'",
        path_str(&pins)
    );
    let mut script = Command::new("script")
        .args(["-q", "-e", "-c", &inner, "/dev/null"])
        .env("SHELL", "/bin/sh")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .expect("run script(1)");
    let mut stdin = script.stdin.take().unwrap();
    let mut lines = BufReader::new(script.stdout.take().unwrap()).lines();
    let first = lines.next().unwrap().unwrap();
    assert_eq!(first.trim(), "ready");
    std::io::Write::write_all(&mut stdin, b"\x03").unwrap();
    let rest: Vec<String> = lines.map_while(|l| l.ok()).collect();
    assert!(rest.iter().any(|l| l.contains("got-INT")), "{rest:?}");
    // 42 is the command's status: pinns outlived the ^C and passed it on.
    assert_eq!(script.wait().unwrap().code(), Some(42), "{rest:?}");
}

/// `--pid`: the process is held by a pidfd from before its namespace files
/// are opened; if it is gone by the time they are (here: killed and reaped
/// while strace holds pinns at its liveness check), its PID may already
/// name another process, so nothing is joined and nothing runs.
#[test]
fn a_pid_that_exits_between_lookup_and_join_is_refused() {
    let t = TestDir::new();
    let mut target = Command::new("sleep").arg("30").spawn().unwrap();
    let trace = t.path().join("strace.out");
    let traced = Command::new("strace")
        .arg("-o")
        .arg(&trace)
        .args(["-e", "trace=pidfd_send_signal"])
        .args(["-e", "inject=pidfd_send_signal:delay_enter=3000000"])
        .args([BIN, "enter", "--pid", &target.id().to_string()])
        .args(["--", "sh", "-c", "echo the command ran"])
        .env_remove("LD_LIBRARY_PATH")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run strace (scripts/deps.sh installs it)");
    // strace writes the call's first half when pinns enters it, then delays it.
    common::wait_for_call(&trace, "pidfd_send_signal(");
    target.kill().unwrap();
    target.wait().unwrap();
    let out = traced.wait_with_output().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!stdout.contains("the command ran"), "{stdout}");
    assert_one_line_error(
        out.status.code().unwrap_or(-1),
        &stderr,
        "exited while its namespaces were being opened",
    );
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
