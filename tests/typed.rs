//! Typed messages through a real socket (features `json` and `postcard`).
#![cfg(all(target_arch = "wasm32", feature = "json", feature = "postcard"))]

mod support;

use futures::{SinkExt, StreamExt};
use resocket::{Error, Message, WebSocket};
use serde::{Deserialize, Serialize};
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

#[derive(Debug, PartialEq, Serialize, Deserialize)]
struct Chat {
    from: String,
    text: String,
}

#[wasm_bindgen_test]
async fn postcard_values_round_trip_as_binary() {
    let mut ws = WebSocket::connect(&ws_url("/echo"))
        .unwrap()
        .postcard::<(u32, String), (u32, String)>();
    within(5000, "open", ws.get_ref().opened()).await.unwrap();
    ws.send((7, "sieben".to_owned())).await.unwrap();
    let back = within(5000, "echo", ws.next()).await.unwrap().unwrap();
    assert_eq!(back, (7, "sieben".to_owned()));
}

#[wasm_bindgen_test]
async fn typed_values_round_trip_and_a_bad_message_does_not_end_the_stream() {
    let ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let (tx, rx) = ws.split();
    let mut raw = tx.clone();
    let mut typed_tx = tx.json::<Chat>();
    let mut typed_rx = rx.json::<Chat>();
    typed_tx
        .send(Chat {
            from: "a".into(),
            text: "hé".into(),
        })
        .await
        .unwrap();
    raw.send(Message::Text("{oops".into())).await.unwrap();
    typed_tx
        .send(Chat {
            from: "b".into(),
            text: "after".into(),
        })
        .await
        .unwrap();

    assert_eq!(
        within(5000, "1st", typed_rx.next()).await.unwrap().unwrap(),
        Chat {
            from: "a".into(),
            text: "hé".into()
        }
    );
    let bad = within(5000, "2nd", typed_rx.next()).await.unwrap();
    assert!(
        matches!(bad, Err(Error::Decode { ref text, .. }) if text == "{oops"),
        "{bad:?}"
    );
    assert_eq!(
        within(5000, "3rd", typed_rx.next()).await.unwrap().unwrap(),
        Chat {
            from: "b".into(),
            text: "after".into()
        }
    );
    assert_eq!(
        typed_rx.get_ref().state(),
        resocket::State::Open,
        "still connected"
    );
}

#[derive(Debug, PartialEq, Serialize, Deserialize)]
enum Tree {
    Leaf,
    Node(Box<Tree>),
}

#[wasm_bindgen_test]
async fn hostile_postcard_nesting_is_a_decode_error_and_the_stream_goes_on() {
    let ws = WebSocket::connect(&ws_url("/echo")).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let (tx, rx) = ws.split();
    let mut raw = tx.clone();
    let mut typed_rx = rx.postcard::<Tree>();
    // A million levels of Node in one megabyte: followed, it would overflow the wasm stack
    // and abort the page; capped, it is one bad message.
    let mut hostile = vec![1u8; 1 << 20];
    hostile.push(0);
    raw.send(Message::Binary(hostile)).await.unwrap();
    let mut fine = tx.postcard::<Tree>();
    fine.send(Tree::Node(Box::new(Tree::Leaf))).await.unwrap();

    let bad = within(5000, "hostile", typed_rx.next()).await.unwrap();
    assert!(
        matches!(bad, Err(Error::Decode { ref message, .. })
            if message == "values nest more than 128 deep"),
        "{bad:?}"
    );
    assert_eq!(
        within(5000, "next", typed_rx.next())
            .await
            .unwrap()
            .unwrap(),
        Tree::Node(Box::new(Tree::Leaf))
    );
    assert_eq!(typed_rx.get_ref().state(), resocket::State::Open);
}
