//! What the drop-ins say: the settings each is for, `pinns` commands in
//! their comments that parse, and the pinns_path the packages install.

use super::{examples, parse};
use clap::CommandFactory;
use std::path::Path;

/// Where both packages install the binary (see packaging/README.md): not
/// /usr/bin/pinns, which CRI-O's own packages ship.
const PINNS_PATH: &str = "/usr/libexec/pinns/pinns";

/// The drop-ins the issue asks for say what they should.
#[test]
fn drop_ins_set_what_they_are_for() {
    let get = |name: &str| {
        parse(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("crio-config-examples")
                .join(name),
        )
    };
    for file in examples() {
        let runtime = &parse(&file)["crio"]["runtime"];
        assert_eq!(
            runtime["pinns_path"].as_str(),
            Some(PINNS_PATH),
            "{}",
            file.display()
        );
        assert_eq!(
            runtime["namespaces_dir"].as_str(),
            Some("/var/run"),
            "{}",
            file.display()
        );
    }
    assert_eq!(
        get("10-pinns.conf")["crio"]["runtime"]["drop_infra_ctr"].as_bool(),
        Some(true)
    );
    let low = &get("20-low-latency.conf")["crio"]["runtime"];
    assert!(low.get("infra_ctr_cpuset").is_some() && low.get("shared_cpuset").is_some());
    let kata = &get("30-kata.conf")["crio"]["runtime"]["runtimes"]["kata"];
    assert_eq!(kata["runtime_type"].as_str(), Some("vm"));
}

/// Commands quoted in the comments (`#   pinns ...`) parse with the real CLI
/// once their subcommand exists, so the advice cannot name a wrong flag.
#[test]
fn pinns_commands_in_comments_parse() {
    let cli = pinns::cli::Cli::command();
    let subcommands: Vec<String> = cli
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut checked = 0;
    for file in examples() {
        let text = std::fs::read_to_string(&file).unwrap();
        for line in text.lines() {
            let Some(cmd) = line
                .trim_start_matches('#')
                .trim_start()
                .strip_prefix("pinns ")
            else {
                continue;
            };
            if !line.starts_with("#   ") {
                continue;
            }
            let words: Vec<String> = std::iter::once("pinns")
                .chain(cmd.split_whitespace())
                .map(|w| if w.starts_with('<') { "placeholder" } else { w })
                .map(str::to_string)
                .collect();
            let second = words.get(1).map(String::as_str).unwrap_or("");
            if !second.starts_with('-') && !subcommands.iter().any(|s| s == second) {
                continue;
            }
            if let Err(e) = cli.clone().try_get_matches_from(&words) {
                panic!("{}: {line:?} does not parse:\n{e}", file.display());
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no command in the comments was checked");
}

/// The path the drop-ins name is the one both packages install the binary at,
/// and the one the systemd units run.
#[test]
fn pinns_path_is_where_the_packages_install_it() {
    let repo = Path::new(env!("CARGO_MANIFEST_DIR"));
    let read = |rel: &str| std::fs::read_to_string(repo.join(rel)).unwrap();
    let manifest: toml::Table = read("Cargo.toml").parse().unwrap();
    let assets = manifest["package"]["metadata"]["deb"]["assets"]
        .as_array()
        .unwrap();
    let binary = assets
        .iter()
        .find(|a| a[0].as_str() == Some("target/release/pinns"))
        .expect("the .deb ships the binary");
    assert_eq!(
        binary[1].as_str().map(|d| format!("/{d}")).as_deref(),
        Some(PINNS_PATH)
    );
    assert!(
        !assets
            .iter()
            .any(|a| a[1].as_str() == Some("usr/bin/pinns")),
        "the .deb must not own /usr/bin/pinns"
    );
    let spec = read("packaging/rpm/pinns.spec");
    let rpm_path = PINNS_PATH.replace("/usr/libexec", "%{_libexecdir}");
    assert!(
        spec.lines().any(|l| l == rpm_path),
        "the spec's %files lacks {rpm_path}"
    );
    assert!(
        !spec.lines().any(|l| l == "%{_bindir}/pinns"),
        "the RPM must not own /usr/bin/pinns"
    );
    for unit in [
        "packaging/systemd/pinns-cleanup.service",
        "packaging/systemd/pinns-kubens.service",
        "packaging/systemd/pinns-cleanup.service.d/90-pinns-kubens.conf",
    ] {
        let text = read(unit);
        // `ExecStart=` alone resets the list in a drop-in.
        let commands = text
            .lines()
            .filter(|l| l.starts_with("Exec") && !l.ends_with('='));
        for line in commands {
            assert!(
                line.contains(PINNS_PATH) && !line.contains("/usr/bin/pinns"),
                "{unit}: {line}"
            );
        }
    }
}
