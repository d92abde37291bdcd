//! The man pages and shell completions are generated from the clap definition
//! (plus hand-written man sections in `man/sections/`) and checked in, so
//! packages need no build-time generator. These tests fail when the checked-in
//! files drift from what the CLI generates; `PINNS_UPDATE_GENERATED=1 cargo
//! test --test it generated::` rewrites them.
//!
//! Pages follow the subcommands clap knows: a new subcommand gets a page as
//! soon as it exists (and must have a hand-written source), and a hand-written
//! source whose subcommand does not exist yet is simply not rendered.

use clap::CommandFactory;
use clap_complete::Shell;
use pinns::cli::Cli;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

const UPDATE_VAR: &str = "PINNS_UPDATE_GENERATED";

/// Hand-written sections, in the order they appear in a page. DESCRIPTION
/// goes right after SYNOPSIS; the others after the generated OPTIONS.
const HAND_SECTIONS: &[&str] = &[
    "DESCRIPTION",
    "CRI-O INTEGRATION",
    "EXAMPLES",
    "EXIT STATUS",
    "FILES",
    "SECURITY",
    "SEE ALSO",
];

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn man_dir() -> PathBuf {
    repo().join("man")
}

fn sections_dir() -> PathBuf {
    man_dir().join("sections")
}

fn completions_dir() -> PathBuf {
    repo().join("packaging/completions")
}

/// The built command tree: building fills in display names (`pinns-pin`)
/// and bin names (`pinns pin`) that the man pages use.
fn cli() -> clap::Command {
    let mut cmd = Cli::command();
    cmd.build();
    cmd
}

/// Every command that gets a page, top level first: `(page name, command)`.
fn page_commands() -> Vec<(String, clap::Command)> {
    fn walk(cmd: &clap::Command, out: &mut Vec<(String, clap::Command)>) {
        let name = cmd.get_display_name().unwrap_or(cmd.get_name()).to_string();
        out.push((name, cmd.clone()));
        for sub in cmd.get_subcommands().filter(|s| !s.is_hide_set()) {
            walk(sub, out);
        }
    }
    let mut out = Vec::new();
    walk(&cli(), &mut out);
    out
}

/// A hand-written source split into its `.SH` sections.
fn hand_sections(page: &str) -> BTreeMap<String, String> {
    let path = sections_dir().join(format!("{page}.roff"));
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: every subcommand needs hand-written man sections",
            path.display()
        )
    });
    let mut sections = BTreeMap::new();
    let mut current: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(heading) = line.strip_prefix(".SH ") {
            if let Some((h, body)) = current.take() {
                sections.insert(h, body);
            }
            let heading = heading.trim_matches('"').to_string();
            assert!(
                HAND_SECTIONS.contains(&heading.as_str()),
                "{}: unknown section {heading:?} (allowed: {HAND_SECTIONS:?})",
                path.display()
            );
            assert!(
                !sections.contains_key(&heading),
                "{}: {heading} twice",
                path.display()
            );
            current = Some((heading, String::new()));
        } else if let Some((_, body)) = current.as_mut() {
            body.push_str(line);
            body.push('\n');
        } else if !line.starts_with(".\\\"") && !line.trim().is_empty() {
            panic!("{}: text before the first .SH: {line:?}", path.display());
        }
    }
    if let Some((h, body)) = current {
        sections.insert(h, body);
    }
    sections
}

fn render(section: impl FnOnce(&mut Vec<u8>) -> std::io::Result<()>) -> String {
    let mut buf = Vec::new();
    section(&mut buf).expect("render to memory");
    String::from_utf8(buf).expect("utf-8 roff")
}

