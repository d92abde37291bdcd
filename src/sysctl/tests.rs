use super::*;
use proptest::prelude::*;

fn ns(spec: &str) -> NsKind {
    Sysctl::parse(spec).unwrap().namespace()
}

fn err(spec: &str) -> SysctlError {
    Sysctl::parse(spec).unwrap_err()
}

#[test]
fn classifies_namespaced_keys() {
    assert_eq!(ns("net.ipv4.ip_forward=1"), NsKind::Net);
    assert_eq!(ns("net.ipv4.ip_local_port_range=1024 65000"), NsKind::Net);
    assert_eq!(ns("kernel.shm_rmid_forced=1"), NsKind::Ipc);
    assert_eq!(ns("kernel.sem=250 32000 32 128"), NsKind::Ipc);
    assert_eq!(ns("kernel.shm_next_id=1"), NsKind::Ipc);
    assert_eq!(ns("kernel.msg_next_id=1"), NsKind::Ipc);
    assert_eq!(ns("fs.mqueue.msg_max=20"), NsKind::Ipc);
    assert_eq!(ns("kernel.hostname=pod-a"), NsKind::Uts);
    assert_eq!(ns("kernel/domainname=example"), NsKind::Uts);
}

#[test]
fn refuses_host_wide_keys() {
    for spec in [
        "vm.swappiness=33",
        "kernel.pid_max=4096",
        "fs.file-max=1",
        "net.netfilter.nf_hooks_lwtunnel=1",
        "net.core.rmem_max=1000000",
        "net.ipv4.tcp_mem=1 2 3",
        "net.ipv4.neigh.default.gc_thresh3=4096",
        "fs.mqueue=1",
        "kernel.hostname.x=1",
    ] {
        assert!(
            matches!(err(spec), SysctlError::NotNamespaced(_)),
            "{spec}: {}",
            err(spec)
        );
    }
    assert!(matches!(err("net=1"), SysctlError::BadKey(..)));
    assert_eq!(
        err("net.netfilter.nf_hooks_lwtunnel=1").to_string(),
        "sysctl net.netfilter.nf_hooks_lwtunnel is not namespaced: setting it would change the host"
    );
    assert!(matches!(
        err("net.ipv4.tcp_available_congestion_control=reno"),
        SysctlError::ReadOnly(_)
    ));
    assert!(matches!(
        err("net.ipv4.conf.eth0.forwarding=1"),
        SysctlError::NoSuchInterface { interface, .. } if interface == "eth0"
    ));
    assert_eq!(ns("net/ipv4/conf/lo/forwarding=1"), NsKind::Net);
}

#[test]
fn slash_form_keeps_dots_in_components() {
    let s = Sysctl::parse("net/ipv4/conf/all.x/forwarding=1");
    assert!(matches!(s, Err(SysctlError::NoSuchInterface { .. })));
    let s = Sysctl::parse("net/ipv4/neigh/lo/retrans_time_ms=100").unwrap();
    assert_eq!(
        s.target(),
        Target::File(PathBuf::from("net/ipv4/neigh/lo/retrans_time_ms"))
    );
    let d = Sysctl::parse("net.ipv4.ip_forward=1").unwrap();
    assert_eq!(
        d.target(),
        Target::File(PathBuf::from("net/ipv4/ip_forward"))
    );
    assert_eq!(d, Sysctl::parse("net/ipv4/ip_forward=1").unwrap());
    assert_eq!(
        Sysctl::parse("kernel.hostname=h").unwrap().target(),
        Target::Hostname
    );
}

#[test]
fn values_keep_the_kernels_separators() {
    let s = Sysctl::parse("net.ipv4.ip_local_port_range=20000\t40000").unwrap();
    assert_eq!(s.value(), "20000\t40000");
    let s = Sysctl::parse("net.ipv4.ip_local_port_range = 20000  \t 40000 \t").unwrap();
    assert_eq!(s.value(), "20000  \t 40000");
    let s = Sysctl::parse("kernel.sem=250\x0b32000\r32\x0c128").unwrap();
    assert_eq!(s.value(), "250\x0b32000\r32\x0c128");
    let s = Sysctl::parse("kernel.domainname=a=b").unwrap();
    assert_eq!(s.value(), "a=b");
}

