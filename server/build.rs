//! Rebuilds the crate when anything under `ui/` changes, so the embedded UI
//! (which rust-embed reads at compile time) is never stale, new files included.

fn main() {
    println!("cargo:rerun-if-changed=../ui");
}
