//! The instance as processes: starting CRI-O and waiting for its socket,
//! stopping it, and removing everything it and its pods leave (processes,
//! cgroups, mounts, CNI results, files).

use super::{walk_files, Crio};
use crate::common::mounts_under;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

impl Crio {
    pub(super) fn spawn(&mut self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.root.join("crio.log"))
            .expect("open crio log");
        let _ = std::fs::remove_file(self.socket());
        let mut cmd = Command::new(&self.tools.crio);
        cmd.arg("--config")
            .arg(self.root.join("crio.conf"))
            .arg("--config-dir")
            .arg(self.root.join("conf.d"))
            .envs(self.storage_env())
            .stdin(Stdio::null())
            .stdout(log.try_clone().expect("dup log"))
            .stderr(log);
        let child = cmd.spawn().expect("start crio");
        self.child = Some(child);
        self.wait_ready();
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = self.child.as_mut().unwrap().try_wait().expect("wait crio") {
                panic!(
                    "crio exited at start-up ({status})\n--- crio log (tail) ---\n{}",
                    self.log_tail(30)
                );
            }
            if self.socket().exists() && self.crictl(&["version"]).status.success() {
                return;
            }
            if Instant::now() > deadline {
                panic!(
                    "crio not ready after 60 s\n--- crio log (tail) ---\n{}",
                    self.log_tail(30)
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    pub(super) fn stop_crio(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = nix::unistd::Pid::from_raw(child.id() as i32);
        let _ = nix::sys::signal::kill(pid, nix::sys::signal::Signal::SIGTERM);
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait().ok().flatten().is_none() {
            if Instant::now() > deadline {
                let _ = child.kill();
                let _ = child.wait();
                break;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Everything Drop undoes, in order: pods, CRI-O, stray processes,
    /// cgroups, mounts, CNI results, files.
    pub(super) fn teardown(&mut self) {
        if self.child.is_some() {
            let _ = self.crictl(&["rmp", "-fa"]);
        }
        self.stop_crio();
        kill_ours(&self.root, &self.name);
        remove_cgroups(&self.name);
        for _ in 0..4 {
            for (path, _) in mounts_under(&self.root).into_iter().rev() {
                let _ = nix::mount::umount2(&path, nix::mount::MntFlags::MNT_DETACH);
            }
        }
        remove_cni_results(&self.name);
        let _ = std::fs::remove_dir_all(&self.root);
    }
}

/// Mount points of the cgroup hierarchies (v1 controllers and the v2
/// `unified` one) mounted at their root.
pub fn cgroup_mounts() -> Vec<PathBuf> {
    let text = std::fs::read_to_string("/proc/self/mountinfo").expect("read mountinfo");
    text.lines()
        .filter_map(|line| {
            let (head, tail) = line.split_once(" - ")?;
            let fields: Vec<&str> = head.split(' ').collect();
            let fstype = tail.split(' ').next()?;
            (matches!(fstype, "cgroup" | "cgroup2") && fields.get(3) == Some(&"/"))
                .then(|| PathBuf::from(fields[4]))
        })
        .collect()
}

/// The directories of cgroup parent `/name` that exist, in every hierarchy.
pub fn cgroup_dirs(name: &str) -> Vec<PathBuf> {
    cgroup_mounts()
        .into_iter()
        .map(|m| m.join(name))
        .filter(|d| d.is_dir())
        .collect()
}

/// Processes this instance left: those in its cgroup parent (containers,
/// conmon) and those naming its root on their command line (conmon, runc).
pub fn our_pids(root: &Path, name: &str) -> Vec<i32> {
    let mut pids = Vec::new();
    for dir in cgroup_dirs(name) {
        let mut files = Vec::new();
        walk_files(&dir, &mut files);
        for f in files.iter().filter(|f| f.ends_with("cgroup.procs")) {
            let text = std::fs::read_to_string(f).unwrap_or_default();
            pids.extend(text.lines().filter_map(|l| l.trim().parse::<i32>().ok()));
        }
    }
    let needle = root.as_os_str().as_encoded_bytes();
    let me = std::process::id() as i32;
    if let Ok(entries) = std::fs::read_dir("/proc") {
        for entry in entries.flatten() {
            let Some(pid) = entry
                .file_name()
                .to_str()
                .and_then(|s| s.parse::<i32>().ok())
            else {
                continue;
            };
            let cmdline = std::fs::read(entry.path().join("cmdline")).unwrap_or_default();
            if pid != me && cmdline.windows(needle.len()).any(|w| w == needle) {
                pids.push(pid);
            }
        }
    }
    pids.sort_unstable();
    pids.dedup();
    pids
}

fn kill_ours(root: &Path, name: &str) {
    for _ in 0..50 {
        let pids = our_pids(root, name);
        if pids.is_empty() {
            return;
        }
        for pid in pids {
            let _ = nix::sys::signal::kill(
                nix::unistd::Pid::from_raw(pid),
                nix::sys::signal::Signal::SIGKILL,
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

fn remove_cgroups(name: &str) {
    for dir in cgroup_dirs(name) {
        let mut dirs = Vec::new();
        walk_dirs(&dir, &mut dirs);
        dirs.push(dir);
        // Deepest first: a cgroup with children cannot be removed.
        dirs.sort_by_key(|d| std::cmp::Reverse(d.components().count()));
        for d in dirs {
            let _ = std::fs::remove_dir(&d);
        }
    }
}

fn walk_dirs(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        if entry.file_type().map(|t| t.is_dir()).unwrap_or(false) {
            out.push(entry.path());
            walk_dirs(&entry.path(), out);
        }
    }
}

/// The CNI library caches results in /var/lib/cni/results
/// (`NETWORK-CONTAINERID-IFNAME`); a killed CRI-O leaves them. Only files of
/// this instance's unique network are touched.
fn remove_cni_results(network: &str) {
    let prefix = format!("{network}-");
    if let Ok(entries) = std::fs::read_dir("/var/lib/cni/results") {
        for entry in entries.flatten() {
            if entry.file_name().to_string_lossy().starts_with(&prefix) {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
}
