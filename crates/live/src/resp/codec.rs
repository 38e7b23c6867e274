//! The one RESP2 codec in Stratus. The live shop speaks the Redis protocol
//! from both ends: as a server ([`super`], for redis-cli and redis-benchmark)
//! and as a client ([`crate::remote`], keeping sessions in a real
//! redis-server). DESIGN.md asks for one vocabulary per protocol, so both go
//! through this module: a frame one side writes is a frame the other side
//! reads, and a limit or a fix applies to both.
//!
//! It is sans-IO: functions over byte slices and output buffers. The callers
//! own the sockets, call a decoder on what they have read so far, read more
//! while it answers `Ok(None)` (incomplete), and take the bytes it used off
//! the front (pipelining: the rest is the next frame). Malformed input is an
//! `Err` carrying Redis's own wording for the fault, never a panic.
//!
//! Two grammars, as in Redis: a request is an array of bulk strings or an
//! inline command (words on one line, as telnet sends them), decoded by
//! [`parse_command`]; a reply is any RESP2 value, decoded by [`decode`].
//!
//! Hand-written rather than the `redis-protocol` crate: requests need inline
//! commands and Redis's protocol-error messages, which that crate does not
//! give, and RESP2 is small enough that the crate's dependencies (nom,
//! cookie-factory, crc16, ...) would outweigh it.

use bytes::{Bytes, BytesMut};
use std::ops::Range;

/// A bulk string longer than this is a protocol error (Redis allows 512 MB;
/// a session is a few hundred bytes).
pub const MAX_BULK: usize = 16 << 20;
/// Elements in one array (a command's arguments or a reply's items), at most.
pub const MAX_ARGS: usize = 1 << 20;
/// An inline command or a frame header line longer than this is refused.
pub const MAX_LINE: usize = 64 << 10;
/// Arrays nested deeper than this are refused, so a hostile server cannot
/// overflow the client's stack.
const MAX_DEPTH: usize = 32;

/// Why some bytes are not RESP; shown after `-ERR Protocol error: `.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct ProtocolError(String);

/// One RESP2 value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Simple(String),
    Error(String),
    Int(i64),
    Bulk(Vec<u8>),
    /// The null bulk string (`$-1`) or null array (`*-1`); encoded as the former.
    Null,
    Array(Vec<Value>),
}

/// A decoded item and the offset just past it, or None if incomplete.
type Step<T> = Result<Option<(T, usize)>, ProtocolError>;

// Encoding: writers append to `out`, so a server answers a whole pipeline in
// one buffer and one write.

pub fn simple(out: &mut Vec<u8>, s: &str) {
    out.push(b'+');
    one_line(out, s);
}

pub fn error(out: &mut Vec<u8>, msg: &str) {
    out.push(b'-');
    one_line(out, msg);
}

/// A CR or LF inside a simple string or error would end the frame early and
/// desynchronise the peer; Redis turns them into spaces, and so does this.
fn one_line(out: &mut Vec<u8>, s: &str) {
    out.extend(
        s.bytes()
            .map(|c| if c == b'\r' || c == b'\n' { b' ' } else { c }),
    );
    out.extend_from_slice(b"\r\n");
}

pub fn int(out: &mut Vec<u8>, n: i64) {
    header(out, b':', n);
}

pub fn bulk(out: &mut Vec<u8>, v: &[u8]) {
    header(out, b'$', v.len() as i64);
    out.extend_from_slice(v);
    out.extend_from_slice(b"\r\n");
}

pub fn null(out: &mut Vec<u8>) {
    out.extend_from_slice(b"$-1\r\n");
}

/// The header of an array of `n` values; the caller writes the values.
pub fn array(out: &mut Vec<u8>, n: usize) {
    header(out, b'*', n as i64);
}

/// A request: the command and its arguments as an array of bulk strings.
pub fn command(out: &mut Vec<u8>, args: &[&[u8]]) {
    array(out, args.len());
    for a in args {
        bulk(out, a);
    }
}

fn header(out: &mut Vec<u8>, tag: u8, n: i64) {
    out.push(tag);
    out.extend_from_slice(n.to_string().as_bytes());
    out.extend_from_slice(b"\r\n");
}

