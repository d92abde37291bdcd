//! CRI pod sandbox and container configs, as kubelet sends them and
//! `crictl runp`/`crictl create` read them (JSON of the CRI API).

use serde_json::{json, Value};

/// CRI's NamespaceMode.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    Pod = 0,
    Container = 1,
    Node = 2,
}

#[derive(Clone, Debug)]
pub struct Pod {
    pub name: String,
    pub hostname: Option<String>,
    pub sysctls: Vec<(String, String)>,
    pub network: Mode,
    pub ipc: Mode,
    pub pid: Mode,
    /// CRI `userns_options`, mode POD: container id 0 = host `first`, `len` ids.
    pub userns: Option<(u32, u32)>,
}

impl Pod {
    pub fn new(name: &str) -> Pod {
        Pod {
            name: name.into(),
            hostname: None,
            sysctls: Vec::new(),
            network: Mode::Pod,
            ipc: Mode::Pod,
            pid: Mode::Container,
            userns: None,
        }
    }

    pub fn hostname(mut self, h: &str) -> Pod {
        self.hostname = Some(h.into());
        self
    }

    pub fn sysctl(mut self, key: &str, value: &str) -> Pod {
        self.sysctls.push((key.into(), value.into()));
        self
    }

    pub fn host_network(mut self) -> Pod {
        self.network = Mode::Node;
        self
    }

    pub fn host_ipc(mut self) -> Pod {
        self.ipc = Mode::Node;
        self
    }

    pub fn userns(mut self, first_host_id: u32, len: u32) -> Pod {
        self.userns = Some((first_host_id, len));
        self
    }

    fn namespace_options(&self) -> Value {
        let mut opts = json!({
            "network": self.network as i32,
            "pid": self.pid as i32,
            "ipc": self.ipc as i32,
        });
        if let Some((host, len)) = self.userns {
            let map = json!([{"host_id": host, "container_id": 0, "length": len}]);
            opts["userns_options"] = json!({"mode": 0, "uids": map, "gids": map});
        }
        opts
    }

    /// The PodSandboxConfig, under `cgroup_parent`.
    pub fn json(&self, cgroup_parent: &str) -> Value {
        let sysctls: serde_json::Map<String, Value> = self
            .sysctls
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let mut pod = json!({
            "metadata": {"name": self.name, "namespace": "pinns-e2e",
                         "uid": format!("uid-{}", self.name), "attempt": 0},
            "linux": {
                "cgroup_parent": cgroup_parent,
                "sysctls": sysctls,
                "security_context": {"namespace_options": self.namespace_options()},
            },
        });
        if let Some(h) = &self.hostname {
            pod["hostname"] = json!(h);
        }
        pod
    }
}

/// A container of a pod, from the local busybox image.
#[derive(Clone, Debug)]
pub struct Ctr {
    pub name: String,
    pub command: Vec<String>,
}

impl Ctr {
    /// Sleeps until stopped (exits at once on SIGTERM).
    pub fn new(name: &str) -> Ctr {
        Ctr::with_command(
            name,
            &["/bin/sh", "-c", "trap 'exit 0' TERM; sleep 86400 & wait"],
        )
    }

    pub fn with_command(name: &str, cmd: &[&str]) -> Ctr {
        Ctr {
            name: name.into(),
            command: cmd.iter().map(|s| s.to_string()).collect(),
        }
    }

    /// The ContainerConfig; it shares the pod's namespaces as kubelet asks.
    pub fn json(&self, pod: &Pod) -> Value {
        json!({
            "metadata": {"name": self.name},
            "image": {"image": "localhost/busybox:latest"},
            "command": self.command,
            "linux": {"security_context": {"namespace_options": pod.namespace_options()}},
        })
    }
}
