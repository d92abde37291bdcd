//! The options that say which pins are orphans, shared by `cleanup` and
//! `list`.

use super::values::parse_duration;
use clap::Args;
use std::path::PathBuf;

/// Which pins are orphans: shared by `cleanup` and `list`.
#[derive(Debug, Args, Default, Clone)]
pub struct OrphanArgs {
    /// Only pins at least this old are orphans (30s, 10m, 10min, 1h30m, 2d)
    #[arg(long, value_name = "DURATION", default_value = "10m", value_parser = parse_duration)]
    pub older_than: std::time::Duration,

    /// Never treat this pin name, pod UID or container ID as an orphan (repeatable)
    #[arg(long = "keep", value_name = "NAME")]
    pub keep: Vec<String>,

    /// Keep every name in FILE (one per line; blank lines and # comments ignored)
    #[arg(long = "keep-file", value_name = "FILE")]
    pub keep_files: Vec<PathBuf>,

    /// The node runs no CRI runtime: sweep without asking one (otherwise the runtime is
    /// asked which sandboxes exist, and a sweep that cannot ask it removes nothing)
    #[arg(long, conflicts_with_all = ["runtime_endpoint", "keep_from_crictl"])]
    pub no_runtime: bool,

    /// CRI endpoint crictl asks [default: $CONTAINER_RUNTIME_ENDPOINT or crictl's config
    /// when set, else unix:///var/run/crio/crio.sock]
    #[arg(long, value_name = "URL")]
    pub runtime_endpoint: Option<String>,

    /// The crictl binary that asks the runtime
    #[arg(long, value_name = "PATH", default_value = "crictl")]
    pub crictl: PathBuf,

    /// Accepted for compatibility: asking the runtime is now the default
    #[arg(long, hide = true)]
    pub keep_from_crictl: bool,
}
