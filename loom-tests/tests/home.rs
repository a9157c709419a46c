//! Models of a home (`msg::home`): bodies other threads give back while the owner drains.
#![cfg(loom)]

use ferromq::Home;
use loom::sync::Arc;
use loom::thread;

/// Proves: whatever the interleaving of two threads giving a body back and the owner draining
/// meanwhile, every body is drained exactly once, by that drain or the next, and none stays
/// behind: the owner's unlocked look at `waiting` never hides a body that was given back
/// before it looked again. A drain that cleared `waiting` after letting the lock go (a body
/// given back in between is then hidden from the next look) fails here.
#[test]
fn bodies_given_back_from_two_threads_are_drained_once_each() {
    loom::model(|| {
        let home = Arc::new(Home::new());
        let givers: Vec<_> = (0..2)
            .map(|_| {
                let home = home.clone();
                thread::spawn(move || home.give_back(vec![0; 8]).is_ok())
            })
            .collect();
        let mut drained = home.drain();
        for g in givers {
            assert!(g.join().unwrap(), "an empty home refused a body");
        }
        drained += home.drain();
        assert_eq!(drained, 2);
        assert_eq!(home.holding(), 0);
        assert_eq!(home.drain(), 0);
    });
}

/// Proves: a body given back while the owner leaves is either freed by the leaving owner or
/// refused (and freed by the giver), never kept in a home nobody owns.
#[test]
fn a_body_given_back_as_its_owner_leaves_is_never_left_behind() {
    loom::model(|| {
        let home = Arc::new(Home::new());
        let giver = {
            let home = home.clone();
            thread::spawn(move || home.give_back(vec![0; 8]).is_ok())
        };
        home.close();
        let _taken = giver.join().unwrap();
        assert_eq!(home.holding(), 0, "a body waits in a closed home");
        assert_eq!(home.drain(), 0);
    });
}
