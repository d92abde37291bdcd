//! What crictl prints, read: `crictl pods -o json` (pods by name), `-q`
//! (IDs one per line) and `crictl inspectp -o json` (a sandbox's UID,
//! process and namespace files). Pure: tested on captured CRI-O output.

use crate::ns::NsKind;
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::PathBuf;

/// A sandbox of `crictl pods -o json` that carries a given pod name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NamedPod {
    pub id: String,
    pub namespace: String,
}

/// The sandboxes of `crictl pods -o json` whose `metadata.name` is `name`
/// exactly (crictl's own `--name` filter is a pattern, not a name).
pub fn pods_named(json: &str, name: &str) -> std::result::Result<Vec<NamedPod>, String> {
    let doc: Value = serde_json::from_str(json)
        .map_err(|e| format!("crictl pods -o json: output is not JSON ({e})"))?;
    let items = doc
        .get("items")
        .and_then(Value::as_array)
        .ok_or("crictl pods -o json: no \"items\" list in the output")?;
    let text = |v: &Value, ptr: &str| v.pointer(ptr).and_then(Value::as_str).map(str::to_string);
    Ok(items
        .iter()
        .filter(|p| text(p, "/metadata/name").as_deref() == Some(name))
        .filter_map(|p| {
            Some(NamedPod {
                id: text(p, "/id")?,
                namespace: text(p, "/metadata/namespace").unwrap_or_default(),
            })
        })
        .collect())
}

/// One ID per line (`crictl pods -q`, `crictl ps -a -q`).
pub fn parse_ids(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_string)
        .collect()
}

/// What the runtime knows.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Inventory {
    pub sandboxes: Vec<Sandbox>,
    pub containers: Vec<String>,
}

impl Inventory {
    /// Every name a pin or a cgroup of a live pod may carry: pin file names,
    /// sandbox IDs, pod UIDs, container IDs.
    pub fn names(&self) -> BTreeSet<String> {
        let mut names: BTreeSet<String> = self.containers.iter().cloned().collect();
        for sb in &self.sandboxes {
            names.insert(sb.id.clone());
            names.extend(sb.uid.clone());
            names.extend(sb.pin_names());
        }
        names
    }
}

/// One sandbox as `crictl inspectp -o json` describes it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Sandbox {
    pub id: String,
    /// The pod's UID (`.status.metadata.uid`).
    pub uid: Option<String>,
    /// The sandbox process (`.info.pid`), absent for CRI-O without infra.
    pub pid: Option<i32>,
    /// Each namespace of the runtime spec and its path, if it has one.
    pub namespaces: Vec<(NsKind, Option<PathBuf>)>,
}

impl Sandbox {
    pub fn from_inspectp(doc: &Value) -> std::result::Result<Sandbox, String> {
        let id = doc
            .pointer("/status/id")
            .and_then(Value::as_str)
            .ok_or("no .status.id in the output")?
            .to_string();
        let uid = doc
            .pointer("/status/metadata/uid")
            .and_then(Value::as_str)
            .map(str::to_string);
        let info = doc
            .get("info")
            .ok_or("no \"info\" in the output (is the runtime's verbose info disabled?)")?;
        let entries = info
            .pointer("/runtimeSpec/linux/namespaces")
            .and_then(Value::as_array)
            .ok_or("no .info.runtimeSpec.linux.namespaces in the output")?;
        let pid = info
            .get("pid")
            .and_then(Value::as_u64)
            .filter(|p| *p > 0 && *p <= i32::MAX as u64)
            .map(|p| p as i32);
        let mut namespaces = Vec::new();
        for entry in entries {
            let oci_type = entry
                .get("type")
                .and_then(Value::as_str)
                .ok_or("a namespace entry has no \"type\"")?;
            // Namespace kinds we neither pin nor join (time) are skipped.
            let Some(kind) = NsKind::from_oci_name(oci_type) else {
                continue;
            };
            let path = entry
                .get("path")
                .and_then(Value::as_str)
                .filter(|p| !p.is_empty())
                .map(PathBuf::from);
            namespaces.push((kind, path));
        }
        Ok(Sandbox {
            id,
            uid,
            pid,
            namespaces,
        })
    }

