//! The man pages under groff: no warning on any page or hand-written source,
//! every section rendered.

use super::{generated_files, hand_sections, page_commands, sections_dir};
use std::path::PathBuf;
use std::process::Command;

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
