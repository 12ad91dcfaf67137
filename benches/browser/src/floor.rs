//! The `web-sys` contender: a `Stream` and `Sink` written straight on `web_sys::WebSocket`
//! for this benchmark, with nothing a library adds (no reconnection, heartbeat,
//! backpressure, queue or checks). It measures what any Rust code pays to cross between
//! JavaScript and wasm: the event handler's call into wasm, copying each message in and
//! out, waking the task. What a library costs beyond it is its own.

use crate::libs::{Conn, Lib, Msg};
use crate::Fail;
use futures::{Sink, Stream};
use std::cell::RefCell;
use std::collections::VecDeque;
use std::future::poll_fn;
use std::pin::Pin;
use std::rc::Rc;
use std::task::{Context, Poll, Waker};
use wasm_bindgen::prelude::*;
use web_sys::{BinaryType, CloseEvent, MessageEvent};

#[derive(Default)]
struct Shared {
    queue: VecDeque<Msg>,
    opened: bool,
    /// The close event's code, once it came.
    closed: Option<u16>,
    /// The task waiting for a message.
    reader: Option<Waker>,
    /// The task waiting for the open or the close event.
    control: Option<Waker>,
}

impl Shared {
    fn wake(&mut self) {
        self.reader
            .take()
            .into_iter()
            .chain(self.control.take())
            .for_each(Waker::wake);
    }
}

/// The socket and its handlers; dropping the last handle removes them.
pub(crate) struct Socket {
    ws: web_sys::WebSocket,
    shared: Rc<RefCell<Shared>>,
    _on_open: Closure<dyn FnMut()>,
    _on_message: Closure<dyn FnMut(MessageEvent)>,
    _on_close: Closure<dyn FnMut(CloseEvent)>,
}

impl Drop for Socket {
    fn drop(&mut self) {
        self.ws.set_onopen(None);
        self.ws.set_onmessage(None);
        self.ws.set_onclose(None);
    }
}

impl Socket {
    fn connect(url: &str) -> Result<Socket, Fail> {
        let ws = web_sys::WebSocket::new(url)?;
        ws.set_binary_type(BinaryType::Arraybuffer);
        let shared = Rc::new(RefCell::new(Shared::default()));
        let s = shared.clone();
        let on_open = Closure::<dyn FnMut()>::new(move || {
            let mut s = s.borrow_mut();
            s.opened = true;
            s.wake();
        });
        let s = shared.clone();
        let on_message = Closure::<dyn FnMut(MessageEvent)>::new(move |e: MessageEvent| {
            let data = e.data();
            let message = match data.as_string() {
                Some(text) => Msg::Text(text),
                None => Msg::Binary(js_sys::Uint8Array::new(&data).to_vec()),
            };
            let mut s = s.borrow_mut();
            s.queue.push_back(message);
            if let Some(reader) = s.reader.take() {
                reader.wake();
            }
        });
        let s = shared.clone();
        let on_close = Closure::<dyn FnMut(CloseEvent)>::new(move |e: CloseEvent| {
            let mut s = s.borrow_mut();
            s.closed = Some(e.code());
            s.wake();
        });
        ws.set_onopen(Some(on_open.as_ref().unchecked_ref()));
        ws.set_onmessage(Some(on_message.as_ref().unchecked_ref()));
        ws.set_onclose(Some(on_close.as_ref().unchecked_ref()));
        Ok(Socket {
            ws,
            shared,
            _on_open: on_open,
            _on_message: on_message,
            _on_close: on_close,
        })
    }

    /// Ready with `None` once the open event came (unless `only_close`), with the code
    /// once the close event came.
    fn poll_event(&self, cx: &mut Context<'_>, only_close: bool) -> Poll<Option<u16>> {
        let mut s = self.shared.borrow_mut();
        match s.closed {
            Some(code) => Poll::Ready(Some(code)),
            None if s.opened && !only_close => Poll::Ready(None),
            None => {
                s.control = Some(cx.waker().clone());
                Poll::Pending
            }
        }
    }
}

pub(crate) struct FloorTx(Rc<Socket>);
pub(crate) struct FloorRx(Rc<Socket>);

impl Sink<Msg> for FloorTx {
    type Error = Fail;

    fn poll_ready(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, item: Msg) -> Result<(), Fail> {
        match item {
            Msg::Text(s) => self.0.ws.send_with_str(&s)?,
            Msg::Binary(b) => self.0.ws.send_with_u8_array(&b)?,
            Msg::Gap(_) => return Err(Fail("a gap cannot be sent".into())),
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Result<(), Fail>> {
        Poll::Ready(Ok(()))
    }
}

impl Stream for FloorRx {
    type Item = Result<Msg, Fail>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut s = self.0.shared.borrow_mut();
        if let Some(message) = s.queue.pop_front() {
            return Poll::Ready(Some(Ok(message)));
        }
        if s.closed.is_some() {
            return Poll::Ready(None);
        }
        s.reader = Some(cx.waker().clone());
        Poll::Pending
    }
}

/// A hand-written `Stream`/`Sink` on `web_sys::WebSocket`: the cost of wasm itself.
pub(crate) struct Floor;

impl Lib for Floor {
    type Tx = FloorTx;
    type Rx = FloorRx;
    type Ctl = Rc<Socket>;

    async fn open(url: &str) -> Result<Conn<Self>, Fail> {
        let socket = Rc::new(Socket::connect(url)?);
        if let Some(code) = poll_fn(|cx| socket.poll_event(cx, false)).await {
            return Err(Fail(format!(
                "web-sys: closed with {code} before it opened"
            )));
        }
        Ok((FloorTx(socket.clone()), FloorRx(socket.clone()), socket))
    }

    async fn close(tx: FloorTx, rx: FloorRx, socket: Rc<Socket>) -> Result<(), Fail> {
        drop((tx, rx));
        socket.ws.close_with_code(1000)?;
        match poll_fn(|cx| socket.poll_event(cx, true)).await {
            Some(1000) => Ok(()),
            other => Err(Fail(format!("web-sys: closed with {other:?}"))),
        }
    }
}
