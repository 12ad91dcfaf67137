//! `Builder::target_async`: a target resolved asynchronously before every attempt (a token
//! fetched first), against the test server: what comes of it, a failed resolution, and
//! every way an attempt is given up while its resolution runs (the future is dropped, never
//! polled again).
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{CloseFrame, Error, Event, Message, State, Target, WebSocket};
use std::cell::{Cell, RefCell};
use std::rc::Rc;
use std::time::Duration;
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn target(path: &str) -> Target {
    Target {
        url: ws_url(path),
        protocols: Vec::new(),
    }
}

/// Sets its flag when dropped: a future that holds one tells when it was let go.
struct DropFlag(Rc<Cell<bool>>);

impl Drop for DropFlag {
    fn drop(&mut self) {
        self.0.set(true);
    }
}

/// A resolution that never ends, and a flag set when it is dropped.
fn hanging() -> (
    impl std::future::Future<Output = Result<Target, Error>>,
    Rc<Cell<bool>>,
) {
    let dropped = Rc::new(Cell::new(false));
    let flag = DropFlag(dropped.clone());
    let future = async move {
        let _flag = flag;
        futures::future::pending::<Result<Target, Error>>().await
    };
    (future, dropped)
}

#[wasm_bindgen_test]
async fn a_target_fetched_before_every_attempt_connects_and_a_failed_fetch_is_a_failed_attempt() {
    let k = key("target-async");
    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let k2 = k.clone();
    let mut ws = WebSocket::builder("")
        .reconnect(fixed(100))
        .target_async(move |attempt| {
            seen.borrow_mut().push(attempt);
            let k = k2.clone();
            async move {
                // A real round trip first, as a token fetch would make.
                let before = report(&k).await;
                match attempt {
                    1 => Err(Error::Browser {
                        name: "NetworkError".into(),
                        message: "token server down".into(),
                    }),
                    // The token: how many connections the server had seen.
                    _ => Ok(target(&format!(
                        "/drop-after/1?key={k}&token={}",
                        before.attempts
                    ))),
                }
            }
        })
        .connect()
        .unwrap();
    assert_eq!(ws.state(), State::Connecting, "while the target is fetched");
    within(5000, "the first open", ws.opened()).await.unwrap();
    let mut events = ws.events();
    ws.send(Message::Text("a".into())).await.unwrap();
    let echo = within(5000, "the echo", ws.next()).await;
    assert_eq!(echo.unwrap().unwrap(), Message::Text("a".into()));
    // The server drops the connection after that echo; attempt 1's fetch fails, attempt 2
    // connects.
    let mut seen_events = Vec::new();
    loop {
        let e = within(5000, "the events to the second open", events.next())
            .await
            .unwrap();
        let open = matches!(e, Event::Open { .. });
        seen_events.push(e);
        if open {
            break;
        }
    }
    // Firefox fires `error` before the drop's close (Chromium does not): not ours to assert.
    if seen_events.first() == Some(&Event::Error) {
        seen_events.remove(0);
    }
    let reason = "target: browser error NetworkError: token server down";
    assert_eq!(
        seen_events,
        vec![
            Event::Close(CloseFrame::abnormal("")),
            Event::Reconnecting {
                attempt: 1,
                delay: Duration::from_millis(100)
            },
            Event::Connecting { attempt: 1 },
            Event::Close(CloseFrame::abnormal(reason)),
            Event::Reconnecting {
                attempt: 2,
                delay: Duration::from_millis(100)
            },
            Event::Connecting { attempt: 2 },
            Event::Open {
                protocol: String::new()
            },
        ]
    );
    ws.send(Message::Text("b".into())).await.unwrap();
    let echo = within(5000, "the echo on the new connection", ws.next()).await;
    assert_eq!(echo.unwrap().unwrap(), Message::Text("b".into()));
    assert_eq!(*calls.borrow(), vec![0, 1, 2]);
    let r = report(&k).await;
    assert_eq!(r.attempts, 2, "the failed fetch made no connection");
    assert_eq!(r.connections[0].received, vec!["a"]);
    assert_eq!(r.connections[1].received, vec!["b"]);
}

#[wasm_bindgen_test]
async fn close_while_the_target_is_on_its_way_ends_the_socket_and_drops_the_future() {
    let (future, dropped) = hanging();
    let mut future = Some(future);
    let ws = WebSocket::builder("")
        .target_async(move |_| future.take().expect("one attempt"))
        .connect()
        .unwrap();
    let mut events = ws.events();
    sleep(50).await;
    assert_eq!(ws.state(), State::Connecting);
    assert!(!dropped.get());
    let outcome = within(1000, "the close", ws.close(1000, "").unwrap()).await;
    assert_eq!(outcome.frame, Some(CloseFrame::abnormal("")));
    assert_eq!(ws.state(), State::Closed);
    assert!(dropped.get(), "the future was let go");
    let close = within(1000, "the close event", events.next()).await;
    assert_eq!(close, Some(Event::Close(CloseFrame::abnormal(""))));
    assert_eq!(within(1000, "the end", events.next()).await, None);
}

