//! Stratus's one HTTP/1.1 client: it sends a request and reads the answer.
//! The balancer forwards through it to the nodes, `stratus load`'s shoppers
//! and admin calls go through it to the shop, and `serve --tui` reads the
//! admin API with it (DESIGN.md: one vocabulary per protocol, one HTTP
//! client), so a fix to how an answer is read is made once.
//!
//! It was the balancer's upstream side first, tuned for that hot path (see
//! README, "Throughput"): one keep-alive connection carries one exchange at
//! a time, the request goes out in one write and the answer is read whole
//! into one buffer with httparse, as an event-loop proxy buffers an
//! upstream's answer. A body must announce where it ends, by a length or by
//! the chunked coding; an answer that ends only when the connection closes
//! is refused, as a cut connection could not be told from a complete answer.
//! [`Pool`] (`pool.rs`) keeps the idle connections for reuse.

use super::lanes;
use bytes::{Bytes, BytesMut};
use hyper::header::{HOST, HeaderName, HeaderValue};
use hyper::http::request::Parts;
use hyper::{Method, Request, Response, StatusCode};
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};

mod pool;
pub use pool::Pool;

/// The largest answer head accepted; Stratus's heads are a few hundred bytes.
const MAX_HEAD: usize = 16 * 1024;
/// The largest answer body buffered.
pub const MAX_BODY: usize = 8 * 1024 * 1024;

/// Why an exchange failed: the connection broke, or the answer is not
/// HTTP/1.1 this client can read.
#[derive(Debug, thiserror::Error)]
pub enum ClientError {
    #[error("{0}")]
    Io(#[from] std::io::Error),
    #[error("connect timeout")]
    ConnectTimeout,
    #[error("the server closed the connection before answering in full")]
    Closed,
    #[error("the answer is not HTTP/1.1: {0}")]
    Malformed(String),
    #[error("{0:?} names no host and port to connect to")]
    NoAuthority(String),
    #[error("no answer within {0:?}")]
    Timeout(Duration),
}

impl From<ClientError> for std::io::Error {
    fn from(e: ClientError) -> Self {
        match e {
            ClientError::Io(e) => e,
            other => std::io::Error::other(other),
        }
    }
}

fn malformed(why: impl Into<String>) -> ClientError {
    ClientError::Malformed(why.into())
}

/// An answer and whether its connection can carry another request.
#[derive(Debug)]
pub struct Answer {
    pub response: Response<Bytes>,
    pub keep_alive: bool,
}

/// How the answer's body ends.
enum Framing {
    Length(usize),
    Chunked,
}

/// An answer's head as parsed: the response without its body, the head's
/// length in the buffer, how the body ends, and whether the server keeps
/// the connection open.
struct Head {
    response: Response<Bytes>,
    len: usize,
    framing: Framing,
    keep_alive: bool,
}

/// An open connection to one server: a TCP stream, or any byte stream
/// (the `answer` fuzz target reads answers from memory through
/// [`answer_from`] with the same code).
pub struct Connection<IO = TcpStream> {
    // Declared before `io`, so dropped while the port is still bound.
    _mark: Option<Mark>,
    io: IO,
    buf: BytesMut,
}

/// A lane's mark on the source port of a connection it opened (see
/// [`lanes`]), removed when the connection fails or closes: a node that
/// accepts it removes it first, and the ones no node took would otherwise
/// stay in the lanes' map.
struct Mark(u16);

impl Drop for Mark {
    fn drop(&mut self) {
        lanes::unmark(self.0);
    }
}

impl Connection {
    /// Opens a connection. From a lane, the source port is bound and marked
    /// before connecting, so the node, which looks the lane up when it
    /// accepts, serves it on the same lane (see [`lanes`]).
    pub async fn connect(addr: SocketAddr, timeout: Duration) -> Result<Self, ClientError> {
        let sock = if addr.is_ipv4() {
            TcpSocket::new_v4()?
        } else {
            TcpSocket::new_v6()?
        };
        let mut mark = None;
        if lanes::current().is_some() {
            sock.bind(SocketAddr::new(addr.ip(), 0))?;
            let port = sock.local_addr()?.port();
            mark = lanes::mark(port).then_some(Mark(port));
        }
        let io = match tokio::time::timeout(timeout, sock.connect(addr)).await {
            Ok(r) => r?,
            Err(_) => return Err(ClientError::ConnectTimeout),
        };
        io.set_nodelay(true)?;
        let mut c = Connection::over(io);
        c._mark = mark;
        Ok(c)
    }

