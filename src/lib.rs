//! The `infra` command line. Thin: it parses flags, builds providers and calls the engine.

pub mod cli;