impl Value {
    pub fn encode(&self, out: &mut Vec<u8>) {
        match self {
            Value::Simple(s) => simple(out, s),
            Value::Error(e) => error(out, e),
            Value::Int(n) => int(out, *n),
            Value::Bulk(v) => bulk(out, v),
            Value::Null => null(out),
            Value::Array(vs) => {
                array(out, vs.len());
                vs.iter().for_each(|v| v.encode(out));
            }
        }
    }
}

// Decoding, shared by both grammars.

/// The index of the `\n` ending the line that starts at `from`.
fn line_end(b: &[u8], from: usize) -> Result<Option<usize>, ProtocolError> {
    let rest = b.get(from..).unwrap_or_default();
    match rest.iter().position(|&c| c == b'\n') {
        Some(i) => Ok(Some(from + i)),
        None if rest.len() > MAX_LINE => Err(fault("line too long")),
        None => Ok(None),
    }
}

fn fault(why: impl Into<String>) -> ProtocolError {
    ProtocolError(why.into())
}

fn number(b: &[u8], what: &str) -> Result<i64, ProtocolError> {
    let bad = || fault(format!("invalid {what}"));
    let s = std::str::from_utf8(b).map_err(|_| bad())?;
    s.trim_end_matches('\r').parse().map_err(|_| bad())
}

/// The number after the type byte at `at` (`*3`, `$5`, `:7`).
fn counted(b: &[u8], at: usize, what: &str) -> Step<i64> {
    let Some(end) = line_end(b, at + 1)? else {
        return Ok(None);
    };
    Ok(Some((number(&b[at + 1..end], what)?, end + 1)))
}

fn length(n: i64, max: usize, what: &str) -> Result<usize, ProtocolError> {
    usize::try_from(n)
        .ok()
        .filter(|&n| n <= max)
        .ok_or_else(|| fault(format!("invalid {what}")))
}

/// A bulk string's `len` bytes from `start`, which must end in CRLF.
fn bulk_data(b: &[u8], start: usize, len: usize) -> Step<Range<usize>> {
    let stop = start + len;
    if b.len() < stop + 2 {
        return Ok(None);
    }
    if &b[stop..stop + 2] != b"\r\n" {
        return Err(fault("bulk string not followed by CRLF"));
    }
    Ok(Some((start..stop, stop + 2)))
}

fn unexpected(wanted: &str, got: u8) -> ProtocolError {
    fault(format!(
        "expected {wanted}, got '{}'",
        char::from(got).escape_default()
    ))
}

// Requests.

/// One command from the front of `b`: where its arguments are, and how many
/// bytes it used. An empty command (a blank inline line, `*0`) has no spans;
/// Redis ignores those.
pub fn parse_command(b: &[u8]) -> Step<Vec<Range<usize>>> {
    match b.first() {
        None => Ok(None),
        Some(b'*') => multibulk(b),
        Some(_) => inline(b),
    }
}

/// [`parse_command`] on a read buffer: takes the command's bytes off the
/// front of `buf` and returns its arguments without copying them.
pub fn split_command(buf: &mut BytesMut) -> Result<Option<Vec<Bytes>>, ProtocolError> {
    let Some((spans, used)) = parse_command(buf)? else {
        return Ok(None);
    };
    let frame = buf.split_to(used).freeze();
    Ok(Some(spans.into_iter().map(|s| frame.slice(s)).collect()))
}

fn inline(b: &[u8]) -> Step<Vec<Range<usize>>> {
    let Some(end) = line_end(b, 0)? else {
        return Ok(None);
    };
    Ok(Some((words(&b[..end]), end + 1)))
}

fn words(text: &[u8]) -> Vec<Range<usize>> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.iter().enumerate() {
        match (c.is_ascii_whitespace(), start) {
            (true, Some(s)) => {
                spans.push(s..i);
                start = None;
            }
            (false, None) => start = Some(i),
            _ => {}
        }
    }
    spans.extend(start.map(|s| s..text.len()));
    spans
}

