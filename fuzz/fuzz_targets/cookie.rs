//! The cookie codec: any bytes decode to a cart or an error (signed and
//! unsigned, with and without the replay guard's meta); a cart that decodes
//! encodes and decodes back to itself; and a signed cookie altered in any
//! byte is refused.
#![no_main]
use libfuzzer_sys::fuzz_target;
use stratus::session::cookie::CookieCodec;

fuzz_target!(|data: &[u8]| {
    let signed = CookieCodec::new(Some(b"fuzzing key"));
    let unsigned = CookieCodec::new(None);
    let _ = signed.decode_with(data);
    if let Ok((cart, meta)) = unsigned.decode_with(data) {
        for codec in [&signed, &unsigned] {
            let v = codec.encode_with(&cart, meta.as_ref());
            assert_eq!(codec.decode_with(&v).ok(), Some((cart.clone(), meta)));
        }
        let mut v = signed.encode_with(&cart, meta.as_ref());
        if !data.is_empty() && !v.is_empty() {
            let i = usize::from(data[0]) % v.len();
            v[i] ^= data[data.len() - 1] | 1;
            assert!(signed.decode_with(&v).is_err(), "accepted a change at byte {i}");
        }
    }
});
