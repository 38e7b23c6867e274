//! The cookie session codec: a cart serialised into a cookie value, signed with
//! HMAC-SHA256 and checked on every request.
//!
//! The value is `base64url(payload) "." base64url(tag)`; unsigned cookies omit
//! the tag. The payload carries what the cart page shows (product, size,
//! colour, quantity, price and title), as a cookie cart that renders without a
//! database lookup must, which is why it grows towards the browser's limit.

use super::Sid;
use crate::cart::{COLOURS, Cart, Item, SIZES, push_title};
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use base64::{Engine as _, decoded_len_estimate, encoded_len};
use hmac::{KeyInit, Mac};
use sha2::Sha256;
use smallvec::SmallVec;

type HmacSha256 = hmac::Hmac<Sha256>;

/// HMAC-SHA256's tag, in bytes.
const TAG_BYTES: usize = 32;

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
    #[error("cookie has expired")]
    Expired,
    #[error("cookie's version was revoked (a replay)")]
    Revoked,
    #[error("cookie carries no expiry or version the server requires")]
    Unguarded,
}

/// What a guarded cookie carries besides the cart (see `session::guard`):
/// written inside the signed payload, so a signed cookie's meta cannot be
/// changed either.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// The server refuses the cookie after this (simulated) second.
    pub expires_s: Option<u64>,
    /// Session id and version, for a versioned cookie.
    pub version: Option<(Sid, u32)>,
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

    /// The signed text: `v1` or `v2:EXPIRES:SID:VERSION` (`-` for what the
    /// cookie does not carry), then `|PRODUCT:SIZE:COLOUR:QTY:PRICE:TITLE`
    /// a line. Written piece by piece (numbers by `itoa`): it is built
    /// whenever a cart changes.
    fn payload(cart: &Cart, meta: Option<&Meta>) -> String {
        use std::fmt::Write;
        let mut s = String::with_capacity(8 + cart.items.len() * 48);
        let mut n = itoa::Buffer::new();
        match meta {
            Some(m) => {
                s.push_str("v2:");
                match m.expires_s {
                    Some(e) => s.push_str(n.format(e)),
                    None => s.push('-'),
                }
                match m.version {
                    Some((sid, v)) => {
                        let _ = write!(s, ":{sid:032x}:");
                        s.push_str(n.format(v));
                    }
                    None => s.push_str(":-:-"),
                }
            }
            None => s.push_str("v1"),
        }
        for i in &cart.items {
            s.push('|');
            s.push_str(n.format(i.product));
            s.push(':');
            s.push_str(SIZES[usize::from(i.size)]);
            s.push(':');
            s.push_str(COLOURS[usize::from(i.colour)]);
            s.push(':');
            s.push_str(n.format(i.qty));
            s.push(':');
            s.push_str(n.format(i.price_cents));
            s.push(':');
            push_title(&mut s, i.product);
        }
        s
    }

    /// The cookie value for a cart.
    pub fn encode(&self, cart: &Cart) -> Vec<u8> {
        self.encode_with(cart, None)
    }

    /// The cookie value for a cart, with an expiry and version if given.
    /// Encoded in place, at its exact length, so the shopper's browser keeps
    /// it (a boxed slice) without reallocating.
    pub fn encode_with(&self, cart: &Cart, meta: Option<&Meta>) -> Vec<u8> {
        let payload = Self::payload(cart, meta);
        let body = encoded_len(payload.len(), false).expect("a cookie's length fits");
        let tag = match &self.mac {
            Some(_) => 1 + encoded_len(TAG_BYTES, false).expect("fits"),
            None => 0,
        };
        let mut out = vec![0; body + tag];
        B64.encode_slice(payload.as_bytes(), &mut out[..body])
            .expect("sized by encoded_len");
        if let Some(mac) = &self.mac {
            let mut m = mac.clone();
            m.update(payload.as_bytes());
            out[body] = b'.';
            B64.encode_slice(m.finalize().into_bytes(), &mut out[body + 1..])
                .expect("sized by encoded_len");
        }
        out
    }

    /// The cart in a cookie value, if its signature holds and it parses.
    pub fn decode(&self, value: &[u8]) -> Result<Cart, CookieError> {
        self.decode_with(value).map(|(c, _)| c)
    }

    /// The cart and what the cookie carries besides, if its signature holds
    /// and it parses.
    pub fn decode_with(&self, value: &[u8]) -> Result<(Cart, Option<Meta>), CookieError> {
        // The first '.' ends the value (a forged one may hold more): found
        // with SIMD, the value being a few hundred bytes to kilobytes long.
        let (body, tag) = match memchr::memchr(b'.', value) {
            Some(i) => (&value[..i], Some(&value[i + 1..])),
            None => (value, None),
        };
        // Decoded on the stack: a cookie a browser kept is at most a few
        // kilobytes, and this runs on every request of the cookie strategy.
        let mut payload = SmallVec::<[u8; 1024]>::from_elem(0, decoded_len_estimate(body.len()));
        let n = B64
            .decode_slice(body, &mut payload)
            .map_err(|_| CookieError::Encoding)?;
        let payload = &payload[..n];
        if let Some(mac) = &self.mac {
            // A tag longer than any HMAC's cannot match: refused as one.
            let mut t = [0u8; 2 * TAG_BYTES];
            let n = B64
                .decode_slice(tag.ok_or(CookieError::Signature)?, &mut t)
                .map_err(|_| CookieError::Signature)?;
            let mut m = mac.clone();
            m.update(payload);
            m.verify_slice(&t[..n])
                .map_err(|_| CookieError::Signature)?;
        }
        parse_payload(payload)
    }

    /// Bytes a browser counts against its per-cookie limit: name, '=', value.
    pub fn cookie_len(value: &[u8]) -> usize {
        COOKIE_NAME.len() + 1 + value.len()
    }
}

