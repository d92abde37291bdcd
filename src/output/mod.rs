//! What pinns prints: JSON documents (`json`), stderr lines (`log`),
//! node_exporter textfiles (`metrics`). Human text is produced by
//! each command's `text()`, with pod- and filesystem-controlled text shown
//! through `crate::escape`.

pub mod json;
pub mod log;
pub mod metrics;
