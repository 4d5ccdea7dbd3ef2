//! Composition: the server put together from its parts (room, listeners,
//! sharing, routes), how it starts and stops, and the headless entry point
//! the binaries share. Everything else in the crate is a part; only this
//! module knows them all.

pub mod headless;
pub mod server;
pub mod shutdown;
