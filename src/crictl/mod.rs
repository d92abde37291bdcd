//! Asking the container runtime through `crictl` (the CRI client every
//! Kubernetes node has): which pod sandboxes exist and which namespace files
//! they use.
//!
//! `crictl inspectp -o json` returns the runtime spec of a sandbox; its
//! `.info.runtimeSpec.linux.namespaces[]` lists the pod's namespaces. An entry
//! with a `path` is a namespace shared by the pod (CRI-O: a pin under its
//! `namespaces_dir`, `DIR/<type>ns/UUID`); an entry without one belongs to
//! the sandbox process, if there is one (`.info.pid`, the infra container of
//! containerd or of CRI-O with an infra container), and to nobody otherwise.
//!
//! Two users: `enter --pod` (the namespaces to join) and the sweep (which
//! pins, sandbox IDs, pod UIDs and container IDs the runtime knows). This
//! file runs crictl; [`parse`] reads what it prints, and serves both.

mod parse;

pub use parse::{Inventory, PodNamespaces, Sandbox};

use crate::error::{Error, Result};
use parse::{parse_ids, parse_inspectp_stream, pods_named};
use serde_json::Value;
use std::path::{Path, PathBuf};
use std::process::Command;

/// CRI-O's default CRI socket.
pub const CRIO_ENDPOINT: &str = "unix:///var/run/crio/crio.sock";

/// How to reach the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Runtime {
    /// The crictl binary (a name looked up in PATH, or a path).
    pub crictl: PathBuf,
    /// `--runtime-endpoint` for crictl; `None` leaves it to crictl's own
    /// configuration (`CONTAINER_RUNTIME_ENDPOINT`, `/etc/crictl.yaml`).
    pub endpoint: Option<String>,
}

impl Default for Runtime {
    fn default() -> Runtime {
        Runtime {
            crictl: PathBuf::from("crictl"),
            endpoint: None,
        }
    }
}

impl Runtime {
    /// The endpoint to use: the one given, else `CONTAINER_RUNTIME_ENDPOINT`
    /// or crictl's configuration file when either is there, else CRI-O's
    /// socket (crictl alone would try several runtimes' sockets in turn).
    pub fn with_endpoint(crictl: PathBuf, given: Option<String>) -> Runtime {
        let configured = std::env::var_os("CONTAINER_RUNTIME_ENDPOINT").is_some()
            || std::env::var_os("CRI_CONFIG_FILE").is_some_and(|f| Path::new(&f).exists())
            || Path::new("/etc/crictl.yaml").exists();
        let endpoint = match given {
            Some(e) => Some(e),
            None if configured => None,
            None => Some(CRIO_ENDPOINT.to_string()),
        };
        Runtime { crictl, endpoint }
    }

    fn describe(&self) -> String {
        match &self.endpoint {
            Some(e) => format!("{} at {e}", self.crictl.display()),
            None => self.crictl.display().to_string(),
        }
    }

