//! `SendQueue`: sending from code that cannot await, in order, through the socket's Sink.
#![cfg(target_arch = "wasm32")]

mod support;

use futures::StreamExt;
use resocket::{Error, Message, SendQueue, WebSocket};
use support::*;
use wasm_bindgen_test::*;

wasm_bindgen_test_configure!(run_in_browser);

fn texts(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix} {i}")).collect()
}

#[wasm_bindgen_test]
async fn forwards_in_order_what_was_pushed_before_and_after_the_task_started() {
    let k = key("queue-order");
    // A small high-water mark, so the Sink pushes back and the task has to wait.
    let (sender, mut receiver) = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        .high_water_mark(1024)
        .low_water_mark(256)
        .connect()
        .unwrap()
        .split();
    let queue = SendQueue::new();
    let sent = texts(&"x".repeat(200), 300);
    for text in &sent[..100] {
        queue.push(Message::Text(text.clone())).unwrap();
    }
    assert_eq!(queue.len(), 100, "nothing leaves before the task runs");
    wasm_bindgen_futures::spawn_local(queue.forward(sender));
    let mut got = Vec::new();
    while got.len() < sent.len() {
        let m = within(10_000, "echo", receiver.next())
            .await
            .unwrap()
            .unwrap();
        got.push(m.as_text().unwrap().to_owned());
        // The rest once the first have come back, while the task waits for more.
        if got.len() == 100 {
            assert!(queue.is_empty());
            for text in &sent[100..] {
                queue.push(Message::Text(text.clone())).unwrap();
            }
        }
    }
    assert_eq!(got, sent);
    assert!(queue.is_empty());
}

#[wasm_bindgen_test]
async fn hand_over_sends_what_waits_ahead_of_the_close() {
    let k = key("queue-hand-over");
    let ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let (sender, _receiver) = ws.split();
    // No forwarding task: everything still waits here when the close comes.
    let queue = SendQueue::new();
    let sent = texts("last words", 20);
    for text in &sent {
        queue.push(Message::Text(text.clone())).unwrap();
    }
    queue.hand_over(&sender);
    assert!(queue.is_empty());
    within(5000, "close", sender.close(1000, "bye").unwrap()).await;
    let r = report_until(&k, 5000, "the close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, sent);
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
}

#[wasm_bindgen_test]
async fn hand_over_inside_a_socket_callback_keeps_the_messages() {
    let k = key("queue-busy");
    let queue = SendQueue::new();
    queue.push(Message::Text("waits".into())).unwrap();
    let slot: std::rc::Rc<std::cell::RefCell<Option<resocket::Sender>>> = Default::default();
    let (in_hook, seen) = (queue.clone(), std::rc::Rc::new(std::cell::Cell::new(None)));
    let (hook_slot, hook_seen) = (slot.clone(), seen.clone());
    let ws = WebSocket::builder(&ws_url(&format!("/echo?key={k}")))
        .on_open(move |_| {
            // The socket is busy inside its own callback: it cannot take the message.
            if let Some(sender) = hook_slot.borrow().as_ref() {
                in_hook.hand_over(sender);
                hook_seen.set(Some(in_hook.len()));
            }
        })
        .connect()
        .unwrap();
    let (sender, _receiver) = ws.split();
    *slot.borrow_mut() = Some(sender.clone());
    within(5000, "open", sender.opened()).await.unwrap();
    assert_eq!(
        seen.get(),
        Some(1),
        "kept, not dropped, inside the callback"
    );
    // Outside the callback it goes.
    queue.hand_over(&sender);
    assert!(queue.is_empty());
    report_until(&k, 5000, "the message", |r| {
        r.connections
            .first()
            .is_some_and(|c| c.received == ["waits"])
    })
    .await;
    slot.borrow_mut().take();
}

#[wasm_bindgen_test]
async fn push_fails_once_closed_or_the_socket_ended() {
    let queue = SendQueue::new();
    queue.close();
    assert!(queue.is_closed());
    assert_eq!(
        queue.push(Message::Text("late".into())),
        Err(Error::SocketClosed)
    );

    // The task closes the queue when the socket is closed for good.
    let k = key("queue-end");
    let ws = WebSocket::connect(&ws_url(&format!("/echo?key={k}"))).unwrap();
    within(5000, "open", ws.opened()).await.unwrap();
    let queue = SendQueue::new();
    let (sender, _receiver) = ws.split();
    let task = queue.forward(sender.clone());
    sender.close(1000, "").unwrap().await;
    within(5000, "the task's end", task).await;
    assert_eq!(
        queue.push(Message::Text("after the end".into())),
        Err(Error::SocketClosed)
    );
}

#[wasm_bindgen_test]
async fn an_idle_task_ends_with_the_socket() {
    // The server drops the connection after one message: the task has handed it over and
    // waits for a push when the socket ends, and nothing is pushed after.
    let k = key("queue-idle-end");
    let (sender, mut receiver) = WebSocket::builder(&ws_url(&format!("/drop-after/1?key={k}")))
        .no_reconnect()
        .connect()
        .unwrap()
        .split();
    let queue = SendQueue::new();
    queue.push(Message::Text("one".into())).unwrap();
    let (done_tx, done_rx) = futures::channel::oneshot::channel();
    let task = queue.forward(sender);
    wasm_bindgen_futures::spawn_local(async move {
        task.await;
        let _ = done_tx.send(());
    });
    let echo = within(5000, "the echo", receiver.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("one".into()))));
    // The stream's end (after the abnormal close's error): closed for good.
    while within(5000, "the stream's end", receiver.next())
        .await
        .is_some()
    {}
    within(5000, "the idle task's end", done_rx).await.unwrap();
    assert!(queue.is_closed(), "the task closes the queue as it ends");
}

#[wasm_bindgen_test]
async fn the_task_ends_once_every_queue_handle_is_gone_after_sending_what_waits() {
    // Spawned and forgotten, as in the docs' example: when the app drops its queues,
    // nobody can push any more, so the task must not keep the socket alive.
    let k = key("queue-dropped");
    let (sender, mut receiver) = WebSocket::connect(&ws_url(&format!("/echo?key={k}")))
        .unwrap()
        .split();
    let queue = SendQueue::new();
    let clone = queue.clone();
    let (done_tx, mut done_rx) = futures::channel::oneshot::channel();
    let task = queue.forward(sender);
    wasm_bindgen_futures::spawn_local(async move {
        task.await;
        let _ = done_tx.send(());
    });
    queue.push(Message::Text("a".into())).unwrap();
    drop(queue);
    let echo = within(5000, "the echo", receiver.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("a".into()))));
    // A clone still pushes: the task goes on.
    gloo_timers::future::TimeoutFuture::new(100).await;
    assert_eq!(
        done_rx.try_recv(),
        Ok(None),
        "ended while a clone could push"
    );
    // Pushed by the last handle just before it goes: still sent, then the task ends.
    clone.push(Message::Text("b".into())).unwrap();
    drop(clone);
    within(5000, "the task's end", done_rx).await.unwrap();
    let echo = within(5000, "the last echo", receiver.next()).await;
    assert_eq!(echo, Some(Ok(Message::Text("b".into()))));
    // The task let go of its Sender: the Receiver is the last handle, and dropping it closes.
    drop(receiver);
    let r = report_until(&k, 5000, "the close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["a", "b"]);
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
}