/// One page: generated title, NAME, SYNOPSIS, OPTIONS and COMMANDS around the
/// hand-written sections; SEE ALSO lists the sibling pages that exist.
fn man_page(page: &str, cmd: &clap::Command, all_pages: &[String]) -> String {
    let hand = hand_sections(page);
    let man = clap_mangen::Man::new(cmd.clone())
        .section("8")
        .source(format!("pinns {}", env!("CARGO_PKG_VERSION")))
        .manual("System Manager's Manual");
    let mut out = String::new();
    out.push_str(".\\\" Generated from src/cli/mod.rs and man/sections/");
    out.push_str(page);
    out.push_str(
        ".roff: do not edit; run PINNS_UPDATE_GENERATED=1 cargo test --test it generated::\n",
    );
    out.push_str(&render(|w| man.render_title(w)));
    out.push_str(&render(|w| man.render_name_section(w)));
    out.push_str(&render(|w| man.render_synopsis_section(w)));
    match hand.get("DESCRIPTION") {
        Some(body) => out.push_str(&format!(".SH DESCRIPTION\n{body}")),
        None => out.push_str(&render(|w| man.render_description_section(w))),
    }
    if cmd.get_arguments().any(|a| !a.is_hide_set()) {
        out.push_str(&render(|w| man.render_options_section(w)));
    }
    if cmd.get_subcommands().any(|s| !s.is_hide_set()) {
        out.push_str(&render(|w| man.render_subcommands_section(w)));
    }
    for heading in &HAND_SECTIONS[1..HAND_SECTIONS.len() - 1] {
        if let Some(body) = hand.get(*heading) {
            out.push_str(&format!(".SH \"{heading}\"\n{body}"));
        }
    }
    out.push_str(&see_also(page, all_pages, hand.get("SEE ALSO")));
    out
}

fn see_also(page: &str, all_pages: &[String], extra: Option<&String>) -> String {
    let siblings: Vec<String> = all_pages
        .iter()
        .filter(|p| p.as_str() != page)
        .map(|p| format!("\\fB{}\\fR(8)", p.replace('-', "\\-")))
        .collect();
    let mut out = String::from(".SH \"SEE ALSO\"\n");
    if !siblings.is_empty() {
        out.push_str(&siblings.join(",\n"));
        out.push_str(if extra.is_some() { ",\n" } else { "\n" });
    }
    if let Some(extra) = extra {
        out.push_str(extra);
    }
    out
}

/// Everything generated, by path relative to the repository root.
fn generated_files() -> BTreeMap<PathBuf, String> {
    let pages = page_commands();
    let names: Vec<String> = pages.iter().map(|(n, _)| n.clone()).collect();
    let mut files = BTreeMap::new();
    for (name, cmd) in &pages {
        files.insert(
            PathBuf::from(format!("man/{name}.8")),
            man_page(name, cmd, &names),
        );
    }
    for (shell, file) in [
        (Shell::Bash, "pinns.bash"),
        (Shell::Zsh, "_pinns"),
        (Shell::Fish, "pinns.fish"),
    ] {
        let mut buf = Vec::new();
        clap_complete::generate(shell, &mut Cli::command(), "pinns", &mut buf);
        let text = String::from_utf8(buf).expect("utf-8 completion");
        let text = with_dynamic_completions(shell, file, &text);
        files.insert(PathBuf::from("packaging/completions").join(file), text);
    }
    files
}

/// clap's completions complete options; the hand-written snippets in
/// `packaging/completions/dynamic/` add pin names where a pin name goes and
/// a few durations where a duration goes. bash and fish: appended (they
/// register last); zsh: its spec's values call them, and the functions go
/// before the autoload tail.
fn with_dynamic_completions(shell: Shell, file: &str, generated: &str) -> String {
    let path = completions_dir().join("dynamic").join(file);
    let snippet =
        std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    if shell != Shell::Zsh {
        return format!("{generated}{snippet}");
    }
    let mut replaced = 0;
    let mut out = String::new();
    for line in generated.lines() {
        let names_a_pin = line.contains("-f+[Remove every pin")
            || line.contains("--filename=[Remove every pin")
            || line.contains("--keep=[")
            || line.starts_with("'::name -- ")
            || line.starts_with("':name -- ");
        let new = if names_a_pin && line.contains(":_default'") {
            line.replacen(":_default'", ":_pinns_pin_names'", 1)
        } else {
            line.replacen(":DURATION:_default'", ":DURATION:_pinns_durations'", 1)
        };
        replaced += usize::from(new != line);
        out.push_str(&new);
        out.push('\n');
    }
    // cleanup -f/--filename, --keep of cleanup and list, enter's and
    // inspect's NAME, --older-than of cleanup and list, --interval.
    assert!(
        replaced == 9,
        "{replaced} zsh values, not 9, were given dynamic completions: has clap's output changed?"
    );
    let tail = "if [ \"$funcstack[1]\" = \"_pinns\" ]; then";
    let at = out.find(tail).expect("the zsh completion's autoload tail");
    out.insert_str(at, &snippet);
    out
}

