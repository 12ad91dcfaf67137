//! The contenders behind one interface: open a connection (and wait until it is open),
//! a `Sink` and a `Stream` of [`Msg`], and close. The adapters only move values between
//! message types, so every workload runs the same code over each library.

use crate::Fail;
use futures::stream::{SplitSink, SplitStream};
use futures::{Sink, SinkExt, Stream, StreamExt};
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

/// A message as every workload sees it.
pub(crate) enum Msg {
    Text(String),
    Binary(Vec<u8>),
    /// This many messages were dropped here (resocket's inbound limit; received only).
    Gap(usize),
}

/// An open connection: the two halves and what closing needs.
pub(crate) type Conn<L> = (<L as Lib>::Tx, <L as Lib>::Rx, <L as Lib>::Ctl);

pub(crate) trait Lib {
    type Tx: Sink<Msg, Error = Fail> + Unpin;
    type Rx: Stream<Item = Result<Msg, Fail>> + Unpin;
    /// What closing needs besides the halves.
    type Ctl;

    /// Connects to `url` and resolves once the connection is open.
    fn open(url: &str) -> impl Future<Output = Result<Conn<Self>, Fail>>;

    /// Closes with 1000; resolves when the library says the connection is closed.
    fn close(tx: Self::Tx, rx: Self::Rx, ctl: Self::Ctl) -> impl Future<Output = Result<(), Fail>>;

    /// Hands one message to the browser now, the cheapest way the library offers. Behind
    /// `futures`' `split`, a fed item waits in the `SplitSink` until the next flush, so
    /// the default is `send` (gloo-net's and ws_stream_wasm's own flush does nothing).
    fn send_now(tx: &mut Self::Tx, m: Msg) -> impl Future<Output = Result<(), Fail>> {
        tx.send(m)
    }
}

// ---- resocket ----

pub(crate) struct ResocketTx(resocket::Sender);
pub(crate) struct ResocketRx(resocket::Receiver);

impl From<resocket::Error> for Fail {
    fn from(e: resocket::Error) -> Self {
        Fail(format!("resocket: {e}"))
    }
}

impl Sink<Msg> for ResocketTx {
    type Error = Fail;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Pin::new(&mut self.0).poll_ready(cx).map_err(Fail::from)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Msg) -> Result<(), Fail> {
        let message = match item {
            Msg::Text(s) => resocket::Message::Text(s),
            Msg::Binary(b) => resocket::Message::Binary(b),
            Msg::Gap(_) => return Err(Fail("a gap cannot be sent".into())),
        };
        Pin::new(&mut self.0)
            .start_send(message)
            .map_err(Fail::from)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Pin::new(&mut self.0).poll_flush(cx).map_err(Fail::from)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Pin::new(&mut self.0).poll_close(cx).map_err(Fail::from)
    }
}

impl Stream for ResocketRx {
    type Item = Result<Msg, Fail>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|item| {
            item.map(|r| match r {
                Ok(resocket::Message::Text(s)) => Ok(Msg::Text(s)),
                Ok(resocket::Message::Binary(b)) => Ok(Msg::Binary(b)),
                Err(resocket::Error::InboundDropped { count }) => Ok(Msg::Gap(count)),
                Err(e) => Err(Fail::from(e)),
            })
        })
    }
}

async fn resocket_open(builder: resocket::Builder) -> Result<(ResocketTx, ResocketRx, ()), Fail> {
    let ws = builder.connect()?;
    ws.opened().await?;
    let (tx, rx) = ws.split();
    Ok((ResocketTx(tx), ResocketRx(rx), ()))
}

async fn resocket_close(tx: ResocketTx, rx: ResocketRx) -> Result<(), Fail> {
    let outcome = tx.0.close(1000, "")?.await;
    drop(rx);
    match outcome.frame {
        _ if !outcome.unsent.is_empty() => Err(Fail(format!(
            "resocket: {} messages never sent",
            outcome.unsent.len()
        ))),
        Some(frame) if frame.code == 1000 => Ok(()),
        other => Err(Fail(format!("resocket: closed with {other:?}"))),
    }
}