fn multibulk(b: &[u8]) -> Step<Vec<Range<usize>>> {
    let Some((n, mut at)) = counted(b, 0, "multibulk length")? else {
        return Ok(None);
    };
    let n = length(n, MAX_ARGS, "multibulk length")?;
    // Not `n`: a client announcing a million arguments has not sent them yet.
    let mut spans = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let Some((span, next)) = argument(b, at)? else {
            return Ok(None);
        };
        spans.push(span);
        at = next;
    }
    Ok(Some((spans, at)))
}

fn argument(b: &[u8], at: usize) -> Step<Range<usize>> {
    match b.get(at) {
        None => return Ok(None),
        Some(b'$') => {}
        Some(&c) => return Err(unexpected("'$'", c)),
    }
    let Some((len, start)) = counted(b, at, "bulk length")? else {
        return Ok(None);
    };
    bulk_data(b, start, length(len, MAX_BULK, "bulk length")?)
}

// Replies.

/// One reply from the front of `b`, and how many bytes it used.
pub fn decode(b: &[u8]) -> Step<Value> {
    value(b, 0, 0)
}

fn value(b: &[u8], at: usize, depth: usize) -> Step<Value> {
    let Some(&tag) = b.get(at) else {
        return Ok(None);
    };
    match tag {
        b'+' => Ok(text(b, at)?.map(|(s, next)| (Value::Simple(s), next))),
        b'-' => Ok(text(b, at)?.map(|(s, next)| (Value::Error(s), next))),
        b':' => Ok(counted(b, at, "integer")?.map(|(n, next)| (Value::Int(n), next))),
        b'$' => reply_bulk(b, at),
        b'*' => reply_array(b, at, depth),
        _ => Err(unexpected("a RESP type", tag)),
    }
}

/// A simple string's or error's line. A CR inside it is refused: RESP
/// forbids one, and the encoder (like Redis) writes it as a space, so a
/// reply read with one would not read back as itself (found by the `resp`
/// fuzz target's round trip).
fn text(b: &[u8], at: usize) -> Step<String> {
    let Some(end) = line_end(b, at + 1)? else {
        return Ok(None);
    };
    let s = String::from_utf8_lossy(&b[at + 1..end]);
    let s = s.trim_end_matches('\r');
    if s.contains('\r') {
        return Err(fault("a CR inside a simple string"));
    }
    Ok(Some((s.to_string(), end + 1)))
}

fn reply_bulk(b: &[u8], at: usize) -> Step<Value> {
    let Some((len, start)) = counted(b, at, "bulk length")? else {
        return Ok(None);
    };
    if len == -1 {
        return Ok(Some((Value::Null, start)));
    }
    let data = bulk_data(b, start, length(len, MAX_BULK, "bulk length")?)?;
    Ok(data.map(|(r, next)| (Value::Bulk(b[r].to_vec()), next)))
}

