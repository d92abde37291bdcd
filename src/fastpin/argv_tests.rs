use super::*;
use crate::cli::crio_form;
use crate::ns::NsKind;
use crate::pin::{PinPlan, Source};
use proptest::prelude::*;
use std::ffi::OsString;

/// `f` on the fast path's view of `argv` (program name first).
fn with_args<T>(argv: &[&str], f: impl FnOnce(Args<'_>) -> T) -> T {
    crate::sys::bytes::with_c_strings(argv, f)
}

fn taken(argv: &[&str]) -> bool {
    with_args(argv, |args| parse(args).is_some())
}

fn pod(extra: &[&'static str]) -> Vec<&'static str> {
    let mut argv = vec!["pinns", "-d", "/var/run", "-f", "47989609-ad0a-4377-93b6"];
    argv.extend(extra);
    argv
}

#[test]
fn takes_crio_s_usual_pods() {
    assert!(taken(&pod(&["--ipc", "--net", "--uts"])));
    assert!(taken(&pod(&[
        "-i",
        "-n",
        "-u",
        "-s",
        "net.ipv4.ip_forward=1"
    ])));
    assert!(taken(&pod(&[
        "-s",
        "net.ipv4.ip_local_port_range=20000 40000",
        "--sysctl=kernel.shm_rmid_forced=1",
        "-s",
        "net.ipv4.ping_group_range=0\t2147483647",
        "--net",
        "--ipc"
    ])));
    assert!(taken(&["pinns", "--dir=/run", "--filename=p", "--uts"]));
}

#[test]
fn leaves_everything_else_to_the_full_path() {
    for extra in [
        &["--ipc", "--net=host", "--uts"][..],
        &[
            "--net",
            "--user",
            "--uid-mapping=0-1-1@",
            "--gid-mapping=0-1-1@",
        ],
        &["-m"],
        &["--cgroup", "--net"],
        &["--net", "--net"],
        &["--net", "-s", "kernel.hostname=pod"],
        &["--net", "-s", "vm.swappiness=10"],
        &["--net", "-s", "kernel.shm_rmid_forced=1"],
        &[
            "--net",
            "-s",
            "net.ipv4.ip_forward=1",
            "-s",
            "net.ipv4.ip_forward=1",
        ],
        &["--net", "-s", "net/ipv4/ip_forward=1"],
        &["--net", "-s", "'net.ipv4.ip_forward=1'"],
        &["--net", "-s", " net.ipv4.ip_forward=1"],
        &["--net", "-s", "net.ipv4.ip_forward= 1"],
        &["--net", "-s", "net.ipv4.ip_forward="],
        &["--net", "-s", "net.ipv4.conf.eth0.forwarding=1"],
        &["--net", "-s", "net..ip_forward=1"],
        &["--net", "-s"],
        &["--net", "--help"],
        &[],
    ] {
        assert!(!taken(&pod(extra)), "{extra:?}");
    }
    assert!(
        !taken(&["pinns", "-d", "run", "-f", "p", "--net"]),
        "relative DIR"
    );
    assert!(!taken(&["pinns", "-d", "/run", "-f", "..", "--net"]));
    assert!(!taken(&["pinns", "-d", "/run", "-f", "a/b", "--net"]));
    assert!(!taken(&["pinns", "-d", "/run", "--net"]), "no name");
    assert!(!taken(&["pinns", "list"]));
    assert!(!taken(&["pinns"]));
}

#[test]
fn every_non_user_pod_crio_ran_is_taken() {
    let fixtures = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let mut seen = 0;
    for version in ["crio-1.26", "crio-1.36"] {
        let path = fixtures.join(version).join("pinns-argv.jsonl");
        for line in std::fs::read_to_string(&path).unwrap().lines() {
            let call: serde_json::Value = serde_json::from_str(line).unwrap();
            let argv: Vec<&str> = call["argv"]
                .as_array()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap())
                .collect();
            let user_or_host = argv.iter().any(|a| *a == "--user" || a.ends_with("=host"));
            assert_eq!(taken(&argv), !user_or_host, "{argv:?}");
            seen += 1;
        }
    }
    assert!(seen >= 10, "{seen}");
}

#[test]
fn kind_strings_are_the_namespace_table_s() {
    for (k, kind) in KINDS.iter().enumerate() {
        assert_eq!(text(dir_name(k)), kind.dir_name().as_bytes());
        let source = format!("/proc/thread-self/ns/{}", kind.proc_name());
        assert_eq!(text(ns_source(k)), source.as_bytes());
        assert_eq!(clone_flag(k), kind.clone_flag().bits() as usize);
        assert_eq!(short_flag(k), format!("-{}", kind.short_flag()).as_bytes());
        assert_eq!(long_flag(k), format!("--{kind}").as_bytes());
    }
    assert_eq!((KINDS[IPC], KINDS[NET]), (NsKind::Ipc, NsKind::Net));
    let mut sorted = KINDS;
    sorted.sort();
    assert_eq!(sorted, KINDS, "creation order");
}

/// Holds a fast plan to the full path's plan of the same command line.
fn same_as_full_path(argv: &[&str]) -> Result<(), TestCaseError> {
    let os: Vec<OsString> = argv.iter().map(OsString::from).collect();
    with_args(argv, |args| {
        let Some(fast) = parse(args) else {
            return Ok(());
        };
        let full = crio_form::recognise(&os);
        prop_assert!(full.is_some(), "crio_form refused {argv:?}");
        let full = full.unwrap();
        let plan = PinPlan::new(&full.request());
        prop_assert!(plan.is_ok(), "{argv:?}: {:?}", plan.err());
        let plan = plan.unwrap();
        let dir = std::path::absolute(std::str::from_utf8(text(fast.dir)).unwrap()).unwrap();
        prop_assert_eq!(&plan.dir, &dir);
        prop_assert_eq!(plan.name.as_str().as_bytes(), text(fast.name));
        let kinds: Vec<_> = (0..KINDS.len())
            .filter(|&k| fast.creates(k))
            .map(|k| (KINDS[k], Source::New))
            .collect();
        prop_assert_eq!(&plan.namespaces, &kinds);
        let fast_sysctls: Vec<_> = fast
            .sysctls()
            .map(|s| (s.key.to_vec(), s.value.to_vec(), KINDS[s.kind]))
            .collect();
        let full_sysctls: Vec<_> = plan
            .sysctls
            .iter()
            .map(|s| {
                (
                    s.key().into_bytes(),
                    s.value().as_bytes().to_vec(),
                    s.namespace(),
                )
            })
            .collect();
        prop_assert_eq!(fast_sysctls, full_sysctls);
        Ok(())
    })
}

fn token() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec![
        "-d",
        "--dir",
        "--dir=/run/x",
        "-d=/var/run",
        "/var/run",
        "/a b/c",
        "rel",
        "-f",
        "--filename",
        "--filename=pod",
        "pod",
        "47989609-ad0a",
        ".",
        "..",
        "a/b",
        "",
        "-s",
        "--sysctl",
        "--sysctl=net.core.somaxconn=4096",
        "net.ipv4.ip_forward=1",
        "kernel.shm_rmid_forced=1",
        "kernel.msgmax=16384",
        "kernel.hostname=x",
        "vm.swappiness=1",
        "net.ipv4.ip_local_port_range=20000 40000",
        "net.ipv4.ping_group_range=0\t1",
        "net.ipv4.ip_forward= 1",
        " net.ipv4.ip_forward=1",
        "net.ipv4.conf.lo.forwarding=1",
        "net.ipv4.conf.eth0.forwarding=1",
        "net.ipv4.conf.all.*=1",
        "net.ipv6.route.gc_thresh=1",
        "net.core.rmem_max=1",
        "net.ipv4.tcp_available_ulp=1",
        "net/ipv4/ip_forward=1",
        "'net.a.b=1'+'net.c.d=2'",
        "net.ipv4.ip_forward=",
        "net=1",
        "net.=1",
        "-n",
        "--net",
        "--net=host",
        "-n=new",
        "-i",
        "--ipc",
        "-u",
        "--uts",
        "-U",
        "--user",
        "--uid-mapping=0-1-1@",
        "-m",
        "-c",
        "--cgroup",
        "--help",
        "-nu",
    ])
}

proptest! {
    #[test]
    fn the_fast_plan_is_the_full_plan(
        tokens in prop::collection::vec(token(), 0..14),
        base in any::<bool>(),
    ) {
        let mut argv = vec!["pinns"];
        if base {
            argv.extend(["-d", "/var/run", "-f", "pod"]);
        }
        argv.extend(tokens);
        same_as_full_path(&argv)?;
    }
}