/// The three resocket contenders differ only in how the socket is built.
macro_rules! resocket_lib {
    ($(#[$doc:meta])* $name:ident, $builder:expr) => {
        $(#[$doc])*
        pub(crate) struct $name;

        impl Lib for $name {
            type Tx = ResocketTx;
            type Rx = ResocketRx;
            type Ctl = ();

            async fn open(url: &str) -> Result<(ResocketTx, ResocketRx, ()), Fail> {
                let build: fn(&str) -> resocket::Builder = $builder;
                resocket_open(build(url)).await
            }

            async fn close(tx: ResocketTx, rx: ResocketRx, _: ()) -> Result<(), Fail> {
                resocket_close(tx, rx).await
            }

            /// resocket's `start_send` sends at once; its flush waits for `bufferedAmount`
            /// to be 0.
            async fn send_now(tx: &mut ResocketTx, m: Msg) -> Result<(), Fail> {
                tx.feed(m).await
            }
        }
    };
}

/// The heartbeat ping (and pong) of [`resocket_on`].
pub(crate) const HEARTBEAT_PING: &str = "hb";

/// Reconnection (default backoff) and a heartbeat. The ping is [`HEARTBEAT_PING`], which the
/// echo server returns and the pong matcher swallows, so the workloads never see it (W6's
/// `/sink` receives it and never answers: W6 leaves it out of its check).
fn resocket_on(url: &str) -> resocket::Builder {
    let heartbeat = resocket::Heartbeat::new(Duration::from_secs(5), Duration::from_secs(5))
        .ping(HEARTBEAT_PING)
        .pong(HEARTBEAT_PING);
    resocket::WebSocket::builder(url)
        .reconnect(resocket::Backoff::default())
        .heartbeat(heartbeat)
}

resocket_lib!(
    /// resocket as most apps would configure it: reconnection and a heartbeat.
    ResocketOn,
    resocket_on
);

resocket_lib!(
    /// resocket as configured in `resocket` plus an inbound limit of 8 MiB that drops what
    /// arrives while it is reached (W5: how much memory the limit saves).
    ResocketLimit,
    |url| resocket_on(url).inbound_limit(8 * 1024 * 1024, resocket::InboundOverflow::DropNewest)
);

resocket_lib!(
    /// resocket with reconnection and heartbeat off: the cost of the wrapper alone.
    ResocketBare,
    |url| resocket::WebSocket::builder(url).no_reconnect()
);

// ---- gloo-net ----

type GlooWs = gloo_net::websocket::futures::WebSocket;
type GlooMessage = gloo_net::websocket::Message;

pub(crate) struct GlooTx(SplitSink<GlooWs, GlooMessage>);
pub(crate) struct GlooRx(SplitStream<GlooWs>);

impl From<gloo_net::websocket::WebSocketError> for Fail {
    fn from(e: gloo_net::websocket::WebSocketError) -> Self {
        Fail(format!("gloo-net: {e}"))
    }
}

impl Sink<Msg> for GlooTx {
    type Error = Fail;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_ready_unpin(cx).map_err(Fail::from)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Msg) -> Result<(), Fail> {
        let message = match item {
            Msg::Text(s) => GlooMessage::Text(s),
            Msg::Binary(b) => GlooMessage::Bytes(b),
            Msg::Gap(_) => return Err(Fail("a gap cannot be sent".into())),
        };
        self.0.start_send_unpin(message).map_err(Fail::from)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_flush_unpin(cx).map_err(Fail::from)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_close_unpin(cx).map_err(Fail::from)
    }
}

impl Stream for GlooRx {
    type Item = Result<Msg, Fail>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|item| {
            item.map(|r| match r {
                Ok(GlooMessage::Text(s)) => Ok(Msg::Text(s)),
                Ok(GlooMessage::Bytes(b)) => Ok(Msg::Binary(b)),
                Err(e) => Err(Fail::from(e)),
            })
        })
    }
}