/// Generated files currently in the repository (to find stale ones).
fn checked_in_files() -> Vec<PathBuf> {
    let mut found = Vec::new();
    for (dir, rel) in [
        (man_dir(), "man"),
        (completions_dir(), "packaging/completions"),
    ] {
        let Ok(entries) = std::fs::read_dir(&dir) else {
            continue;
        };
        for entry in entries.flatten() {
            if entry.file_type().map(|t| t.is_file()).unwrap_or(false) {
                found.push(Path::new(rel).join(entry.file_name()));
            }
        }
    }
    found
}

#[test]
fn checked_in_pages_and_completions_match_the_cli() {
    let generated = generated_files();
    let stale: Vec<PathBuf> = checked_in_files()
        .into_iter()
        .filter(|p| !generated.contains_key(p))
        .collect();

    if std::env::var_os(UPDATE_VAR).is_some() {
        for (rel, text) in &generated {
            let path = repo().join(rel);
            std::fs::create_dir_all(path.parent().expect("has parent")).expect("create dir");
            std::fs::write(&path, text).unwrap_or_else(|e| panic!("write {}: {e}", path.display()));
        }
        for rel in &stale {
            std::fs::remove_file(repo().join(rel)).expect("remove stale file");
        }
        return;
    }

    let mut problems = Vec::new();
    for (rel, text) in &generated {
        match std::fs::read_to_string(repo().join(rel)) {
            Ok(on_disk) if &on_disk == text => {}
            Ok(_) => problems.push(format!(
                "{} differs from what the CLI generates",
                rel.display()
            )),
            Err(e) => problems.push(format!("{} is missing ({e})", rel.display())),
        }
    }
    for rel in &stale {
        problems.push(format!(
            "{} is not generated by the CLI any more",
            rel.display()
        ));
    }
    assert!(
        problems.is_empty(),
        "{}\nrun: {UPDATE_VAR}=1 cargo test --test it generated::",
        problems.join("\n")
    );
}

/// groff with every warning enabled must stay silent on every page.
#[test]
fn pages_format_without_groff_warnings() {
    for (rel, text) in generated_files()
        .iter()
        .filter(|(p, _)| p.starts_with("man"))
    {
        let out = groff(&["-ww", "-z", "-man"], text);
        assert!(out.status.success(), "groff failed on {}", rel.display());
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            stderr.is_empty(),
            "groff warnings on {}:\n{stderr}",
            rel.display()
        );
    }
}

/// The rendered text carries the generated and the hand-written parts.
#[test]
fn pages_render_with_every_section() {
    for (name, _) in page_commands() {
        let text = generated_files()[&PathBuf::from(format!("man/{name}.8"))].clone();
        let out = groff(&["-man", "-Tutf8", "-P-c"], &text);
        let rendered = strip_overstrike(&String::from_utf8_lossy(&out.stdout));
        let hand = hand_sections(&name);
        for heading in ["NAME", "SYNOPSIS", "DESCRIPTION", "SEE ALSO"]
            .into_iter()
            .chain(hand.keys().map(String::as_str))
        {
            assert!(
                rendered.lines().any(|l| l.trim_end() == heading),
                "man/{name}.8 has no {heading} heading:\n{rendered}"
            );
        }
        assert!(
            rendered.contains("-h, --help"),
            "man/{name}.8 lacks the options:\n{rendered}"
        );
    }
}

