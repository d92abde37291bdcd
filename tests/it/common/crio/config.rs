//! The instance's files: crio.conf and its drop-ins, storage, registries,
//! policy, CNI and crictl configuration, all under its root.

use super::{image, on_path, Crio, Options};
use std::path::{Path, PathBuf};

impl Crio {
    /// For crio and skopeo: private storage and registries configuration,
    /// and a private TMPDIR (containers/image stages blobs in /var/tmp).
    pub(super) fn storage_env(&self) -> Vec<(&'static str, PathBuf)> {
        vec![
            ("TMPDIR", self.root.join("tmp")),
            ("CONTAINERS_STORAGE_CONF", self.root.join("storage.conf")),
            (
                "CONTAINERS_REGISTRIES_CONF",
                self.root.join("registries.conf"),
            ),
        ]
    }

    pub(super) fn write_config(&self, pinns: &Path, options: &Options) {
        let r = self.root.display().to_string();
        for dir in [
            "storage", "runroot", "pod-logs", "ns", "run", "lib", "hooks", "keys", "cdi",
            "policies", "auth", "cni", "runc", "nri", "conf.d", "cfg", "tmp",
        ] {
            std::fs::create_dir_all(self.root.join(dir)).expect("mkdir");
        }
        let runc = on_path("runc")
            .or_else(|| Some(PathBuf::from("/usr/sbin/runc")).filter(|p| p.is_file()))
            .expect("runc not installed (CRI-O runs pods with it)");
        let conmon = on_path("conmon")
            .or_else(|| Some(PathBuf::from("/usr/bin/conmon")).filter(|p| p.is_file()))
            .expect("conmon not installed");
        assert!(
            Path::new("/usr/lib/cni/loopback").is_file(),
            "/usr/lib/cni/loopback missing (containernetworking-plugins)"
        );
        let sysctls = options
            .default_sysctls
            .iter()
            .map(|s| toml_str(s))
            .collect::<Vec<_>>()
            .join(", ");
        let conf = format!(
            r#"[crio]
root = "{r}/storage"
runroot = "{r}/runroot"
storage_driver = "vfs"
log_dir = "{r}/pod-logs"
version_file = "{r}/run/version"
version_file_persist = "{r}/lib/version"
clean_shutdown_file = "{r}/lib/clean.shutdown"
big_files_temporary_dir = "{r}/tmp"

[crio.api]
listen = "{r}/crio.sock"
stream_address = "127.0.0.1"
stream_port = "0"

[crio.runtime]
log_level = "debug"
default_runtime = "runc"
cgroup_manager = "cgroupfs"
pinns_path = {pinns}
namespaces_dir = "{r}/ns"
drop_infra_ctr = {drop}
container_exits_dir = "{r}/run/exits"
container_attach_socket_dir = "{r}/run/attach"
hooks_dir = ["{r}/hooks"]
decryption_keys_path = "{r}/keys"
irqbalance_config_file = "{r}/irqbalance"
irqbalance_config_restore_file = "disable"
cdi_spec_dirs = ["{r}/cdi"]
minimum_mappable_uid = 100000
minimum_mappable_gid = 100000
default_sysctls = [{sysctls}]

[crio.runtime.runtimes.runc]
runtime_path = "{runc}"
runtime_type = "oci"
runtime_root = "{r}/runc"
monitor_path = "{conmon}"
monitor_cgroup = "pod"
allowed_annotations = ["io.kubernetes.cri-o.userns-mode"]

[crio.runtime.runtimes.crun]
runtime_path = "{r}/no-crun"

[crio.image]
pause_image = "localhost/pause:latest"
pause_command = "{pause}"
signature_policy = "{r}/policy.json"
signature_policy_dir = "{r}/policies"
namespaced_auth_dir = "{r}/auth"

[crio.network]
network_dir = "{r}/cni"
plugin_dirs = ["/usr/lib/cni"]

[crio.nri]
enable_nri = false
nri_listen = "{r}/nri/nri.sock"
nri_plugin_dir = "{r}/nri"
nri_plugin_config_dir = "{r}/nri"

[crio.metrics]
enable_metrics = false
"#,
            pinns = toml_str(&pinns.display().to_string()),
            drop = options.drop_infra_ctr,
            runc = runc.display(),
            conmon = conmon.display(),
            pause = image::PAUSE_COMMAND,
        );
        write(&self.root.join("crio.conf"), &conf);
        write(
            &self.root.join("storage.conf"),
            &format!(
                "[storage]\ndriver = \"vfs\"\ngraphroot = \"{r}/storage\"\nrunroot = \"{r}/runroot\"\n"
            ),
        );
        write(
            &self.root.join("registries.conf"),
            "unqualified-search-registries = []\n",
        );
        write(
            &self.root.join("policy.json"),
            r#"{"default":[{"type":"insecureAcceptAnything"}]}"#,
        );
        write(
            &self.root.join("cni/10-loopback.conflist"),
            &format!(
                r#"{{"cniVersion":"0.4.0","name":"{}","plugins":[{{"type":"loopback"}}]}}"#,
                self.name
            ),
        );
        write(
            &self.root.join("crictl.yaml"),
            &format!(
                "runtime-endpoint: unix://{r}/crio.sock\nimage-endpoint: unix://{r}/crio.sock\ntimeout: 60\n"
            ),
        );
    }
}

fn write(path: &Path, text: &str) {
    std::fs::write(path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
}

/// A TOML basic string.
fn toml_str(s: &str) -> String {
    serde_json::to_string(s).expect("string")
}
