//! Sets of names a sweep must never remove: the keep set (pin names, pod
//! UIDs and container/sandbox IDs from `--keep` and `--keep-file`) and what
//! the runtime knows (see `crictl::Inventory`). A source that fails aborts
//! the sweep: sweeping without the live pods' names would remove them.

use crate::classify::{canonical_id, not_crio_pin, PinFacts, RuntimeSays};
use crate::crictl::Runtime;
use crate::error::{Error, PathContext, Result};
use crate::name::PinName;
use crate::pindir::inventory::Pin;
use crate::procs::NsIndex;
use std::collections::BTreeSet;
use std::time::SystemTime;

#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct KeepSet {
    ids: BTreeSet<String>,
}

impl KeepSet {
    pub fn insert(&mut self, id: &str) {
        let id = id.trim();
        if !id.is_empty() {
            self.ids.insert(id.to_string());
            self.ids.insert(canonical_id(id));
        }
    }

    pub fn keeps_pin(&self, name: &PinName) -> bool {
        self.ids.contains(name.as_str()) || self.ids.contains(&canonical_id(name.as_str()))
    }

    /// Whether any of the IDs found in a cgroup name is kept.
    pub fn keeps_any(&self, ids: &BTreeSet<String>) -> bool {
        ids.iter().any(|id| self.ids.contains(id))
    }
}

/// Where the keep set comes from.
#[derive(Debug, Clone, Default)]
pub struct KeepSources<'a> {
    pub names: &'a [String],
    pub files: &'a [std::path::PathBuf],
}

pub fn build(sources: &KeepSources<'_>) -> Result<KeepSet> {
    let mut set = KeepSet::default();
    for name in sources.names {
        set.insert(name);
    }
    for file in sources.files {
        let text = std::fs::read_to_string(file).at("read keep file", file)?;
        for id in parse_keep_file(&text) {
            set.insert(id);
        }
    }
    Ok(set)
}

impl<S: AsRef<str>> FromIterator<S> for KeepSet {
    fn from_iter<I: IntoIterator<Item = S>>(iter: I) -> KeepSet {
        let mut set = KeepSet::default();
        for id in iter {
            set.insert(id.as_ref());
        }
        set
    }
}

/// Where the runtime's knowledge comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RuntimeSource {
    /// Ask the CRI runtime through crictl (the default).
    Ask(Runtime),
    /// `--no-runtime`: the node runs no CRI runtime, so no pod is known.
    NoRuntime,
}

/// What the runtime knows, for one sweep or listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Knowledge {
    /// Names of every live sandbox's pins, sandbox IDs, pod UIDs, containers.
    Asked(KeepSet),
    NoRuntime,
    /// The runtime could not be asked (why): nothing is an orphan.
    NotAsked(String),
}

impl RuntimeSource {
    /// Asks; an error means the runtime could not be asked, and the caller
    /// must not remove anything.
    pub fn ask(&self) -> Result<Knowledge> {
        self.inventory().map_err(|e| {
            Error::Refused(format!(
                "{e}; nothing was removed (give --no-runtime if this node runs no CRI runtime)"
            ))
        })
    }

    /// Asks, turning a failure into [`Knowledge::NotAsked`] (for `list`,
    /// which removes nothing and still shows what it can).
    pub fn ask_softly(&self) -> Knowledge {
        self.inventory().unwrap_or_else(|e| {
            Knowledge::NotAsked(format!(
                "{e}; so no pin is shown as an orphan (give --no-runtime if this node runs no CRI runtime)"
            ))
        })
    }

    fn inventory(&self) -> Result<Knowledge> {
        match self {
            RuntimeSource::NoRuntime => Ok(Knowledge::NoRuntime),
            RuntimeSource::Ask(rt) => Ok(Knowledge::Asked(
                rt.inventory()?.names().into_iter().collect(),
            )),
        }
    }
}

/// Everything that protects a pin or a cgroup from a sweep, besides the
/// processes living in it and its age.
#[derive(Debug, Clone)]
pub struct Guard {
    pub keep: KeepSet,
    pub runtime: Knowledge,
}

impl Guard {
    pub fn runtime_says(&self, name: &PinName) -> RuntimeSays {
        match &self.runtime {
            Knowledge::Asked(known) if known.keeps_pin(name) => RuntimeSays::Known,
            Knowledge::Asked(_) | Knowledge::NoRuntime => RuntimeSays::Unknown,
            Knowledge::NotAsked(_) => RuntimeSays::NotAsked,
        }
    }

    /// The facts [`crate::classify::classify_pin`] decides on.
    pub fn facts(&self, pin: &Pin, index: &NsIndex, now: SystemTime) -> PinFacts {
        let kinds: Vec<_> = pin.kinds().collect();
        PinFacts {
            runtime: self.runtime_says(&pin.name),
            foreign: not_crio_pin(pin.name.as_str(), &kinds),
            ..pin.facts(index, self.keep.keeps_pin(&pin.name), now)
        }
    }

    /// Why a cgroup carrying these IDs is kept, if it is.
    pub fn keeps_cgroup(&self, ids: &BTreeSet<String>) -> Option<&'static str> {
        if self.keep.keeps_any(ids) {
            return Some("in the keep set");
        }
        match &self.runtime {
            Knowledge::Asked(known) if known.keeps_any(ids) => Some("known to the runtime"),
            Knowledge::NotAsked(_) => Some("the runtime could not be asked"),
            _ => None,
        }
    }
}

/// One name per line; blank lines and `#` comments are skipped.
pub fn parse_keep_file(text: &str) -> impl Iterator<Item = &str> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keep_file_skips_blanks_and_comments() {
        let ids: Vec<_> = parse_keep_file("a\n\n  # note\n b \n#c\n").collect();
        assert_eq!(ids, vec!["a", "b"]);
    }

    #[test]
    fn keeps_names_and_canonical_ids() {
        let mut set = KeepSet::default();
        set.insert("8C3F2B1E_4D5A_4F6B_9C7D_0E1F2A3B4C5D");
        set.insert("  ");
        set.insert("pod-a");
        assert!(set.keeps_pin(&PinName::parse("pod-a").unwrap()));
        assert!(!set.keeps_pin(&PinName::parse("pod-b").unwrap()));
        let ids = crate::classify::ids_in_cgroup_name(
            "kubepods-pod8c3f2b1e_4d5a_4f6b_9c7d_0e1f2a3b4c5d.slice",
        );
        assert!(set.keeps_any(&ids));
        assert!(set.keeps_pin(&PinName::parse("8c3f2b1e-4d5a-4f6b-9c7d-0e1f2a3b4c5d").unwrap()));
    }
}
