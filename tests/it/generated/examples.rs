//! Every `pinns ...` example line of the man pages parses with the real CLI.

use super::{cli, hand_sections, page_commands};
use clap::CommandFactory;
use pinns::cli::Cli;

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
