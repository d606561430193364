//! The engine's integration tests, in one binary (one link, one run).

mod engine;
mod eval;
mod load;
mod local_files;
mod schema;
mod state;
mod workspace;