    /// Opens a connection to `authority` (`host:port`), trying each address
    /// its name resolves to in turn.
    pub async fn connect_to(authority: &str, timeout: Duration) -> Result<Self, ClientError> {
        let mut last = ClientError::NoAuthority(authority.into());
        for addr in tokio::net::lookup_host(authority).await? {
            match Connection::connect(addr, timeout).await {
                Ok(c) => return Ok(c),
                Err(e) => last = e,
            }
        }
        Err(last)
    }

    /// Whether an idle connection can carry another request: the server
    /// has neither closed it nor sent anything unasked.
    pub fn reusable(&self) -> bool {
        let mut probe = [0u8; 1];
        matches!(self.io.try_read(&mut probe), Err(e) if e.kind() == std::io::ErrorKind::WouldBlock)
    }
}

impl<IO: AsyncRead + AsyncWrite + Unpin> Connection<IO> {
    /// A connection over `io`, already open.
    fn over(io: IO) -> Self {
        Connection {
            _mark: None,
            io,
            buf: BytesMut::with_capacity(4096),
        }
    }

    /// Sends the request with every header it has and reads its answer.
    pub async fn send(&mut self, head: &Parts, body: &[u8]) -> Result<Answer, ClientError> {
        let request = encode(head, body, |_| true);
        self.exchange(&request, &head.method, |_| true).await
    }

    /// Writes an encoded request (see [`encode`]) and reads its answer,
    /// keeping the answer's headers that `keep` accepts. `method` is the
    /// request's: the answer to a HEAD has no body whatever it says.
    pub async fn exchange(
        &mut self,
        request: &[u8],
        method: &Method,
        keep: impl Fn(&str) -> bool,
    ) -> Result<Answer, ClientError> {
        self.io.write_all(request).await?;
        self.buf.clear();
        let head = loop {
            if let Some(head) = self.parse_head(method, &keep)? {
                break head;
            }
            self.fill("answer head").await?;
        };
        let Head {
            mut response,
            len,
            framing,
            keep_alive,
        } = head;
        let _ = self.buf.split_to(len);
        *response.body_mut() = match framing {
            Framing::Length(n) => self.read_length(n).await?,
            Framing::Chunked => self.read_chunked().await?,
        };
        // Bytes past the answer were never asked for: do not reuse.
        let keep_alive = keep_alive && self.buf.is_empty();
        Ok(Answer {
            response,
            keep_alive,
        })
    }

    /// Reads more of the answer's `part` (its head, a chunk's size line,
    /// its trailers), which no server of ours makes longer than 16 KiB.
    async fn fill(&mut self, part: &str) -> Result<(), ClientError> {
        if self.buf.len() > MAX_HEAD {
            return Err(malformed(format!("{part} over 16 KiB")));
        }
        if self.io.read_buf(&mut self.buf).await? == 0 {
            return Err(ClientError::Closed);
        }
        Ok(())
    }

    /// Reads until the buffer holds `total` bytes.
    async fn fill_to(&mut self, total: usize) -> Result<(), ClientError> {
        while self.buf.len() < total {
            self.buf.reserve(total - self.buf.len());
            if self.io.read_buf(&mut self.buf).await? == 0 {
                return Err(ClientError::Closed);
            }
        }
        Ok(())
    }

    async fn read_length(&mut self, n: usize) -> Result<Bytes, ClientError> {
        self.fill_to(n).await?;
        Ok(self.buf.split_to(n).freeze())
    }

