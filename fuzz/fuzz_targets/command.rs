//! Arbitrary bytes as a command body: parsing never panics, and whatever parses re-encodes
//! to something that parses to the same command.
#![no_main]

use bytes::Bytes;
use ferromq::proto::Command;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(cmd) = Command::parse(Bytes::copy_from_slice(data)) {
        let again = Command::parse(cmd.to_bytes()).expect("re-encoded command parses");
        assert_eq!(again, cmd);
    }
});