/// Whether a browser keeps a Set-Cookie of `name` and a `value_len`-byte
/// value under its per-cookie `limit`: one over it is ignored (the old
/// cookie stays). The one rule for the simulated browser and `stratus
/// load`'s cookie jar.
pub fn browser_keeps(name: &str, value_len: usize, limit: u64) -> bool {
    (name.len() + 1 + value_len) as u64 <= limit
}

/// `s` cut at `sep` into exactly `N` fields, or None. One pass over the
/// bytes and no allocation.
fn fields<const N: usize>(s: &str, sep: u8) -> Option<[&str; N]> {
    let mut out = [""; N];
    let (mut k, mut start) = (0, 0);
    for (i, &b) in s.as_bytes().iter().enumerate() {
        if b != sep {
            continue;
        }
        if k == N - 1 {
            return None;
        }
        // `sep` is ASCII, so both ends are character boundaries.
        out[k] = &s[start..i];
        (k, start) = (k + 1, i + 1);
    }
    if k != N - 1 {
        return None;
    }
    out[k] = &s[start..];
    Some(out)
}

fn parse_meta(head: &str) -> Result<Option<Meta>, CookieError> {
    if head == "v1" {
        return Ok(None);
    }
    let f: [&str; 4] = fields(head, b':').ok_or(CookieError::Payload)?;
    if f[0] != "v2" {
        return Err(CookieError::Payload);
    }
    let digits = |x: &str| !x.is_empty() && x.bytes().all(|b| b.is_ascii_digit());
    let expires_s = match f[1] {
        "-" => None,
        x if digits(x) => Some(x.parse().map_err(|_| CookieError::Payload)?),
        _ => return Err(CookieError::Payload),
    };
    let version = match (f[2], f[3]) {
        ("-", "-") => None,
        (sid, v) if sid.len() == 32 && sid.bytes().all(|b| b.is_ascii_hexdigit()) && digits(v) => {
            let sid = Sid::from_str_radix(sid, 16).map_err(|_| CookieError::Payload)?;
            Some((sid, v.parse().map_err(|_| CookieError::Payload)?))
        }
        _ => return Err(CookieError::Payload),
    };
    Ok(Some(Meta { expires_s, version }))
}

