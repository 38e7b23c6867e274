//! The cookie session codec: a cart serialised into a cookie value, signed with
//! HMAC-SHA256 and checked on every request.
//!
//! The value is `base64url(payload) "." base64url(tag)`; unsigned cookies omit
//! the tag. The payload carries what the cart page shows (product, size,
//! colour, quantity, price and title), as a cookie cart that renders without a
//! database lookup must, which is why it grows towards the browser's limit.

use crate::cart::{COLOURS, Cart, Item, SIZES, title_of};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use hmac::{KeyInit, Mac};
use sha2::Sha256;

type HmacSha256 = hmac::Hmac<Sha256>;

/// The cookie's name; counted in its size as browsers count it.
pub const COOKIE_NAME: &str = "cart";

/// Why a cookie was not accepted as a session.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum CookieError {
    #[error("cookie is not base64url")]
    Encoding,
    #[error("cookie signature does not match")]
    Signature,
    #[error("cookie payload is malformed")]
    Payload,
}

/// Signs and verifies cart cookies with one server key.
#[derive(Clone)]
pub struct CookieCodec {
    mac: Option<HmacSha256>,
}

impl CookieCodec {
    /// `key` None: unsigned cookies (the insecure option the case study warns of).
    pub fn new(key: Option<&[u8]>) -> Self {
        CookieCodec {
            mac: key.map(|k| HmacSha256::new_from_slice(k).expect("HMAC takes any key length")),
        }
    }

    pub fn signed(&self) -> bool {
        self.mac.is_some()
    }

    fn payload(cart: &Cart) -> String {
        let mut s = String::with_capacity(8 + cart.items.len() * 48);
        s.push_str("v1");
        for i in &cart.items {
            use std::fmt::Write;
            let _ = write!(
                s,
                "|{}:{}:{}:{}:{}:{}",
                i.product,
                SIZES[usize::from(i.size)],
                COLOURS[usize::from(i.colour)],
                i.qty,
                i.price_cents,
                title_of(i.product)
            );
        }
        s
    }

    /// The cookie value for a cart.
    pub fn encode(&self, cart: &Cart) -> Vec<u8> {
        let payload = Self::payload(cart);
        let mut out = B64.encode(payload.as_bytes()).into_bytes();
        if let Some(mac) = &self.mac {
            let mut m = mac.clone();
            m.update(payload.as_bytes());
            let tag = m.finalize().into_bytes();
            out.push(b'.');
            out.extend_from_slice(B64.encode(tag).as_bytes());
        }
        out
    }

    /// The cart in a cookie value, if its signature holds and it parses.
    pub fn decode(&self, value: &[u8]) -> Result<Cart, CookieError> {
        let (body, tag) = match value.iter().position(|&b| b == b'.') {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        };
        let payload = B64.decode(body).map_err(|_| CookieError::Encoding)?;
        if let Some(mac) = &self.mac {
            let tag = B64
                .decode(tag.ok_or(CookieError::Signature)?)
                .map_err(|_| CookieError::Signature)?;
            let mut m = mac.clone();
            m.update(&payload);
            m.verify_slice(&tag).map_err(|_| CookieError::Signature)?;
        }
        parse_payload(&payload)
    }

    /// Bytes a browser counts against its per-cookie limit: name, '=', value.
    pub fn cookie_len(value: &[u8]) -> usize {
        COOKIE_NAME.len() + 1 + value.len()
    }
}

fn parse_payload(p: &[u8]) -> Result<Cart, CookieError> {
    let s = std::str::from_utf8(p).map_err(|_| CookieError::Payload)?;
    let mut parts = s.split('|');
    if parts.next() != Some("v1") {
        return Err(CookieError::Payload);
    }
    let mut cart = Cart::default();
    for line in parts {
        let f: Vec<&str> = line.splitn(6, ':').collect();
        if f.len() != 6 {
            return Err(CookieError::Payload);
        }
        let num = |x: &str| x.parse::<u64>().map_err(|_| CookieError::Payload);
        let size = SIZES
            .iter()
            .position(|z| *z == f[1])
            .ok_or(CookieError::Payload)?;
        let colour = COLOURS
            .iter()
            .position(|z| *z == f[2])
            .ok_or(CookieError::Payload)?;
        let item = Item {
            product: u32::try_from(num(f[0])?).map_err(|_| CookieError::Payload)?,
            size: size as u8,
            colour: colour as u8,
            qty: u16::try_from(num(f[3])?).map_err(|_| CookieError::Payload)?,
            price_cents: u32::try_from(num(f[4])?).map_err(|_| CookieError::Payload)?,
        };
        cart.items.push(item);
    }
    Ok(cart)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;

    fn cart(n: usize) -> Cart {
        let mut r = Streams::new(3).stream("t");
        let mut c = Cart::default();
        for _ in 0..n {
            c.add(Item::random(&mut r, 5000));
        }
        c
    }

    #[test]
    fn round_trip_signed_and_unsigned() {
        for codec in [CookieCodec::new(Some(b"k")), CookieCodec::new(None)] {
            for n in [0, 1, 7, 40] {
                let c = cart(n);
                assert_eq!(codec.decode(&codec.encode(&c)).unwrap(), c);
            }
        }
    }

    #[test]
    fn any_flipped_byte_of_a_signed_cookie_is_rejected() {
        let codec = CookieCodec::new(Some(b"secret"));
        let v = codec.encode(&cart(3));
        for i in 0..v.len() {
            let mut w = v.clone();
            w[i] ^= 0x01;
            assert!(codec.decode(&w).is_err(), "flip at {i} accepted");
        }
    }

    #[test]
    fn a_wrong_key_is_rejected() {
        let v = CookieCodec::new(Some(b"a")).encode(&cart(2));
        assert_eq!(
            CookieCodec::new(Some(b"b")).decode(&v),
            Err(CookieError::Signature)
        );
    }

    #[test]
    fn size_grows_with_the_cart() {
        let codec = CookieCodec::new(Some(b"k"));
        let small = CookieCodec::cookie_len(&codec.encode(&cart(1)));
        let big = CookieCodec::cookie_len(&codec.encode(&cart(80)));
        assert!(small < 200, "{small}");
        assert!(big > 4096, "80 lines should pass the browser limit: {big}");
    }
}
