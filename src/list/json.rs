//! `pinns list --json`, made of the blocks in [`crate::output::json`].

use super::{Listing, PathRow};
use crate::classify::PinState;
use crate::ns::NsKind;
use crate::output::json::{path_text, pids, Namespace, Process, SCHEMA};
use serde::Serialize;
use std::path::Path;

/// One pin in `list`.
#[derive(Debug, Serialize)]
pub struct Pin {
    pub name: String,
    pub state: PinState,
    /// What the container runtime said of the name.
    pub runtime: crate::classify::RuntimeSays,
    /// Why it is not a pin CRI-O made (state `foreign`).
    pub foreign: Option<&'static str>,
    pub age_seconds: Option<u64>,
    pub process_count: usize,
    pub processes: Vec<Process>,
    pub namespaces: Vec<Namespace>,
}

/// `pinns list --json`.
#[derive(Debug, Serialize)]
pub struct ListDoc {
    pub schema: &'static str,
    pub command: &'static str,
    pub dir: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dir_hex: Option<String>,
    pub pins: Vec<Pin>,
    pub warnings: Vec<String>,
}

pub fn list_doc(l: &Listing) -> ListDoc {
    let dir = l.dir.as_path();
    let (dir_text, dir_hex) = path_text(dir);
    ListDoc {
        schema: SCHEMA,
        command: "list",
        dir: dir_text,
        dir_hex,
        pins: l
            .pins
            .iter()
            .map(|r| Pin {
                name: r.name.clone(),
                state: r.state,
                runtime: r.runtime,
                foreign: r.foreign,
                age_seconds: r.age_seconds,
                process_count: r.processes,
                processes: pids(&r.pids),
                namespaces: namespaces(Some(dir), &r.name, &r.namespaces),
            })
            .collect(),
        warnings: l.warnings.clone(),
    }
}

/// The namespaces of a pin named `name` under `dir`, as `list` and
/// `cleanup` saw them (`cleanup::json` shares it).
pub fn namespaces(dir: Option<&Path>, name: &str, rows: &[PathRow]) -> Vec<Namespace> {
    rows.iter()
        .filter_map(|r| {
            let kind = NsKind::from_proc_name(&r.kind)?;
            let path = dir.map_or_else(
                || Path::new(&kind.dir_name()).join(name),
                |d| d.join(kind.dir_name()).join(name),
            );
            Some(Namespace {
                inode: r.inode,
                host: r.host,
                problem: r.problem,
                ..Namespace::new(kind, &path, r.content)
            })
        })
        .collect()
}
