//! Other programs a test runs, and waiting for what they do: tests are
//! threads of one process, so what changes process state or writes a
//! program to run happens in a child.

use std::os::unix::fs::MetadataExt;
use std::path::Path;
use std::process::{Child, Command, ExitStatus};

/// Polls `ready` every 20 ms until it holds; after `secs` seconds the test
/// fails, saying what it waited for.
pub fn wait_until(what: &str, secs: u64, mut ready: impl FnMut() -> bool) {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(secs);
    while !ready() {
        assert!(
            std::time::Instant::now() < deadline,
            "timed out after {secs} s: {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// Waits until strace has written `call` (`rt_sigtimedwait(`: the traced
/// process entered it) to its output file `trace`.
pub fn wait_for_call(trace: &Path, call: &str) {
    wait_until(&format!("{call}...) in {}", trace.display()), 20, || {
        std::fs::read_to_string(trace)
            .unwrap_or_default()
            .contains(call)
    });
}

/// Whether process `pid` is in the `kind` namespace whose inode is `inode`.
pub fn is_in_ns(pid: u32, kind: &str, inode: u64) -> bool {
    std::fs::metadata(format!("/proc/{pid}/ns/{kind}")).is_ok_and(|m| m.ino() == inode)
}

/// Sends SIGTERM to `child` (a sweep loop, a benchmark) and waits for it.
pub fn terminate(child: &mut Child) -> ExitStatus {
    let pid = nix::unistd::Pid::from_raw(child.id() as i32);
    nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM).expect("SIGTERM");
    child.wait().expect("wait")
}

/// Runs `cmd`, which must succeed, and returns what it printed.
pub fn stdout_ok(cmd: &mut Command) -> String {
    let out = cmd
        .output()
        .unwrap_or_else(|e| panic!("run {:?}: {e}", cmd.get_program()));
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Copies a program to `dest`, to be run from there, in a child process
/// (`cp`). Tests run as threads of one process: a file this process held
/// open for writing could be inherited by a child another test is forking
/// at that moment, and running `dest` would then fail with ETXTBSY.
pub fn copy_executable(src: &Path, dest: &Path) {
    stdout_ok(Command::new("cp").arg(src).arg(dest));
}
