//! The JSON of `list`, `inspect` and `cleanup` (dry run and real) checked
//! against the schema as `docs/json.md` writes it: the tables there are
//! parsed, and every object printed must have exactly the documented fields
//! with the documented types. A field added to the output but not to the
//! document, or documented but not printed, fails here. Run as root.

use crate::common;

use common::{os, pinns_json, OldCgroup, TestDir};
use serde_json::Value;
use std::collections::BTreeMap;
use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// A type as `docs/json.md` writes it.
#[derive(Debug, Clone)]
enum Type {
    String,
    Integer,
    Number,
    Boolean,
    /// A string, with an optional `<field>_hex` string beside it.
    Text,
    /// An array of strings, with an optional `<field>_hex` array beside it.
    Texts,
    Enum(Vec<String>),
    Object(String),
    Array(Box<Type>),
    Nullable(Box<Type>),
}

struct Schema {
    enums: BTreeMap<String, Vec<String>>,
    /// Object name → (field, type text) in document order.
    objects: BTreeMap<String, Vec<(String, String)>>,
}

impl Schema {
    fn from_doc() -> Schema {
        let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/json.md");
        let doc = std::fs::read_to_string(&path).expect("read docs/json.md");
        let mut enums = BTreeMap::new();
        let mut objects: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
        let mut section = String::new();
        for line in doc.lines() {
            if let Some(h) = line.strip_prefix("### ") {
                section = h.trim().to_string();
                continue;
            }
            if let Some(h) = line.strip_prefix("## ") {
                section = h.trim().to_string();
                continue;
            }
            let cells: Vec<&str> = line.split('|').map(str::trim).collect();
            // | a | b | (c |) → ["", a, b, (c,) ""]
            if cells.len() < 4 || !line.starts_with('|') || cells[1].starts_with("---") {
                continue;
            }
            if section == "Enumerations" {
                if cells[1] != "name" {
                    let values = cells[2]
                        .split(',')
                        .map(|v| v.trim().trim_matches('`').to_string());
                    enums.insert(cells[1].to_string(), values.collect());
                }
            } else if cells[1].starts_with('`') {
                let field = cells[1].trim_matches('`').to_string();
                objects
                    .entry(section.clone())
                    .or_default()
                    .push((field, cells[2].to_string()));
            }
        }
        assert!(
            enums.contains_key("State"),
            "no enumerations in {}",
            path.display()
        );
        for doc in ["ListDoc", "InspectDoc", "CleanupDoc"] {
            assert!(
                objects.contains_key(doc),
                "{doc} missing from {}",
                path.display()
            );
        }
        Schema { enums, objects }
    }

    fn parse_type(&self, text: &str) -> Type {
        if let Some(inner) = text.strip_suffix(" or null") {
            return Type::Nullable(Box::new(self.parse_type(inner)));
        }
        if let Some(inner) = text.strip_prefix("array of ") {
            return Type::Array(Box::new(self.parse_type(inner)));
        }
        match text {
            "string" => Type::String,
            "integer" => Type::Integer,
            "number" => Type::Number,
            "boolean" => Type::Boolean,
            "text" => Type::Text,
            "texts" => Type::Texts,
            name if self.enums.contains_key(name) => Type::Enum(self.enums[name].clone()),
            name if self.objects.contains_key(name) => Type::Object(name.to_string()),
            other => panic!("docs/json.md: unknown type {other:?}"),
        }
    }

    /// Every mismatch between `v` and the object `name`, with its JSON path.
    fn check_object(&self, at: &str, name: &str, v: &Value, errors: &mut Vec<String>) {
        let Some(map) = v.as_object() else {
            return errors.push(format!("{at}: not an object ({name}): {v}"));
        };
        let fields = &self.objects[name];
        let mut allowed: Vec<String> = Vec::new();
        for (field, ty) in fields {
            let ty = self.parse_type(ty);
            allowed.push(field.clone());
            let here = format!("{at}.{field}");
            let Some(value) = map.get(field) else {
                errors.push(format!("{here}: missing"));
                continue;
            };
            self.check(&here, &ty, value, errors);
            let hex_field = format!("{field}_hex");
            let hex = map.get(&hex_field);
            match (&ty, hex) {
                (Type::Text | Type::Nullable(_), Some(h)) if is_text(&ty) => {
                    allowed.push(hex_field.clone());
                    if !h.as_str().is_some_and(is_hex) {
                        errors.push(format!("{at}.{hex_field}: not hex: {h}"));
                    }
                }
                (Type::Texts, Some(h)) => {
                    allowed.push(hex_field.clone());
                    let ok = h.as_array().is_some_and(|a| {
                        a.len() == value.as_array().map_or(0, Vec::len)
                            && a.iter().all(|x| x.as_str().is_some_and(is_hex))
                    });
                    if !ok {
                        errors.push(format!(
                            "{at}.{hex_field}: not a hex list like {field}: {h}"
                        ));
                    }
                }
                _ => {}
            }
        }
        for key in map.keys() {
            if !allowed.contains(key) {
                errors.push(format!("{at}.{key}: not in docs/json.md ({name})"));
            }
        }
    }