/// gloo-net's `futures::WebSocket`.
pub(crate) struct Gloo;

impl Lib for Gloo {
    type Tx = GlooTx;
    type Rx = GlooRx;
    type Ctl = ();

    async fn open(url: &str) -> Result<(GlooTx, GlooRx, ()), Fail> {
        let mut ws = GlooWs::open(url).map_err(|e| Fail(format!("gloo-net: {e}")))?;
        // gloo-net has no open future; its Sink is pending while the socket connects.
        futures::future::poll_fn(|cx| ws.poll_ready_unpin(cx)).await?;
        if !matches!(ws.state(), gloo_net::websocket::State::Open) {
            return Err(Fail(format!("gloo-net: {:?} instead of open", ws.state())));
        }
        let (tx, rx) = ws.split();
        Ok((GlooTx(tx), GlooRx(rx), ()))
    }

    /// gloo-net's `close` consumes the socket and removes its listeners: there is no way
    /// to wait for the closing handshake, so this returns as soon as it started.
    async fn close(tx: GlooTx, rx: GlooRx, _: ()) -> Result<(), Fail> {
        let ws =
            tx.0.reunite(rx.0)
                .map_err(|_| Fail("gloo-net: halves of different sockets".into()))?;
        ws.close(Some(1000), None)
            .map_err(|e| Fail(format!("gloo-net: {e}")))
    }
}

// ---- ws_stream_wasm ----

pub(crate) struct WsStreamTx(SplitSink<ws_stream_wasm::WsStream, ws_stream_wasm::WsMessage>);
pub(crate) struct WsStreamRx(SplitStream<ws_stream_wasm::WsStream>);

impl From<ws_stream_wasm::WsErr> for Fail {
    fn from(e: ws_stream_wasm::WsErr) -> Self {
        Fail(format!("ws_stream_wasm: {e}"))
    }
}

impl Sink<Msg> for WsStreamTx {
    type Error = Fail;

    fn poll_ready(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_ready_unpin(cx).map_err(Fail::from)
    }

    fn start_send(mut self: Pin<&mut Self>, item: Msg) -> Result<(), Fail> {
        let message = match item {
            Msg::Text(s) => ws_stream_wasm::WsMessage::Text(s),
            Msg::Binary(b) => ws_stream_wasm::WsMessage::Binary(b),
            Msg::Gap(_) => return Err(Fail("a gap cannot be sent".into())),
        };
        self.0.start_send_unpin(message).map_err(Fail::from)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_flush_unpin(cx).map_err(Fail::from)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        self.0.poll_close_unpin(cx).map_err(Fail::from)
    }
}

impl Stream for WsStreamRx {
    type Item = Result<Msg, Fail>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.0.poll_next_unpin(cx).map(|item| {
            item.map(|m| match m {
                ws_stream_wasm::WsMessage::Text(s) => Ok(Msg::Text(s)),
                ws_stream_wasm::WsMessage::Binary(b) => Ok(Msg::Binary(b)),
            })
        })
    }
}

/// ws_stream_wasm's `WsMeta` + `WsStream`.
pub(crate) struct WsStream;

impl Lib for WsStream {
    type Tx = WsStreamTx;
    type Rx = WsStreamRx;
    type Ctl = ws_stream_wasm::WsMeta;

    async fn open(url: &str) -> Result<(WsStreamTx, WsStreamRx, ws_stream_wasm::WsMeta), Fail> {
        let (meta, stream) = ws_stream_wasm::WsMeta::connect(url, None).await?;
        let (tx, rx) = stream.split();
        Ok((WsStreamTx(tx), WsStreamRx(rx), meta))
    }

    async fn close(
        tx: WsStreamTx,
        rx: WsStreamRx,
        meta: ws_stream_wasm::WsMeta,
    ) -> Result<(), Fail> {
        let event = meta.close_code(1000).await?;
        drop((tx, rx));
        if event.code == 1000 {
            Ok(())
        } else {
            Err(Fail(format!("ws_stream_wasm: closed with {}", event.code)))
        }
    }
}