    /// A chunked body, decoded; its trailers, if any, are read and dropped.
    async fn read_chunked(&mut self) -> Result<Bytes, ClientError> {
        let mut body = BytesMut::new();
        loop {
            let (start, size) = loop {
                match httparse::parse_chunk_size(&self.buf) {
                    Ok(httparse::Status::Complete(c)) => break c,
                    Ok(httparse::Status::Partial) => self.fill("chunk size line").await?,
                    Err(_) => return Err(malformed("bad chunk size")),
                }
            };
            if size == 0 {
                let _ = self.buf.split_to(start);
                self.skip_trailers().await?;
                return Ok(body.freeze());
            }
            let size = usize::try_from(size)
                .ok()
                .filter(|s| body.len().saturating_add(*s) <= MAX_BODY)
                .ok_or_else(|| malformed("answer body over 8 MiB"))?;
            let end = start + size + 2;
            self.fill_to(end).await?;
            if &self.buf[end - 2..end] != b"\r\n" {
                return Err(malformed("a chunk without its CRLF"));
            }
            body.extend_from_slice(&self.buf[start..start + size]);
            let _ = self.buf.split_to(end);
        }
    }

    async fn skip_trailers(&mut self) -> Result<(), ClientError> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 16];
            match httparse::parse_headers(&self.buf, &mut fields) {
                Ok(httparse::Status::Complete((n, _))) => {
                    let _ = self.buf.split_to(n);
                    return Ok(());
                }
                Ok(httparse::Status::Partial) => self.fill("trailers").await?,
                Err(e) => return Err(malformed(format!("trailers: {e}"))),
            }
        }
    }

    /// The answer's head once it is all in the buffer, skipping any interim
    /// (1xx) answers.
    fn parse_head(
        &mut self,
        method: &Method,
        keep: &impl Fn(&str) -> bool,
    ) -> Result<Option<Head>, ClientError> {
        loop {
            let mut fields = [httparse::EMPTY_HEADER; 64];
            let mut r = httparse::Response::new(&mut fields);
            let n = match r.parse(&self.buf) {
                Ok(httparse::Status::Complete(n)) => n,
                Ok(httparse::Status::Partial) => return Ok(None),
                Err(e) => return Err(malformed(e.to_string())),
            };
            let code = r.code.unwrap_or(0);
            if (100..200).contains(&code) {
                let _ = self.buf.split_to(n);
                continue;
            }
            let status =
                StatusCode::from_u16(code).map_err(|_| malformed(format!("status {code}")))?;
            return parse_fields(&r, status, n, method, keep).map(Some);
        }
    }
}

/// The answer at the front of `bytes` to a request with `method`, read by
/// the code a [`Connection`] reads with, from memory: for the `answer` fuzz
/// target. Bytes missing at the end are [`ClientError::Closed`], as a
/// connection cut there would be.
pub async fn answer_from(bytes: &[u8], method: &Method) -> Result<Answer, ClientError> {
    let mut c = Connection::over(tokio::io::join(bytes, tokio::io::sink()));
    c.exchange(b"", method, |_| true).await
}