#[test]
fn refuses_what_cannot_be_a_value() {
    assert!(matches!(
        err("net.ipv4.ip_forward=1\n2"),
        SysctlError::BadValue(_, "a newline")
    ));
    assert!(matches!(
        err("net.ipv4.ip_forward=1\x002"),
        SysctlError::BadValue(_, "a NUL byte")
    ));
    assert!(matches!(
        err("net.ipv4.ip_forward=1\x1b[2J"),
        SysctlError::BadValue(_, "a control character")
    ));
    // Blanks only: nothing is left.
    assert!(matches!(
        err("net.ipv4.ip_forward= \t "),
        SysctlError::EmptyValue(_)
    ));
    let longest = format!("net.ipv4.tcp_congestion_control={}", "x".repeat(VALUE_MAX));
    assert!(Sysctl::parse(&longest).is_ok());
    let longer = format!(
        "net.ipv4.tcp_congestion_control={}",
        "x".repeat(VALUE_MAX + 1)
    );
    assert!(matches!(err(&longer), SysctlError::ValueTooLong(..)));
}

#[test]
fn refuses_malformed_specs() {
    assert!(matches!(
        err("net.ipv4.ip_forward"),
        SysctlError::NoEquals(_)
    ));
    assert!(matches!(err("=1"), SysctlError::EmptyKey(_)));
    assert!(matches!(
        err("net.ipv4.ip_forward="),
        SysctlError::EmptyValue(_)
    ));
    assert!(matches!(err("net..ip_forward=1"), SysctlError::BadKey(..)));
    assert!(matches!(err("net/../../etc=1"), SysctlError::BadKey(..)));
    assert!(matches!(
        err(&format!("kernel.hostname={}", "h".repeat(65))),
        SysctlError::ValueTooLong(..)
    ));
}

#[test]
fn repeats_are_merged_and_conflicts_refused() {
    let v = parse_all(&["net.ipv4.ip_forward=1", "net/ipv4/ip_forward=1"]).unwrap();
    assert_eq!(v.len(), 1);
    assert!(matches!(
        parse_all(&["net.ipv4.ip_forward=1", "net.ipv4.ip_forward=0"]),
        Err(SysctlError::Conflict(_))
    ));
}

#[test]
fn many_distinct_keys_are_judged_one_by_one() {
    let mut specs: Vec<String> = (0..70_000)
        .map(|i| format!("net.ipv4.conf.lo.x{i}=1"))
        .collect();
    assert_eq!(parse_all(&specs).unwrap().len(), 70_000);
    specs.push("net.ipv4.conf.lo.x69999=2".into());
    assert_eq!(
        parse_all(&specs).unwrap_err(),
        SysctlError::Conflict("net.ipv4.conf.lo.x69999".into())
    );
    specs.pop();
    specs.push("vm.swappiness=1".into());
    assert!(matches!(
        parse_all(&specs),
        Err(SysctlError::NotNamespaced(_))
    ));
}

#[test]
fn crio_1_20_quoted_list_is_split() {
    let v = parse_all(&["'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'"]).unwrap();
    let keys: Vec<String> = v.iter().map(Sysctl::to_string).collect();
    assert_eq!(keys, ["net.ipv4.ip_forward=1", "kernel.shm_rmid_forced=1"]);
    let v = parse_all(&["'net.ipv4.ip_local_port_range=20000 40000'"]).unwrap();
    assert_eq!(v[0].value(), "20000 40000");
    assert_eq!(
        parse_all(&["'net.ipv4.ip_forward=1'", "net.ipv4.ip_forward=1"])
            .unwrap()
            .len(),
        1
    );
}

#[test]
fn only_the_exact_quoted_form_is_accepted() {
    for arg in [
        "'",
        "''",
        "'net.ipv4.ip_forward=1",
        "'net.ipv4.ip_forward=1'+",
        "'net.ipv4.ip_forward=1'+'",
        "'net.ipv4.ip_forward=1'+''",
        "'net.ipv4.ip_forward=1'++'kernel.shm_rmid_forced=1'",
        "'net.ipv4.ip_forward=1' + 'kernel.shm_rmid_forced=1'",
        "'net.ipv4.ip_forward=1'+kernel.shm_rmid_forced=1",
        "'net.ipv4.ip_forward=1+1'",
        "'kernel.domainname=it's'",
    ] {
        assert!(
            matches!(parse_all(&[arg]), Err(SysctlError::BadQuotedList(_))),
            "{arg:?}: {:?}",
            parse_all(&[arg])
        );
    }
    // Quotes elsewhere are part of an ordinary value, judged by the kernel.
    assert!(parse_all(&["net.ipv4.ip_forward='1'+'2'"]).is_ok());
}

