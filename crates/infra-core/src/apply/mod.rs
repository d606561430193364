//! Apply and destroy: walk the plan graph in dependency order with bounded parallelism,
//! record every step durably, and report progress events.
