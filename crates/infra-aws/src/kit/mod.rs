//! The toolkit every service shares: the per-type trait and its dispatch.

pub mod service;
