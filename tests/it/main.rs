//! The integration tests: one binary, one shared test environment (`common`).

mod common;

mod argv_props;
mod bad_input;
mod bench_smoke;
mod capabilities;
mod cleanup;
mod cli;
mod crio_bench;
mod crio_config_examples;
mod crio_e2e;
mod enter;
mod fast_path;
mod faults;
mod generated;
mod json_schema;
mod kubernetes_manifest;
mod limits;
mod list;
mod metrics;
mod output;
mod pin;
mod pindir;
mod races;
mod runc;
mod scale;
mod strict;
mod sweep_crio;
mod sysctls;
mod systemd_units;