    /// The file names of the namespace paths: CRI-O's pin names.
    pub fn pin_names(&self) -> impl Iterator<Item = String> + '_ {
        self.namespaces
            .iter()
            .filter_map(|(_, p)| Some(p.as_ref()?.file_name()?.to_string_lossy().into_owned()))
    }

    /// The namespace files `enter --pod` joins: each path, or the sandbox
    /// process's namespace for an entry without one.
    pub fn joinable(&self) -> std::result::Result<PodNamespaces, String> {
        let found: PodNamespaces = self
            .namespaces
            .iter()
            .filter_map(|(kind, path)| match (path, self.pid) {
                (Some(path), _) => Some((*kind, path.clone())),
                (None, Some(pid)) => Some((*kind, format!("/proc/{pid}/ns/{kind}").into())),
                (None, None) => None,
            })
            .collect();
        if found.is_empty() {
            return Err("the pod has no namespace path and no sandbox process to join".into());
        }
        Ok(found)
    }
}

/// Namespace files of a pod, in no particular order.
pub type PodNamespaces = Vec<(NsKind, PathBuf)>;

/// Parses `crictl inspectp -o json ID...`: one JSON object per sandbox,
/// one after the other (or an array of them).
pub fn parse_inspectp_stream(json: &str) -> std::result::Result<Vec<Sandbox>, String> {
    let mut out = Vec::new();
    for doc in serde_json::Deserializer::from_str(json).into_iter::<Value>() {
        let doc = doc.map_err(|e| format!("crictl inspectp: output is not JSON ({e})"))?;
        let docs = match doc {
            Value::Array(items) => items,
            one => vec![one],
        };
        for d in &docs {
            out.push(Sandbox::from_inspectp(d).map_err(|why| format!("crictl inspectp: {why}"))?);
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// A captured fixture (tests/fixtures/README.md says where from).
    fn fixture(version: &str, file: &str) -> String {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(format!("crio-{version}"))
            .join(file);
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
    }

    fn one(json: &str) -> Sandbox {
        let mut all = parse_inspectp_stream(json).unwrap();
        assert_eq!(all.len(), 1);
        all.remove(0)
    }

    #[test]
    fn reads_the_pins_of_real_crio_sandboxes() {
        // (version, pod, pin UUID, has a user namespace)
        for (version, pod, uuid, user) in [
            (
                "1.36",
                "plain",
                "47989609-ad0a-4377-93b6-6619d5c81755",
                false,
            ),
            (
                "1.36",
                "userns",
                "dd353ac9-f1da-48b5-a14e-6b5fe3827332",
                true,
            ),
            (
                "1.36",
                "hostnet",
                "97a7ef96-b3a1-417f-a11e-9b2cbf861b82",
                false,
            ),
            (
                "1.36",
                "exited",
                "1e468e64-d50a-455e-a6e6-e8646994d46f",
                false,
            ),
            (
                "1.26",
                "userns",
                "305dd062-adb2-4344-b7b4-f9c5c6bd83aa",
                true,
            ),
            (
                "1.26",
                "hostnet",
                "b8891ddb-8ac4-436e-beb5-91857528bc8d",
                false,
            ),
        ] {
            let sb = one(&fixture(
                version,
                &format!("crictl-inspectp-{pod}-pod.json"),
            ));
            let names: BTreeSet<String> = sb.pin_names().collect();
            assert_eq!(names, BTreeSet::from([uuid.to_string()]), "{version} {pod}");
            let pinned: Vec<NsKind> = sb
                .namespaces
                .iter()
                .filter(|(_, p)| p.is_some())
                .map(|(k, _)| *k)
                .collect();
            let mut want = vec![NsKind::Net, NsKind::Ipc, NsKind::Uts];
            if user {
                want.push(NsKind::User);
            }
            assert_eq!(pinned, want, "{version} {pod}");
            // Spoofed sandboxes (no infra container): no process.
            assert_eq!(sb.pid, None, "{version} {pod}");
            assert_eq!(sb.uid.as_deref(), Some(&*format!("uid-fx-{pod}")));
            assert_eq!(sb.id.len(), 64);
            let joinable = sb.joinable().unwrap();
            assert!(joinable.contains(&(NsKind::Net, format!("/var/run/netns/{uuid}").into())));
        }
    }

    #[test]
    fn pods_are_found_by_their_exact_name_only() {
        let json = fixture("1.36", "crictl-pods.json");
        let found = pods_named(&json, "fx-plain").unwrap();
        assert_eq!(found.len(), 1, "{found:?}");
        assert_eq!(found[0].namespace, "harness");
        assert_eq!(found[0].id.len(), 64);
        // crictl's --name is a pattern: a prefix or a regex must not match.
        assert!(pods_named(&json, "fx-").unwrap().is_empty());
        assert!(pods_named(&json, "fx-.*").unwrap().is_empty());
        assert!(pods_named("{}", "fx-plain").is_err());
    }

    #[test]
    fn pods_q_and_a_stream_of_inspectp_objects() {
        for version in ["1.36", "1.26"] {
            let pods: Value = serde_json::from_str(&fixture(version, "crictl-pods.json")).unwrap();
            let ids: Vec<String> = pods["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|p| p["id"].as_str().unwrap().to_string())
                .collect();
            assert_eq!(ids.len(), 5);
            assert_eq!(parse_ids(&format!("{}\n\n", ids.join("\n"))), ids);
        }
        let stream: String = ["plain", "userns", "hostnet"]
            .iter()
            .map(|p| fixture("1.36", &format!("crictl-inspectp-{p}-pod.json")))
            .collect::<Vec<_>>()
            .join("\n");
        let all = parse_inspectp_stream(&stream).unwrap();
        assert_eq!(all.len(), 3);
        let inventory = Inventory {
            sandboxes: all.clone(),
            containers: vec!["c1".into()],
        };
        let names = inventory.names();
        for sb in &all {
            assert!(names.contains(&sb.id));
            assert!(names.contains(sb.uid.as_ref().unwrap()));
        }
        assert!(names.contains("dd353ac9-f1da-48b5-a14e-6b5fe3827332"));
        assert!(names.contains("c1"));
        // An array of objects reads the same.
        let array = format!(
            "[{},{}]",
            fixture("1.36", "crictl-inspectp-plain-pod.json"),
            fixture("1.36", "crictl-inspectp-userns-pod.json")
        );
        assert_eq!(parse_inspectp_stream(&array).unwrap(), all[..2].to_vec());
        assert!(parse_inspectp_stream("").unwrap().is_empty());
    }

    #[test]
    fn a_captured_crio_pod_is_joined_through_its_pins() {
        let ns = one(&fixture("1.36", "crictl-inspectp-plain-pod.json"))
            .joinable()
            .unwrap();
        let uuid = "47989609-ad0a-4377-93b6-6619d5c81755";
        assert_eq!(
            ns,
            vec![
                (NsKind::Net, format!("/var/run/netns/{uuid}").into()),
                (NsKind::Ipc, format!("/var/run/ipcns/{uuid}").into()),
                (NsKind::Uts, format!("/var/run/utsns/{uuid}").into()),
            ]
        );
    }

    #[test]
    fn pathless_namespaces_belong_to_the_sandbox_process() {
        let json = r#"{"status":{"id":"x"},"info":{"pid":4242,"runtimeSpec":{"linux":{
            "namespaces":[{"type":"pid"},{"type":"network","path":"/var/run/netns/cni-1"},
            {"type":"mount"},{"type":"time"}]}}}}"#;
        let sb = one(json);
        assert_eq!(sb.pin_names().collect::<Vec<_>>(), vec!["cni-1"]);
        assert_eq!(
            sb.joinable().unwrap(),
            vec![
                (NsKind::Pid, "/proc/4242/ns/pid".into()),
                (NsKind::Net, "/var/run/netns/cni-1".into()),
                (NsKind::Mnt, "/proc/4242/ns/mnt".into()),
            ]
        );
    }

    #[test]
    fn refuses_output_it_cannot_use() {
        for (json, needle) in [
            ("not json", "not JSON"),
            (r#"{"status":{}}"#, "no .status.id"),
            (r#"{"status":{"id":"a"}}"#, "no \"info\""),
            (
                r#"{"status":{"id":"a"},"info":{"runtimeSpec":{}}}"#,
                "namespaces",
            ),
            (
                r#"{"status":{"id":"a"},"info":{"runtimeSpec":{"linux":{"namespaces":[{"path":"/x"}]}}}}"#,
                "no \"type\"",
            ),
        ] {
            let err = parse_inspectp_stream(json).unwrap_err();
            assert!(err.contains(needle), "{json}: {err}");
        }
        let json = r#"{"status":{"id":"a"},"info":{"pid":0,"runtimeSpec":{"linux":{"namespaces":[{"type":"pid"}]}}}}"#;
        let err = one(json).joinable().unwrap_err();
        assert!(err.contains("no namespace path"), "{err}");
    }

    proptest! {
        #[test]
        fn never_panics(s in any::<String>()) {
            let _ = parse_inspectp_stream(&s);
            let _ = parse_ids(&s);
        }
    }
}
