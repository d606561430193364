//! A strict in-memory provider for engine tests: it fails on anything unexpected
//! (a double create, an update or read of a missing resource), in the spirit of a test
//! backend that is "meant to be strict, in order to catch bugs".