    fn check(&self, at: &str, ty: &Type, v: &Value, errors: &mut Vec<String>) {
        let ok = match ty {
            Type::Nullable(_) if v.is_null() => true,
            Type::Nullable(inner) => return self.check(at, inner, v, errors),
            Type::String | Type::Text => v.is_string(),
            Type::Integer => v.is_u64(),
            Type::Number => v.is_number(),
            Type::Boolean => v.is_boolean(),
            Type::Texts => v.as_array().is_some_and(|a| a.iter().all(Value::is_string)),
            Type::Enum(values) => v.as_str().is_some_and(|s| values.iter().any(|x| x == s)),
            Type::Object(name) => return self.check_object(at, name, v, errors),
            Type::Array(inner) => {
                let Some(items) = v.as_array() else {
                    return errors.push(format!("{at}: not an array: {v}"));
                };
                for (i, item) in items.iter().enumerate() {
                    self.check(&format!("{at}[{i}]"), inner, item, errors);
                }
                true
            }
        };
        if !ok {
            errors.push(format!("{at}: not {ty:?}: {v}"));
        }
    }

    fn assert_doc(&self, name: &str, v: &Value) {
        let mut errors = Vec::new();
        self.check_object("$", name, v, &mut errors);
        assert!(
            errors.is_empty(),
            "{name} does not match docs/json.md:\n{}\n{v:#}",
            errors.join("\n")
        );
    }
}

fn is_text(ty: &Type) -> bool {
    match ty {
        Type::Text => true,
        Type::Nullable(inner) => is_text(inner),
        _ => false,
    }
}

fn is_hex(s: &str) -> bool {
    s.len() % 2 == 0
        && s.bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
}

/// Runs pinns with arguments that may not be UTF-8; it must succeed.
/// Pods covering every shape: a pod with a process, a user-namespaced pod,
/// an old idle pod, a leftover file, a broken path; a leaked cgroup; and a
/// directory whose name is not UTF-8 holding a leftover file (no mount: a
/// mount point that is not UTF-8 would disturb every other test that reads
/// the mount table meanwhile).
struct World {
    t: TestDir,
    dir: PathBuf,
    odd_dir: PathBuf,
    sleeper: std::process::Child,
    cgroup: OldCgroup,
}

// CRI-O-shaped pin names (lowercase UUIDs): only those can be orphans.
const BUSY: &str = "a1000000-0000-4000-8000-000000000001";
const USERNS: &str = "a1000000-0000-4000-8000-000000000002";
const OLD: &str = "a1000000-0000-4000-8000-000000000003";
const CRASHED: &str = "a1000000-0000-4000-8000-000000000004";
const JUNK: &str = "a1000000-0000-4000-8000-000000000005";

impl World {
    fn new() -> World {
        let t = TestDir::new();
        let dir = t.pins();
        let odd_dir = t.path().join(OsStr::from_bytes(b"odd\xff"));
        std::fs::create_dir_all(odd_dir.join("netns")).unwrap();
        std::fs::write(odd_dir.join("netns/left"), "").unwrap();
        t.pin_pod(BUSY);
        t.pin(
            USERNS,
            &[
                "--user",
                "--uts",
                "--uid-mapping=0-100000-65536@",
                "--gid-mapping=0-100000-65536@",
            ],
        );
        t.old_pin(OLD, &["net", "ipc"]);
        std::fs::write(dir.join("netns").join(CRASHED), "").unwrap();
        std::fs::write(dir.join("ipcns").join(CRASHED), "").unwrap();
        std::fs::write(dir.join("ipcns").join(JUNK), "not ours").unwrap();
        // Another tool's namespace (`ip netns add vrf-blue`): foreign.
        t.pin("vrf-blue", &["--net"]);
        let sleeper = Command::new("nsenter")
            .arg(format!("--net={}", dir.join("netns").join(BUSY).display()))
            .args(["sleep", "600"])
            .process_group(0)
            .stdin(Stdio::null())
            .spawn()
            .unwrap();
        let pod_net = common::ns_inode(dir.join("netns").join(BUSY));
        common::wait_until("the sleeper to join the pod", 5, || {
            common::is_in_ns(sleeper.id(), "net", pod_net)
        });
        let cgroup = OldCgroup::new("schema", b"pod6a1b2c3d-4e5f-4a6b-8c7d-9e0f1a2b3c4d\xff");
        World {
            t,
            dir,
            odd_dir,
            sleeper,
            cgroup,
        }
    }

