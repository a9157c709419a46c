//! Models of a home (`msg::home`): bodies other threads give back while the owner drains.
#![cfg(loom)]

use ferromq::{Home, HomeBody, Shell};
use loom::sync::Arc;
use loom::thread;

/// A body of 8 bytes, each `fill`.
fn body(fill: u8) -> HomeBody {
    HomeBody::new(Shell::new(vec![fill; 8]))
}

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
                thread::spawn(move || home.give_back(body(0)).is_ok())
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

/// A body given back by `give` on another thread while the owner leaves: whatever the
/// interleaving, it is either freed by the leaving owner or refused (and freed by the giver),
/// never kept in a home nobody owns.
fn given_back_as_its_owner_leaves(give: fn(&Home, HomeBody) -> Result<(), HomeBody>) {
    loom::model(move || {
        let home = Arc::new(Home::new());
        let giver = {
            let home = home.clone();
            thread::spawn(move || give(&home, body(0)).is_ok())
        };
        home.close();
        let _taken = giver.join().unwrap();
        assert_eq!(home.holding(), 0, "a body waits in a closed home");
        assert_eq!(home.drain(), 0);
        assert_eq!(home.take_reusable(&mut Vec::new()), 0);
    });
}

/// Proves: a body given back to be freed while the owner leaves is never left behind.
#[test]
fn a_body_given_back_as_its_owner_leaves_is_never_left_behind() {
    given_back_as_its_owner_leaves(Home::give_back);
}

/// Proves: bodies given back for reuse by one thread while another gives one back to be freed
/// and the owner takes the reusable ones meanwhile are each taken exactly once, by that take
/// or the next, and the body to be freed is drained, never taken for reuse: the owner's
/// unlocked look at `reusable` never hides a body given back before it looked again.
#[test]
fn bodies_given_back_for_reuse_are_taken_once_each() {
    loom::model(|| {
        let home = Arc::new(Home::new());
        let reuser = {
            let home = home.clone();
            thread::spawn(move || {
                home.give_back_for_reuse(body(1)).unwrap();
                home.give_back_for_reuse(body(2)).unwrap();
            })
        };
        let freer = {
            let home = home.clone();
            thread::spawn(move || home.give_back(body(3)).unwrap())
        };
        let mut taken = Vec::new();
        home.take_reusable(&mut taken);
        let mut drained = home.drain();
        reuser.join().unwrap();
        freer.join().unwrap();
        home.take_reusable(&mut taken);
        drained += home.drain();
        assert_eq!(taken.len(), 2, "each reusable body is taken once");
        assert!(taken.iter().all(|b| b.capacity() >= 8), "room kept");
        assert_eq!(drained, 1, "the body to be freed is drained, not reused");
        assert_eq!(home.holding(), 0);
    });
}

/// Proves: a body given back for reuse while the owner leaves is never left behind.
#[test]
fn a_body_given_back_for_reuse_as_its_owner_leaves_is_never_left_behind() {
    given_back_as_its_owner_leaves(Home::give_back_for_reuse);
}
