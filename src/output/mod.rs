//! What pinns prints: the blocks of its JSON documents (`json`; each
//! command builds its own document from them), stderr lines (`log`),
//! node_exporter textfiles (`metrics`). Human text is produced by
//! each command's `text()`, with pod- and filesystem-controlled text shown
//! through `crate::escape`.

pub mod json;
pub mod log;
pub mod metrics;
