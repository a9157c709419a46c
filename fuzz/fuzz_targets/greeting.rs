//! Arbitrary bytes as a peer's greeting: the prefix check and the full decode never panic,
//! and they agree (a greeting that decodes passes every prefix check).
#![no_main]

use ferromq::proto::greeting::{GREETING_LEN, Greeting, MechanismName};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut prefix_ok = true;
    for n in 0..=data.len().min(GREETING_LEN) {
        prefix_ok &= Greeting::check_prefix(&data[..n]).is_ok();
    }
    if let Ok(raw) = <[u8; GREETING_LEN]>::try_from(&data[..data.len().min(GREETING_LEN)]) {
        for mech in [MechanismName::NULL, MechanismName("PLAIN")] {
            if let Ok(g) = Greeting::decode(&raw, mech) {
                assert!(prefix_ok);
                assert!(g.version.0 >= 3);
            }
        }
    }
});
