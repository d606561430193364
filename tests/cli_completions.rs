//! Shell completions and the manual page, generated from the command-line definitions: the
//! scripts load in their shells, and the page names every subcommand.

use std::io::Write;
use std::path::PathBuf;
use std::process::Command;

fn infra(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_infra")).args(args).output().expect("run infra");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// The shell's path, or `None` (with a line on the test's output) when it is not installed.
fn shell(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    let found = std::env::split_paths(&path).map(|d| d.join(name)).find(|p| p.is_file());
    if found.is_none() {
        // Straight to stderr, past the test harness's capture, so the skip shows in the output.
        let _ = writeln!(std::io::stderr(), "skipped: {name} is not installed on this machine");
    }
    found
}

/// A temporary file holding the completion script for `shell`.
fn script(shell: &str) -> tempfile::NamedTempFile {
    let (code, stdout, stderr) = infra(&["completions", shell]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("infra"), "{stdout}");
    let file = tempfile::NamedTempFile::new().expect("temp file");
    std::fs::write(file.path(), stdout).expect("write the script");
    file
}

#[test]
fn bash_completion_loads_and_completes_subcommands() {
    let bash = shell("bash").expect("bash must be installed: the completion test needs it");
    let file = script("bash");
    let out = Command::new(&bash)
        .arg("-c")
        .arg(format!(
            "source {path} && complete -p infra && \
             COMP_WORDS=(infra ex) COMP_CWORD=1 COMP_LINE='infra ex' COMP_POINT=8 && _infra infra ex infra && \
             printf '%s\\n' \"${{COMPREPLY[@]}}\"",
            path = file.path().display()
        ))
        .output()
        .expect("run bash");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().next().is_some_and(|l| l.starts_with("complete ") && l.ends_with(" infra")), "{stdout}");
    assert!(stdout.lines().any(|l| l == "explain"), "`infra ex<TAB>` does not offer explain:\n{stdout}");
}

#[test]
fn zsh_completion_loads() {
    let Some(zsh) = shell("zsh") else { return };
    let file = script("zsh");
    let out = Command::new(zsh)
        .arg("-c")
        .arg(format!("autoload -U compinit && compinit -u && source {} && whence -w _infra", file.path().display()))
        .output()
        .expect("run zsh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("_infra: function"), "{stdout}");
}

#[test]
fn fish_completion_loads() {
    let Some(fish) = shell("fish") else { return };
    let file = script("fish");
    let out = Command::new(fish)
        .arg("-c")
        .arg(format!("source {}; and complete -C 'infra ex'", file.path().display()))
        .output()
        .expect("run fish");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}{}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.lines().any(|l| l.starts_with("explain")), "{stdout}");
}

#[test]
fn powershell_completion_is_generated() {
    let (code, stdout, stderr) = infra(&["completions", "powershell"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("Register-ArgumentCompleter"), "{stdout}");
}

#[test]
fn the_man_page_names_every_subcommand() {
    let (code, stdout, stderr) = infra(&["man"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.starts_with(".ie") || stdout.contains(".TH infra 1"), "not a roff page:\n{stdout}");
    for sub in ["init", "validate", "plan", "apply", "destroy", "explain", "completions", "man"] {
        assert!(stdout.contains(&format!("infra\\-{sub}(1)")), "the page does not name {sub}:\n{stdout}");
    }
    let dir = tempfile::tempdir().expect("temp dir");
    let out = dir.path().join("man1");
    let (code, _, stderr) = infra(&["man", "--out-dir", &out.display().to_string()]);
    assert_eq!(code, 0, "{stderr}");
    for page in ["infra.1", "infra-init.1", "infra-plan.1", "infra-state.1", "infra-state-list.1"] {
        assert!(out.join(page).is_file(), "no {page} in {}", out.display());
    }
}
