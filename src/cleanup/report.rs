//! What a sweep reports: one item per pin or cgroup looked at, the counts,
//! and the human text of it (`output::json` and `output::metrics` give the
//! other forms).

use crate::classify::PinState;
use crate::escape::{self, Text};
use serde::Serialize;
use std::path::PathBuf;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Outcome {
    Removed,
    WouldRemove,
    Kept,
    Failed,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemKind {
    Pin,
    Cgroup,
}

/// One pin name or one cgroup directory the sweep looked at.
#[derive(Debug, Clone, Serialize)]
pub struct Item {
    pub kind: ItemKind,
    /// Pin name, or the cgroup's path (as the filesystem has it).
    pub name: Text,
    pub outcome: Outcome,
    pub reason: String,
    /// How the sweep judged it; `None` for `-f NAME` (removed whatever it is).
    pub state: Option<PinState>,
    pub age_seconds: Option<u64>,
    /// Processes found in the pod's own namespaces (pins only).
    pub pids: Vec<i32>,
    /// What each path of the pin held (pins only).
    pub namespaces: Vec<crate::list::PathRow>,
    /// An orphan the sweep looked at again before removing and then did not
    /// remove (part of it broken, or changed meanwhile).
    pub left_alone: bool,
}

impl Item {
    /// Kept for a reason the sweep cannot resolve on a later round.
    fn needs_an_operator(&self) -> bool {
        self.left_alone || matches!(self.state, Some(PinState::Broken | PinState::Foreign))
    }

    /// Records the state the item was judged to be in, and the processes seen.
    pub(super) fn judged(self, state: PinState, pids: Vec<i32>) -> Item {
        Item {
            state: Some(state),
            pids,
            ..self
        }
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub found: usize,
    pub removed: usize,
    pub would_remove: usize,
    pub kept: usize,
    pub failed: usize,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Report {
    /// The pin directory swept, if any.
    pub dir: Option<PathBuf>,
    pub dry_run: bool,
    pub items: Vec<Item>,
    /// Plain statements, such as "nothing to remove for NAME".
    pub notes: Vec<String>,
    pub warnings: Vec<String>,
    pub summary: Summary,
}

impl Report {
    pub(super) fn push(&mut self, item: Item) {
        match item.outcome {
            Outcome::Removed => self.summary.removed += 1,
            Outcome::WouldRemove => self.summary.would_remove += 1,
            Outcome::Kept => self.summary.kept += 1,
            Outcome::Failed => self.summary.failed += 1,
        }
        self.summary.found += 1;
        self.items.push(item);
    }

    pub fn any_failed(&self) -> bool {
        self.summary.failed > 0
    }

    /// The human form: one line per removal, failure or broken pin, then the
    /// summary line. Pins and cgroups kept because they are alive are only
    /// counted (a node has thousands).
    pub fn text(&self) -> String {
        let mut out = String::new();
        for w in &self.warnings {
            out.push_str(&format!("warning: {}\n", escape::one_line(w)));
        }
        for n in &self.notes {
            out.push_str(&format!("{}\n", escape::one_line(n)));
        }
        for item in &self.items {
            let verb = match item.outcome {
                Outcome::Removed => "removed",
                Outcome::WouldRemove => "would remove",
                Outcome::Failed => "failed",
                // Reported, since the sweep will not remove them by itself:
                // things not ours, and orphans it left alone.
                Outcome::Kept if item.needs_an_operator() => "kept",
                Outcome::Kept => continue,
            };
            let kind = match item.kind {
                ItemKind::Pin => "pin",
                ItemKind::Cgroup => "cgroup",
            };
            let types = if item.namespaces.is_empty() {
                String::new()
            } else {
                let kinds: Vec<&str> = item.namespaces.iter().map(|n| n.kind.as_str()).collect();
                format!(" ({})", kinds.join(","))
            };
            // The name is escaped by `Text`; reasons may quote paths.
            out.push_str(&format!(
                "{verb} {kind} {}{types}: {}\n",
                item.name,
                escape::one_line(&item.reason)
            ));
        }
        out.push_str(&self.summary_line());
        out.push('\n');
        out
    }

    pub fn summary_line(&self) -> String {
        let s = &self.summary;
        if self.dry_run {
            format!(
                "cleanup (dry run): found {}, would remove {}, kept {}, failed {}",
                s.found, s.would_remove, s.kept, s.failed
            )
        } else {
            format!(
                "cleanup: found {}, removed {}, kept {}, failed {}",
                s.found, s.removed, s.kept, s.failed
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn item(outcome: Outcome, reason: &str) -> Item {
        // The state a sweep gives such a reason.
        let state = match reason.split(':').next() {
            Some("broken") => Some(PinState::Broken),
            Some("foreign") => Some(PinState::Foreign),
            Some("in use") => Some(PinState::InUse),
            _ => None,
        };
        Item {
            kind: ItemKind::Pin,
            name: "p".into(),
            outcome,
            reason: reason.into(),
            state,
            age_seconds: None,
            pids: Vec::new(),
            namespaces: vec![crate::list::PathRow {
                kind: "net".into(),
                content: "namespace",
                inode: Some(1),
                host: false,
                problem: None,
            }],
            left_alone: false,
        }
    }

    #[test]
    fn summary_counts_every_outcome() {
        let mut r = Report::default();
        r.push(item(Outcome::Removed, "orphan"));
        r.push(item(Outcome::Kept, "in use: 1 process(es)"));
        r.push(item(Outcome::Kept, "broken: x"));
        r.push(item(Outcome::Failed, "EPERM"));
        r.push(item(Outcome::Kept, "foreign: not ours"));
        assert_eq!(
            r.summary,
            Summary {
                found: 5,
                removed: 1,
                would_remove: 0,
                kept: 3,
                failed: 1
            }
        );
        assert!(r.any_failed());
        let text = r.text();
        assert!(text.contains("removed pin p (net): orphan"), "{text}");
        assert!(text.contains("kept pin p (net): broken: x"), "{text}");
        assert!(
            text.contains("kept pin p (net): foreign: not ours"),
            "{text}"
        );
        assert!(!text.contains("in use"), "{text}");
        assert_eq!(
            text.lines().last(),
            Some("cleanup: found 5, removed 1, kept 3, failed 1")
        );
    }

    #[test]
    fn kept_items_are_shown_by_state_not_by_their_words() {
        let mut r = Report::default();
        let mut left = item(Outcome::Kept, "p changed during the sweep; left alone");
        left.state = Some(PinState::Orphan);
        left.left_alone = true;
        r.push(left);
        // Words that look like a broken pin do not make an idle one shown.
        let mut idle = item(Outcome::Kept, "broken-looking words");
        idle.state = Some(PinState::Idle);
        r.push(idle);
        let text = r.text();
        assert!(
            text.contains("kept pin p (net): p changed during the sweep; left alone"),
            "{text}"
        );
        assert!(!text.contains("broken-looking"), "{text}");
    }

    #[test]
    fn dry_run_summary_says_so() {
        let mut r = Report {
            dry_run: true,
            ..Report::default()
        };
        r.push(item(Outcome::WouldRemove, "orphan"));
        assert_eq!(
            r.summary_line(),
            "cleanup (dry run): found 1, would remove 1, kept 0, failed 0"
        );
        assert!(!r.any_failed());
    }
}
