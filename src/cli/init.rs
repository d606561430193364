//! `infra init`: lay down a new project (settings, the five layer folders, a template per
//! layer, a `.gitignore` for state) in an empty or new folder.

use super::exit;
use super::Global;
use anyhow::{bail, Context};
use clap::ValueEnum;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

/// Start a project: infra.toml, the five layer folders and a template in each
///
/// Writes infra.toml (the project name, region and a `dev` environment), stacks/identity/,
/// network/, shared/, backend/ and frontend/ with a small template each that validates and
/// applies (an IAM role in identity, `Infra::Local::Data` values elsewhere, wired together
/// with exports and imports the way layers use them), and a .gitignore that keeps state/
/// out of git. DIR (default: --project-dir, which defaults to the current folder) must be
/// empty or not exist yet: init never overwrites anything, and refuses without changing
/// anything when DIR holds files.
#[derive(clap::Args, Debug)]
#[command(after_help = "Examples:
  infra init mlplatform                                     # a new project in ./mlplatform
  infra init                                                # in the current folder, which must be empty
  infra init demo --local-aws http://127.0.0.1:5000         # dev's AWS calls go to a local AWS
  infra init demo --example ml-endpoint                     # a SageMaker endpoint with autoscaling
  infra init demo --name mlplatform --region eu-west-1      # choose the project name and region")]
pub struct Args {
    /// The folder to create the project in (default: --project-dir)
    pub dir: Option<PathBuf>,
    /// The project name, part of every stack and export name (default: the folder's name)
    #[arg(long, value_name = "NAME")]
    pub name: Option<String>,
    /// Point the `dev` environment at a local AWS (writes `endpoint_url` for it)
    #[arg(long, value_name = "URL")]
    pub local_aws: Option<String>,
    /// Lay down a working example instead of the minimal skeleton
    #[arg(long, value_enum, value_name = "EXAMPLE")]
    pub example: Option<Example>,
}

/// The examples `--example` offers.
#[derive(Copy, Clone, Debug, PartialEq, Eq, ValueEnum)]
pub enum Example {
    /// A SageMaker execution role (identity) and a model served by an autoscaled endpoint
    /// (backend), a small version of the reference project
    MlEndpoint,
}

/// One file of the skeleton: where it goes, its text, and what it is for.
struct File {
    path: &'static str,
    text: &'static str,
    what: &'static str,
}

const NETWORK: File = File {
    path: "stacks/network/network.yaml",
    text: include_str!("init/skeleton/network.yaml"),
    what: "the VPC's address range, as an Infra::Local::Data value (no AWS call)",
};
const SHARED: File = File {
    path: "stacks/shared/shared.yaml",
    text: include_str!("init/skeleton/shared.yaml"),
    what: "the environment's name prefix, as an Infra::Local::Data value",
};
const FRONTEND: File = File {
    path: "stacks/frontend/frontend.yaml",
    text: include_str!("init/skeleton/frontend.yaml"),
    what: "a value built from the shared layer's export",
};
const GITIGNORE: File = File {
    path: ".gitignore",
    text: include_str!("init/skeleton/gitignore"),
    what: "keeps state/ and saved plans out of git",
};

const SKELETON: &[File] = &[
    File {
        path: "infra.toml",
        text: include_str!("init/skeleton/infra.toml"),
        what: "the project: name, region, the dev environment and its parameters",
    },
    GITIGNORE,
    File {
        path: "stacks/identity/roles.yaml",
        text: include_str!("init/skeleton/identity.yaml"),
        what: "an IAM role SageMaker may assume; exports its ARN",
    },
    NETWORK,
    SHARED,
    File {
        path: "stacks/backend/backend.yaml",
        text: include_str!("init/skeleton/backend.yaml"),
        what: "imports the identity layer's role ARN, as a model will",
    },
    FRONTEND,
];

const ML_ENDPOINT: &[File] = &[
    File {
        path: "infra.toml",
        text: include_str!("init/ml-endpoint/infra.toml"),
        what: "the project: name, region, the dev environment's instance type and capacity",
    },
    GITIGNORE,
    File {
        path: "stacks/identity/execution-role.yaml",
        text: include_str!("init/ml-endpoint/identity.yaml"),
        what: "the SageMaker execution role and its logs policy; exports the role's ARN",
    },
    NETWORK,
    SHARED,
    File {
        path: "stacks/backend/endpoint.yaml",
        text: include_str!("init/ml-endpoint/backend.yaml"),
        what: "model, endpoint configuration, endpoint and its autoscaling",
    },
    FRONTEND,
];

