//! A project: `infra.toml` settings, the layers under `stacks/`, environments and their
//! parameter values, and where state lives.
