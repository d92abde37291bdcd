//! What `list --metrics-file` counts (the format: `output::metrics`).

use super::Listing;
use crate::output::metrics::{pins_by_state, unix, Samples};
use std::time::SystemTime;

/// The textfile for a `list` run.
pub fn list_text(l: &Listing, now: SystemTime) -> String {
    let mut s = Samples::default();
    pins_by_state(&mut s, "list", l.pins.iter().map(|r| r.state));
    let foreign = l
        .pins
        .iter()
        .flat_map(|r| &r.namespaces)
        .filter(|n| n.content == "broken")
        .count();
    s.add("pinns_foreign_entries", "command=\"list\"", foreign as f64);
    s.add(
        "pinns_last_run_timestamp_seconds",
        "command=\"list\"",
        unix(now),
    );
    s.render()
}