/// Every `pinns ...` line in an EXAMPLES section parses with the real CLI, so
/// an example cannot name a flag that does not exist. Examples of a
/// subcommand that does not exist yet are skipped until it does.
#[test]
fn examples_parse_with_the_cli() {
    let subcommands: Vec<String> = cli()
        .get_subcommands()
        .map(|s| s.get_name().to_string())
        .collect();
    let mut checked = 0;
    for (name, _) in page_commands() {
        let Some(examples) = hand_sections(&name).remove("EXAMPLES") else {
            panic!("man/sections/{name}.roff has no EXAMPLES");
        };
        for line in example_lines(&examples)
            .iter()
            .filter(|l| l.starts_with("pinns "))
        {
            let words = example_words(line);
            let second = words.get(1).map(String::as_str).unwrap_or("");
            if !second.starts_with('-') && !subcommands.iter().any(|s| s == second) {
                continue;
            }
            if let Err(e) = Cli::command().try_get_matches_from(&words) {
                panic!("man/sections/{name}.roff example {line:?} does not parse:\n{e}");
            }
            checked += 1;
        }
    }
    assert!(checked > 0, "no example was checked");
}

/// Example lines with shell continuations (` \\e` at the end) joined.
fn example_lines(section: &str) -> Vec<String> {
    let mut lines = Vec::new();
    let mut pending = String::new();
    for line in section.lines() {
        match line.strip_suffix(" \\e") {
            Some(head) => {
                pending.push_str(head);
                pending.push(' ');
            }
            None => {
                pending.push_str(line.trim_start());
                lines.push(std::mem::take(&mut pending));
            }
        }
    }
    lines
}

/// Roff escapes undone and shell plumbing cut off: the argv of an example.
fn example_words(line: &str) -> Vec<String> {
    let plain = line
        .replace("\\-", "-")
        .replace("\\(aq", "'")
        .replace("\\e", "\\");
    plain
        .split_whitespace()
        .take_while(|w| !matches!(*w, "|" | "&&" | ";" | ">" | "2>&1"))
        .map(|w| w.trim_matches('\'').to_string())
        .collect()
}

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

fn groff(args: &[&str], input: &str) -> std::process::Output {
    use std::io::Write;
    let mut child = Command::new("groff")
        .args(args)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("run groff (apt-get install groff-base)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(input.as_bytes())
        .expect("feed groff");
    child.wait_with_output().expect("wait for groff")
}

/// groff's tty output emboldens with `c\bc`; keep the plain characters.
fn strip_overstrike(text: &str) -> String {
    let mut out: Vec<char> = Vec::new();
    for c in text.chars() {
        if c == '\u{8}' {
            out.pop();
            continue;
        }
        out.push(c);
    }
    out.into_iter().collect()
}

/// The example check would catch a misspelt flag and reads continued lines.
#[test]
fn example_check_rejects_unknown_flags_and_joins_lines() {
    let lines = example_lines(
        "pinns \\-d /r \\e\n    \\-f x \\-\\-nett\npinns \\-d /r \\-f x \\-n | cat\n",
    );
    assert_eq!(lines.len(), 2, "{lines:?}");
    let bad = example_words(&lines[0]);
    assert_eq!(bad, ["pinns", "-d", "/r", "-f", "x", "--nett"]);
    assert!(Cli::command().try_get_matches_from(&bad).is_err());
    let good = example_words(&lines[1]);
    assert_eq!(good, ["pinns", "-d", "/r", "-f", "x", "-n"]);
    assert!(Cli::command().try_get_matches_from(&good).is_ok());
}

/// Hand-written sources of subcommands that do not exist yet are not
/// rendered into pages, so check their roff on its own.
#[test]
fn every_hand_written_source_formats_without_warnings() {
    let mut seen = 0;
    for entry in std::fs::read_dir(sections_dir())
        .expect("read man/sections")
        .flatten()
    {
        let file = entry.file_name().to_string_lossy().into_owned();
        let Some(page) = file.strip_suffix(".roff") else {
            continue;
        };
        let mut text = format!(".TH {page} 8\n");
        for (heading, body) in hand_sections(page) {
            text.push_str(&format!(".SH \"{heading}\"\n{body}"));
        }
        let out = groff(&["-ww", "-z", "-man"], &text);
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(
            out.status.success() && stderr.is_empty(),
            "groff on {file}:\n{stderr}"
        );
        seen += 1;
    }
    assert!(
        seen >= 6,
        "expected the six hand-written sources, found {seen}"
    );
}
