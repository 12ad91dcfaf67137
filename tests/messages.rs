//! Messages both ways, subprotocols, URLs and connect errors, in a real browser against the
//! test server.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{BinaryType, CloseFrame, Error, Event, Message, State, WebSocket};
use support::*;
use wasm_bindgen::JsValue;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

async fn echo_socket(key: &str) -> WebSocket {
    let ws = WebSocket::connect(&ws_url(&format!("/echo?key={key}"))).expect("connect");
    within(5000, "open", ws.opened()).await.expect("opened");
    ws
}

#[wasm_bindgen_test]
async fn text_echo() {
    let mut ws = echo_socket(&key("text")).await;
    ws.send(Message::Text("héllo wörld".into())).await.unwrap();
    let got = within(5000, "echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(got, Message::Text("héllo wörld".into()));
}

#[wasm_bindgen_test]
async fn binary_echo() {
    let mut ws = echo_socket(&key("binary")).await;
    let payload: Vec<u8> = (0..=255u8).cycle().take(70_000).collect();
    ws.send(Message::Binary(payload.clone())).await.unwrap();
    let got = within(5000, "echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(got, Message::Binary(payload));
}

#[wasm_bindgen_test]
async fn blob_messages_keep_arrival_order() {
    let mut ws = WebSocket::builder(&ws_url("/echo"))
        .binary_type(BinaryType::Blob)
        .connect()
        .unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    // A large Blob takes longer to read than a text message takes to arrive after it.
    let mut expected = vec![];
    for i in 0..20u32 {
        let big = Message::Binary(vec![i as u8; 256 * 1024]);
        let small = Message::Text(format!("after {i}"));
        ws.feed(big.clone()).await.unwrap();
        ws.feed(small.clone()).await.unwrap();
        expected.push(big);
        expected.push(small);
    }
    ws.flush().await.unwrap();
    let mut got = vec![];
    while got.len() < expected.len() {
        got.push(within(10_000, "echoes", ws.next()).await.unwrap().unwrap());
    }
    assert!(
        got == expected,
        "order differs: first kinds {:?}",
        got.iter()
            .take(6)
            .map(|m| m.as_text().is_some())
            .collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn sends_while_connecting_wait_for_open() {
    let k = key("early");
    let mut ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    assert_eq!(ws.state(), State::Connecting);
    for i in 0..5 {
        ws.feed(Message::Text(format!("early {i}"))).await.unwrap();
    }
    for i in 0..5 {
        let got = within(5000, "echo", ws.next()).await.unwrap().unwrap();
        assert_eq!(got, Message::Text(format!("early {i}")));
    }
    let r = report(&k).await;
    assert_eq!(
        r.connections[0].received,
        (0..5).map(|i| format!("early {i}")).collect::<Vec<_>>()
    );
}

#[wasm_bindgen_test]
async fn subprotocol_is_negotiated() {
    let k = key("proto");
    let ws = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        .protocols(["nope.example", "v2.resocket", "v1.resocket"])
        .connect()
        .unwrap();
    let mut events = ws.events();
    within(5000, "open", ws.opened()).await.unwrap();
    assert_eq!(ws.protocol(), "v2.resocket");
    assert_eq!(
        report(&k).await.connections[0].protocol.as_deref(),
        Some("v2.resocket")
    );
    let _ = &mut events;
}

/// Browsers differ here: Chromium fails the connection when the server picks none of the
/// offered subprotocols, Firefox opens it without one. Either way resocket must report
/// exactly what happened.
#[wasm_bindgen_test]
async fn no_common_subprotocol_is_reported_as_the_browser_decides() {
    let mut ws = WebSocket::builder(&ws_url("/echo"))
        .protocols(["nope.example"])
        .no_reconnect()
        .connect()
        .unwrap();
    match within(5000, "open or failure", ws.opened()).await {
        Ok(()) => {
            assert_eq!(ws.protocol(), "", "opened without a subprotocol");
            assert_eq!(ws.state(), State::Open);
        }
        Err(err) => {
            assert!(
                matches!(err, Error::ConnectFailed(ref f) if f.code == 1006),
                "{err:?}"
            );
            let item = within(1000, "error item", ws.next()).await;
            assert!(
                matches!(item, Some(Err(Error::ConnectFailed(_)))),
                "{item:?}"
            );
            assert!(within(1000, "end", ws.next()).await.is_none());
        }
    }
}

#[wasm_bindgen_test]
async fn http_urls_resolve_to_ws() {
    let ws = WebSocket::connect(&http_url("/echo")).unwrap();
    assert_eq!(ws.url(), ws_url("/echo"));
    within(5000, "open", ws.opened()).await.unwrap();
}

#[wasm_bindgen_test]
async fn ws_urls_come_back_as_the_browser_serialises_them() {
    // A ws: URL goes to the constructor unresolved; url() is still the serialised form.
    let ws = WebSocket::connect(&ws_url("/echo?a b")).unwrap();
    assert_eq!(ws.url(), ws_url("/echo?a%20b"));
    within(5000, "open", ws.opened()).await.unwrap();
}

#[wasm_bindgen_test]
async fn bad_urls_are_errors_not_panics() {
    for bad in [
        "ftp://127.0.0.1/x",
        "ws://127.0.0.1:1/x#frag",
        "ws://exa mple.com:99999/",
    ] {
        let err = WebSocket::connect(bad).expect_err(bad);
        assert!(matches!(err, Error::InvalidUrl(_)), "{bad}: {err:?}");
        // The same words in every browser, whichever of them found the fault.
        assert!(
            err.to_string().contains(&format!("\"{bad}\"")),
            "{bad}: {err}"
        );
    }
}

/// Runs `f` with the global `WebSocket` replaced by `stand_in` (as mocking libraries do), and
/// puts the real one back before returning, so the assertions that follow leave the other
/// tests a real one even when they fail.
async fn with_stand_in<T>(stand_in: &JsValue, f: impl std::future::Future<Output = T>) -> T {
    let global = js_sys::global();
    let name = JsValue::from_str("WebSocket");
    let real = js_sys::Reflect::get(&global, &name).unwrap();
    js_sys::Reflect::set(&global, &name, stand_in).unwrap();
    let out = f.await;
    js_sys::Reflect::set(&global, &name, &real).unwrap();
    out
}

#[wasm_bindgen_test]
async fn an_odd_exception_from_the_websocket_constructor_is_an_error() {
    // A stand-in WebSocket (as mocking libraries install) that throws an Error whose
    // `message` getter throws in turn.
    let fake = js_sys::Function::new_no_args(
        "const e = new Error('x'); \
         Object.defineProperty(e, 'message', { get() { throw new Error('no message'); } }); \
         Object.defineProperty(e, 'name', { value: 'NotSupportedError' }); \
         throw e;",
    );
    let error = with_stand_in(&fake, async {
        match WebSocket::builder(&ws_url("/echo"))
            .no_reconnect()
            .connect()
        {
            Err(e) => Some(e),
            Ok(mut ws) => {
                let item = within(5000, "the failed attempt", ws.next()).await;
                assert_eq!(ws.state(), State::Closed);
                item.and_then(Result::err)
            }
        }
    })
    .await;
    let error = error.expect("an error");
    assert!(
        format!("{error:?}").contains("NotSupportedError"),
        "{error:?}"
    );
    // And the next socket works.
    let mut ws = echo_socket(&key("after-odd-exception")).await;
    ws.send(Message::Text("hi".into())).await.unwrap();
    assert_eq!(
        within(5000, "echo", ws.next()).await.unwrap().unwrap(),
        Message::Text("hi".into())
    );
}

#[wasm_bindgen_test]
async fn an_odd_close_event_from_a_stand_in_websocket_is_read_without_throwing() {
    // A stand-in WebSocket (as mocking libraries install) that opens, then closes (through
    // its `on…` handlers) with a plain `Event`, not a `CloseEvent`, whose `code` is given,
    // whose `reason` getter throws, and whose `wasClean` is no boolean. Code 0 is what Deno
    // reports for a lost connection: taken as 1006.
    let class_for = js_sys::Function::new_with_args(
        "code",
        "return class { \
           constructor(url) { \
             Object.assign(this, { url, readyState: 0, bufferedAmount: 0, protocol: '', \
               extensions: '', binaryType: 'blob' }); \
             setTimeout(() => { \
               this.readyState = 1; \
               this.onopen(new Event('open')); \
               setTimeout(() => { \
                 this.readyState = 3; \
                 const e = new Event('close'); \
                 Object.defineProperty(e, 'code', { value: code }); \
                 Object.defineProperty(e, 'reason', { get() { throw new Error('no reason'); } }); \
                 Object.defineProperty(e, 'wasClean', { value: 'yes' }); \
                 this.onclose(e); \
               }, 10); \
             }, 10); \
           } \
           send() {} \
           close() {} \
         };",
    );
    for (code, expected) in [(4001, 4001), (0, 1006)] {
        let fake = class_for
            .call1(&JsValue::UNDEFINED, &JsValue::from(code))
            .unwrap();
        let end = with_stand_in(&fake, async {
            let mut ws = WebSocket::builder(&ws_url("/echo"))
                .no_reconnect()
                .connect()
                .ok()?;
            let end = within(5000, "the stand-in's close", ws.next()).await;
            Some((end, ws.state()))
        })
        .await;
        let (end, state) = end.expect("the stand-in connects");
        let frame = CloseFrame {
            code: expected,
            reason: String::new(),
            was_clean: false,
        };
        assert!(
            matches!(&end, Some(Err(Error::Closed(f))) if *f == frame),
            "code {code}: {end:?}"
        );
        assert_eq!(state, State::Closed);
    }
}

#[wasm_bindgen_test]
async fn refused_port_is_an_error() {
    // Port 9 (discard) is not listening on the test machine; reconnection off.
    let mut ws = WebSocket::builder("ws://127.0.0.1:9/")
        .no_reconnect()
        .connect()
        .unwrap();
    let item = within(10_000, "refusal", ws.next())
        .await
        .expect("one error item");
    assert!(
        matches!(item, Err(Error::ConnectFailed(ref f)) if f.code == 1006 && !f.was_clean),
        "{item:?}"
    );
    assert_eq!(ws.state(), State::Closed);
    assert!(ws.next().await.is_none(), "the stream ends after its error");
    assert!(ws.opened().await.is_err());
}

#[wasm_bindgen_test]
async fn split_sender_clones_share_one_connection() {
    let ws = echo_socket(&key("split")).await;
    let (tx, mut rx) = ws.split();
    let mut a = tx.clone();
    let mut b = tx;
    a.send(Message::Text("from a".into())).await.unwrap();
    b.send(Message::Text("from b".into())).await.unwrap();
    let first = within(5000, "echo", rx.next()).await.unwrap().unwrap();
    let second = within(5000, "echo", rx.next()).await.unwrap().unwrap();
    assert_eq!(
        (first, second),
        (
            Message::Text("from a".into()),
            Message::Text("from b".into())
        )
    );
}

#[wasm_bindgen_test]
async fn every_events_subscriber_sees_open_and_close() {
    let ws = WebSocket::builder(&ws_url("/close/4001/done"))
        .no_reconnect()
        .connect()
        .unwrap();
    let mut first = ws.events();
    let mut second = ws.events();
    for events in [&mut first, &mut second] {
        assert!(matches!(
            next_event(events, 5000, |e| matches!(e, Event::Open { .. })).await,
            Event::Open { .. }
        ));
        let close = next_event(events, 5000, |e| matches!(e, Event::Close(_))).await;
        assert!(
            matches!(close, Event::Close(ref f) if f.code == 4001 && f.reason == "done"),
            "{close:?}"
        );
    }
}

#[wasm_bindgen_test]
async fn invalid_subprotocols_are_named_config_errors() {
    for bad in [vec!["a b"], vec!["x", "x"], vec![""]] {
        let err = WebSocket::builder(&ws_url("/echo"))
            .protocols(bad.clone())
            .connect()
            .expect_err("refused");
        assert!(matches!(err, Error::InvalidConfig(_)), "{bad:?}: {err:?}");
    }
}

#[wasm_bindgen_test]
async fn a_high_water_mark_alone_brings_the_low_one_down_with_it() {
    // Below the default low-water mark (256 KiB), a high-water mark alone must not make
    // the settings contradict each other.
    let ws = WebSocket::builder(&ws_url("/echo"))
        .high_water_mark(64 << 10)
        .connect();
    assert!(ws.is_ok(), "{:?}", ws.err());
    // Set explicitly, the low-water mark stays as given, in either order.
    for ws in [
        WebSocket::builder(&ws_url("/echo"))
            .low_water_mark(128 << 10)
            .high_water_mark(64 << 10)
            .connect(),
        WebSocket::builder(&ws_url("/echo"))
            .high_water_mark(64 << 10)
            .low_water_mark(128 << 10)
            .connect(),
    ] {
        assert!(matches!(ws, Err(Error::InvalidConfig(_))), "{:?}", ws.err());
    }
}