fn reply_array(b: &[u8], at: usize, depth: usize) -> Step<Value> {
    if depth >= MAX_DEPTH {
        return Err(fault("arrays nested too deep"));
    }
    let Some((n, mut at)) = counted(b, at, "multibulk length")? else {
        return Ok(None);
    };
    if n == -1 {
        return Ok(Some((Value::Null, at)));
    }
    let n = length(n, MAX_ARGS, "multibulk length")?;
    let mut items = Vec::with_capacity(n.min(64));
    for _ in 0..n {
        let Some((v, next)) = value(b, at, depth + 1)? else {
            return Ok(None);
        };
        items.push(v);
        at = next;
    }
    Ok(Some((Value::Array(items), at)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(b: &[u8]) -> Vec<Vec<u8>> {
        let (spans, used) = parse_command(b).unwrap().unwrap();
        assert_eq!(used, b.len());
        spans.into_iter().map(|s| b[s].to_vec()).collect()
    }

    fn encoded(v: &Value) -> Vec<u8> {
        let mut out = Vec::new();
        v.encode(&mut out);
        out
    }

    fn sample() -> Vec<Value> {
        vec![
            Value::Simple("OK".into()),
            Value::Error("ERR unknown command 'FLY'".into()),
            Value::Int(-42),
            Value::Int(i64::MAX),
            Value::Bulk(b"binary\r\n\0 safe".to_vec()),
            Value::Bulk(Vec::new()),
            Value::Null,
            Value::Array(Vec::new()),
            Value::Array(vec![
                Value::Bulk(b"a".to_vec()),
                Value::Null,
                Value::Array(vec![Value::Int(1), Value::Simple("x".into())]),
            ]),
        ]
    }

    #[test]
    fn a_cr_inside_a_simple_string_is_refused_so_replies_round_trip() {
        assert!(decode(b"+a\rb\r\n").is_err());
        assert!(decode(b"-ERR a\rb\r\n").is_err());
        let (v, _) = decode(b"+a b\r\r\n").unwrap().unwrap();
        let mut out = Vec::new();
        v.encode(&mut out);
        assert_eq!(decode(&out).unwrap().unwrap().0, v);
    }

    #[test]
    fn every_value_round_trips() {
        for v in sample() {
            let bytes = encoded(&v);
            assert_eq!(decode(&bytes), Ok(Some((v.clone(), bytes.len()))), "{v:?}");
        }
    }

    #[test]
    fn wire_forms_are_redis_own() {
        let mut out = Vec::new();
        simple(&mut out, "PONG");
        int(&mut out, 60);
        null(&mut out);
        bulk(&mut out, b"w");
        array(&mut out, 0);
        error(&mut out, "ERR x");
        assert_eq!(out, b"+PONG\r\n:60\r\n$-1\r\n$1\r\nw\r\n*0\r\n-ERR x\r\n");
        assert_eq!(decode(b"*-1\r\n"), Ok(Some((Value::Null, 5))));
    }

    #[test]
    fn a_line_break_cannot_end_a_simple_string_or_error_early() {
        let mut out = Vec::new();
        error(&mut out, "ERR unknown command 'A\r\nB'");
        assert_eq!(out, b"-ERR unknown command 'A  B'\r\n");
        let (v, used) = decode(&out).unwrap().unwrap();
        assert_eq!(
            (v, used),
            (Value::Error("ERR unknown command 'A  B'".into()), out.len())
        );
    }

    #[test]
    fn a_command_written_by_the_client_is_read_by_the_server() {
        let mut out = Vec::new();
        command(&mut out, &[b"SET", b"session:1", b"[]", b"EX", b"60"]);
        assert_eq!(
            args(&out),
            vec![
                b"SET".to_vec(),
                b"session:1".to_vec(),
                b"[]".to_vec(),
                b"EX".to_vec(),
                b"60".to_vec()
            ]
        );
        let (v, _) = decode(&out).unwrap().unwrap();
        assert_eq!(
            v,
            Value::Array(
                ["SET", "session:1", "[]", "EX", "60"]
                    .map(|s| Value::Bulk(s.into()))
                    .to_vec()
            )
        );
    }

    #[test]
    fn inline_commands_split_on_whitespace() {
        assert_eq!(
            args(b"PING  hello\r\n"),
            vec![b"PING".to_vec(), b"hello".to_vec()]
        );
        assert_eq!(args(b"  GET\tk \n"), vec![b"GET".to_vec(), b"k".to_vec()]);
        assert!(args(b"\r\n").is_empty());
        assert!(args(b"*0\r\n").is_empty());
    }

    #[test]
    fn every_prefix_of_a_frame_is_incomplete_not_an_error() {
        let mut req = Vec::new();
        command(&mut req, &[b"GET", b"key"]);
        for cut in 0..req.len() {
            assert_eq!(parse_command(&req[..cut]), Ok(None), "request cut at {cut}");
        }
        for v in sample() {
            let bytes = encoded(&v);
            for cut in 0..bytes.len() {
                assert_eq!(decode(&bytes[..cut]), Ok(None), "{v:?} cut at {cut}");
            }
        }
        assert_eq!(parse_command(b"PING"), Ok(None));
    }

    #[test]
    fn pipelined_commands_come_off_the_buffer_one_at_a_time() {
        let mut buf = BytesMut::from(&b"PING\r\n*2\r\n$3\r\nGET\r\n$1\r\nk\r\n*1\r\n$4\r\nQU"[..]);
        let mut got = Vec::new();
        while let Some(a) = split_command(&mut buf).unwrap() {
            got.push(a);
        }
        assert_eq!(
            got,
            vec![
                vec![Bytes::from("PING")],
                vec![Bytes::from("GET"), Bytes::from("k")]
            ]
        );
        assert_eq!(&buf[..], b"*1\r\n$4\r\nQU", "the incomplete one waits");
        buf.extend_from_slice(b"IT\r\n");
        assert_eq!(split_command(&mut buf), Ok(Some(vec![Bytes::from("QUIT")])));
        assert!(buf.is_empty());
    }

    #[test]
    fn pipelined_replies_decode_in_order() {
        let mut bytes = Vec::new();
        sample().iter().for_each(|v| v.encode(&mut bytes));
        let mut at = 0;
        let mut got = Vec::new();
        while let Some((v, used)) = decode(&bytes[at..]).unwrap() {
            got.push(v);
            at += used;
        }
        assert_eq!((got, at), (sample(), bytes.len()));
    }

    #[test]
    fn malformed_requests_are_errors() {
        let fault = |b: &[u8]| parse_command(b).unwrap_err().to_string();
        assert_eq!(fault(b"*x\r\n"), "invalid multibulk length");
        assert_eq!(fault(b"*-1\r\n"), "invalid multibulk length");
        assert_eq!(fault(b"*1\r\n+GET\r\n"), "expected '$', got '+'");
        assert_eq!(fault(b"*1\r\n$-5\r\n"), "invalid bulk length");
        assert_eq!(fault(b"*1\r\n$-1\r\n"), "invalid bulk length");
        assert_eq!(
            fault(b"*1\r\n$3\r\nGETXX"),
            "bulk string not followed by CRLF"
        );
        assert_eq!(fault(b"*1\r\n$999999999999\r\n"), "invalid bulk length");
        assert_eq!(
            fault(b"*1\r\n$99999999999999999999\r\n"),
            "invalid bulk length"
        );
        assert_eq!(fault(&vec![b'a'; MAX_LINE + 10]), "line too long");
        assert_eq!(
            fault(&[b"*1\r\n$".as_slice(), &[b'1'; MAX_LINE + 1]].concat()),
            "line too long"
        );
    }

    #[test]
    fn malformed_replies_are_errors() {
        let fault = |b: &[u8]| decode(b).unwrap_err().to_string();
        assert_eq!(fault(b"!oops\r\n"), "expected a RESP type, got '!'");
        assert_eq!(fault(b":12x\r\n"), "invalid integer");
        assert_eq!(fault(b"$-2\r\n"), "invalid bulk length");
        assert_eq!(fault(b"$2\r\nabc\r\n"), "bulk string not followed by CRLF");
        assert_eq!(fault(b"*2\r\n:1\r\n?\r\n"), "expected a RESP type, got '?'");
        assert_eq!(fault(b"*\xff\r\n"), "invalid multibulk length");
        assert_eq!(
            fault(&b"*1\r\n".repeat(MAX_DEPTH + 1)),
            "arrays nested too deep"
        );
        assert_eq!(
            fault(&[b"+".as_slice(), &[b'x'; MAX_LINE + 1]].concat()),
            "line too long"
        );
    }

    #[test]
    fn arbitrary_bytes_never_panic() {
        // A deterministic walk over byte soup built from RESP's own
        // punctuation, so the decoders meet plausible half-frames.
        let alphabet = b"*$+-:\r\n0123456789-aZ \t\xff";
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        for _ in 0..20_000 {
            let len = (x % 24) as usize;
            let soup: Vec<u8> = (0..len)
                .map(|_| {
                    x ^= x << 13;
                    x ^= x >> 7;
                    x ^= x << 17;
                    alphabet[(x % alphabet.len() as u64) as usize]
                })
                .collect();
            if let Ok(Some((_, used))) = decode(&soup) {
                assert!(used <= soup.len());
            }
            if let Ok(Some((spans, used))) = parse_command(&soup) {
                assert!(used <= soup.len() && spans.iter().all(|s| s.end <= used));
            }
        }
    }
}
