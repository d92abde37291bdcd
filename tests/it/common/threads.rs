//! Pod processes that are alive only through a thread (see threads.c): a
//! leader that called `pthread_exit` while a SCHED_FIFO worker runs in the
//! pod's namespaces, and a thread that `setns`'d into the pod's network
//! namespace while its leader stays outside.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

/// Compiles threads.c into `dir` with gcc.
pub fn build(dir: &Path) -> PathBuf {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/it/common/threads.c");
    let bin = dir.join("threads");
    super::stdout_ok(
        Command::new("gcc")
            .args(["-O1", "-Wall", "-Werror", "-pthread", "-o"])
            .arg(&bin)
            .arg(&src),
    );
    bin
}

/// A running helper; its stdin closing ends it, and drop kills it anyway.
pub struct Threads {
    child: Child,
    pub tid: i32,
}

impl Threads {
    pub fn pid(&self) -> i32 {
        self.child.id() as i32
    }

    /// Starts `cmd` (the helper, possibly under nsenter, which execs it) and
    /// waits for its worker to say it is placed.
    pub fn start(mut cmd: Command) -> Threads {
        let mut child = cmd
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start the threads helper");
        let mut line = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut line)
            .unwrap();
        let Some(tid) = line.trim().strip_prefix("ready ") else {
            let out = child.wait_with_output().unwrap();
            panic!(
                "threads helper not ready ({}): {}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            );
        };
        Threads {
            tid: tid.parse().unwrap(),
            child,
        }
    }

    /// The thread-group leader is a zombie (it called pthread_exit) and has
    /// no namespaces of its own any more.
    pub fn leader_is_gone(&self) -> bool {
        let stat = std::fs::read_to_string(format!("/proc/{0}/task/{0}/stat", self.pid()))
            .unwrap_or_default();
        let state = stat.rsplit(") ").next().unwrap_or("").chars().next();
        state == Some('Z') && std::fs::read_link(format!("/proc/{}/ns/net", self.pid())).is_err()
    }
}

impl Drop for Threads {
    fn drop(&mut self) {
        drop(self.child.stdin.take());
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The helper in a pin's namespaces (net, ipc, uts), leader exiting at once.
pub fn exit_leader_in(bin: &Path, pins: &Path, name: &str, cpu: u32) -> Threads {
    let mut cmd = Command::new("nsenter");
    for kind in ["net", "ipc", "uts"] {
        cmd.arg(format!(
            "--{kind}={}",
            pins.join(format!("{kind}ns")).join(name).display()
        ));
    }
    cmd.arg(bin).args(["exit-leader", &cpu.to_string()]);
    let t = Threads::start(cmd);
    // pthread_exit of the leader happens right after it started the worker.
    for _ in 0..100 {
        if t.leader_is_gone() {
            return t;
        }
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    panic!("the leader of {} did not exit", t.pid());
}

/// The helper on the host; one thread joins the pin's network namespace.
pub fn setns_thread_into(bin: &Path, pins: &Path, name: &str, cpu: u32) -> Threads {
    let mut cmd = Command::new(bin);
    cmd.args(["setns-thread", &cpu.to_string()])
        .arg(pins.join("netns").join(name));
    Threads::start(cmd)
}
