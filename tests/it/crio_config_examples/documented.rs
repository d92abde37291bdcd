//! What crio.conf(5) documents, as data: the keys of each table.

/// Keys crio.conf(5) documents, per table (facts from CRI-O's documentation,
/// kept as data). `runtimes` and `workloads` hold one sub-table per handler
/// or workload name, whose keys are in the `*` entries.
const DOCUMENTED: &[(&str, &[&str])] = &[
    (
        "crio",
        &[
            "root",
            "runroot",
            "storage_driver",
            "storage_option",
            "log_dir",
            "version_file",
            "version_file_persist",
            "imagestore",
            "internal_wipe",
            "internal_repair",
            "clean_shutdown_file",
        ],
    ),
    (
        "crio.api",
        &[
            "listen",
            "stream_address",
            "stream_port",
            "stream_enable_tls",
            "stream_idle_timeout",
            "stream_tls_cert",
            "stream_tls_key",
            "stream_tls_ca",
            "grpc_max_send_msg_size",
            "grpc_max_recv_msg_size",
        ],
    ),
    (
        "crio.runtime",
        &[
            "default_runtime",
            "default_ulimits",
            "no_pivot",
            "decryption_keys_path",
            "conmon",
            "conmon_cgroup",
            "conmon_env",
            "default_env",
            "selinux",
            "seccomp_profile",
            "seccomp_use_default_when_empty",
            "apparmor_profile",
            "blockio_config_file",
            "blockio_reload",
            "cdi_spec_dirs",
            "irqbalance_config_file",
            "irqbalance_config_restore_file",
            "rdt_config_file",
            "cgroup_manager",
            "default_capabilities",
            "add_inheritable_capabilities",
            "default_sysctls",
            "allowed_devices",
            "additional_devices",
            "hooks_dir",
            "default_mounts",
            "default_mounts_file",
            "pids_limit",
            "log_filter",
            "log_level",
            "log_size_max",
            "log_to_journald",
            "container_exits_dir",
            "container_attach_socket_dir",
            "bind_mount_prefix",
            "read_only",
            "uid_mappings",
            "minimum_mappable_uid",
            "gid_mappings",
            "minimum_mappable_gid",
            "ctr_stop_timeout",
            "drop_infra_ctr",
            "infra_ctr_cpuset",
            "shared_cpuset",
            "namespaces_dir",
            "pinns_path",
            "absent_mount_sources_to_reject",
            "device_ownership_from_security_context",
            "enable_criu_support",
            "enable_pod_events",
            "hostnetwork_disable_selinux",
            "disable_hostport_mapping",
        ],
    ),
    // Containers of one sub-table per runtime handler or workload name.
    ("crio.runtime.runtimes", &[]),
    ("crio.runtime.workloads", &[]),
    (
        "crio.runtime.runtimes.*",
        &[
            "runtime_path",
            "runtime_root",
            "runtime_type",
            "runtime_config_path",
            "privileged_without_host_devices",
            "allowed_annotations",
            "platform_runtime_paths",
        ],
    ),
    (
        "crio.runtime.workloads.*",
        &[
            "activation_annotation",
            "annotation_prefix",
            "allowed_annotations",
            "resources",
        ],
    ),
    (
        "crio.runtime.workloads.*.resources",
        &["cpushares", "cpuset"],
    ),
    (
        "crio.image",
        &[
            "default_transport",
            "global_auth_file",
            "pause_image",
            "pause_image_auth_file",
            "pause_command",
            "pinned_images",
            "signature_policy",
            "signature_policy_dir",
            "image_volumes",
            "insecure_registries",
            "registries",
            "big_files_temporary_dir",
            "separate_pull_cgroup",
        ],
    ),
    (
        "crio.network",
        &["cni_default_network", "network_dir", "plugin_dirs"],
    ),
    (
        "crio.metrics",
        &[
            "enable_metrics",
            "metrics_collectors",
            "metrics_port",
            "metrics_socket",
            "metrics_cert",
            "metrics_key",
        ],
    ),
    (
        "crio.tracing",
        &[
            "enable_tracing",
            "tracing_endpoint",
            "tracing_sampling_rate_per_million",
        ],
    ),
    ("crio.stats", &["stats_collection_period"]),
    (
        "crio.nri",
        &[
            "enable_nri",
            "nri_plugin_dir",
            "nri_plugin_config_dir",
            "nri_listen",
            "nri_disable_connections",
            "nri_plugin_registration_timeout",
            "nri_plugin_request_timeout",
        ],
    ),
];

/// The documented table a concrete table path falls under:
/// `crio.runtime.runtimes.kata` is `crio.runtime.runtimes.*`.
pub(super) fn documented_keys(table: &str) -> Option<&'static [&'static str]> {
    let parts: Vec<&str> = table.split('.').collect();
    DOCUMENTED.iter().find_map(|(pattern, keys)| {
        let pat: Vec<&str> = pattern.split('.').collect();
        let matches =
            pat.len() == parts.len() && pat.iter().zip(&parts).all(|(p, t)| *p == "*" || p == t);
        matches.then_some(*keys)
    })
}
