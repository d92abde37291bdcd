//! The bash, zsh and fish completions load and complete subcommands, pin
//! names and durations.

use super::{cli, completions_dir};
use std::process::Command;

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let path = completions_dir().join("pinns.bash");
    let script = format!(
        "source {path}\ncomplete -p pinns\nCOMP_WORDS=(pinns '')\nCOMP_CWORD=1\nCOMP_LINE='pinns '\nCOMP_POINT=6\n_pinns pinns '' pinns\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        path = path.display()
    );
    let stdout = crate::common::stdout_ok(Command::new("bash").args(["--norc", "-c", &script]));
    assert!(
        stdout.contains("-F _pinns_dynamic pinns"),
        "not registered: {stdout}"
    );
    for sub in cli().get_subcommands() {
        assert!(
            stdout.lines().any(|l| l == sub.get_name()),
            "no completion for {}: {stdout}",
            sub.get_name()
        );
    }
    assert!(
        stdout.lines().any(|l| l == "--net"),
        "no completion for --net: {stdout}"
    );
}

/// A pin directory with two pods pinned as empty files (the completions
/// only list names) under two types.
fn pins_for_completion() -> tempfile::TempDir {
    let dir = tempfile::tempdir().expect("temp dir");
    for (kind, name) in [("netns", "pod-a"), ("ipcns", "pod-a"), ("utsns", "pod-b")] {
        std::fs::create_dir_all(dir.path().join(kind)).unwrap();
        std::fs::write(dir.path().join(kind).join(name), "").unwrap();
    }
    dir
}

fn lines(out: &std::process::Output) -> Vec<String> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let mut v: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

/// bash: `words` completed (the last one is being typed).
fn bash_completes(words: &[&str]) -> Vec<String> {
    let path = completions_dir().join("pinns.bash");
    let quoted: Vec<String> = words.iter().map(|w| format!("'{w}'")).collect();
    let script = format!(
        "source {}\nCOMP_WORDS=({})\nCOMP_CWORD={}\n_pinns_dynamic pinns '{}' '{}'\nprintf '%s\\n' \"${{COMPREPLY[@]}}\"\n",
        path.display(),
        quoted.join(" "),
        words.len() - 1,
        words[words.len() - 1],
        words[words.len() - 2],
    );
    let out = Command::new("bash")
        .args(["--norc", "-c", &script])
        .output()
        .expect("run bash");
    lines(&out)
}

#[test]
fn bash_completes_pin_names_and_durations() {
    let pins = pins_for_completion();
    let d = pins.path().to_str().unwrap();
    let both = ["pod-a", "pod-b"];
    assert_eq!(bash_completes(&["pinns", "enter", "-d", d, ""]), both);
    assert_eq!(
        bash_completes(&["pinns", "inspect", "--dir", d, "pod-"]),
        both
    );
    assert_eq!(
        bash_completes(&["pinns", "cleanup", "-d", d, "-f", "pod-b"]),
        ["pod-b"]
    );
    assert_eq!(
        bash_completes(&["pinns", "list", "-d", d, "--keep", ""]),
        both
    );
    assert!(bash_completes(&["pinns", "list", "--older-than", ""]).contains(&"10m".to_string()));
    assert!(bash_completes(&["pinns", "cleanup", "--interval", "1"]).contains(&"1h".to_string()));
    // The pin form names a new pin: no existing names offered.
    assert!(!bash_completes(&["pinns", "-d", d, "-f", ""]).contains(&"pod-a".to_string()));
    // Options still come from clap's part.
    assert!(bash_completes(&["pinns", "enter", "--ca"]).contains(&"--caps".to_string()));
}

#[test]
fn zsh_completion_parses_and_completes_pin_names() {
    let path = completions_dir().join("_pinns");
    let check = Command::new("zsh")
        .arg("-n")
        .arg(&path)
        .output()
        .expect("run zsh (apt-get install zsh)");
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let pins = pins_for_completion();
    // compdef and compadd stand in for the completion system: the file only
    // defines functions when sourced, and compadd prints what it was given.
    let script = format!(
        "compdef() {{ : }}\nsource {}\ncompadd() {{ local i=${{@[(i)--]}}; print -l -- ${{@[i+1,-1]}} }}\n\
         words=(pinns enter -d {} '')\nCURRENT=5\n_pinns_pin_names\nprint -- ---\n_pinns_durations\n",
        path.display(),
        pins.path().display()
    );
    let out = Command::new("zsh")
        .args(["-f", "-c", &script])
        .output()
        .expect("run zsh");
    let got = lines(&out);
    for want in ["pod-a", "pod-b", "10m", "1h"] {
        assert!(got.contains(&want.to_string()), "{want} not in {got:?}");
    }
}

#[test]
fn fish_completes_pin_names_and_durations() {
    let path = completions_dir().join("pinns.fish");
    let pins = pins_for_completion();
    let complete = |line: &str| {
        let script = format!("source {}; complete -C '{line}'", path.display());
        let out = Command::new("fish")
            .args(["--no-config", "-c", &script])
            .output()
            .expect("run fish (apt-get install fish)");
        lines(&out)
            .into_iter()
            .map(|l| l.split('\t').next().unwrap_or_default().to_string())
            .collect::<Vec<_>>()
    };
    let d = pins.path().display();
    let got = complete(&format!("pinns enter -d {d} "));
    assert!(
        got.contains(&"pod-a".into()) && got.contains(&"pod-b".into()),
        "{got:?}"
    );
    let got = complete(&format!("pinns cleanup -d {d} -f "));
    assert!(got.contains(&"pod-b".into()), "{got:?}");
    let got = complete("pinns list --older-than ");
    assert!(got.contains(&"10m".into()), "{got:?}");
}