#[wasm_bindgen_test]
async fn the_connect_timeout_gives_up_a_resolution_and_what_it_brings_later_is_ignored() {
    let k = key("target-async-timeout");
    let dropped = Rc::new(Cell::new(false));
    let flag = Rc::new(RefCell::new(Some(DropFlag(dropped.clone()))));
    let echo = ws_url(&format!("/echo?key={k}"));
    let mut ws = WebSocket::builder("")
        .reconnect(fixed(1500))
        .connect_timeout(Some(Duration::from_millis(300)))
        .target_async(move |attempt| {
            let flag = flag.borrow_mut().take();
            let echo = echo.clone();
            async move {
                let _flag = flag;
                // Longer than the connect timeout: it would be done during the delay after.
                if attempt == 0 {
                    sleep(600).await;
                }
                Ok(Target {
                    url: echo,
                    protocols: Vec::new(),
                })
            }
        })
        .connect()
        .unwrap();
    let mut events = ws.events();
    let timeout = next_event(&mut events, 3000, |e| matches!(e, Event::ConnectTimeout)).await;
    assert_eq!(timeout, Event::ConnectTimeout);
    assert!(dropped.get(), "given up with the attempt");
    // Past the time it would have resolved, within the delay: no connection was made.
    sleep(700).await;
    assert!(
        matches!(ws.state(), State::Reconnecting { attempt: 1, .. }),
        "{:?}",
        ws.state()
    );
    assert_eq!(report(&k).await.attempts, 0);
    within(5000, "the open", ws.opened()).await.unwrap();
    ws.send(Message::Text("x".into())).await.unwrap();
    let got = within(5000, "the echo", ws.next()).await;
    assert_eq!(got.unwrap().unwrap(), Message::Text("x".into()));
    assert_eq!(report(&k).await.attempts, 1);
}

#[wasm_bindgen_test]
async fn reconnect_while_the_target_is_on_its_way_starts_the_attempt_again() {
    let k = key("target-async-reconnect");
    let (future, dropped) = hanging();
    let mut first = Some(future);
    let calls = Rc::new(RefCell::new(Vec::new()));
    let seen = calls.clone();
    let echo = ws_url(&format!("/echo?key={k}"));
    let ws = WebSocket::builder("")
        .target_async(move |attempt| {
            seen.borrow_mut().push(attempt);
            let hang = first.take();
            let echo = echo.clone();
            async move {
                match hang {
                    Some(hang) => hang.await,
                    None => Ok(Target {
                        url: echo,
                        protocols: Vec::new(),
                    }),
                }
            }
        })
        .connect()
        .unwrap();
    sleep(50).await;
    ws.reconnect(1000, "").unwrap();
    assert!(dropped.get(), "the first resolution was let go");
    within(5000, "the open", ws.opened()).await.unwrap();
    assert_eq!(*calls.borrow(), vec![0, 0], "the same attempt, made again");
    assert_eq!(report(&k).await.attempts, 1);
}

#[wasm_bindgen_test]
async fn dropping_the_socket_while_the_target_is_on_its_way_stops_the_future() {
    let resolved = Rc::new(Cell::new(false));
    let done = resolved.clone();
    let dropped = Rc::new(Cell::new(false));
    let flag = Rc::new(RefCell::new(Some(DropFlag(dropped.clone()))));
    let ws = WebSocket::builder("")
        .target_async(move |_| {
            let done = done.clone();
            let flag = flag.borrow_mut().take();
            async move {
                let _flag = flag;
                sleep(200).await;
                done.set(true);
                Err(Error::SocketClosed)
            }
        })
        .connect()
        .unwrap();
    sleep(50).await;
    drop(ws);
    // Let go at the next turn, at the latest.
    sleep(0).await;
    assert!(dropped.get(), "the future was let go with the socket");
    sleep(400).await;
    assert!(!resolved.get(), "it never ran again");
}

#[wasm_bindgen_test]
async fn a_bad_url_from_an_async_target_ends_the_socket_with_that_error() {
    let mut ws = WebSocket::builder("")
        .target_async(|_| async {
            sleep(10).await;
            Ok(Target {
                url: "ftp://127.0.0.1/".into(),
                protocols: Vec::new(),
            })
        })
        .connect()
        .unwrap();
    let opened = within(2000, "the end", ws.opened()).await;
    assert!(matches!(opened, Err(Error::InvalidUrl(_))), "{opened:?}");
    let item = within(1000, "the stream's error", ws.next()).await;
    assert!(matches!(item, Some(Err(Error::InvalidUrl(_)))), "{item:?}");
    assert!(within(1000, "the stream's end", ws.next()).await.is_none());
    assert_eq!(ws.state(), State::Closed);
}
