//! The hook in real components, in a real browser, against the test server: what a child
//! sends from its own effect (which Yew runs before its parent's), a change of URL,
//! `close()`, and that messages sent just before `close()` or unmount go out ahead of the
//! close frame.
#![cfg(target_arch = "wasm32")]

use resocket::{Message, WebSocket};
use resocket_test_support::*;
use resocket_yew::{use_websocket_with, UseWebSocket};
use std::cell::RefCell;
use std::time::Duration;
use wasm_bindgen_test::*;
use yew::prelude::*;

wasm_bindgen_test_configure!(run_in_browser);

thread_local! {
    /// The parent's latest handle, for the test to act on.
    static LATEST: RefCell<Option<UseWebSocket>> = const { RefCell::new(None) };
}

#[derive(Properties, PartialEq)]
struct ParentProps {
    url: AttrValue,
    /// A URL a newly mounted child sets back at once, from its effect (which Yew runs
    /// before the parent's): the parent renders another URL and then this one again
    /// before its own effect runs.
    #[prop_or_default]
    revert_to: Option<AttrValue>,
    /// What the child does from its effect when it mounts: "join" sends that, "close"
    /// closes the socket, anything else nothing. "join, leave" also sends "leave" from the
    /// effect's cleanup, through the handle it mounted with.
    child: AttrValue,
    /// The action of a second child that is not keyed by the URL, so it stays when the URL
    /// changes, holding the handle it mounted with.
    #[prop_or_default]
    steady: Option<AttrValue>,
    /// The parent's own effect on the URL says "leave <url>" from its cleanup, through the
    /// handle of the render that ran it: after the hook's cleanup, which Yew runs first.
    #[prop_or_default]
    parent_leave: bool,
}

/// Holds the socket, shows its state, and has a child that acts on mount; the child is
/// keyed by the URL, so it mounts anew when the URL changes.
#[component]
fn Parent(props: &ParentProps) -> Html {
    let reverted = use_state(|| None::<AttrValue>);
    let url = reverted.as_ref().unwrap_or(&props.url).to_string();
    let revert = {
        let (reverted, to) = (reverted.clone(), props.revert_to.clone());
        Callback::from(move |()| reverted.set(to.clone()))
    };
    let builder_url = url.clone();
    let ws = use_websocket_with(
        url.clone(),
        move || WebSocket::builder(&builder_url).close_timeout(Duration::from_secs(3)),
        Callback::noop(),
    );
    LATEST.with(|l| *l.borrow_mut() = Some(ws.clone()));
    {
        let (ws, leave) = (ws.clone(), props.parent_leave);
        use_effect_with(url.clone(), move |url| {
            let url = url.clone();
            move || {
                if leave {
                    let key = url.rsplit("key=").next().unwrap_or_default();
                    ws.send(Message::Text(format!("leave {key}")));
                }
            }
        });
    }
    html! {
        <div>
            <p class="state">{ format!("{:?}", ws.state) }</p>
            <Child key={url} ws={ws.clone()} action={props.child.clone()} {revert} />
            if let Some(action) = props.steady.clone() {
                <Child key="steady" ws={ws.clone()} {action} revert={Callback::noop()} />
            }
        </div>
    }
}

#[derive(Properties, PartialEq)]
struct ChildProps {
    ws: UseWebSocket,
    action: AttrValue,
    revert: Callback<()>,
}

#[component]
fn Child(props: &ChildProps) -> Html {
    let (ws, action, revert) = (props.ws.clone(), props.action.clone(), props.revert.clone());
    use_effect_with((), move |_| {
        match action.as_str() {
            "join" | "join, leave" => ws.send(Message::Text("join".into())),
            "close" => ws.close(),
            "revert" => revert.emit(()),
            _ => {}
        }
        move || {
            if action == "join, leave" {
                ws.send(Message::Text("leave".into()));
            }
        }
    });
    html! {}
}

fn mount(url: String, child: &str) -> (web_sys::Element, yew::AppHandle<Parent>) {
    mount_with(ParentProps {
        url: url.into(),
        revert_to: None,
        child: child.to_owned().into(),
        steady: None,
        parent_leave: false,
    })
}

fn mount_with(props: ParentProps) -> (web_sys::Element, yew::AppHandle<Parent>) {
    let document = web_sys::window().unwrap().document().unwrap();
    let root = document.create_element("div").unwrap();
    document.body().unwrap().append_child(&root).unwrap();
    let app = yew::Renderer::<Parent>::with_root_and_props(root.clone(), props).render();
    (root, app)
}

