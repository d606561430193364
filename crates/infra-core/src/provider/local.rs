//! `Infra::Local::Data`: an engine-local resource like Terraform's `terraform_data`.
//!
//! Properties `Input` (any value) and `TriggersReplace` (a change replaces the resource);
//! attribute `Output` equals `Input`; `Ref` gives a generated ID. It makes no network call,
//! which makes it useful for wiring values and the yardstick for engine overhead.
