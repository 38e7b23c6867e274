//! The scenario parser takes any text: a scenario or an error, never a panic,
//! and the audit of whatever parses runs too.
#![no_main]
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(text) = std::str::from_utf8(data)
        && let Ok(sc) = stratus::parse_scenario("fuzz.toml", text)
    {
        let _ = stratus::security::audit::audit(&sc);
    }
});
