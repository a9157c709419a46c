//! The synchronization primitives used by the lock-free code: loom's model-checked versions
//! under `cfg(loom)`, the standard library's otherwise. Every atomic, `UnsafeCell`, `Arc` and
//! `Mutex` in `pipe/`, `msg::home`, `runtime::gate` and `runtime::signal`'s `Signal`, and the
//! gate's parking, come from here, so loom sees every access.

#[cfg(loom)]
pub(crate) use loom::cell::UnsafeCell;
#[cfg(loom)]
pub(crate) use loom::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};
#[cfg(loom)]
pub(crate) use loom::sync::{Arc, Condvar, Mutex};

#[cfg(not(loom))]
pub(crate) use std::sync::atomic::{
    AtomicBool, AtomicPtr, AtomicU8, AtomicU64, AtomicUsize, Ordering, fence,
};

/// Parking a thread until another unparks it.
pub(crate) mod thread {
    #[cfg(loom)]
    pub(crate) use loom::thread::{Thread, current, park, yield_now};
    #[cfg(not(loom))]
    pub(crate) use std::thread::{Thread, current, park, yield_now};

    /// A thread to be unparked, set once by that thread: a `OnceLock` (one load to unpark), a
    /// mutex under loom, which has no `OnceLock`.
    #[derive(Debug, Default)]
    pub(crate) struct Slot {
        #[cfg(not(loom))]
        thread: std::sync::OnceLock<Thread>,
        #[cfg(loom)]
        thread: loom::sync::Mutex<Option<Thread>>,
    }

    impl Slot {
        /// The calling thread is the one to unpark (the first call counts).
        pub(crate) fn set_current(&self) {
            #[cfg(not(loom))]
            let _ = self.thread.set(current());
            #[cfg(loom)]
            self.thread.lock().unwrap().get_or_insert_with(current);
        }

        /// Unparks the thread, if one was set.
        pub(crate) fn unpark(&self) {
            #[cfg(not(loom))]
            let t = self.thread.get();
            #[cfg(loom)]
            let t = self.thread.lock().unwrap();
            #[cfg(loom)]
            let t = t.as_ref();
            if let Some(t) = t {
                t.unpark();
            }
        }
    }
}
#[cfg(not(loom))]
pub(crate) use std::sync::{Arc, Condvar, Mutex};

/// `std::cell::UnsafeCell` with loom's closure-based API, so the same code compiles both ways.
#[cfg(not(loom))]
#[derive(Debug)]
pub(crate) struct UnsafeCell<T>(std::cell::UnsafeCell<T>);

#[cfg(not(loom))]
impl<T> UnsafeCell<T> {
    pub(crate) const fn new(value: T) -> Self {
        UnsafeCell(std::cell::UnsafeCell::new(value))
    }

    pub(crate) fn with_mut<R>(&self, f: impl FnOnce(*mut T) -> R) -> R {
        f(self.0.get())
    }
}

/// Locks a mutex, ignoring poisoning: the data behind our mutexes stays consistent even if a
/// holder panicked (each critical section is one queue operation).
pub(crate) fn lock<T>(m: &Mutex<T>) -> impl std::ops::DerefMut<Target = T> + '_ {
    #[cfg(loom)]
    {
        m.lock().unwrap()
    }
    #[cfg(not(loom))]
    {
        m.lock().unwrap_or_else(|e| e.into_inner())
    }
}