    /// Runs crictl; the error says what failed in one line.
    fn run(&self, args: &[&str]) -> std::result::Result<String, Failure> {
        let mut cmd = Command::new(&self.crictl);
        if let Some(e) = &self.endpoint {
            cmd.args(["--runtime-endpoint", e]);
        }
        let what = format!("crictl {}", args.join(" "));
        let out = cmd.args(args).output().map_err(|e| {
            Failure::Other(if e.kind() == std::io::ErrorKind::NotFound {
                format!("{} is not installed (not found)", self.crictl.display())
            } else {
                format!("run {what}: {e}")
            })
        })?;
        if out.status.success() {
            return Ok(String::from_utf8_lossy(&out.stdout).into_owned());
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let why = last_line(&stderr);
        if why.contains("code = NotFound") {
            return Err(Failure::NotFound);
        }
        Err(Failure::Other(format!(
            "{what} failed ({}): {why}",
            out.status
        )))
    }

    /// `crictl inspectp -o json POD`, as `enter --pod` needs it. `crictl
    /// inspectp` resolves IDs (and unique ID prefixes) only, so a POD it
    /// does not find is looked up by its pod name in `crictl pods`.
    pub fn inspect_pod(&self, pod: &str) -> Result<Sandbox> {
        let json = match self.run(&["inspectp", "-o", "json", pod]) {
            Ok(json) => json,
            Err(Failure::NotFound) => {
                let id = self.pod_id_by_name(pod)?;
                self.run(&["inspectp", "-o", "json", &id])
                    .map_err(|f| Error::Refused(f.text(&format!("crictl inspectp {id}"))))?
            }
            Err(Failure::Other(why)) => return Err(Error::Refused(why)),
        };
        let doc: Value = serde_json::from_str(&json)
            .map_err(|e| Error::Refused(format!("crictl inspectp {pod:?}: not JSON ({e})")))?;
        Sandbox::from_inspectp(&doc)
            .map_err(|why| Error::Refused(format!("crictl inspectp {pod:?}: {why}")))
    }

    /// The ID of the one sandbox whose pod name is `name`.
    fn pod_id_by_name(&self, name: &str) -> Result<String> {
        let not_found = || {
            Error::Refused(format!(
                "the runtime could not find pod {name:?} (neither an ID nor a pod name)"
            ))
        };
        let json = match self.run(&["pods", "-o", "json"]) {
            Ok(json) => json,
            Err(Failure::NotFound) => return Err(not_found()),
            Err(f) => return Err(Error::Refused(f.text("crictl pods -o json"))),
        };
        let matches = pods_named(&json, name).map_err(Error::Refused)?;
        match matches.as_slice() {
            [one] => Ok(one.id.clone()),
            [] => Err(not_found()),
            many => Err(Error::Refused(format!(
                "{} pods are named {name:?} ({}): give the pod ID",
                many.len(),
                many.iter()
                    .map(|p| format!("{}/{} {}", p.namespace, name, short_id(&p.id)))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))),
        }
    }

    /// Everything the runtime says exists: every sandbox (ready or not) with
    /// its pins, and every container's ID. Any failure is an error: a sweep
    /// without this answer must not remove anything.
    pub fn inventory(&self) -> Result<Inventory> {
        let fail = |why: String| {
            Error::Refused(format!(
                "cannot ask the container runtime which pods exist ({}): {why}",
                self.describe()
            ))
        };
        let text = |args: &[&str]| {
            self.run(args).map_err(|f| match f {
                Failure::NotFound => fail(format!("crictl {}: not found", args.join(" "))),
                Failure::Other(why) => fail(why),
            })
        };
        let ids = parse_ids(&text(&["pods", "-q"])?);
        let mut sandboxes = Vec::new();
        // In batches, to bound the command line; a sandbox removed between
        // the two calls makes its batch fail, so the batch is then asked
        // one by one and the vanished one skipped.
        for batch in ids.chunks(64) {
            let mut args = vec!["inspectp", "-o", "json"];
            args.extend(batch.iter().map(String::as_str));
            match self.run(&args) {
                Ok(json) => sandboxes.extend(parse_inspectp_stream(&json).map_err(fail)?),
                Err(Failure::NotFound) => {
                    for id in batch {
                        match self.run(&["inspectp", "-o", "json", id]) {
                            Ok(json) => {
                                sandboxes.extend(parse_inspectp_stream(&json).map_err(fail)?)
                            }
                            Err(Failure::NotFound) => {}
                            Err(Failure::Other(why)) => return Err(fail(why)),
                        }
                    }
                }
                Err(Failure::Other(why)) => return Err(fail(why)),
            }
        }
        let containers = parse_ids(&text(&["ps", "-a", "-q"])?);
        Ok(Inventory {
            sandboxes,
            containers,
        })
    }
}

enum Failure {
    /// The runtime answered that the object does not exist.
    NotFound,
    Other(String),
}

impl Failure {
    /// One line for an error: `what` names the command that failed.
    fn text(self, what: &str) -> String {
        match self {
            Failure::NotFound => format!("{what}: the runtime answered NotFound"),
            Failure::Other(why) => why,
        }
    }
}

fn last_line(text: &str) -> &str {
    text.lines()
        .map(str::trim)
        .rfind(|l| !l.is_empty())
        .unwrap_or("")
}

fn short_id(id: &str) -> &str {
    id.get(..13).unwrap_or(id)
}

/// Runs `crictl inspectp -o json POD` and reads the namespaces to join.
pub fn resolve(pod: &str) -> Result<PodNamespaces> {
    let runtime = Runtime::default();
    let sandbox = runtime.inspect_pod(pod).map_err(|e| match e {
        Error::Refused(why) if why.ends_with("is not installed (not found)") => Error::Refused(
            "--pod needs crictl, which is not installed (not in PATH); \
give a pin name or --pid instead"
                .into(),
        ),
        e => e,
    })?;
    sandbox
        .joinable()
        .map_err(|why| Error::Refused(format!("crictl inspectp {pod:?}: {why}")))
}
