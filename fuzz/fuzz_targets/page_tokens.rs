//! Page tokens: only tokens Keel issued decode, to a non-negative offset that encodes back to
//! a token decoding to the same offset.
#![no_main]

use keel_core::paging;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    if let Ok(offset) = paging::decode(Some(text)) {
        assert!(offset >= 0, "negative offset from {text:?}");
        let token = paging::encode(offset);
        assert_eq!(paging::decode(Some(&token)).ok(), Some(offset));
    }
});
