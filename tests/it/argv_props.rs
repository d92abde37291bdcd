//! Property tests on whole argument vectors: random command lines never
//! panic the parser or the planner, and an accepted plan round-trips
//! through its canonical command line.

use clap::Parser;
use pinns::cli::crio_form::recognise;
use pinns::cli::Cli;
use pinns::pin::PinPlan;
use proptest::prelude::*;
use std::ffi::OsString;

fn word() -> impl Strategy<Value = String> {
    prop_oneof![
        Just("-d".to_string()),
        Just("/run/pinns-prop".to_string()),
        Just("-f".to_string()),
        "[a-z0-9./-]{0,12}",
        Just("--net".to_string()),
        Just("--net=host".to_string()),
        Just("-i".to_string()),
        Just("--ipc=host".to_string()),
        Just("-u".to_string()),
        Just("--uts=new".to_string()),
        Just("-c".to_string()),
        Just("-m".to_string()),
        Just("-U".to_string()),
        Just("--user=host".to_string()),
        Just("--mnt-propagation=slave".to_string()),
        Just("-s".to_string()),
        prop_oneof![
            Just("net.ipv4.ip_forward=1"),
            Just("kernel.shm_rmid_forced=1"),
            Just("kernel.hostname=h"),
            Just("vm.swappiness=1"),
            Just("net/ipv4/ip_forward=0"),
            // CRI-O 1.20-1.23's one-argument form, and near misses.
            Just("'net.ipv4.ip_forward=1'+'kernel.shm_rmid_forced=1'"),
            Just("'kernel.hostname=h'"),
            Just("'net.ipv4.ip_forward=1'+'vm.swappiness=1'"),
            Just("'net.ipv4.ip_forward=1' + 'kernel.hostname=h'"),
            Just("'net.ipv4.ip_forward=1"),
        ]
        .prop_map(str::to_string),
        "--(uid|gid)-mapping=([0-9]{1,6}-[0-9]{1,6}-[0-9]{1,5}@){0,3}",
        // Forms the fast path must leave to clap, or read exactly as clap.
        prop_oneof![
            Just("-d=/run/pinns-prop"),
            Just("--dir="),
            Just("-dfoo"),
            Just("-n=host"),
            Just("-U=new"),
            Just("--net=HOST"),
            Just("-uin"),
            Just("-s=kernel.shm_rmid_forced=1"),
            Just("--sysctl"),
            Just("--mnt-propagation"),
            Just("slave"),
            Just("--mnt-propagation=bogus"),
            Just("--filename=pod"),
            Just("--"),
            Just("-h"),
            Just("--help"),
            Just("-V"),
            Just("pin"),
            Just("enter"),
        ]
        .prop_map(str::to_string),
        any::<String>(),
    ]
}

fn plan_of(args: &[String]) -> Option<PinPlan> {
    let cli = Cli::try_parse_from(std::iter::once("pinns".to_string()).chain(args.iter().cloned()))
        .ok()?;
    PinPlan::new(&cli.pin.request()).ok()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    #[test]
    fn any_command_line_is_accepted_or_refused_without_panic(args in proptest::collection::vec(word(), 0..12)) {
        if let Some(plan) = plan_of(&args) {
            // Accepted plans are coherent and round-trip.
            prop_assert!(!plan.namespaces.is_empty());
            let again = plan_of(&plan.to_args());
            prop_assert_eq!(again.as_ref(), Some(&plan), "canonical args: {:?}", plan.to_args());
        }
    }
}

/// (flag, sysctl living in that namespace, if any)
const KINDS: [(&str, Option<&str>); 5] = [
    ("net", Some("net.ipv4.ip_forward=1")),
    ("ipc", Some("kernel.shm_rmid_forced=1")),
    ("uts", Some("kernel.hostname=pod")),
    ("cgroup", None),
    ("mnt", None),
];

