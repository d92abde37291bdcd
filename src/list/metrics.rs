//! What `list --metrics-file` counts (the format: `output::metrics`).

use super::{Listing, PathRow};
use crate::output::metrics::{pins_by_state, unix, Samples};
use std::time::SystemTime;

/// The textfile for a `list` run.
pub fn list_text(l: &Listing, now: SystemTime) -> String {
    let mut s = Samples::default();
    pins_by_state(&mut s, "list", l.pins.iter().map(|r| r.state));
    let rows = l.pins.iter().flat_map(|r| &r.namespaces);
    s.add(
        "pinns_foreign_entries",
        "command=\"list\"",
        foreign_entries(rows),
    );
    s.add(
        "pinns_last_run_timestamp_seconds",
        "command=\"list\"",
        unix(now),
    );
    s.render()
}

/// Pin paths holding something that is not ours (`broken`), for
/// `pinns_foreign_entries`.
pub(crate) fn foreign_entries<'a>(rows: impl Iterator<Item = &'a PathRow>) -> f64 {
    rows.filter(|row| row.problem.is_some()).count() as f64
}