/// The head's fields into a response, with how its body ends.
fn parse_fields(
    r: &httparse::Response,
    status: StatusCode,
    len: usize,
    method: &Method,
    keep: &impl Fn(&str) -> bool,
) -> Result<Head, ClientError> {
    let mut keep_alive = r.version == Some(1);
    let mut length = None;
    let mut chunked = false;
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = status;
    for h in r.headers.iter() {
        if h.name.eq_ignore_ascii_case("content-length") {
            let v = std::str::from_utf8(h.value)
                .ok()
                .and_then(|v| v.trim().parse().ok());
            length = Some(v.ok_or_else(|| malformed("bad content-length"))?);
        } else if h.name.eq_ignore_ascii_case("transfer-encoding") {
            chunked = last_coding_is_chunked(h.value)?;
        } else if h.name.eq_ignore_ascii_case("connection") {
            keep_alive &= !h.value.eq_ignore_ascii_case(b"close");
        }
        if !keep(h.name) {
            continue;
        }
        let name =
            HeaderName::from_bytes(h.name.as_bytes()).map_err(|e| malformed(e.to_string()))?;
        let value = HeaderValue::from_bytes(h.value).map_err(|e| malformed(e.to_string()))?;
        response.headers_mut().append(name, value);
    }
    let bodiless = *method == Method::HEAD
        || status == StatusCode::NO_CONTENT
        || status == StatusCode::NOT_MODIFIED;
    // A transfer coding overrides a length (RFC 9112 §6.3).
    let framing = match (bodiless, chunked, length) {
        (true, _, _) => Framing::Length(0),
        (false, true, _) => Framing::Chunked,
        (false, false, Some(l)) if l <= MAX_BODY => Framing::Length(l),
        (false, false, Some(_)) => return Err(malformed("answer body over 8 MiB")),
        (false, false, None) => {
            return Err(malformed(
                "an answer without a length: its end could not be told from a cut connection",
            ));
        }
    };
    Ok(Head {
        response,
        len,
        framing,
        keep_alive,
    })
}

/// Whether a Transfer-Encoding ends in chunked; any other last coding
/// leaves the body's end unknown, so it is refused.
fn last_coding_is_chunked(value: &[u8]) -> Result<bool, ClientError> {
    let last = std::str::from_utf8(value)
        .ok()
        .and_then(|v| v.rsplit(',').next())
        .map(str::trim);
    match last {
        Some(c) if c.eq_ignore_ascii_case("chunked") => Ok(true),
        _ => Err(malformed(format!(
            "transfer coding {:?} is not chunked",
            String::from_utf8_lossy(value)
        ))),
    }
}