proptest! {
    #![proptest_config(ProptestConfig::with_cases(500))]

    /// Well-formed CRI-O command lines, in any order, are accepted exactly
    /// when every sysctl's namespace is created by the call.
    #[test]
    fn crio_command_lines_are_judged_by_the_rules(
        modes in proptest::collection::vec(0u8..3, KINDS.len()),
        with_sysctl in proptest::collection::vec(any::<bool>(), KINDS.len()),
        user in 0u8..3,
        shuffle in any::<u64>(),
    ) {
        let mut flags: Vec<Vec<String>> = Vec::new();
        let mut expect_ok = true;
        let mut any_ns = false;
        for (i, (kind, sysctl)) in KINDS.iter().enumerate() {
            match modes[i] {
                1 => { flags.push(vec![format!("--{kind}")]); any_ns = true; }
                2 => { flags.push(vec![format!("--{kind}=host")]); any_ns = true; }
                _ => {}
            }
            if let (true, Some(s)) = (with_sysctl[i], sysctl) {
                flags.push(vec!["-s".into(), s.to_string()]);
                expect_ok &= modes[i] == 1;
            }
        }
        match user {
            1 => {
                flags.push(vec!["--user".into()]);
                flags.push(vec!["--uid-mapping=0-100000-65536@".into()]);
                flags.push(vec!["--gid-mapping=0-100000-65536@".into()]);
                any_ns = true;
            }
            2 => { flags.push(vec!["--user=host".into()]); any_ns = true; }
            _ => {}
        }
        flags.push(vec!["-d".into(), "/run/pinns-prop".into()]);
        flags.push(vec!["-f".into(), "pod".into()]);
        // A deterministic shuffle: order must not matter.
        let n = flags.len();
        for i in 0..n {
            flags.swap(i, (shuffle.rotate_left(i as u32 * 7) as usize) % n);
        }
        let args: Vec<String> = flags.concat();
        prop_assert_eq!(plan_of(&args).is_some(), expect_ok && any_ns, "args: {:?}", args);
        // Every such command line takes the fast path, and reads as in clap.
        let argv: Vec<OsString> = std::iter::once("pinns".into()).chain(args.iter().map(Into::into)).collect();
        let full = Cli::try_parse_from(&argv).expect("clap accepts it").pin;
        prop_assert_eq!(recognise(&argv), Some(full), "args: {:?}", args);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2000))]

    /// The CRI-O form recogniser never accepts what clap would refuse or
    /// read differently.
    #[test]
    fn crio_form_agrees_with_clap(args in proptest::collection::vec(word(), 0..12)) {
        let argv: Vec<OsString> = std::iter::once("pinns".into()).chain(args.iter().map(Into::into)).collect();
        if let Some(fast) = recognise(&argv) {
            let full = Cli::try_parse_from(&argv);
            prop_assert!(full.is_ok(), "clap refused {:?}: {:?}", args, full.err());
            let full = full.unwrap();
            prop_assert!(full.command.is_none());
            prop_assert_eq!(full.pin, fast);
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(300))]

    /// CRI-O 1.20-1.23 passed every sysctl in one `-s` argument; through
    /// either parser that plans exactly as the same sysctls given one by one.
    #[test]
    fn quoted_sysctl_list_plans_like_separate_options(
        picks in proptest::collection::vec(0usize..4, 1..4),
        attached in any::<bool>(),
    ) {
        const ITEMS: [&str; 4] = [
            "net.ipv4.ip_forward=1",
            "kernel.shm_rmid_forced=1",
            "kernel.hostname=pod",
            "net.ipv4.ip_local_port_range=20000\t40000",
        ];
        let items: Vec<&str> = picks.iter().map(|&i| ITEMS[i]).collect();
        let base = ["-d", "/run/pinns-prop", "-f", "pod", "--net", "--ipc", "--uts"].map(String::from);
        let joined = format!("'{}'", items.join("'+'"));
        let mut quoted = base.to_vec();
        if attached {
            quoted.push(format!("--sysctl={joined}"));
        } else {
            quoted.extend(["-s".to_string(), joined]);
        }
        let mut separate = base.to_vec();
        for item in &items {
            separate.extend(["-s".to_string(), item.to_string()]);
        }
        let plan = plan_of(&quoted);
        prop_assert!(plan.is_some(), "refused {:?}", quoted);
        prop_assert_eq!(plan, plan_of(&separate));
        let argv: Vec<OsString> = std::iter::once("pinns".into()).chain(quoted.iter().map(Into::into)).collect();
        let fast = recognise(&argv);
        prop_assert!(fast.is_some(), "not the CRI-O form: {:?}", quoted);
        let fast_plan = PinPlan::new(&fast.unwrap().request()).ok();
        prop_assert_eq!(fast_plan, plan_of(&separate));
    }
}