fn shown(root: &web_sys::Element) -> String {
    root.query_selector(".state")
        .unwrap()
        .and_then(|e| e.text_content())
        .unwrap_or_default()
}

#[wasm_bindgen_test]
async fn what_a_child_sends_on_mount_waits_for_the_socket() {
    let k = key("yew-child-join");
    let (_root, app) = mount(ws_url(&format!("/echo?key={k}")), "join");
    let r = report_until(&k, 3000, "the child's message", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    assert_eq!(r.connections[0].received, ["join"]);
    app.destroy();
}

#[wasm_bindgen_test]
async fn after_a_change_of_url_a_child_sends_to_the_new_socket() {
    let (a, b) = (key("yew-url-a"), key("yew-url-b"));
    let url = |k: &str| ws_url(&format!("/echo?key={k}"));
    let (root, mut app) = mount(url(&a), "join");
    report_until(&a, 3000, "the first join", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    wait_for(3000, "Open", || shown(&root) == "Open").await;
    app.update(ParentProps {
        url: url(&b).into(),
        revert_to: None,
        child: "join".into(),
        steady: None,
        parent_leave: false,
    });
    let r = report_until(&b, 3000, "the join on the new socket", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    assert_eq!(r.connections[0].received, ["join"]);
    let r = report_until(&a, 3000, "the old socket closed", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(
        r.connections[0].received,
        ["join"],
        "nothing meant for the new socket went to the old one"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn close_shows_closing_at_once() {
    // The server stops reading, so the closing handshake lasts until the close timeout.
    let k = key("yew-close");
    let (root, app) = mount(ws_url(&format!("/stall?key={k}")), "");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    LATEST.with(|l| l.borrow().as_ref().unwrap().close());
    wait_for(1000, "Closing shown", || shown(&root) == "Closing").await;
    wait_for(6000, "Closed", || shown(&root) == "Closed").await;
    app.destroy();
    let _ = get_json(&format!("/api/drop/{k}")).await;
}

#[wasm_bindgen_test]
async fn reconnect_connects_again_and_what_was_queued_goes_out_on_the_new_connection() {
    let k = key("yew-reconnect");
    let (root, app) = mount(ws_url(&format!("/sink?key={k}")), "");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    // Still in the hook's queue when reconnect() comes: the new connection carries it.
    LATEST.with(|l| {
        let ws = l.borrow().clone().unwrap();
        ws.send(Message::Text("one".into()));
        ws.reconnect();
        ws.send(Message::Text("two".into()));
    });
    let r = report_until(&k, 5000, "both on a second connection", |r| {
        r.connections.len() == 2 && r.connections[1].received.len() == 2
    })
    .await;
    assert!(r.connections[0].received.is_empty(), "{r:?}");
    assert_eq!(
        r.connections[0].close,
        Some((1000, String::new(), "client".into()))
    );
    assert_eq!(r.connections[1].received, ["one", "two"]);
    wait_for(5000, "Open again", || shown(&root) == "Open").await;
    app.destroy();
}

#[wasm_bindgen_test]
async fn messages_sent_just_before_close_go_out_ahead_of_the_close_frame() {
    let k = key("yew-bye");
    let (root, app) = mount(ws_url(&format!("/sink?key={k}")), "");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    // Still in the hook's queue when close() comes: the forwarding task has not run yet.
    LATEST.with(|l| {
        let ws = l.borrow().clone().unwrap();
        ws.send(Message::Text("one".into()));
        ws.send(Message::Text("bye".into()));
        ws.close();
    });
    let r = report_until(&k, 5000, "a close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["one", "bye"]);
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_message_sent_just_before_unmount_goes_out() {
    let k = key("yew-unmount");
    let (root, app) = mount(ws_url(&format!("/sink?key={k}")), "");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    LATEST.with(|l| {
        l.borrow()
            .as_ref()
            .unwrap()
            .send(Message::Text("bye".into()))
    });
    app.destroy();
    let r = report_until(&k, 5000, "a close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["bye"]);
}

#[wasm_bindgen_test]
async fn close_before_the_socket_is_made_makes_none() {
    let k = key("yew-close-early");
    let (root, app) = mount(ws_url(&format!("/echo?key={k}")), "close");
    wait_for(3000, "Closed", || shown(&root) == "Closed").await;
    sleep(300).await;
    assert_eq!(report(&k).await.attempts, 0, "no connection was attempted");
    LATEST.with(|l| assert_eq!(l.borrow().as_ref().unwrap().error, None));
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_url_changed_and_changed_back_before_the_effect_keeps_the_socket_it_has() {
    let (a, b) = (key("yew-back-a"), key("yew-back-b"));
    let url = |k: &str| ws_url(&format!("/echo?key={k}"));
    let (root, mut app) = mount(url(&a), "");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    // To B, whose new child sets A back before the parent's effect for B runs.
    app.update(ParentProps {
        url: url(&b).into(),
        revert_to: Some(url(&a).into()),
        child: "revert".into(),
        steady: None,
        parent_leave: false,
    });
    sleep(300).await;
    LATEST.with(|l| {
        l.borrow()
            .as_ref()
            .unwrap()
            .send(Message::Text("still here".into()))
    });
    let r = report_until(&a, 3000, "the message on A's socket", |r| {
        r.connections.iter().any(|c| !c.received.is_empty())
    })
    .await;
    assert_eq!(r.connections.len(), 1, "the socket it had, not a new one");
    assert_eq!(r.connections[0].received, ["still here"]);
    assert_eq!(report(&b).await.attempts, 0, "no socket for B");
    app.destroy();
}

#[wasm_bindgen_test]
async fn what_a_child_sends_as_the_parent_unmounts_goes_out_before_the_close() {
    // Yew runs the parent's hook cleanups before its children's destructors.
    let k = key("yew-leave");
    let (root, app) = mount(ws_url(&format!("/echo?key={k}")), "join, leave");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    report_until(&k, 3000, "the join", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    app.destroy();
    let r = report_until(&k, 5000, "a close", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["join", "leave"]);
    assert_eq!(r.connections[0].close.as_ref().map(|c| c.0), Some(1000));
    assert_eq!(r.connections.len(), 1);
}

#[wasm_bindgen_test]
async fn after_a_change_of_url_what_the_old_child_sends_as_it_goes_reaches_the_old_socket() {
    let (a, b) = (key("yew-leave-a"), key("yew-leave-b"));
    let url = |k: &str| ws_url(&format!("/echo?key={k}"));
    let (root, mut app) = mount(url(&a), "join, leave");
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    report_until(&a, 3000, "the first join", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    app.update(ParentProps {
        url: url(&b).into(),
        revert_to: None,
        child: "join, leave".into(),
        steady: None,
        parent_leave: false,
    });
    let r = report_until(&a, 5000, "the old socket closed", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["join", "leave"]);
    let r = report_until(&b, 3000, "the join on the new socket", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    sleep(200).await;
    let r2 = report(&b).await;
    assert_eq!(r.connections[0].received, ["join"]);
    assert_eq!(
        r2.connections[0].received,
        ["join"],
        "no leave on the new socket"
    );
    app.destroy();
}

#[wasm_bindgen_test]
async fn a_goodbye_through_the_handle_of_an_earlier_url_goes_to_the_last_socket_on_unmount() {
    let (a, b) = (key("yew-steady-a"), key("yew-steady-b"));
    let url = |k: &str| ws_url(&format!("/echo?key={k}"));
    let props = |k: &str| ParentProps {
        url: url(k).into(),
        revert_to: None,
        child: "".into(),
        steady: Some("join, leave".into()),
        parent_leave: false,
    };
    let (root, mut app) = mount_with(props(&a));
    report_until(&a, 5000, "the join on the first socket", |r| {
        r.connections
            .first()
            .is_some_and(|c| !c.received.is_empty())
    })
    .await;
    // The steady child keeps the handle it mounted with, of the first URL.
    app.update(props(&b));
    report_until(&a, 5000, "the first socket closed", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    app.destroy();
    let r = report_until(&b, 5000, "a close of the second socket", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, ["leave"]);
    assert_eq!(report(&a).await.connections[0].received, ["join"]);
}

#[wasm_bindgen_test]
async fn the_parents_own_goodbye_through_an_earlier_handle_reaches_the_socket_that_is_ending() {
    // The parent's effect cleanup runs after the hook's: on a change of URL, once the new
    // socket was started, and on unmount after both.
    let (a, b) = (key("yew-parent-a"), key("yew-parent-b"));
    let url = |k: &str| ws_url(&format!("/echo?key={k}"));
    let props = |k: &str| ParentProps {
        url: url(k).into(),
        revert_to: None,
        child: "".into(),
        steady: None,
        parent_leave: true,
    };
    let (root, mut app) = mount_with(props(&a));
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    app.update(props(&b));
    let r = report_until(&a, 5000, "the first socket closed", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, [format!("leave {a}")]);
    wait_for(5000, "Open", || shown(&root) == "Open").await;
    app.destroy();
    let r = report_until(&b, 5000, "the second socket closed", |r| {
        r.connections.first().is_some_and(|c| c.close.is_some())
    })
    .await;
    assert_eq!(r.connections[0].received, [format!("leave {b}")]);
}