/// The request as the server receives it, in one buffer: method, target,
/// the headers `pass` accepts, the body's length, and the body. Any length
/// or transfer coding in the head is left out, as the body is whole.
pub fn encode(head: &Parts, body: &[u8], pass: impl Fn(&HeaderName) -> bool) -> Vec<u8> {
    let mut out = Vec::with_capacity(256 + body.len());
    out.extend_from_slice(head.method.as_str().as_bytes());
    out.push(b' ');
    let target = head.uri.path_and_query().map_or("/", |p| p.as_str());
    out.extend_from_slice(target.as_bytes());
    out.extend_from_slice(b" HTTP/1.1\r\n");
    for (name, value) in &head.headers {
        if name == hyper::header::CONTENT_LENGTH
            || name == hyper::header::TRANSFER_ENCODING
            || !pass(name)
        {
            continue;
        }
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if !body.is_empty() || !matches!(head.method, Method::GET | Method::HEAD) {
        out.extend_from_slice(format!("content-length: {}\r\n", body.len()).as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    out.extend_from_slice(body);
    out
}

/// Requests to any `http://` URL over pooled keep-alive connections, as a
/// browser or hyper's client sends them: Host from the URL when the
/// request has none, never sent twice (a pooled connection found closed is
/// dropped before anything is written to it).
pub struct Client {
    pool: Pool<String>,
    connect_timeout: Duration,
}

impl Client {
    pub fn new(connect_timeout: Duration) -> Client {
        Client {
            pool: Pool::default(),
            connect_timeout,
        }
    }

    /// Sends the request to its URL's host and reads the answer.
    pub async fn send(&self, req: Request<Bytes>) -> Result<Response<Bytes>, ClientError> {
        let (mut head, body) = req.into_parts();
        let authority = match head.uri.authority() {
            Some(a) => a.as_str().to_owned(),
            None => return Err(ClientError::NoAuthority(head.uri.to_string())),
        };
        if !head.headers.contains_key(HOST) {
            let host = HeaderValue::from_str(&authority).map_err(|e| malformed(e.to_string()))?;
            head.headers.insert(HOST, host);
        }
        let mut c = match self.pool.checkout(authority.clone()) {
            Some(c) => c,
            None => {
                self.pool.sweep();
                Connection::connect_to(&authority, self.connect_timeout).await?
            }
        };
        let answer = c.send(&head, &body).await?;
        if answer.keep_alive {
            self.pool.checkin(authority, c);
        }
        Ok(answer.response)
    }
}

/// One request from synchronous code, such as the terminal dashboard's
/// loop, over a fresh connection on a runtime of its own for the call:
/// `connect` bounds connecting, `timeout` the whole call.
pub fn send_blocking(
    req: Request<Bytes>,
    connect: Duration,
    timeout: Duration,
) -> Result<Response<Bytes>, ClientError> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    rt.block_on(async {
        match tokio::time::timeout(timeout, Client::new(connect).send(req)).await {
            Ok(r) => r,
            Err(_) => Err(ClientError::Timeout(timeout)),
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::task::JoinHandle;

    /// A server on loopback that takes one connection and answers each
    /// request it reads with the next answer, split across two writes as a
    /// slow server's would be; it returns the requests as it read them.
    async fn server(answers: Vec<&'static [u8]>) -> (SocketAddr, JoinHandle<Vec<String>>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        let task = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut seen = Vec::new();
            for a in answers {
                let mut buf = vec![0u8; 4096];
                let n = s.read(&mut buf).await.unwrap();
                seen.push(String::from_utf8_lossy(&buf[..n]).into_owned());
                let (x, y) = a.split_at(a.len() / 2);
                s.write_all(x).await.unwrap();
                s.flush().await.unwrap();
                tokio::time::sleep(Duration::from_millis(5)).await;
                s.write_all(y).await.unwrap();
            }
            seen
        });
        (addr, task)
    }

    fn get(url: &str) -> Request<Bytes> {
        Request::get(url).body(Bytes::new()).unwrap()
    }

    async fn one(answer: &'static [u8]) -> Result<Answer, ClientError> {
        let (addr, _) = server(vec![answer]).await;
        let mut c = Connection::connect(addr, Duration::from_secs(1)).await?;
        let (head, _) = get("/").into_parts();
        c.send(&head, b"").await
    }

    #[tokio::test]
    async fn a_body_with_a_length_is_read_whole_over_a_reused_connection() {
        let (addr, seen) = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 5\r\nset-cookie: a=1\r\n\r\nhello",
            b"HTTP/1.1 404 Not Found\r\ncontent-length: 4\r\n\r\ngone",
        ])
        .await;
        let client = Client::new(Duration::from_secs(1));
        let r = client
            .send(get(&format!("http://{addr}/a?b=1")))
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        assert_eq!(r.headers()["set-cookie"], "a=1");
        assert_eq!(r.headers()["content-length"], "5", "headers as received");
        assert_eq!(r.body(), "hello");
        let post = Request::post(format!("http://{addr}/cart"))
            .header("cookie", "sid=1")
            .body(Bytes::from_static(b"x=1"))
            .unwrap();
        let r = client.send(post).await.unwrap();
        assert_eq!(
            (r.status(), r.body().as_ref()),
            (StatusCode::NOT_FOUND, &b"gone"[..])
        );
        // The server took one connection: the second request reused it.
        let seen = seen.await.unwrap();
        assert_eq!(
            seen[0],
            format!("GET /a?b=1 HTTP/1.1\r\nhost: {addr}\r\n\r\n")
        );
        assert_eq!(
            seen[1],
            format!(
                "POST /cart HTTP/1.1\r\ncookie: sid=1\r\nhost: {addr}\r\ncontent-length: 3\r\n\r\nx=1"
            )
        );
    }

    #[tokio::test]
    async fn a_chunked_body_is_decoded_and_its_trailers_skipped() {
        let a = one(b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n4;ext=1\r\nWiki\r\n5\r\npedia\r\n0\r\nx-sum: 9\r\n\r\n")
            .await
            .unwrap();
        assert_eq!(a.response.body(), "Wikipedia");
        assert!(a.keep_alive);
        assert_eq!(a.response.headers()["transfer-encoding"], "chunked");
    }

    #[tokio::test]
    async fn no_body_is_read_for_a_head_or_a_204() {
        let (addr, _) = server(vec![
            b"HTTP/1.1 200 OK\r\ncontent-length: 50\r\n\r\n",
            b"HTTP/1.1 204 No Content\r\n\r\n",
        ])
        .await;
        let mut c = Connection::connect(addr, Duration::from_secs(1))
            .await
            .unwrap();
        let head = Request::head("/").body(()).unwrap().into_parts().0;
        let a = c.send(&head, b"").await.unwrap();
        assert_eq!((a.response.body().len(), a.keep_alive), (0, true));
        let (get, _) = get("/").into_parts();
        let a = c.send(&get, b"").await.unwrap();
        assert_eq!(a.response.status(), StatusCode::NO_CONTENT);
    }

    #[tokio::test]
    async fn connection_close_is_honoured() {
        let a = one(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok")
            .await
            .unwrap();
        assert!(!a.keep_alive);
        let a = one(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nokEXTRA")
            .await
            .unwrap();
        assert!(!a.keep_alive, "bytes nobody asked for: not reused");
    }

    #[tokio::test]
    async fn a_connection_closed_mid_answer_is_an_error() {
        for cut in [
            &b"HTTP/1.1 200 OK\r\ncontent-length: 10\r\n\r\nshort"[..],
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n5\r\nab",
            b"HTTP/1.1 200 OK\r\ncontent-le",
            b"",
        ] {
            let e = one(cut).await.unwrap_err();
            assert!(matches!(e, ClientError::Closed), "{cut:?}: {e}");
        }
    }

    #[tokio::test]
    async fn bad_answers_are_errors_not_panics() {
        for bad in [
            &b"SMTP ready\r\n\r\n"[..],
            b"HTTP/1.1 999999 Nope\r\ncontent-length: 0\r\n\r\n",
            b"HTTP/1.1 200 OK\r\n\r\nno length",
            b"HTTP/1.1 200 OK\r\ncontent-length: x\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: gzip\r\n\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\nzz\r\n",
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nabcd\r\n0\r\n\r\n",
        ] {
            let e = one(bad).await.unwrap_err();
            assert!(matches!(e, ClientError::Malformed(_)), "{bad:?}: {e}");
        }
    }

    #[tokio::test]
    async fn answers_read_from_memory_are_read_as_from_a_socket() {
        let a = answer_from(
            b"HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n2\r\nhi\r\n0\r\n\r\n",
            &Method::GET,
        )
        .await
        .unwrap();
        assert_eq!(
            (a.response.body().as_ref(), a.keep_alive),
            (&b"hi"[..], true)
        );
        let cut = answer_from(
            b"HTTP/1.1 200 OK\r\ncontent-length: 9\r\n\r\nhi",
            &Method::GET,
        );
        assert!(matches!(cut.await, Err(ClientError::Closed)));
        let bad = answer_from(b"SMTP ready\r\n\r\n", &Method::GET).await;
        assert!(matches!(bad, Err(ClientError::Malformed(_))));
    }

    #[tokio::test]
    async fn nothing_listening_is_an_io_error() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        drop(l);
        let e = Client::new(Duration::from_secs(1))
            .send(get(&format!("http://{addr}/")))
            .await
            .unwrap_err();
        assert!(matches!(e, ClientError::Io(_)), "{e}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn synchronous_code_gets_an_answer_or_a_timeout() {
        let (addr, _) = server(vec![b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nhi"]).await;
        let t = Duration::from_secs(2);
        let r = tokio::task::spawn_blocking(move || {
            send_blocking(get(&format!("http://{addr}/")), t, t)
        })
        .await
        .unwrap()
        .unwrap();
        assert_eq!(r.body(), "hi");
        // A server that accepts and never answers.
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let silent = l.local_addr().unwrap();
        let short = Duration::from_millis(100);
        let e = tokio::task::spawn_blocking(move || {
            send_blocking(get(&format!("http://{silent}/")), t, short)
        })
        .await
        .unwrap()
        .unwrap_err();
        assert!(matches!(e, ClientError::Timeout(_)), "{e}");
        drop(l);
    }
}
