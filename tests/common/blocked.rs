//! Spawns a thread and returns only once it is blocked inside the call under test, so that a
//! test of "X unblocks a blocked call" cannot pass because the call never blocked. The thread
//! marks that it is about to make the call; the test then waits until the kernel reports the
//! thread asleep (`S` in `/proc/self/task/<tid>/stat`), which after the mark can only be the
//! call itself blocking. Linux only, like the rest of the suite.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// Runs `call` on a new thread; returns once that thread is asleep inside it.
pub fn spawn_blocked<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    let (tx, rx) = std::sync::mpsc::channel();
    let entered = Arc::new(AtomicBool::new(false));
    let flag = entered.clone();
    let handle = std::thread::spawn(move || {
        let me = std::fs::read_link("/proc/thread-self").expect("procfs");
        let tid: u32 = me.file_name().unwrap().to_str().unwrap().parse().unwrap();
        tx.send(tid).unwrap();
        flag.store(true, Ordering::SeqCst);
        call()
    });
    let tid = rx.recv().unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let stat =
            std::fs::read_to_string(format!("/proc/self/task/{tid}/stat")).unwrap_or_default();
        let state = stat.rsplit(") ").next().and_then(|s| s.chars().next());
        if entered.load(Ordering::SeqCst) && state == Some('S') {
            return handle;
        }
        assert!(Instant::now() < deadline, "the call never blocked (state {state:?})");
        std::thread::yield_now();
    }
}
