//! Models of the mailbox: its wake-up protocol, and a blocked receive racing termination.
#![cfg(loom)]

use ferromq::pipe::{PipeCommand, pipe_pair};
use loom::sync::Arc;
use loom::sync::atomic::AtomicUsize;
use loom::thread;
use loom_tests::{Part, mailbox};

/// Proves: with two producers and a consumer that sleeps whenever its mailbox is empty, every
/// command is received (each producer's in order) and no wake-up is lost: a lost one leaves
/// the consumer asleep forever, which loom reports as a deadlock.
#[test]
fn two_producers_no_lost_wakeup() {
    loom::model(|| {
        let (mut mb, tx, signal) = mailbox::<(u8, u8)>();
        let producers: Vec<_> = (0..2u8)
            .map(|p| {
                let tx = tx.clone();
                thread::spawn(move || {
                    tx.send((p, 0));
                    tx.send((p, 1));
                })
            })
            .collect();
        let mut next = [0u8; 2];
        let mut got = 0;
        while got < 4 {
            match mb.try_recv() {
                Some((p, i)) => {
                    assert_eq!(next[p as usize], i);
                    next[p as usize] += 1;
                    got += 1;
                }
                None => signal.wait(),
            }
        }
        for p in producers {
            p.join().unwrap();
        }
    });
}

enum Cmd {
    Pipe(PipeCommand),
    Stop,
}

/// Proves: a `recv` blocked on a socket's mailbox returns, for every interleaving, when context
/// termination races with a message arriving: either with the message or with "terminated",
/// never sleeping forever, and after termination a further `recv` fails at once. Termination
/// reaches the socket only as a `Stop` command through its mailbox (the runtime also checks a
/// flag, but only as a shortcut): so a lost wake-up would leave `recv` asleep, which loom
/// reports as a deadlock.
#[test]
fn blocked_recv_racing_context_termination() {
    loom::model(|| {
        let drops = Arc::new(AtomicUsize::new(0));
        let (mut sock_end, mut io_end) = pipe_pair::<Part>(0, 0);
        let (mut mb, to_socket, signal) = mailbox::<Cmd>();

        // The I/O thread delivers one message and wakes the socket through its mailbox.
        let io_tx = to_socket.clone();
        let io_drops = drops.clone();
        let io = thread::spawn(move || {
            io_end.write(Part::new(1, &io_drops)).unwrap();
            io_end.flush();
            while let Some(c) = io_end.poll_command() {
                io_tx.send(Cmd::Pipe(c));
            }
            io_end
        });
        // Context termination: a Stop command to every socket.
        let term = thread::spawn(move || to_socket.send(Cmd::Stop));

        // The user's blocking recv, in the runtime's order: commands, then the pipe, then
        // sleep until woken.
        let mut stopped = false;
        let mut recv = || -> Result<u32, &'static str> {
            loop {
                while let Some(cmd) = mb.try_recv() {
                    match cmd {
                        Cmd::Stop => stopped = true,
                        Cmd::Pipe(c) => sock_end.handle_command(c),
                    }
                }
                if stopped {
                    return Err("terminated");
                }
                if let Some(p) = sock_end.read() {
                    return Ok(p.id);
                }
                signal.wait();
            }
        };
        let first = recv();
        assert!(matches!(first, Ok(1) | Err("terminated")), "{first:?}");
        term.join().unwrap();
        assert_eq!(recv(), Err("terminated"), "after term, recv fails at once");
        drop(io.join().unwrap());
    });
}