fn parse_payload(p: &[u8]) -> Result<(Cart, Option<Meta>), CookieError> {
    let s = std::str::from_utf8(p).map_err(|_| CookieError::Payload)?;
    let (head, mut lines) = match memchr::memchr(b'|', p) {
        Some(i) => (&s[..i], Some(&p[i + 1..])),
        None => (s, None),
    };
    let meta = parse_meta(head)?;
    let mut cart = Cart::default();
    while let Some(line) = lines {
        let (item, next) = parse_line(line).ok_or(CookieError::Payload)?;
        cart.items.push(item);
        lines = next;
    }
    Ok((cart, meta))
}

/// The cart line `product:size:colour:qty:price:title` that `b` starts
/// with, and what follows the '|' ending it, if one does. Read field by
/// field in one pass: this runs for every line of every cookie, and the
/// title, which the cart does not keep, is only skipped.
fn parse_line(b: &[u8]) -> Option<(Item, Option<&[u8]>)> {
    let (product, b) = number(b)?;
    let (size, b) = one_of(b, &SIZES)?;
    let (colour, b) = one_of(b, &COLOURS)?;
    let (qty, b) = number(b)?;
    let (price_cents, b) = number(b)?;
    let item = Item {
        product: u32::try_from(product).ok()?,
        size,
        colour,
        qty: u16::try_from(qty).ok()?,
        price_cents: u32::try_from(price_cents).ok()?,
    };
    Some((item, memchr::memchr(b'|', b).map(|i| &b[i + 1..])))
}

/// A field ended by ':' at the start of `b`, in the form `u64`'s `FromStr`
/// takes (an optional '+', then one or more digits, no overflow): its value
/// and what follows the ':'.
fn number(b: &[u8]) -> Option<(u64, &[u8])> {
    let b = b.strip_prefix(b"+").unwrap_or(b);
    let mut n: u64 = 0;
    for (i, &c) in b.iter().enumerate() {
        if c == b':' {
            return (i > 0).then(|| (n, &b[i + 1..]));
        }
        let d = c.wrapping_sub(b'0');
        if d > 9 {
            return None;
        }
        n = n.checked_mul(10)?.checked_add(u64::from(d))?;
    }
    None
}

