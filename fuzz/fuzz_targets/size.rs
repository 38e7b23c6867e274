//! Size parsing takes any string without panicking or overflowing.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    let _ = stratus::time::parse_size(s);
});
