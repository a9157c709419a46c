//! `ferromq-sim`: the deterministic simulator for ferromq (issue 5).
//!
//! It will run the same sans-IO actors, sockets and pipes as the production runtime in one
//! thread, with virtual time and one seeded RNG, over a simulated network that injects faults,
//! checking invariants after every step and replaying any failure from its seed.
//!
//! Nothing is implemented here yet: the actors it drives (sessions, socket cores) come with the
//! runtime. The README's status table tracks it.
#![forbid(unsafe_code)]
