//! Unique ipc endpoints for tests, whose socket files go when the test is done. ferromq
//! removes the file of a path it bound when its listener closes; libzmq 4.3 leaves it behind
//! (it removes only those in a wildcard's directory of its own), so a test that lets libzmq
//! bind cleans up after it.
#![allow(dead_code)]

use std::path::PathBuf;

/// An `ipc://` endpoint in the temporary directory, unique to this process and its tag. Its
/// file is removed when this drops, and at the start too, in case a killed run left one.
pub struct Ipc {
    path: PathBuf,
    endpoint: String,
}

impl Ipc {
    pub fn new(tag: &str) -> Ipc {
        let path = std::env::temp_dir().join(format!("ferromq-{tag}-{}.sock", std::process::id()));
        let _ = std::fs::remove_file(&path);
        let endpoint = format!("ipc://{}", path.display());
        Ipc { path, endpoint }
    }

    pub fn endpoint(&self) -> String {
        self.endpoint.clone()
    }
}

impl Drop for Ipc {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}