    fn dir(&self) -> &OsStr {
        self.dir.as_os_str()
    }
}

impl Drop for World {
    fn drop(&mut self) {
        let _ = self.sleeper.kill();
        let _ = self.sleeper.wait();
        let _ = &self.t;
    }
}

#[test]
#[serial_test::serial]
fn every_document_matches_docs_json() {
    let schema = Schema::from_doc();
    let w = World::new();
    let d = w.dir();
    let cg = w.cgroup.root.as_os_str();

    let list: Vec<&OsStr> = os(&["list", "--json", "--older-than", "1h", "--no-runtime", "-d"])
        .into_iter()
        .chain([d])
        .collect();
    let l = pinns_json(&list);
    schema.assert_doc("ListDoc", &l);
    // The shapes the test set out to cover were all printed.
    let states: Vec<&str> = l["pins"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["state"].as_str().unwrap())
        .collect();
    for state in ["in-use", "idle", "orphan", "broken", "foreign"] {
        assert!(states.contains(&state), "no {state} pin: {l:#}");
    }
    let odd_list = pinns_json(&[
        OsStr::new("list"),
        OsStr::new("--json"),
        OsStr::new("--no-runtime"),
        OsStr::new("-d"),
        w.odd_dir.as_os_str(),
    ]);
    schema.assert_doc("ListDoc", &odd_list);
    assert!(odd_list["dir_hex"].is_string(), "{odd_list:#}");
    assert!(
        odd_list["pins"][0]["namespaces"][0]["path_hex"].is_string(),
        "{odd_list:#}"
    );
    let busy = common::entry(&l, "pins", "name", BUSY);
    assert_eq!(busy["processes"][0]["pid"], w.sleeper.id());
    assert_eq!(busy["process_count"], 1);

    for name in [BUSY, USERNS] {
        let args: Vec<&OsStr> = os(&["inspect", "--json", name, "-d"])
            .into_iter()
            .chain([d])
            .collect();
        let i = pinns_json(&args);
        schema.assert_doc("InspectDoc", &i);
        if name == BUSY {
            assert!(i["interfaces"].is_array() && i["uts"].is_object(), "{i:#}");
            assert_eq!(
                i["processes"][0]["argv"],
                serde_json::json!(["sleep", "600"])
            );
        } else {
            assert!(i["user_maps"].is_object(), "{i:#}");
        }
    }

    let sweep = |extra: &[&str]| {
        let args: Vec<&OsStr> = os(&[
            "cleanup",
            "--json",
            "--orphans",
            "--older-than",
            "1h",
            "--no-runtime",
        ])
        .into_iter()
        .chain(os(extra))
        .chain([OsStr::new("--cgroups"), cg, OsStr::new("-d"), d])
        .collect();
        pinns_json(&args)
    };
    let dry = sweep(&["--dry-run"]);
    schema.assert_doc("CleanupDoc", &dry);
    let outcomes = |doc: &Value| -> Vec<(String, String)> {
        doc["items"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| {
                (
                    i["kind"].as_str().unwrap().into(),
                    i["outcome"].as_str().unwrap().into(),
                )
            })
            .collect()
    };
    assert!(
        outcomes(&dry).contains(&("cgroup".into(), "would-remove".into())),
        "{dry:#}"
    );
    assert!(
        outcomes(&dry).contains(&("pin".into(), "would-remove".into())),
        "{dry:#}"
    );
    assert_eq!(dry["dry_run"], true);

    let real = sweep(&[]);
    schema.assert_doc("CleanupDoc", &real);
    assert!(
        outcomes(&real).contains(&("cgroup".into(), "removed".into())),
        "{real:#}"
    );
    assert!(
        outcomes(&real).contains(&("pin".into(), "removed".into())),
        "{real:#}"
    );
    assert_eq!(real["summary"]["failed"], 0, "{real:#}");

    // -f NAME: items judged by nobody (state null), still the same shape.
    let named: Vec<&OsStr> = os(&["cleanup", "--json", "-f", BUSY, "-d"])
        .into_iter()
        .chain([d])
        .collect();
    let n = pinns_json(&named);
    schema.assert_doc("CleanupDoc", &n);
    assert!(n["items"][0]["state"].is_null(), "{n:#}");
}