pub fn run(args: Args, global: &Global) -> anyhow::Result<ExitCode> {
    let dir = args.dir.clone().unwrap_or_else(|| global.project_dir.clone());
    refuse_unless_empty(&dir)?;
    let name = match &args.name {
        Some(n) => n.clone(),
        None => default_name(&dir)?,
    };
    if name.is_empty() || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_') {
        bail!("invalid project name `{name}`: only letters, digits, `-` and `_` are allowed (names become part of stack and export names)");
    }
    if let Some(url) = &args.local_aws {
        if !(url.starts_with("http://") || url.starts_with("https://")) {
            bail!("--local-aws `{url}` must be an http:// or https:// URL");
        }
    }
    let region = global.region.clone().unwrap_or_else(|| infra_core::validate::DEFAULT_REGION.to_string());
    let endpoint = match &args.local_aws {
        Some(url) => format!("endpoint_url = {}  # every AWS call of dev goes to this local AWS", toml_string(url)),
        None => "# endpoint_url = \"http://127.0.0.1:5000\"  # point dev at a local AWS".to_string(),
    };
    let files = match args.example {
        None => SKELETON,
        Some(Example::MlEndpoint) => ML_ENDPOINT,
    };
    std::fs::create_dir_all(&dir).with_context(|| format!("create {}", dir.display()))?;
    for f in files {
        let text =
            f.text.replace("{{project}}", &name).replace("{{region}}", &region).replace("{{endpoint}}", &endpoint);
        write_new(&dir.join(f.path), &text)?;
    }
    outln!("Created the infra project `{name}` in {}:", dir.display());
    let width = files.iter().map(|f| f.path.len()).max().unwrap_or(0);
    for f in files {
        outln!("  {:width$}  {}", f.path, f.what);
    }
    outln!();
    match &args.local_aws {
        Some(url) => outln!("The dev environment sends its AWS calls to {url}; region {region}."),
        None => outln!(
            "The dev environment uses your AWS credentials and region {region}; `--local-aws URL` points it at a local AWS instead."
        ),
    }
    outln!();
    outln!("Next:");
    if dir != Path::new(".") {
        outln!("  cd {}", dir.display());
    }
    outln!("  infra validate    check the templates, in every environment");
    outln!("  infra plan        show what apply would create");
    outln!("  infra apply       create it");
    outln!("  infra destroy     remove it again");
    Ok(exit::code(exit::SUCCESS))
}

/// An error naming what `dir` holds unless it is missing or empty.
fn refuse_unless_empty(dir: &Path) -> anyhow::Result<()> {
    let entries = match std::fs::read_dir(dir) {
        Ok(entries) => entries,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotADirectory => {
            bail!("{} exists and is not a folder; nothing was changed", dir.display())
        }
        Err(e) => return Err(e).with_context(|| format!("read {}", dir.display())),
    };
    let mut names = Vec::new();
    for entry in entries {
        let entry = entry.with_context(|| format!("read {}", dir.display()))?;
        let mut name = entry.file_name().to_string_lossy().into_owned();
        if entry.file_type().is_ok_and(|t| t.is_dir()) {
            name.push('/');
        }
        names.push(name);
    }
    if names.is_empty() {
        return Ok(());
    }
    names.sort();
    const SHOWN: usize = 10;
    let mut listed = names.iter().take(SHOWN).cloned().collect::<Vec<_>>().join(", ");
    if names.len() > SHOWN {
        listed.push_str(&format!(" and {} more", names.len() - SHOWN));
    }
    bail!(
        "{} is not empty (it holds {listed}); infra init only writes into an empty or new folder, and nothing was changed",
        dir.display()
    )
}

/// The project name a folder suggests: its own name, with anything but letters, digits, `-`
/// and `_` turned into `-`.
fn default_name(dir: &Path) -> anyhow::Result<String> {
    let absolute = std::path::absolute(dir).with_context(|| format!("resolve {}", dir.display()))?;
    let base = absolute.components().next_back().map(|c| c.as_os_str().to_string_lossy().into_owned());
    let cleaned: String = base
        .unwrap_or_default()
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() || c == '-' || c == '_' { c } else { '-' })
        .collect();
    let cleaned = cleaned.trim_matches('-').to_string();
    if cleaned.is_empty() {
        bail!("cannot take a project name from {}: pass --name NAME", dir.display());
    }
    Ok(cleaned)
}

/// `s` as a TOML basic string.
fn toml_string(s: &str) -> String {
    toml::Value::String(s.to_string()).to_string()
}

/// Write a file that must not exist yet, creating its folders.
fn write_new(path: &Path, text: &str) -> anyhow::Result<()> {
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).with_context(|| format!("create {}", parent.display()))?;
    }
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .open(path)
        .with_context(|| format!("create {}", path.display()))?;
    std::io::Write::write_all(&mut file, text.as_bytes()).with_context(|| format!("write {}", path.display()))
}
