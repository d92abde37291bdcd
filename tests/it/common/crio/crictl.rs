//! Talking to the instance: crictl calls, pods and containers, its
//! namespaces_dir and log.

use super::{walk_files, Crio, Ctr, Pod};
use crate::common::mounts_under;
use std::path::PathBuf;
use std::process::{Command, Output, Stdio};

impl Crio {
    /// The environment under which a program finds this instance's crictl on
    /// `PATH` and talks to this CRI-O: what `pinns enter --pod` and
    /// `cleanup --keep-from-crictl` need.
    pub fn crictl_env(&self) -> Vec<(String, String)> {
        let dir = self
            .tools
            .crictl
            .parent()
            .expect("crictl dir")
            .to_path_buf();
        let mut path = vec![dir];
        if let Some(old) = std::env::var_os("PATH") {
            path.extend(std::env::split_paths(&old));
        }
        vec![
            (
                "PATH".into(),
                std::env::join_paths(path)
                    .expect("join PATH")
                    .to_string_lossy()
                    .into_owned(),
            ),
            (
                "CONTAINER_RUNTIME_ENDPOINT".into(),
                format!("unix://{}", self.socket().display()),
            ),
            (
                "CRI_CONFIG_FILE".into(),
                self.root.join("crictl.yaml").display().to_string(),
            ),
        ]
    }

    /// Runs crictl against this instance.
    pub fn crictl(&self, args: &[&str]) -> Output {
        Command::new(&self.tools.crictl)
            .arg("--runtime-endpoint")
            .arg(format!("unix://{}", self.socket().display()))
            .args(args)
            .env("CRI_CONFIG_FILE", self.root.join("crictl.yaml"))
            .stdin(Stdio::null())
            .output()
            .expect("run crictl")
    }

    /// Runs crictl, which must succeed; its stdout, trimmed.
    pub fn crictl_ok(&self, args: &[&str]) -> String {
        let out = self.crictl(args);
        if !out.status.success() {
            panic!(
                "crictl {} failed ({}): {}\n--- crio log (tail) ---\n{}",
                args.join(" "),
                out.status,
                String::from_utf8_lossy(&out.stderr).trim(),
                self.log_tail(40)
            );
        }
        String::from_utf8_lossy(&out.stdout).trim().to_string()
    }

    /// Writes a CRI config as JSON into the root; its path.
    pub fn write_json(&self, file: &str, value: &serde_json::Value) -> PathBuf {
        let path = self.root.join("cfg").join(file);
        std::fs::create_dir_all(path.parent().unwrap()).expect("mkdir cfg");
        std::fs::write(&path, serde_json::to_vec_pretty(value).unwrap()).expect("write cfg");
        path
    }

    /// `crictl runp` of the pod (under this instance's cgroup parent); the
    /// sandbox ID.
    pub fn runp(&self, pod: &Pod) -> String {
        let path = self.pod_file(pod);
        self.crictl_ok(&["runp", path.to_str().unwrap()])
    }

    /// `crictl runp` that may fail: its whole output.
    pub fn try_runp(&self, pod: &Pod) -> Output {
        let path = self.pod_file(pod);
        self.crictl(&["runp", path.to_str().unwrap()])
    }

    fn pod_file(&self, pod: &Pod) -> PathBuf {
        self.write_json(
            &format!("pod-{}.json", pod.name),
            &pod.json(&self.cgroup_parent()),
        )
    }

    /// `crictl create` + `crictl start` of a container in the pod, as kubelet
    /// does; the container ID.
    pub fn start_ctr(&self, pod_id: &str, pod: &Pod, ctr: &Ctr) -> String {
        let pod_path = self.pod_file(pod);
        let ctr_path = self.write_json(&format!("ctr-{}.json", ctr.name), &ctr.json(pod));
        let id = self.crictl_ok(&[
            "create",
            "--no-pull",
            pod_id,
            ctr_path.to_str().unwrap(),
            pod_path.to_str().unwrap(),
        ]);
        self.crictl_ok(&["start", &id]);
        id
    }

    /// `crictl exec` in a running container; its stdout, trimmed.
    pub fn exec(&self, ctr_id: &str, cmd: &[&str]) -> String {
        let mut args = vec!["exec", ctr_id];
        args.extend_from_slice(cmd);
        self.crictl_ok(&args)
    }

    /// `crictl stopp` + `crictl rmp`.
    pub fn remove_pod(&self, pod_id: &str) {
        self.crictl_ok(&["stopp", pod_id]);
        self.crictl_ok(&["rmp", pod_id]);
    }

    /// `crictl inspectp -o json`.
    pub fn inspectp(&self, pod_id: &str) -> serde_json::Value {
        serde_json::from_str(&self.crictl_ok(&["inspectp", "-o", "json", pod_id]))
            .expect("inspectp JSON")
    }

    /// The path CRI-O gave the OCI runtime for a namespace of the pod
    /// (`network`, `ipc`, `uts`, `user`), from `inspectp`'s runtime spec.
    pub fn pod_ns_path(&self, pod_id: &str, oci_type: &str) -> Option<PathBuf> {
        let json = self.inspectp(pod_id);
        json.pointer("/info/runtimeSpec/linux/namespaces")?
            .as_array()?
            .iter()
            .find(|ns| ns["type"] == oci_type)?
            .get("path")?
            .as_str()
            .map(PathBuf::from)
    }

    /// Sandbox IDs CRI-O knows (`crictl pods -q`).
    pub fn pod_ids(&self) -> Vec<String> {
        self.crictl_ok(&["pods", "-q"])
            .lines()
            .map(str::to_string)
            .collect()
    }

    /// Every path below namespaces_dir that is not a directory, and every
    /// mount at or below it.
    pub fn ns_dir_contents(&self) -> (Vec<PathBuf>, Vec<PathBuf>) {
        let mut files = Vec::new();
        walk_files(&self.ns_dir(), &mut files);
        let mounts = mounts_under(&self.ns_dir())
            .into_iter()
            .map(|(p, _)| p)
            .collect();
        (files, mounts)
    }

    /// CRI-O's own log (debug level: every pinns call and failure).
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.root.join("crio.log")).unwrap_or_default()
    }

    /// CRI-O's log lines about pinns (each call's argv, each failure).
    pub fn pinns_calls(&self) -> Vec<String> {
        self.log()
            .lines()
            .filter(|l| l.contains("Calling pinns") || l.contains("Pinns ["))
            .map(str::to_string)
            .collect()
    }

    pub fn log_tail(&self, lines: usize) -> String {
        let log = self.log();
        let all: Vec<&str> = log.lines().collect();
        all[all.len().saturating_sub(lines)..].join("\n")
    }
}
