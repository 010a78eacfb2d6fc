//! An HTTP/2 client (prior knowledge) for tests, with request bodies that can stop mid-way, as a
//! hostile client's do.

use std::convert::Infallible;

use futures_util::StreamExt;
use http_body_util::StreamBody;
use hyper::body::{Bytes, Frame};
use tokio::io::{AsyncRead, AsyncWrite};

/// A request body: some bytes, then the end, or nothing more ever.
pub type Body =
    StreamBody<futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>>;

/// An HTTP/2 connection over `stream`, its driver spawned.
pub async fn connect<S>(stream: S) -> hyper::client::conn::http2::SendRequest<Body>
where
    S: AsyncRead + AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .expect("HTTP/2 handshake");
    tokio::spawn(connection);
    sender
}

/// `data` as a whole body.
pub fn complete(data: Vec<u8>) -> Body {
    StreamBody::new(futures_util::stream::iter([Ok(Frame::data(Bytes::from(data)))]).boxed())
}

/// `data`, then a body that never goes on and never ends.
pub fn stalled_after(data: Vec<u8>) -> Body {
    let first = futures_util::stream::iter([Ok(Frame::data(Bytes::from(data)))]);
    StreamBody::new(first.chain(futures_util::stream::pending()).boxed())
}

/// `method path` with `headers`.
pub fn request(
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Body,
) -> hyper::Request<Body> {
    let mut builder = hyper::Request::builder()
        .method(method)
        .uri(format!("http://localhost{path}"));
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    builder.body(body).expect("request")
}
