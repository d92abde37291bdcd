//! The man pages and shell completions are generated from the clap definition
//! (plus hand-written man sections in `man/sections/`) and checked in, so
//! packages need no build-time generator. These tests fail when the checked-in
//! files drift from what the CLI generates; `PINNS_UPDATE_GENERATED=1 cargo
//! test --test it generated::` rewrites them.
//!
//! Pages follow the subcommands clap knows: a new subcommand gets a page as
//! soon as it exists (and must have a hand-written source), and a hand-written
//! source whose subcommand does not exist yet is simply not rendered.
//!
//! This file is the generator; the tests are in `checked_in` (drift),
//! `man` (groff and sections), `examples` (EXAMPLES parse) and `completions`.

mod checked_in;
mod completions;
mod examples;
mod man;

use clap::CommandFactory;
use clap_complete::Shell;
use pinns::cli::Cli;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

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
