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
    spawn_asleep(call, |_| true)
}

/// Like [`spawn_blocked`], but returns only once the thread sleeps in `epoll_wait`: a call
/// that leads its I/O thread's loop, not one still waiting for the loop's lock or sleeping on
/// its signal. A test of "a notify rings the leader" passes without the ring if the notify
/// lands while the call is still on its way into `epoll_wait` (the call then sees it before
/// it polls), so it must wait for exactly this.
pub fn spawn_leading<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
) -> JoinHandle<T> {
    spawn_asleep(call, in_epoll_wait)
}

/// `epoll_wait`, `epoll_pwait` and `epoll_pwait2`, by this architecture's numbers.
#[cfg(target_arch = "x86_64")]
const EPOLL_WAITS: &[u64] = &[232, 281, 441];
#[cfg(target_arch = "aarch64")]
const EPOLL_WAITS: &[u64] = &[22, 441];

/// Whether thread `tid` of this process is inside one of [`EPOLL_WAITS`]: the first field of
/// `/proc/self/task/<tid>/syscall` is the number of the system call it is blocked in.
fn in_epoll_wait(tid: u32) -> bool {
    let line =
        std::fs::read_to_string(format!("/proc/self/task/{tid}/syscall")).unwrap_or_default();
    let nr = line.split_whitespace().next().and_then(|n| n.parse::<u64>().ok());
    nr.is_some_and(|nr| EPOLL_WAITS.contains(&nr))
}

fn spawn_asleep<T: Send + 'static>(
    call: impl FnOnce() -> T + Send + 'static,
    inside: fn(u32) -> bool,
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
        if entered.load(Ordering::SeqCst) && state == Some('S') && inside(tid) {
            return handle;
        }
        assert!(Instant::now() < deadline, "the call never blocked (state {state:?})");
        std::thread::yield_now();
    }
}
