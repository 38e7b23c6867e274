//! Duration parsing takes any string; what it accepts prints and parses back
//! to the same value.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|s: &str| {
    if let Ok(d) = stratus::time::parse_duration(s) {
        let again = stratus::time::parse_duration(&d.to_string());
        assert_eq!(again.ok(), Some(d), "{s:?} -> {d}");
    }
});
