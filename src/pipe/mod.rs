//! The data path between a socket and its peers, lock-free (DESIGN.md principles 4–6).
//!
//! * [`spsc`] — a single-producer single-consumer queue in chunks (libzmq's ypipe): batched
//!   publication with one swap per batch, and a consumer that sleeps through one
//!   compare-and-swap the producer's next flush sees;
//! * [`latest`] — the conflating variant (CONFLATE): a triple buffer that keeps only the
//!   newest message, with the same sleep and wake-up protocol;
//! * [`PipeEnd`] — two queues back to back, with whole-message high-water marks, low-water
//!   mark credit and the termination handshake;
//! * [`Mailbox`] — an actor's command queue with a driver-supplied wake-up hook.
//!
//! This is the only module with `unsafe` code; it is model-checked with loom (`loom-tests/`),
//! and every atomic and cell it uses comes from `crate::sync`.

mod end;
pub mod latest;
mod mailbox;
pub mod spsc;

pub use end::{
    Flow, PipeCommand, PipeEnd, PipeEvent, PipeMsg, RETURN_SLOT, compute_lwm, pipe_pair,
    pipe_pair_with, return_spent,
};
pub use mailbox::{Mailbox, Sender, Wake};
