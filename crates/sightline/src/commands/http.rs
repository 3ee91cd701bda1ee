//! A minimal HTTP/1.1 client on one kept-alive connection, for the benchmark
//! that drives the real server over TCP (no TLS, no redirects, no cookies). A
//! full client library would add a URL and IDNA stack to every build of the
//! binary for this one command.

use anyhow::Context;
use http_body_util::{BodyExt, Full};
use hyper::body::Bytes;
use hyper::header::{AUTHORIZATION, CONTENT_TYPE, HOST};
use hyper::{Method, StatusCode};
use hyper_util::rt::TokioIo;

/// One connection to a server; requests go one at a time.
pub struct Connection {
    sender: hyper::client::conn::http1::SendRequest<Full<Bytes>>,
    host: String,
}

impl Connection {
    /// Connects to `addr` (with Nagle's algorithm off, as HTTP clients do).
    pub async fn open(addr: std::net::SocketAddr) -> anyhow::Result<Self> {
        let stream = tokio::net::TcpStream::connect(addr)
            .await
            .with_context(|| format!("could not connect to {addr}"))?;
        stream.set_nodelay(true)?;
        let (sender, connection) =
            hyper::client::conn::http1::handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::warn!(%error, "benchmark connection closed with an error");
            }
        });
        Ok(Self {
            sender,
            host: addr.to_string(),
        })
    }

    /// `GET path` with a cookie (a web page, as a signed-in browser asks for
    /// it); the status and the whole response body.
    pub async fn get_with_cookie(
        &mut self,
        path: &str,
        cookie: &str,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let request = hyper::Request::builder()
            .method(Method::GET)
            .uri(path)
            .header(HOST, &self.host)
            .header(hyper::header::COOKIE, cookie)
            .body(Full::new(Bytes::new()))?;
        let response = self.sender.send_request(request).await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }

    /// Sends `method path` with a bearer token and an optional JSON body; the
    /// status and the whole response body.
    pub async fn send(
        &mut self,
        method: Method,
        path: &str,
        bearer: &str,
        json: Option<&serde_json::Value>,
    ) -> anyhow::Result<(StatusCode, Bytes)> {
        self.sender.ready().await?;
        let mut request = hyper::Request::builder()
            .method(method)
            .uri(path)
            .header(HOST, &self.host)
            .header(AUTHORIZATION, format!("Bearer {bearer}"));
        let body = match json {
            Some(value) => {
                request = request.header(CONTENT_TYPE, "application/json");
                Bytes::from(serde_json::to_vec(value)?)
            }
            None => Bytes::new(),
        };
        let response = self
            .sender
            .send_request(request.body(Full::new(body))?)
            .await?;
        let status = response.status();
        let body = response.into_body().collect().await?.to_bytes();
        Ok((status, body))
    }
}
