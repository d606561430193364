//! A project on disk pointed at the local AWS (moto), in an account of its own, and the real
//! `infra` binary to run on it: the ground of the end-to-end tests against AWS APIs.
#![allow(dead_code)] // each test binary uses its own part

use infra_aws::testing::{Account, LocalAws};
use std::path::Path;
use std::process::{Command, Output};

pub const PROJECT: &str = "e2e";
pub const ENV: &str = "test";

/// A trust policy letting SageMaker assume a role, indented to sit under
/// `AssumeRolePolicyDocument:` in the test templates.
pub const TRUST: &str = r#"
        Version: "2012-10-17"
        Statement:
          - Effect: Allow
            Principal: { Service: sagemaker.amazonaws.com }
            Action: sts:AssumeRole"#;

/// A temporary project whose `test` environment sends every AWS call to the local AWS, acting
/// in a fresh account so tests run in parallel without seeing each other's resources.
pub struct AwsProject {
    pub dir: tempfile::TempDir,
    pub account: Account,
    pub runtime: tokio::runtime::Runtime,
}

/// What one `infra` run printed, and how it exited.
pub struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    fn from(out: Output) -> Run {
        Run {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// Both streams, for assertion messages.
    pub fn both(&self) -> String {
        format!("exit code {}\n--- stdout\n{}\n--- stderr\n{}", self.code, self.stdout, self.stderr)
    }
}

impl AwsProject {
    /// A project with `layers` (name, template file name, template text) on a fresh account.
    pub fn new(layers: &[(&str, &str, &str)]) -> AwsProject {
        let project = AwsProject::empty();
        let names: Vec<String> = layers.iter().map(|(l, _, _)| format!("{l:?}")).collect();
        project.write(
            "infra.toml",
            &format!(
                "[project]\nname = \"{PROJECT}\"\nregion = \"us-east-1\"\nlayers = [{}]\n\n[state]\npath = \"state\"\n\n\
                 [environments.{ENV}]\nendpoint_url = \"{}\"\n",
                names.join(", "),
                project.account.endpoint_url
            ),
        );
        for (layer, file, text) in layers {
            project.write(&format!("stacks/{layer}/{file}"), text);
        }
        project
    }

    /// The repository's reference project (its `infra.toml` and `stacks/`) on a fresh
    /// account, every environment pointed at the local AWS.
    pub fn reference() -> AwsProject {
        let project = AwsProject::empty();
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let settings = std::fs::read_to_string(root.join("infra.toml")).expect("read the reference infra.toml");
        let mut text = String::new();
        for line in settings.lines() {
            text.push_str(line);
            text.push('\n');
            let header = line.strip_prefix("[environments.").and_then(|rest| rest.strip_suffix(']'));
            if header.is_some_and(|env| !env.contains('.')) {
                text.push_str(&format!("endpoint_url = \"{}\"\n", project.account.endpoint_url));
            }
        }
        project.write("infra.toml", &text);
        copy_tree(&root.join("stacks"), &project.dir.path().join("stacks"));
        project
    }

    /// What the account holds, by kind (`scripts/inventory.py`: roles, VPCs and what is in
    /// them, buckets, repositories, SageMaker resources, scalable targets, stacks,
    /// dashboards), the default VPC's resources left out.
    pub fn inventory(&self) -> std::collections::BTreeMap<String, Vec<String>> {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let credentials = &self.account.credentials;
        let out = Command::new(root.join(".venv/bin/python"))
            .arg(root.join("scripts/inventory.py"))
            .arg("--endpoint-url")
            .arg(&self.account.endpoint_url)
            .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
            .env("AWS_SESSION_TOKEN", credentials.session_token.as_deref().unwrap_or(""))
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .output()
            .expect("run scripts/inventory.py");
        let run = Run::from(out);
        assert_eq!(run.code, 0, "scripts/inventory.py\n{}", run.both());
        serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("inventory printed no JSON ({e}):\n{}", run.both()))
    }

    /// An empty folder on a fresh account: no infra.toml, no templates.
    pub fn empty() -> AwsProject {
        let aws = LocalAws::shared().unwrap_or_else(|e| panic!("failed to start the local AWS: {e}"));
        let runtime = tokio::runtime::Builder::new_multi_thread().enable_all().build().expect("runtime");
        let account = runtime.block_on(aws.account()).unwrap_or_else(|e| panic!("failed to open an account: {e}"));
        let dir = tempfile::tempdir().expect("temp dir");
        AwsProject { dir, account, runtime }
    }

    pub fn path(&self) -> &Path {
        self.dir.path()
    }

    /// Write (or overwrite) a file of the project.
    pub fn write(&self, relative: &str, text: &str) {
        let path = self.dir.path().join(relative);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).expect("create project directory");
        }
        std::fs::write(path, text).expect("write project file");
    }

    /// Run `infra ARGS` on the project, as the project's account.
    pub fn infra(&self, args: &[&str]) -> Run {
        self.infra_in(ENV, args)
    }

    /// Run `infra ARGS` on the project's environment `env`, as the project's account.
    pub fn infra_in(&self, env: &str, args: &[&str]) -> Run {
        self.infra_with(env, &[], args)
    }

    /// Run `infra ARGS` on environment `env` with these environment variables set too.
    pub fn infra_with(&self, env: &str, vars: &[(&str, &str)], args: &[&str]) -> Run {
        Run::from(self.command(env, vars, args).output().expect("run the infra binary"))
    }

    /// The `infra ARGS` command on environment `env` as the project's account, with these
    /// environment variables set too, to spawn.
    pub fn command(&self, env: &str, vars: &[(&str, &str)], args: &[&str]) -> Command {
        let credentials = &self.account.credentials;
        let mut command = Command::new(env!("CARGO_BIN_EXE_infra"));
        command
            .arg("--project-dir")
            .arg(self.dir.path())
            .arg("--env")
            .arg(env)
            .args(args)
            .env("NO_COLOR", "1")
            .env("AWS_ACCESS_KEY_ID", &credentials.access_key_id)
            .env("AWS_SECRET_ACCESS_KEY", &credentials.secret_access_key)
            .env("AWS_SESSION_TOKEN", credentials.session_token.as_deref().unwrap_or(""))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            // Nothing from the machine's own AWS setup may leak in.
            .env("AWS_CONFIG_FILE", "/dev/null")
            .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
            .env_remove("AWS_PROFILE")
            .env_remove("AWS_ENDPOINT_URL")
            .env_remove("AWS_REGION")
            .env_remove("AWS_DEFAULT_REGION")
            .env_remove("INFRA_PROJECT_DIR")
            .env_remove("INFRA_ENV")
            .env_remove("INFRA_RETRY_TIMEOUT")
            .envs(vars.iter().copied());
        command
    }

    /// Send the environment's AWS calls to `url` from now on (a fault proxy, or the local AWS
    /// itself again).
    pub fn set_endpoint(&self, url: &str) {
        let path = self.dir.path().join("infra.toml");
        let text = std::fs::read_to_string(&path).expect("read infra.toml");
        let lines: Vec<String> = text
            .lines()
            .map(|l| if l.starts_with("endpoint_url = ") { format!("endpoint_url = \"{url}\"") } else { l.to_string() })
            .collect();
        std::fs::write(&path, lines.join("\n") + "\n").expect("write infra.toml");
    }

    /// The bytes of every file under the project's `state/` directory, by path.
    pub fn state_files(&self) -> std::collections::BTreeMap<String, Vec<u8>> {
        fn walk(dir: &Path, out: &mut std::collections::BTreeMap<String, Vec<u8>>) {
            let Ok(entries) = std::fs::read_dir(dir) else { return };
            for entry in entries.flatten() {
                let path = entry.path();
                if path.is_dir() {
                    walk(&path, out);
                } else if path.extension().is_none_or(|e| e != "lock") {
                    out.insert(path.display().to_string(), std::fs::read(&path).unwrap_or_default());
                }
            }
        }
        let mut out = std::collections::BTreeMap::new();
        walk(&self.dir.path().join("state"), &mut out);
        out
    }

    /// Whether any layer has a journal.
    pub fn has_journal(&self) -> bool {
        self.state_files().keys().any(|k| k.ends_with(".journal"))
    }

    /// Run `infra ARGS` and require exit code `code`.
    pub fn expect(&self, code: i32, args: &[&str]) -> Run {
        let run = self.infra(args);
        assert_eq!(run.code, code, "infra {}\n{}", args.join(" "), run.both());
        run
    }

    /// An SDK configuration acting in the project's account.
    pub fn sdk_config(&self) -> aws_config::SdkConfig {
        self.runtime.block_on(self.account.sdk_config()).unwrap_or_else(|e| panic!("failed to configure the SDK: {e}"))
    }

    /// The recorded state of one resource (`infra state show --format json`).
    pub fn state_show(&self, layer: &str, logical_id: &str) -> serde_json::Value {
        let run = self.expect(0, &["--format", "json", "state", "show", &format!("{layer}.{logical_id}")]);
        serde_json::from_str(&run.stdout)
            .unwrap_or_else(|e| panic!("state show printed no JSON ({e}):\n{}", run.both()))
    }

    /// A string attribute of a resource as recorded in state.
    pub fn attribute(&self, layer: &str, logical_id: &str, name: &str) -> String {
        let record = self.state_show(layer, logical_id);
        match record["attributes"][name].as_str() {
            Some(value) => value.to_string(),
            None => panic!("no attribute {name} for {layer}.{logical_id} in state: {record}"),
        }
    }

    /// Replace the account ID wherever it appears, so output can be snapshotted.
    pub fn redact(&self, text: &str) -> String {
        text.replace(&self.account.account_id, "<account>").replace(&self.account.endpoint_url, "<endpoint>")
    }
}

/// Copies the files under `from` to `to`, folders included.
fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("create folder");
    for entry in std::fs::read_dir(from).expect("read folder").flatten() {
        let path = entry.path();
        if path.is_dir() {
            copy_tree(&path, &to.join(entry.file_name()));
        } else {
            std::fs::copy(&path, to.join(entry.file_name())).expect("copy file");
        }
    }
}
