//! Value types that know their expected form: a duration, a size, a
//! number, a page count and a threshold's limit, each read from TOML with
//! an error that says what was expected.

use super::Pages;
use crate::time::{DURATION_FORM, Dur, SIZE_FORM, parse_duration, parse_size};
use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, Visitor};
use std::fmt;

// ---- value types that know their own expected form --------------------------

/// The three ways TOML hands over a number, each made an f64 and passed to `$make`.
macro_rules! visit_numbers {
    ($value:ty, $make:expr) => {
        fn visit_i64<E: de::Error>(self, v: i64) -> Result<$value, E> {
            Ok($make(v as f64))
        }
        fn visit_u64<E: de::Error>(self, v: u64) -> Result<$value, E> {
            Ok($make(v as f64))
        }
        fn visit_f64<E: de::Error>(self, v: f64) -> Result<$value, E> {
            Ok($make(v))
        }
    };
}

/// A duration written as a string.
#[derive(Clone, Copy, Debug)]
pub(super) struct D(pub(super) Dur);

impl<'de> Deserialize<'de> for D {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = D;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(DURATION_FORM)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<D, E> {
                parse_duration(s).map(D).map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_any(V)
    }
}

/// A size in bytes: an integer or a string with a unit.
#[derive(Clone, Copy, Debug)]
pub(super) struct Size(pub(super) u64);

impl<'de> Deserialize<'de> for Size {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Size;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str(SIZE_FORM)
            }
            fn visit_str<E: de::Error>(self, s: &str) -> Result<Size, E> {
                parse_size(s).map(Size).map_err(|e| E::custom(e.0))
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Size, E> {
                u64::try_from(v)
                    .map(Size)
                    .map_err(|_| E::custom(format!("bad size {v}: expected {SIZE_FORM}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Size, E> {
                Ok(Size(v))
            }
        }
        d.deserialize_any(V)
    }
}

/// A number written as an integer or a float.
#[derive(Clone, Copy, Debug)]
pub(super) struct Num(pub(super) f64);

impl<'de> Deserialize<'de> for Num {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Num;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number")
            }
            visit_numbers!(Num, Num);
        }
        d.deserialize_any(V)
    }
}

/// `pages = 12` (a mean) or `pages = { fixed = 1 }`.
#[derive(Clone, Copy, Debug)]
pub(super) struct RawPages(pub(super) Pages);

impl<'de> Deserialize<'de> for RawPages {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawPages;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a mean number of pages (such as 12) or { fixed = N }")
            }
            visit_numbers!(RawPages, |m| RawPages(Pages::Mean(m)));
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<RawPages, A::Error> {
                let mut fixed = None;
                while let Some(k) = m.next_key::<String>()? {
                    if k != "fixed" {
                        return Err(de::Error::custom(format!(
                            "unknown key `{k}` in pages: expected {{ fixed = N }}"
                        )));
                    }
                    fixed = Some(m.next_value::<u32>()?);
                }
                fixed
                    .map(|n| RawPages(Pages::Fixed(n)))
                    .ok_or_else(|| de::Error::custom("expected { fixed = N }"))
            }
        }
        d.deserialize_any(V)
    }
}

// ---- the file's tables ------------------------------------------------------

/// A threshold's limit: a number, or a duration for the latency figures.
#[derive(Clone, Copy, Debug)]
pub(super) enum RawLimit {
    Number(f64),
    Duration(Dur),
}

impl<'de> Deserialize<'de> for RawLimit {
    fn deserialize<De: Deserializer<'de>>(d: De) -> Result<Self, De::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = RawLimit;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a number, or a duration such as \"500ms\" for p50 and p99")
            }
            visit_numbers!(RawLimit, RawLimit::Number);
            fn visit_str<E: de::Error>(self, s: &str) -> Result<RawLimit, E> {
                parse_duration(s)
                    .map(RawLimit::Duration)
                    .map_err(|e| E::custom(e.0))
            }
        }
        d.deserialize_any(V)
    }
}