fn gids(map: &str) -> IdMap {
    IdMap::parse("gid", map).unwrap()
}

fn fit(specs: &[&str], map: &str) -> Result<Vec<String>, SysctlError> {
    let mut v = parse_all(specs).unwrap();
    fit_to_user_namespace(&mut v, &gids(map))?;
    Ok(v.iter().map(Sysctl::to_string).collect())
}

#[test]
fn every_group_is_narrowed_to_the_mapping() {
    assert_eq!(
        fit(
            &["net.ipv4.ping_group_range=0 2147483647"],
            "0-100000-65536@"
        )
        .unwrap(),
        ["net.ipv4.ping_group_range=0 65535"]
    );
    assert_eq!(
        fit(
            &["net.ipv4.ping_group_range=0\t\t2147483647"],
            "0-1000-1@1-100000-65535@"
        )
        .unwrap(),
        ["net.ipv4.ping_group_range=0 65535"]
    );
    // The highest container gid of all ranges, whatever their order.
    assert_eq!(
        fit(
            &["net.ipv4.ping_group_range=0 2147483647"],
            "1000-200000-10@0-100000-1000"
        )
        .unwrap(),
        ["net.ipv4.ping_group_range=0 1009"]
    );
    // A range the mapping expresses is kept as given.
    assert_eq!(
        fit(&["net.ipv4.ping_group_range=10\t20"], "0-100000-65536").unwrap(),
        ["net.ipv4.ping_group_range=10\t20"]
    );
    // Other keys are left alone.
    assert_eq!(
        fit(&["net.ipv4.ip_forward=1"], "0-100000-1").unwrap(),
        ["net.ipv4.ip_forward=1"]
    );
}

#[test]
fn ranges_the_mapping_cannot_express_are_refused() {
    for (range, map) in [
        ("0 70000", "0-100000-65536"),
        ("1 2147483646", "0-100000-65536"),
        ("0 2147483647", "1-100000-65536"),
        ("0 banana", "0-100000-65536"),
        ("0 1 2", "0-100000-65536"),
    ] {
        let e = fit(&[&format!("net.ipv4.ping_group_range={range}")], map).unwrap_err();
        assert!(
            matches!(e, SysctlError::PingGroupRange { .. }),
            "{range}: {e}"
        );
        let line = e.to_string();
        assert!(line.contains(range) || line.contains(&format!("{range:?}")));
        assert!(line.contains(&gids(map).to_string()), "{line}");
    }
    let e = fit(&["net.ipv6.route.gc_thresh=1"], "0-1-1").unwrap_err();
    assert!(matches!(e, SysctlError::HiddenFromUserNamespace(_)));
}

proptest! {
    #[test]
    fn never_panics(s in any::<String>()) {
        let _ = Sysctl::parse(&s);
        let _ = parse_all(&[s]);
    }

    #[test]
    fn accepted_specs_round_trip_and_stay_under_proc_sys(
        key in "(net|kernel|fs)([./][a-z0-9_.-]{1,12}){1,4}",
        value in "[ -~\t]{0,20}",
    ) {
        if let Ok(s) = Sysctl::parse(&format!("{key}={value}")) {
            let again = Sysctl::parse(&s.to_string()).unwrap();
            prop_assert_eq!(&again, &s);
            if let Target::File(path) = s.target() {
                prop_assert!(path.is_relative());
                prop_assert!(!path.components().any(|c| c == std::path::Component::ParentDir));
            }
        }
    }

    /// The quoted list means exactly its items given one by one.
    #[test]
    fn quoted_list_equals_separate_items(
        items in proptest::collection::vec(
            prop_oneof![
                Just("net.ipv4.ip_forward=1"),
                Just("kernel.shm_rmid_forced=1"),
                Just("net.ipv4.ip_local_port_range=20000\t40000"),
                Just("kernel.hostname=pod"),
                Just("vm.swappiness=1"),
            ],
            1..5,
        )
    ) {
        let joined = format!("'{}'", items.join("'+'"));
        prop_assert_eq!(parse_all(&[joined]), parse_all(&items));
    }
}