/// A field ended by ':' at the start of `b` that is exactly one of `names`:
/// its index and what follows the ':'.
fn one_of<'a>(b: &'a [u8], names: &[&str]) -> Option<(u8, &'a [u8])> {
    let end = b.iter().position(|&c| c == b':')?;
    let i = names.iter().position(|n| n.as_bytes() == &b[..end])?;
    Some((i as u8, &b[end + 1..]))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::Streams;
    use proptest::prop_assert_eq;

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

    /// The signed text, byte for byte: what a browser's cookie holds.
    #[test]
    fn the_payload_is_written_exactly() {
        let mut c = Cart::default();
        c.add(Item {
            product: 4_294_967_295,
            size: 5,
            colour: 0,
            qty: 65_535,
            price_cents: 999,
        });
        c.add(crate::cart::item(30));
        let meta = Meta {
            expires_s: Some(18_446_744_073_709_551_615),
            version: Some((42, 7)),
        };
        let want = format!(
            "v2:18446744073709551615:{:032x}:7|4294967295:XXL:{}:65535:999:{}|30:M:{}:1:{}:{}",
            42,
            COLOURS[0],
            crate::cart::title_of(4_294_967_295),
            COLOURS[1],
            crate::cart::price_of(30),
            crate::cart::title_of(30),
        );
        assert_eq!(CookieCodec::payload(&c, Some(&meta)), want);
        let bare = Meta {
            expires_s: None,
            version: None,
        };
        assert_eq!(
            CookieCodec::payload(&Cart::default(), Some(&bare)),
            "v2:-:-:-"
        );
        assert_eq!(CookieCodec::payload(&Cart::default(), None), "v1");
    }

    #[test]
    fn meta_round_trips_and_is_signed() {
        let codec = CookieCodec::new(Some(b"k"));
        let m = Meta {
            expires_s: Some(1800),
            version: Some((0xfeed_u128 << 64 | 7, 3)),
        };
        let v = codec.encode_with(&cart(2), Some(&m));
        assert_eq!(codec.decode_with(&v).unwrap(), (cart(2), Some(m)));
        let none = Meta {
            expires_s: None,
            version: None,
        };
        let v = codec.encode_with(&cart(1), Some(&none));
        assert_eq!(codec.decode_with(&v).unwrap().1, Some(none));
        assert_eq!(codec.decode_with(&codec.encode(&cart(1))).unwrap().1, None);
    }

    #[test]
    fn fields_cut_exactly_or_not_at_all() {
        assert_eq!(fields::<3>("a:b:c", b':'), Some(["a", "b", "c"]));
        assert_eq!(fields::<3>("a:b:c:d", b':'), None);
        assert_eq!(fields::<3>("a:b", b':'), None);
        assert_eq!(fields::<3>("::", b':'), Some(["", "", ""]));
        assert_eq!(fields::<2>("", b':'), None);
        assert_eq!(fields::<2>("é:x", b':'), Some(["é", "x"]));
    }

    /// What a cart line's fields hold in the payloads below, as (usually,
    /// rarely): numbers in `u64`'s forms and past each field's width, then
    /// malformed ones; names; titles holding ':' or not ASCII; separators.
    const NUMBERS: (&[&str], &[&str]) = (
        &[
            "0",
            "5",
            "+7",
            "007",
            "65535",
            "65536",
            "4294967295",
            "4294967296",
        ],
        &[
            "++7",
            "-1",
            "+",
            "",
            "1a",
            "18446744073709551615",
            "18446744073709551616",
        ],
    );
    const SIZE_FIELDS: (&[&str], &[&str]) = (&["XS", "S", "XXL"], &["xs", "XXXL", "navy", ""]);
    const COLOUR_FIELDS: (&[&str], &[&str]) = (&["navy", "olive"], &["Navy", "XS", ""]);
    const TITLES: (&[&str], &[&str]) = (&["Slim Cotton Crew Tee", "a:b", "é", "::"], &[""]);
    const SEPS: (&[&str], &[&str]) = (&[":"], &["", "::", "|"]);
    const HEADS: (&[&str], &[&str]) = (
        &[
            "v1",
            "v2:-:-:-",
            "v2:+17:-:-",
            "v2:-:0123456789abcdef0123456789abcdef:3",
        ],
        &["v3", "", "v2:-:-"],
    );

    /// Index `i` (0..64) of `pool`: one of the usual values, or for 6 of
    /// the 64 indices a rare one.
    fn pick(pool: (&[&'static str], &[&'static str]), i: usize) -> &'static str {
        match i {
            0..58 => pool.0[i % pool.0.len()],
            _ => pool.1[i % pool.1.len()],
        }
    }

    /// A payload: a head, then lines of six fields, each field and each
    /// separator picked by the indices given.
    fn payload(head: usize, lines: &[[usize; 12]]) -> String {
        let mut p = pick(HEADS, head).to_string();
        for l in lines {
            p.push('|');
            let pools = [
                NUMBERS,
                SIZE_FIELDS,
                COLOUR_FIELDS,
                NUMBERS,
                NUMBERS,
                TITLES,
            ];
            for (k, &pool) in pools.iter().enumerate() {
                p.push_str(pick(pool, l[2 * k]));
                if k < 5 {
                    p.push_str(pick(SEPS, l[2 * k + 1]));
                }
            }
        }
        p
    }

    proptest::proptest! {
        /// Payloads pieced together from good and bad fields: the single
        /// pass accepts exactly what the split parser accepted, with the
        /// same cart and meta, and refuses the rest for the same reason.
        #[test]
        fn the_line_parser_matches_the_split_one_on_any_payload(
            head in 0usize..64,
            lines in proptest::collection::vec(proptest::array::uniform12(0usize..64), 0..5),
        ) {
            let p = payload(head, &lines);
            prop_assert_eq!(parse_payload(p.as_bytes()), parse_payload_by_split(p.as_bytes()), "{}", p);
        }

        /// A real cookie's payload with a few bytes changed, inserted or
        /// removed (an attacker's edit, a truncation): the same answers.
        #[test]
        fn the_line_parser_matches_the_split_one_on_edited_cookies(
            lines in 0usize..6,
            meta in proptest::bool::ANY,
            edits in proptest::collection::vec((0usize..4096, 0usize..3, proptest::sample::select(&b"0123456789+-:|vXSLn\xc3\xa9\xff "[..])), 0..4),
        ) {
            let codec = CookieCodec::new(None);
            let m = meta.then_some(Meta { expires_s: Some(1_700_000_000), version: Some((0xabc, 7)) });
            let mut p = B64.decode(codec.encode_with(&cart(lines), m.as_ref())).expect("base64");
            prop_assert_eq!(parse_payload(&p), parse_payload_by_split(&p));
            for (at, how, byte) in edits {
                let at = at % (p.len() + 1);
                match how {
                    0 if at < p.len() => p[at] = byte,
                    1 => p.insert(at, byte),
                    _ if at < p.len() => { p.remove(at); }
                    _ => {}
                }
                prop_assert_eq!(parse_payload(&p), parse_payload_by_split(&p));
            }
        }
    }

    /// The line parser as it was before `parse_line` (split on '|', cut
    /// into fields, `str::parse`): the oracle the single pass is held to.
    fn parse_payload_by_split(p: &[u8]) -> Result<(Cart, Option<Meta>), CookieError> {
        let s = std::str::from_utf8(p).map_err(|_| CookieError::Payload)?;
        let mut parts = s.split('|');
        let meta = parse_meta(parts.next().unwrap_or_default())?;
        let mut cart = Cart::default();
        for line in parts {
            let mut f = line.splitn(6, ':');
            let mut next = || f.next().ok_or(CookieError::Payload);
            let f: [&str; 6] = [next()?, next()?, next()?, next()?, next()?, next()?];
            let num = |x: &str| x.parse::<u64>().map_err(|_| CookieError::Payload);
            let size = SIZES.iter().position(|z| *z == f[1]);
            let colour = COLOURS.iter().position(|z| *z == f[2]);
            cart.items.push(Item {
                product: u32::try_from(num(f[0])?).map_err(|_| CookieError::Payload)?,
                size: size.ok_or(CookieError::Payload)? as u8,
                colour: colour.ok_or(CookieError::Payload)? as u8,
                qty: u16::try_from(num(f[3])?).map_err(|_| CookieError::Payload)?,
                price_cents: u32::try_from(num(f[4])?).map_err(|_| CookieError::Payload)?,
            });
        }
        Ok((cart, meta))
    }

    #[test]
    fn malformed_cookies_are_refused_for_their_reason() {
        let codec = CookieCodec::new(Some(b"k"));
        let v = codec.encode(&cart(1));
        let dot = v.iter().position(|&b| b == b'.').unwrap();
        // A tag far longer than an HMAC's is a bad signature, not a crash.
        let mut long = v[..=dot].to_vec();
        long.extend(std::iter::repeat_n(b'A', 400));
        assert_eq!(codec.decode(&long), Err(CookieError::Signature));
        assert_eq!(codec.decode(&v[..dot]), Err(CookieError::Signature));
        assert_eq!(codec.decode(b"**.AAAA"), Err(CookieError::Encoding));
        // Unsigned, so the payload's own form is what is checked.
        let open = CookieCodec::new(None);
        let b64 = |s: &str| B64.encode(s).into_bytes();
        assert_eq!(open.decode(&b64("v1")), Ok(Cart::default()));
        for bad in [
            "v2:1:-",
            "v2:1:-:-:-",
            "v3:-:-:-",
            "v1|1:M:navy:1",
            "v1|1:XXL9:navy:1:5:t",
        ] {
            assert_eq!(open.decode(&b64(bad)), Err(CookieError::Payload), "{bad}");
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
