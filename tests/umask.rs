//! The modes of what `infra` writes do not depend on the umask: the real binary runs under
//! `umask 000` (which would leave new files 0666 and directories 0777) and its state
//! directories are 0700; state, backup, journal, lock and saved plan 0600; local files 0600
//! or their `Mode`.

use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

/// Enough files that an apply is still running when the test sees its journal appear.
const FILES: usize = 400;

fn template() -> String {
    let mut t = String::from("Resources:\n");
    t.push_str("  Default:\n    Type: Infra::Local::File\n    Properties:\n      Directory: out/default\n      FileName: default.txt\n      Content: private\n");
    t.push_str("  Shared:\n    Type: Infra::Local::File\n    Properties:\n      Directory: out/shared\n      FileName: shared.txt\n      Mode: \"0644\"\n      Content: for everyone\n");
    for i in 0..FILES {
        t.push_str(&format!(
            "  F{i}:\n    Type: Infra::Local::File\n    Properties:\n      Directory: out/many\n      FileName: f{i}.txt\n      Content: \"{i}\"\n"
        ));
    }
    t
}

/// `infra` (or `program`) in `dir` under `umask 000`.
fn command(dir: &Path, program: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(program);
    cmd.args(args).current_dir(dir).env_remove("INFRA_ENV").env_remove("INFRA_PROJECT_DIR").stdin(Stdio::null());
    // SAFETY: umask(2) is async-signal-safe and touches no memory; nothing else runs in the
    // child between fork and exec.
    unsafe {
        cmd.pre_exec(|| {
            libc::umask(0);
            Ok(())
        });
    }
    cmd
}

fn infra(dir: &Path, args: &[&str]) -> Output {
    let out = command(dir, env!("CARGO_BIN_EXE_infra"), args).output().expect("run infra");
    assert!(
        out.status.success(),
        "infra {}: {}\n{}{}",
        args.join(" "),
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap_or_else(|e| panic!("{}: {e}", path.display())).permissions().mode() & 0o777
}

fn check_modes(dir: &Path, expected: &[(&str, u32)]) {
    for (path, want) in expected {
        assert_eq!(format!("{:04o}", mode(&dir.join(path))), format!("{want:04o}"), "{path}");
    }
}

#[test]
fn modes_do_not_depend_on_the_umask() {
    let dir = tempfile::tempdir().expect("tempdir");
    let p = dir.path();
    std::fs::create_dir_all(p.join("stacks/backend")).expect("mkdir");
    std::fs::write(
        p.join("infra.toml"),
        "[project]\nname = \"modes\"\nregion = \"us-east-1\"\n\n[state]\npath = \"state\"\n\n[environments.dev]\n",
    )
    .expect("write");
    std::fs::write(p.join("stacks/backend/files.yaml"), template()).expect("write");

    // The umask really is 000 in what these commands start.
    let umask = command(p, "sh", &["-c", "umask"]).output().expect("sh");
    assert_eq!(String::from_utf8_lossy(&umask.stdout).trim(), "0000");

    // A saved plan.
    infra(p, &["plan", "-out", "plan.json"]);
    check_modes(p, &[("plan.json", 0o600)]);

    // An apply stopped by SIGKILL as soon as its journal exists leaves the journal and the
    // lock file behind, as they were written.
    let mut child = command(p, env!("CARGO_BIN_EXE_infra"), &["apply", "-auto-approve", "--parallelism", "1"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn infra");
    let journal = p.join("state/dev/backend.journal");
    let deadline = Instant::now() + Duration::from_secs(60);
    while !journal.exists() && Instant::now() < deadline {
        assert!(child.try_wait().expect("try_wait").is_none(), "apply finished before the test saw its journal");
        std::thread::sleep(Duration::from_millis(1));
    }
    child.kill().expect("kill");
    child.wait().expect("wait");
    check_modes(
        p,
        &[
            ("state", 0o700),
            ("state/dev", 0o700),
            ("state/dev/backend.journal", 0o600),
            ("state/dev/backend.lock", 0o600),
        ],
    );

    // The next apply recovers and finishes; a second change then keeps a backup.
    infra(p, &["apply", "-auto-approve"]);
    std::fs::write(p.join("stacks/backend/files.yaml"), template().replace("Content: private", "Content: changed"))
        .expect("write");
    infra(p, &["apply", "-auto-approve"]);
    check_modes(
        p,
        &[
            ("state/dev/backend.json", 0o600),
            ("state/dev/backend.json.backup", 0o600),
            ("out/default/default.txt", 0o600),
            ("out/default", 0o700),
            ("out/many/f0.txt", 0o600),
            ("out/shared/shared.txt", 0o644),
            ("out/shared", 0o755),
        ],
    );
}
