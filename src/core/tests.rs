//! Behaviour of the state machine, driven by a simulated socket and server.

use super::*;
use crate::close::codes;
use crate::{CloseFrame, Error, Event, Message, State};
use proptest::prelude::*;
use std::cell::RefCell;
use std::rc::Rc;
use std::time::Duration;

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

fn text(s: &str) -> Message {
    Message::Text(s.into())
}

fn frame(code: u16) -> CloseFrame {
    CloseFrame {
        code,
        reason: String::new(),
        was_clean: code != 1006,
    }
}

/// A deterministic backoff for tests: delays are exactly the ceiling.
fn fixed_backoff() -> Backoff {
    Backoff::new()
        .base(ms(100))
        .factor(2.0)
        .cap(ms(1000))
        .jitter(Jitter::None)
        .stable_after(ms(5000))
}

fn config() -> Config {
    Config {
        reconnect: Some(fixed_backoff()),
        connect_timeout: None,
        ..Config::default()
    }
}

/// Drains the machine's actions.
fn actions(m: &mut Machine) -> Vec<Action> {
    std::iter::from_fn(|| m.poll_action()).collect()
}

/// The messages `actions` hand over, as the driver reads them from `m`.
fn sends(m: &Machine, actions: &[Action]) -> Vec<Message> {
    actions
        .iter()
        .filter_map(|a| match a {
            Action::Send(seq) => Some(m.outgoing(*seq).expect("kept until taken").clone()),
            _ => None,
        })
        .collect()
}

/// Drains the machine's actions; the messages they hand over.
fn sent(m: &mut Machine) -> Vec<Message> {
    let a = actions(m);
    sends(m, &a)
}

fn events(actions: &[Action]) -> Vec<Event> {
    actions
        .iter()
        .filter_map(|a| {
            if let Action::Emit(e) = a {
                Some(e.clone())
            } else {
                None
            }
        })
        .collect()
}

fn open_machine(config: Config) -> Machine {
    let mut m = Machine::new(config, 7, ms(0));
    assert_eq!(
        actions(&mut m),
        vec![
            Action::Connect { attempt: 0 },
            Action::Emit(Event::Connecting { attempt: 0 })
        ]
    );
    m.handle_open(ms(0), "v1".into());
    assert_eq!(
        actions(&mut m),
        vec![Action::Emit(Event::Open {
            protocol: "v1".into()
        })]
    );
    m
}

#[test]
fn first_connection_opens_with_the_protocol() {
    let m = open_machine(config());
    assert_eq!(m.state(), State::Open);
    assert_eq!(m.protocol(), "v1");
}

#[test]
fn messages_sent_while_connecting_go_out_in_order_on_open() {
    let mut m = Machine::new(config(), 1, ms(0));
    actions(&mut m);
    for s in ["a", "b", "c"] {
        assert_eq!(m.poll_ready(), Ready::Yes);
        m.send(ms(1), text(s)).unwrap();
    }
    assert!(
        sent(&mut m).is_empty(),
        "nothing is handed to a CONNECTING socket"
    );
    m.handle_open(ms(2), String::new());
    assert_eq!(sent(&mut m), vec![text("a"), text("b"), text("c")]);
}

#[test]
fn a_full_queue_makes_the_sink_wait_and_drops_nothing() {
    let mut m = Machine::new(
        Config {
            queue_capacity: 2,
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text("a")).unwrap();
    assert_eq!(m.poll_ready(), Ready::Yes);
    m.send(ms(0), text("b")).unwrap();
    assert_eq!(m.poll_ready(), Ready::Wait);
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    assert_eq!(m.poll_ready(), Ready::Yes);
    assert_eq!(sent(&mut m), vec![text("a"), text("b")]);
}

#[test]
fn a_send_action_left_when_its_socket_ended_hands_over_nothing_and_the_message_goes_once() {
    let mut m = open_machine(config());
    m.send(ms(1), text("a")).unwrap();
    let stale = actions(&mut m);
    assert_eq!(stale, vec![Action::Send(0)]);
    // The socket ends before that action is carried out (a driver never waits so long).
    m.handle_close(ms(2), frame(1006), 1);
    assert_eq!(
        m.outgoing(0),
        None,
        "the action hands over nothing: the message went back to the queue instead"
    );
    actions(&mut m);
    m.handle_timeout(ms(102));
    assert_eq!(actions(&mut m)[0], Action::Connect { attempt: 1 });
    m.handle_open(ms(103), String::new());
    assert_eq!(
        sent(&mut m),
        vec![text("a")],
        "sent again, once, on the new socket"
    );
}

#[test]
fn a_reading_taken_before_the_driver_took_a_send_loses_nothing() {
    let mut m = open_machine(config());
    m.send(ms(1), text("abc")).unwrap();
    // The browser has nothing yet (the driver has not taken the action): the reading
    // cannot show the message transmitted.
    m.handle_buffered(ms(1), 0);
    assert_eq!(
        m.poll_flush(ms(1)),
        Ok(false),
        "not even handed to the browser"
    );
    assert_eq!(sent(&mut m), vec![text("abc")], "still there to send");
    m.handle_buffered(ms(2), 0);
    assert_eq!(m.poll_flush(ms(2)), Ok(true));
}

#[test]
fn any_buffered_amount_reading_is_taken_without_overflow() {
    // The driver's readings are 32-bit; a driver of its own may pass any usize.
    let mut m = open_machine(config());
    m.send(ms(1), text("a")).unwrap();
    m.handle_buffered(ms(1), usize::MAX);
    assert_eq!(m.poll_ready(), Ready::Wait, "far above the high-water mark");
    assert_eq!(sent(&mut m), vec![text("a")]);
    m.handle_buffered(ms(2), 0);
    assert_eq!(m.poll_ready(), Ready::Yes);
    assert_eq!(m.poll_flush(ms(2)), Ok(true));
}

#[test]
fn backpressure_waits_above_high_water_until_low_water() {
    let mut m = open_machine(Config {
        high_water_mark: 10,
        low_water_mark: 4,
        ..config()
    });
    m.send(ms(1), text("123456")).unwrap();
    actions(&mut m);
    m.handle_buffered(ms(1), 6);
    assert_eq!(m.poll_ready(), Ready::Yes, "6 <= 10");
    m.send(ms(1), text("123456")).unwrap();
    actions(&mut m);
    assert_eq!(m.poll_ready(), Ready::Wait, "12 > 10 after handing over");
    let t = m.poll_timeout().expect("a blocked sink polls the buffer");
    assert_eq!(
        t,
        ms(1),
        "the first check comes at once (the driver: at the next task)"
    );
    m.handle_buffered(t, 8);
    assert_eq!(
        m.poll_ready(),
        Ready::Wait,
        "8 is below high water but above low water"
    );
    m.handle_buffered(t + ms(5), 4);
    assert_eq!(m.poll_ready(), Ready::Yes);
}

#[test]
fn buffer_polling_backs_off_when_nothing_drains_and_stops_when_unblocked() {
    let mut m = open_machine(Config {
        high_water_mark: 10,
        low_water_mark: 0,
        ..config()
    });
    m.send(ms(0), text(&"x".repeat(20))).unwrap();
    actions(&mut m);
    let mut now = ms(0);
    let mut intervals = vec![];
    for _ in 0..10 {
        let t = m.poll_timeout().unwrap();
        intervals.push(t - now);
        now = t;
        m.handle_buffered(now, 20);
        m.handle_timeout(now);
    }
    assert!(
        intervals.windows(2).all(|w| w[1] >= w[0]),
        "intervals grow: {intervals:?}"
    );
    assert_eq!(
        *intervals.last().unwrap(),
        ms(250),
        "capped at 250 ms: {intervals:?}"
    );
    m.handle_buffered(now, 0);
    m.handle_timeout(now);
    assert_eq!(m.poll_timeout(), None, "no polling once nobody waits");
}

#[test]
fn flush_waits_for_an_empty_buffer() {
    let mut m = open_machine(config());
    m.send(ms(0), text("abc")).unwrap();
    actions(&mut m);
    assert_eq!(m.poll_flush(ms(0)), Ok(false));
    // Browsers report a small send transmitted within a task or a millisecond or two: the
    // first reading is asked for at once, the next ones from 1 ms on, backing off.
    assert_eq!(m.poll_timeout(), Some(ms(0)));
    m.handle_buffered(ms(0), 3);
    m.handle_timeout(ms(0));
    assert_eq!(m.poll_timeout(), Some(ms(1)));
    m.handle_buffered(ms(1), 3);
    m.handle_timeout(ms(1));
    assert_eq!(m.poll_timeout(), Some(ms(3)));
    assert_eq!(m.poll_flush(ms(3)), Ok(false));
    m.handle_buffered(ms(3), 0);
    assert_eq!(m.poll_flush(ms(3)), Ok(true));
    assert_eq!(m.poll_timeout(), None, "nobody waits: no more readings");
}

#[test]
fn abnormal_close_requeues_the_untransmitted_and_reconnects() {
    let mut m = open_machine(config());
    for s in ["m1", "m2", "m3"] {
        m.send(ms(1), text(s)).unwrap();
    }
    actions(&mut m);
    m.handle_close(ms(10), frame(1006), 3); // m3 whole and one byte of m2 never left
    let a = actions(&mut m);
    assert_eq!(
        events(&a),
        vec![
            Event::Requeued { count: 2 },
            Event::Close(frame(1006)),
            Event::Reconnecting {
                attempt: 1,
                delay: ms(100)
            }
        ]
    );
    assert_eq!(
        m.state(),
        State::Reconnecting {
            attempt: 1,
            delay: ms(100)
        }
    );
    m.send(ms(20), text("m4")).unwrap();
    assert_eq!(m.poll_timeout(), Some(ms(110)));
    m.handle_timeout(ms(110));
    assert_eq!(actions(&mut m)[0], Action::Connect { attempt: 1 });
    m.handle_open(ms(120), String::new());
    assert_eq!(sent(&mut m), vec![text("m2"), text("m3"), text("m4")]);
}

#[test]
fn server_close_1000_ends_the_stream_without_reconnecting() {
    let mut m = open_machine(config());
    m.handle_close(ms(5), frame(1000), 0);
    actions(&mut m);
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.take_terminal(), Some(Error::Closed(frame(1000))));
    assert_eq!(m.send(ms(6), text("x")), Err(Error::SocketClosed));
    assert_eq!(m.poll_ready(), Ready::Closed);
}

#[test]
fn default_policy_retries_what_may_heal_and_not_what_will_not() {
    for code in [1001, 1005, 1006, 1011, 1012, 1013, 1014, 1015] {
        assert!(default_reconnect_policy(&frame(code)), "{code} retried");
    }
    for code in [1000, 1002, 1003, 1007, 1008, 1009, 1010, 3000, 4000, 4999] {
        assert!(
            !default_reconnect_policy(&frame(code)),
            "{code} not retried"
        );
    }
}

#[test]
fn server_close_1012_reconnects() {
    let mut m = open_machine(config());
    m.handle_close(ms(5), frame(1012), 0);
    assert!(matches!(m.state(), State::Reconnecting { attempt: 1, .. }));
}

#[test]
fn a_custom_policy_is_honoured() {
    let policy: ReconnectPolicy = std::rc::Rc::new(|f: &CloseFrame| f.code == 4321);
    let mut m = open_machine(Config {
        reconnect_if: Some(policy.clone()),
        ..config()
    });
    m.handle_close(ms(5), frame(4321), 0);
    assert!(
        matches!(m.state(), State::Reconnecting { .. }),
        "4321 retried by the custom policy"
    );
    let mut m = open_machine(Config {
        reconnect_if: Some(policy),
        ..config()
    });
    m.handle_close(ms(5), frame(1006), 0);
    assert_eq!(
        m.state(),
        State::Closed,
        "1006 not retried by the custom policy"
    );
}

#[test]
fn callbacks_are_released_only_once_closed_for_good() {
    let policy: ReconnectPolicy = Rc::new(|f: &CloseFrame| f.code == 4321);
    let held = Rc::new("pong");
    let in_matcher = held.clone();
    let hook: OpenHook = Rc::new(RefCell::new(|_: &mut Opening<'_>| {}));
    let mut m = open_machine(Config {
        reconnect_if: Some(policy.clone()),
        heartbeat: Some(
            Heartbeat::default().pong_matcher(move |m| m.as_text() == Some(*in_matcher)),
        ),
        on_open: Some(hook.clone()),
        ..config()
    });
    let counts = |p: &ReconnectPolicy, h: &Rc<&str>, o: &OpenHook| {
        (
            Rc::strong_count(p),
            Rc::strong_count(h),
            Rc::strong_count(o),
        )
    };
    m.handle_close(ms(5), frame(4321), 0);
    m.release_callbacks(false);
    assert_eq!(
        counts(&policy, &held, &hook),
        (2, 2, 2),
        "reconnecting: still needed"
    );
    m.close(ms(6), 1000, "").unwrap();
    assert_eq!(m.state(), State::Closed);
    m.release_callbacks(false);
    assert_eq!(
        counts(&policy, &held, &hook),
        (1, 1, 1),
        "closed for good: let go"
    );
}

#[test]
fn the_pong_matcher_is_kept_while_asked_once_closed() {
    let mut m = open_machine(Config {
        heartbeat: Some(Heartbeat::default().pong_matcher(|m| m.as_text() == Some("pong"))),
        ..config()
    });
    m.close(ms(5), 1000, "").unwrap();
    m.handle_close(ms(6), frame(1000), 0);
    assert_eq!(m.state(), State::Closed);
    m.release_callbacks(true);
    assert!(
        m.is_pong(&Message::Text("pong".into())),
        "kept for Blobs still being read"
    );
    m.release_callbacks(false);
    assert!(!m.is_pong(&Message::Text("pong".into())), "let go");
}

#[test]
fn without_reconnect_a_failed_first_attempt_is_connect_failed() {
    let mut m = Machine::new(
        Config {
            reconnect: None,
            ..config()
        },
        1,
        ms(0),
    );
    m.handle_close(ms(3), frame(1006), 0);
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.take_terminal(), Some(Error::ConnectFailed(frame(1006))));
}

#[test]
fn retries_are_exhausted_after_max_retries() {
    let mut m = Machine::new(
        Config {
            reconnect: Some(fixed_backoff().max_retries(Some(2))),
            ..config()
        },
        1,
        ms(0),
    );
    let mut connects = 0;
    let mut now = ms(0);
    for _ in 0..10 {
        connects += actions(&mut m)
            .iter()
            .filter(|a| matches!(a, Action::Connect { .. }))
            .count();
        if m.is_closed() {
            break;
        }
        m.handle_close(now, frame(1006), 0);
        if let Some(t) = m.poll_timeout() {
            now = t;
            m.handle_timeout(now);
        }
    }
    assert_eq!(connects, 3, "the first connection and two retries");
    assert_eq!(
        m.take_terminal(),
        Some(Error::ReconnectExhausted {
            attempts: 2,
            last: frame(1006)
        })
    );
}

#[test]
fn attempts_reset_only_after_a_stable_connection() {
    let mut m = open_machine(config());
    let mut now = ms(0);
    let mut attempts = vec![];
    // Accepted and dropped at once, three times: the delay keeps growing.
    for _ in 0..3 {
        m.handle_close(now, frame(1006), 0);
        if let State::Reconnecting { attempt, .. } = m.state() {
            attempts.push(attempt);
        }
        now = m.poll_timeout().unwrap();
        m.handle_timeout(now);
        m.handle_open(now, String::new());
    }
    assert_eq!(attempts, [1, 2, 3]);
    // Now it stays open past stable_after (5 s): the counter starts again.
    now += ms(5000);
    m.handle_close(now, frame(1006), 0);
    assert_eq!(
        m.state(),
        State::Reconnecting {
            attempt: 1,
            delay: ms(100)
        }
    );
}

#[test]
fn close_during_backoff_cancels_the_reconnect() {
    let mut m = open_machine(config());
    m.send(ms(0), text("never sent")).unwrap();
    m.handle_close(ms(1), frame(1006), 10);
    actions(&mut m);
    m.close(ms(2), 1000, "bye").unwrap();
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(ms(10_000));
    assert!(!actions(&mut m)
        .iter()
        .any(|a| matches!(a, Action::Connect { .. })));
    assert_eq!(m.take_terminal(), None, "an asked-for end yields no error");
    assert_eq!(m.take_unsent(), vec![text("never sent")]);
}

#[test]
fn close_validates_like_the_browser() {
    let mut m = open_machine(config());
    assert_eq!(m.close(ms(0), 1001, ""), Err(Error::InvalidCloseCode(1001)));
    assert_eq!(
        m.close(ms(0), 1000, &"x".repeat(124)),
        Err(Error::CloseReasonTooLong(124))
    );
    assert_eq!(m.state(), State::Open, "a refused close changes nothing");
    m.close(ms(0), 4001, "done").unwrap();
    assert_eq!(
        actions(&mut m),
        vec![Action::Close {
            code: 4001,
            reason: "done".into()
        }]
    );
    assert_eq!(m.state(), State::Closing);
}

#[test]
fn a_close_that_never_completes_abandons_the_socket_after_the_close_timeout() {
    let mut m = open_machine(Config {
        close_timeout: ms(300),
        ..config()
    });
    m.send(ms(0), text("stuck")).unwrap();
    m.handle_buffered(ms(0), 5);
    m.close(ms(0), 1000, "").unwrap();
    actions(&mut m);
    assert_eq!(m.poll_timeout(), Some(ms(300)));
    m.handle_timeout(ms(300));
    let a = actions(&mut m);
    assert!(matches!(a[0], Action::Abandon { .. }));
    assert_eq!(
        events(&a),
        vec![Event::Close(CloseFrame::abnormal("close timeout"))]
    );
    assert_eq!(m.state(), State::Closed);
    assert_eq!(
        m.take_unsent(),
        vec![text("stuck")],
        "what never left is handed back"
    );
}

#[test]
fn connect_timeout_abandons_the_attempt_and_retries() {
    let mut m = Machine::new(
        Config {
            connect_timeout: Some(ms(500)),
            ..config()
        },
        1,
        ms(0),
    );
    actions(&mut m);
    assert_eq!(m.poll_timeout(), Some(ms(500)));
    m.handle_timeout(ms(500));
    let a = actions(&mut m);
    assert!(matches!(a[0], Action::Abandon { .. }));
    assert!(events(&a).contains(&Event::ConnectTimeout));
    assert!(matches!(m.state(), State::Reconnecting { attempt: 1, .. }));
}

#[test]
fn a_connection_closed_by_the_driver_hands_nothing_more_over_and_requeues_at_the_close_event() {
    let mut m = open_machine(config());
    m.send(ms(10), text("a")).unwrap();
    m.send(ms(10), text("b")).unwrap();
    assert_eq!(sent(&mut m), vec![text("a"), text("b")]);
    assert!(m.close_connection(ms(20), codes::INBOUND_LIMIT, "inbound limit reached"));
    assert_eq!(
        actions(&mut m),
        vec![Action::Close {
            code: codes::INBOUND_LIMIT,
            reason: "inbound limit reached".into()
        }],
        "a closing handshake: the socket is kept, not abandoned"
    );
    assert!(
        m.close_connection(ms(25), codes::INBOUND_LIMIT, ""),
        "once is enough"
    );
    assert!(actions(&mut m).is_empty());
    // Accepted meanwhile, but not handed to the closing socket.
    m.send(ms(30), text("c")).unwrap();
    assert!(sent(&mut m).is_empty());
    assert_eq!(m.state(), State::Open);
    // The close event says "b" (1 byte) never left: only it is re-queued, before "c".
    let closed = CloseFrame {
        code: codes::INBOUND_LIMIT,
        reason: "inbound limit reached".into(),
        was_clean: true,
    };
    m.handle_close(ms(40), closed.clone(), 1);
    let ev = events(&actions(&mut m));
    assert!(ev.contains(&Event::Close(closed.clone())), "{ev:?}");
    // 4001 is not retried by the default policy: the socket ends with it.
    assert!(m.is_closed());
    assert_eq!(m.take_terminal(), Some(Error::Closed(closed)));
    assert_eq!(m.take_unsent(), vec![text("b"), text("c")]);
}

/// An open connection the driver closes for its inbound limit at 0 ms, with a policy that
/// retries that close.
fn closing_on_the_limit() -> Machine {
    let mut m = open_machine(Config {
        reconnect_if: Some(Rc::new(|f: &CloseFrame| f.code == codes::INBOUND_LIMIT)),
        ..config()
    });
    assert!(m.close_connection(ms(0), codes::INBOUND_LIMIT, "limit"));
    actions(&mut m);
    m
}

#[test]
fn a_driver_close_whose_timeout_fires_late_lets_the_queued_close_event_come_first() {
    let mut m = closing_on_the_limit();
    // The page was frozen past the close timeout; the server's close came meanwhile.
    m.handle_timeout(ms(60_000));
    assert!(
        actions(&mut m).is_empty(),
        "not abandoned on a late timer at once"
    );
    m.handle_close(ms(60_000), frame(1000), 0);
    let ev = events(&actions(&mut m));
    assert!(
        ev.contains(&Event::Close(CloseFrame {
            code: codes::INBOUND_LIMIT,
            reason: "limit".into(),
            was_clean: true
        })),
        "a clean close: {ev:?}"
    );
}

#[test]
fn a_drain_close_due_with_a_reconnection_ends_without_opening_a_socket() {
    let mut m = open_machine(Config {
        close_timeout: ms(200),
        ..config()
    });
    m.handle_close(ms(0), CloseFrame::abnormal(""), 0);
    actions(&mut m);
    assert!(matches!(m.state(), State::Reconnecting { .. }));
    m.send(ms(0), text("queued")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    // A throttled timer: the reconnection (100 ms) and the close's deadline (200 ms) both due.
    m.handle_timeout(ms(5_000));
    let a = actions(&mut m);
    assert!(
        !a.iter().any(|x| matches!(x, Action::Connect { .. })),
        "no socket opened only to be closed: {a:?}"
    );
    assert!(m.is_closed());
    assert_eq!(m.take_unsent(), vec![text("queued")]);
}

#[test]
fn a_drain_close_due_with_a_driver_close_timeout_keeps_the_driver_close_s_end() {
    // The inbound limit's close times out in the same timer run as a Sink close that waited
    // for the queue: the connection ended on the limit, and the policy (no retry) says so.
    let mut m = open_machine(Config {
        close_timeout: ms(200),
        high_water_mark: 100,
        low_water_mark: 10,
        ..config()
    });
    m.send(ms(0), Message::Binary(vec![0; 150])).unwrap(); // handed over: above the mark
    m.send(ms(0), text("queued")).unwrap(); // waits for the buffer to drain
    actions(&mut m);
    assert!(m.close_connection(ms(0), codes::INBOUND_LIMIT, "limit"));
    m.close_when_drained(ms(0), 1000, "").unwrap();
    actions(&mut m);
    m.handle_buffered(ms(200), 150);
    m.handle_timeout(ms(200));
    actions(&mut m);
    assert!(m.is_closed());
    assert!(
        matches!(m.take_terminal(), Some(Error::Closed(f)) if f.code == codes::INBOUND_LIMIT),
        "the limit's end, not replaced by the Sink's close"
    );
}

#[test]
fn a_driver_close_that_never_completes_is_abandoned_after_the_close_timeout() {
    let mut m = closing_on_the_limit();
    let timeout = Config::default().close_timeout;
    assert_eq!(m.poll_timeout(), Some(timeout));
    m.handle_timeout(timeout - ms(1));
    assert!(actions(&mut m).is_empty());
    m.handle_timeout(timeout);
    let a = actions(&mut m);
    assert_eq!(
        a[0],
        Action::Abandon {
            code: codes::INBOUND_LIMIT,
            reason: "limit".into()
        }
    );
    let ev = events(&a);
    assert!(ev.contains(&Event::Close(CloseFrame {
        code: codes::INBOUND_LIMIT,
        reason: "limit".into(),
        was_clean: false
    })));
    // This policy retries it.
    assert!(matches!(
        ev.last(),
        Some(Event::Reconnecting { attempt: 1, .. })
    ));
}

fn limited(on_full: InboundOverflow) -> Config {
    Config {
        inbound_limit: Some((100, on_full)),
        ..config()
    }
}

#[test]
fn admission_keeps_up_to_the_limit_and_always_a_lone_message() {
    let mut m = open_machine(limited(InboundOverflow::DropNewest));
    assert_eq!(
        m.admit(ms(1), 500, 0, false),
        Admission::Keep,
        "alone: kept"
    );
    assert_eq!(
        m.admit(ms(1), 40, 60, true),
        Admission::Keep,
        "exactly the limit"
    );
    assert_eq!(m.admit(ms(1), 41, 60, true), Admission::Drop);
    assert!(actions(&mut m).is_empty(), "dropping changes nothing else");
    let mut free = open_machine(config());
    assert_eq!(free.admit(ms(1), 1 << 30, 1 << 30, true), Admission::Keep);
}

#[test]
fn admission_in_close_mode_closes_once_then_discards_until_the_connection_ends() {
    let mut m = open_machine(limited(InboundOverflow::Close));
    assert_eq!(m.admit(ms(1), 41, 60, true), Admission::Discard);
    assert_eq!(
        actions(&mut m),
        vec![Action::Close {
            code: codes::INBOUND_LIMIT,
            reason: "inbound limit reached".into()
        }]
    );
    // While it closes, nothing more is kept, not even a lone message.
    assert_eq!(m.admit(ms(2), 1, 0, false), Admission::Discard);
    assert!(actions(&mut m).is_empty());
    // Closing already by the application: beyond the limit, messages are counted.
    let mut m = open_machine(limited(InboundOverflow::Close));
    m.close(ms(1), 1000, "").unwrap();
    assert_eq!(m.admit(ms(2), 41, 60, true), Admission::Drop);
}

#[test]
fn an_inbound_limit_close_ends_with_its_own_code_whatever_the_server_answers() {
    // A server may answer the closing handshake with an empty close frame (1005) or a code
    // of its own; the default policy retries 1005 and 1011. The close was resocket's, with
    // 4001, which the default policy does not retry: the socket ends as documented.
    for answer in [1005, 1011, codes::INBOUND_LIMIT] {
        let mut m = open_machine(limited(InboundOverflow::Close));
        assert_eq!(m.admit(ms(1), 41, 60, true), Admission::Discard);
        actions(&mut m);
        m.handle_close(ms(2), frame(answer), 0);
        let own = CloseFrame {
            code: codes::INBOUND_LIMIT,
            reason: "inbound limit reached".into(),
            was_clean: true,
        };
        let ev = events(&actions(&mut m));
        assert!(ev.contains(&Event::Close(own.clone())), "{answer}: {ev:?}");
        assert!(m.is_closed(), "{answer}: {:?}", m.state());
        assert_eq!(m.take_terminal(), Some(Error::Closed(own)), "{answer}");
    }
}

#[test]
fn the_driver_cannot_close_a_connection_that_is_not_open() {
    let mut m = Machine::new(config(), 7, ms(0));
    actions(&mut m);
    assert!(!m.close_connection(ms(1), codes::INBOUND_LIMIT, ""));
    assert!(actions(&mut m).is_empty());
    m.handle_open(ms(2), String::new());
    m.close(ms(3), 1000, "").unwrap();
    assert!(
        !m.close_connection(ms(4), codes::INBOUND_LIMIT, ""),
        "closing already"
    );
}

fn heartbeat_config() -> Config {
    Config {
        heartbeat: Some(Heartbeat::new(ms(1000), ms(500))),
        ..config()
    }
}

#[test]
fn heartbeat_pings_after_idle_and_inbound_traffic_keeps_it_alive() {
    let mut m = open_machine(heartbeat_config());
    assert_eq!(m.poll_timeout(), Some(ms(1000)));
    m.handle_inbound(ms(600));
    assert_eq!(
        m.poll_timeout(),
        Some(ms(1600)),
        "traffic postpones the ping"
    );
    m.handle_timeout(ms(1600));
    assert_eq!(sent(&mut m), vec![text("ping")]);
    assert_eq!(m.poll_timeout(), Some(ms(2100)));
    m.handle_inbound(ms(1700)); // the pong
    assert!(m.is_pong(&text("pong")));
    assert!(!m.is_pong(&text("hello")));
    assert_eq!(m.poll_timeout(), Some(ms(2700)));
    assert_eq!(m.state(), State::Open);
}

/// The inputs of every message take a clock (`Now`), read only when the time matters: the
/// driver saves a call into JavaScript on each message that needs none.
#[test]
fn a_message_in_or_out_reads_the_clock_only_when_the_time_matters() {
    let reads = std::cell::Cell::new(0);
    let clock = |t: u64| {
        let reads = &reads;
        move || {
            reads.set(reads.get() + 1);
            ms(t)
        }
    };
    let mut m = open_machine(Config {
        high_water_mark: 10,
        low_water_mark: 0,
        ..config()
    });
    m.handle_inbound(clock(1));
    assert_eq!(m.admit(clock(1), 3, 0, false), Admission::Keep);
    m.send(clock(1), text("abc")).unwrap();
    assert_eq!(sent(&mut m), vec![text("abc")]);
    assert_eq!(
        reads.get(),
        0,
        "no heartbeat, nothing blocked: no time needed"
    );
    // A flush that must wait starts polling the buffer: from now.
    assert_eq!(m.poll_flush(clock(2)), Ok(false));
    assert_eq!(reads.get(), 1);
    assert_eq!(m.poll_timeout(), Some(ms(2)));
    m.handle_buffered(ms(2), 0);
    assert_eq!(m.poll_flush(clock(2)), Ok(true));
    assert_eq!(reads.get(), 1, "flushed: no time needed");
    // A send that blocks the sink starts polling the buffer too.
    m.send(clock(3), text(&"x".repeat(20))).unwrap();
    assert_eq!(reads.get(), 2);
    assert_eq!(m.poll_ready(), Ready::Wait);
    assert_eq!(m.poll_timeout(), Some(ms(3)));

    // With a heartbeat, when a message came decides when the next ping is due, and how long
    // a ping waited for its answer.
    let mut m = open_machine(heartbeat_config());
    reads.set(0);
    m.handle_inbound(clock(600));
    assert_eq!(reads.get(), 1);
    assert_eq!(m.poll_timeout(), Some(ms(1600)));
    m.handle_timeout(ms(1600));
    assert_eq!(sent(&mut m), vec![text("ping")]);
    m.handle_inbound(clock(1642));
    assert_eq!(reads.get(), 2);
    assert_eq!(
        events(&actions(&mut m)),
        vec![Event::HeartbeatAck { rtt: ms(42) }]
    );

    // The inbound limit closing the connection starts the close timeout from now.
    let mut m = open_machine(Config {
        close_timeout: ms(200),
        ..limited(InboundOverflow::Close)
    });
    reads.set(0);
    assert_eq!(m.admit(clock(7), 41, 60, true), Admission::Discard);
    assert_eq!(reads.get(), 1);
    assert_eq!(m.poll_timeout(), Some(ms(207)));
}

#[test]
fn heartbeat_silence_kills_the_connection_and_reconnects() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000));
    actions(&mut m);
    m.handle_timeout(ms(1500));
    let a = actions(&mut m);
    assert_eq!(
        a[0],
        Action::Abandon {
            code: codes::HEARTBEAT_TIMEOUT,
            reason: "heartbeat timeout".into()
        }
    );
    let ev = events(&a);
    assert_eq!(ev[0], Event::HeartbeatTimeout);
    assert!(matches!(
        ev.last(),
        Some(Event::Reconnecting { attempt: 1, .. })
    ));
}

#[test]
fn set_heartbeat_replaces_the_interval_and_forgets_a_probe_in_flight() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000));
    assert_eq!(sent(&mut m), vec![text("ping")]);
    // The probe waits until 1500; a slower heartbeat from 1200 on replaces it.
    m.set_heartbeat(ms(1200), Some(Heartbeat::new(ms(3000), ms(1000))))
        .unwrap();
    assert_eq!(m.poll_timeout(), Some(ms(4200)));
    m.handle_timeout(ms(1500));
    assert!(
        actions(&mut m).is_empty(),
        "the old probe's deadline is gone"
    );
    assert_eq!(m.state(), State::Open);
    // Off: no deadline at all, however long it stays silent.
    m.set_heartbeat(ms(1600), None).unwrap();
    assert_eq!(m.poll_timeout(), None);
    m.handle_timeout(ms(60_000));
    assert!(actions(&mut m).is_empty());
    // A bad one is refused and changes nothing.
    assert!(matches!(
        m.set_heartbeat(ms(1700), Some(Heartbeat::new(ms(0), ms(1)))),
        Err(Error::InvalidConfig(_))
    ));
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn a_late_deadline_reprobes_instead_of_declaring_death() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000));
    actions(&mut m);
    // The tab was throttled: the 1500 ms deadline runs at 61 s.
    m.handle_timeout(ms(61_000));
    assert_eq!(sent(&mut m), vec![text("ping")], "a fresh ping, not a kill");
    assert_eq!(m.state(), State::Open);
    // The re-probe's deadline also runs late: the events queued meanwhile come first...
    m.handle_timeout(ms(121_000));
    assert!(
        actions(&mut m).is_empty(),
        "not judged on a late timer at once"
    );
    assert_eq!(m.poll_timeout(), Some(ms(122_000)));
    // ...and with no answer among them either: dead.
    m.handle_timeout(ms(122_000));
    assert!(events(&actions(&mut m)).contains(&Event::HeartbeatTimeout));
}

#[test]
fn a_pong_queued_behind_a_late_reprobe_deadline_keeps_the_connection() {
    // The first deadline fired late (throttled), so a second ping went out; then the page
    // was frozen for 30 s, and on resume its timer runs before the pong that came meanwhile.
    let mut m = open_machine(heartbeat_config());
    m.handle_buffered(ms(1000), 0);
    m.handle_timeout(ms(1000));
    actions(&mut m);
    m.handle_buffered(ms(10_000), 0); // the first ping left
    m.handle_timeout(ms(10_000));
    assert_eq!(sent(&mut m), vec![text("ping")], "the re-probe");
    m.handle_buffered(ms(40_000), 0); // and the second; nothing since
    m.handle_timeout(ms(40_000));
    assert_eq!(
        m.state(),
        State::Open,
        "judged only after the queued events"
    );
    assert_eq!(m.poll_timeout(), Some(ms(41_000)));
    m.handle_inbound(ms(40_000)); // the pong
    m.handle_buffered(ms(41_000), 0);
    m.handle_timeout(ms(41_000));
    assert_eq!(m.state(), State::Open);
    assert!(!events(&actions(&mut m)).contains(&Event::HeartbeatTimeout));
}

#[test]
fn a_dead_connection_is_found_while_the_app_keeps_sending_a_little() {
    // A ping that had to wait behind a message; then a message every 200 ms, each gone from
    // the browser at the next reading, and never an answer: the ping has left and the
    // browser holds nothing, so one more timeout is all it gets.
    let mut m = open_machine(Config {
        high_water_mark: 1 << 30,
        ..heartbeat_config()
    });
    m.send(ms(900), text("telemetry")).unwrap();
    actions(&mut m);
    m.handle_buffered(ms(1000), 9);
    m.handle_timeout(ms(1000)); // ping, behind 9 bytes
    actions(&mut m);
    let mut now = ms(1000);
    let mut dead_at = None;
    while now < ms(10_000) && dead_at.is_none() {
        now += ms(100);
        m.send(now, text("telemetry")).unwrap();
        actions(&mut m);
        now += ms(100);
        m.handle_buffered(now, 0);
        m.handle_timeout(now);
        if events(&actions(&mut m)).contains(&Event::HeartbeatTimeout) {
            dead_at = Some(now);
        }
    }
    // The deadline (1500 ms, run at the 1600 ms reading): the ping left, bytes still leave,
    // so once more, to 2100 ms (run at 2200 ms); then dead, though bytes still leave.
    assert_eq!(dead_at, Some(ms(2200)));
}

#[test]
fn a_draining_buffer_extends_the_heartbeat_deadline() {
    let mut m = open_machine(Config {
        high_water_mark: 1 << 30,
        ..heartbeat_config()
    });
    m.send(ms(0), Message::Binary(vec![0; 100_000])).unwrap();
    m.handle_buffered(ms(0), 100_000);
    m.handle_timeout(ms(1000));
    actions(&mut m);
    m.handle_buffered(ms(1500), 40_000);
    m.handle_timeout(ms(1500));
    assert_eq!(
        m.state(),
        State::Open,
        "bytes still leaving: the pong may be behind them"
    );
    m.handle_buffered(ms(2000), 40_000);
    m.handle_timeout(ms(2000));
    assert!(
        matches!(m.state(), State::Reconnecting { .. }),
        "no progress and no pong: dead"
    );
}

#[test]
fn network_events_matter_while_waiting_or_watched_with_reconnection_only() {
    let mut m = open_machine(config());
    assert!(
        !m.wants_network_events(false),
        "open and unwatched: not needed"
    );
    assert!(
        m.wants_network_events(true),
        "watched: they show in the events"
    );
    m.handle_close(ms(10), frame(1006), 0);
    actions(&mut m);
    assert!(matches!(m.state(), State::Reconnecting { .. }));
    assert!(
        m.wants_network_events(false),
        "waiting: they pause and resume the wait"
    );
    m.close(ms(20), 1000, "").unwrap();
    actions(&mut m);
    assert_eq!(m.state(), State::Closed);
    assert!(
        !m.wants_network_events(true),
        "closed for good: nothing to pause"
    );
    let m = open_machine(Config {
        reconnect: None,
        ..config()
    });
    assert!(!m.wants_network_events(true), "without reconnection: never");
}

#[test]
fn offline_pauses_reconnection_and_online_resumes_at_once() {
    let mut m = open_machine(config());
    m.handle_offline();
    m.handle_close(ms(10), frame(1006), 0);
    actions(&mut m);
    assert!(matches!(m.state(), State::Reconnecting { attempt: 1, .. }));
    assert_eq!(m.poll_timeout(), None, "no attempt burned while offline");
    m.handle_online(ms(60_000));
    let a = actions(&mut m);
    assert_eq!(events(&a)[0], Event::Online);
    assert!(a.contains(&Action::Connect { attempt: 1 }));
    assert_eq!(m.state(), State::Connecting);
}

#[test]
fn going_offline_while_waiting_cancels_the_timer() {
    let mut m = open_machine(config());
    m.handle_close(ms(10), frame(1006), 0);
    assert!(m.poll_timeout().is_some());
    m.handle_offline();
    assert_eq!(m.poll_timeout(), None);
}

#[test]
fn invalid_configs_are_errors() {
    let bad = [
        Config {
            low_water_mark: 10,
            high_water_mark: 5,
            ..Config::default()
        },
        Config {
            queue_capacity: 0,
            ..Config::default()
        },
        Config {
            connect_timeout: Some(Duration::ZERO),
            ..Config::default()
        },
        // Every close would be abandoned at once, with bytes the browser still sends
        // reported unsent.
        Config {
            close_timeout: Duration::ZERO,
            ..Config::default()
        },
        Config {
            reconnect: Some(Backoff::new().factor(0.0)),
            ..Config::default()
        },
        Config {
            heartbeat: Some(Heartbeat::new(Duration::ZERO, ms(1))),
            ..Config::default()
        },
    ];
    for c in bad {
        assert!(
            matches!(c.validate(), Err(Error::InvalidConfig(_))),
            "{c:?}"
        );
    }
    assert_eq!(Config::default().validate(), Ok(()));
}

// ---- Property tests over random event sequences against a simulated socket and server ----

#[derive(Debug, Clone)]
enum Op {
    AppSend,
    Open,
    Transmit(usize),
    ServerClose(u16),
    NetworkDrop,
    Advance,
    Inbound,
    Offline,
    Online,
    UserClose,
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => Just(Op::AppSend),
        2 => Just(Op::Open),
        3 => (0usize..5).prop_map(Op::Transmit),
        1 => prop::sample::select(vec![1000u16, 1001, 1008, 1011, 1012, 4000]).prop_map(Op::ServerClose),
        2 => Just(Op::NetworkDrop),
        3 => Just(Op::Advance),
        1 => Just(Op::Inbound),
        1 => Just(Op::Offline),
        1 => Just(Op::Online),
        1 => Just(Op::UserClose),
    ]
}

/// The browser socket as the simulation sees it.
#[derive(Default)]
struct SimSocket {
    open: bool,
    /// Messages handed to it so far.
    handed: usize,
    /// Handed to the browser, not yet transmitted (in order).
    buffered: Vec<Message>,
}

struct Sim {
    m: Machine,
    now: Duration,
    socket: Option<SimSocket>,
    backoff: Backoff,
    app_sent: Vec<Message>,
    server_got: Vec<Message>,
    user_closed: bool,
    next: usize,
    /// An open hook sends `pre{attempt}` first and drops queued messages ending in `x`.
    hook: bool,
}

impl Sim {
    fn buffered_bytes(&self) -> usize {
        self.socket
            .as_ref()
            .map_or(0, |s| s.buffered.iter().map(Message::len).sum())
    }

    fn run_actions(&mut self) -> Result<(), TestCaseError> {
        while let Some(a) = self.m.poll_action() {
            match a {
                Action::Connect { .. } => {
                    prop_assert!(self.socket.is_none(), "never two sockets at once");
                    prop_assert!(!self.user_closed, "no reconnect after the user's close");
                    self.socket = Some(SimSocket::default());
                }
                Action::Send(seq) => {
                    let msg = self.m.outgoing(seq).expect("kept when handed over").clone();
                    let s = self.socket.as_mut().expect("send without a socket");
                    prop_assert!(s.open, "send only on an open socket");
                    let first = matches!(&msg, Message::Text(t) if t.starts_with("pre"));
                    prop_assert_eq!(
                        first,
                        self.hook && s.handed == 0,
                        "the hook's message goes first, once per connection: {:?}",
                        msg
                    );
                    s.handed += 1;
                    s.buffered.push(msg);
                }
                Action::Close { .. } => {}
                Action::Abandon { .. } => {
                    // Abandoned: whatever was still buffered never leaves.
                    self.socket = None;
                }
                Action::Emit(Event::Reconnecting { attempt, delay }) => {
                    prop_assert!(delay <= self.backoff.ceiling(attempt));
                    prop_assert!(delay <= self.backoff.cap);
                }
                Action::Emit(_) => {}
            }
        }
        Ok(())
    }

    fn close_socket(&mut self, frame: CloseFrame) {
        if self.socket.is_some() {
            let b = self.buffered_bytes();
            self.socket = None;
            self.m.handle_close(self.now, frame, b);
        }
    }

    fn step(&mut self, op: Op) -> Result<(), TestCaseError> {
        match op {
            Op::AppSend => {
                if self.m.poll_ready() == Ready::Yes {
                    let droppable = if self.next % 3 == 0 { "x" } else { "" };
                    let msg = Message::Text(format!("m{}{droppable}", self.next));
                    self.next += 1;
                    self.m.send(self.now, msg.clone()).unwrap();
                    self.app_sent.push(msg);
                }
            }
            Op::Open => {
                if let Some(s) = self.socket.as_mut().filter(|s| !s.open) {
                    if self.m.state() == State::Connecting {
                        s.open = true;
                        self.m.handle_open(self.now, String::new());
                    }
                }
            }
            Op::Transmit(n) => {
                if let Some(s) = self.socket.as_mut().filter(|s| s.open) {
                    let n = n.min(s.buffered.len());
                    self.server_got.extend(s.buffered.drain(..n));
                    let b = self.buffered_bytes();
                    self.m.handle_buffered(self.now, b);
                }
            }
            Op::ServerClose(code) => {
                if self.socket.as_ref().is_some_and(|s| s.open) {
                    // A clean close: everything buffered went out before the close frame.
                    let s = self.socket.as_mut().unwrap();
                    self.server_got.append(&mut s.buffered);
                    self.close_socket(frame(code));
                }
            }
            Op::NetworkDrop => self.close_socket(frame(1006)),
            Op::Advance => {
                if let Some(t) = self.m.poll_timeout() {
                    self.now = self.now.max(t);
                    let b = self.buffered_bytes();
                    self.m.handle_buffered(self.now, b);
                    self.m.handle_timeout(self.now);
                }
            }
            Op::Inbound => self.m.handle_inbound(self.now),
            Op::Offline => self.m.handle_offline(),
            Op::Online => self.m.handle_online(self.now),
            Op::UserClose => {
                self.m.close(self.now, 1000, "").unwrap();
                self.user_closed = true;
            }
        }
        self.server_got
            .retain(|m| !matches!(m, Message::Text(t) if t == "ping" || t.starts_with("pre")));
        self.run_actions()
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    /// Random lives: the invariants hold at every step, and in the end every message the app
    /// sent reached the server exactly once, in order, or was handed back unsent, or (with
    /// an open hook) was removed by the hook and handed to it.
    #[test]
    fn random_lives_keep_the_invariants(ops in prop::collection::vec(op(), 1..120),
                                        seed in any::<u64>(), heartbeat in any::<bool>(),
                                        hook in any::<bool>()) {
        let discarded = Rc::new(RefCell::new(vec![]));
        let on_open = hook.then(|| {
            let discarded = discarded.clone();
            let hook: OpenHook = Rc::new(RefCell::new(move |o: &mut Opening<'_>| {
                o.send_first(text(&format!("pre{}", o.attempt())));
                let gone = o.retain(|m| !matches!(m, Message::Text(t) if t.ends_with('x')));
                discarded.borrow_mut().extend(gone);
            }));
            hook
        });
        let backoff = Backoff::new().base(ms(50)).cap(ms(2000)).max_retries(Some(6)).stable_after(ms(300));
        let config = Config {
            reconnect: Some(backoff.clone()),
            heartbeat: heartbeat.then(|| Heartbeat::new(ms(200), ms(100))),
            high_water_mark: 12,
            low_water_mark: 4,
            queue_capacity: 5,
            connect_timeout: Some(ms(400)),
            close_timeout: ms(300),
            reconnect_if: None,
            on_open,
            inbound_limit: None,
        };
        let mut sim = Sim {
            m: Machine::new(config, seed, ms(0)), now: ms(0), socket: None, backoff,
            app_sent: vec![], server_got: vec![], user_closed: false, next: 0,
            hook,
        };
        sim.run_actions()?;
        for op in ops {
            sim.step(op)?;
        }
        // Wind down: the user closes; the socket closes without transmitting more.
        sim.step(Op::UserClose)?;
        sim.close_socket(frame(1000));
        sim.run_actions()?;
        prop_assert!(sim.m.is_closed());
        let mut delivered = sim.server_got.clone();
        delivered.extend(sim.m.take_unsent());
        let discarded = discarded.borrow().clone();
        prop_assert!(discarded.iter().all(|m| matches!(m, Message::Text(t) if t.ends_with('x'))));
        let expected: Vec<Message> =
            sim.app_sent.iter().filter(|m| !discarded.contains(m)).cloned().collect();
        prop_assert_eq!(expected.len() + discarded.len(), sim.app_sent.len());
        prop_assert_eq!(delivered, expected, "exactly once, in order, or handed back");
    }
}

// ---- Findings of review: each pins a behaviour that once was wrong ----

#[test]
fn flush_fails_once_messages_were_handed_back_unsent() {
    let mut m = Machine::new(
        Config {
            reconnect: None,
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text("never sent")).unwrap();
    m.handle_close(ms(1), frame(1006), 0);
    assert_eq!(m.take_unsent(), vec![text("never sent")]);
    assert_eq!(
        m.poll_flush(ms(2)),
        Err(Error::SocketClosed),
        "a flush must not report success for it"
    );
}

#[test]
fn flush_waits_through_closing() {
    let mut m = open_machine(config());
    m.close(ms(0), 1000, "").unwrap();
    assert_eq!(m.poll_flush(ms(0)), Ok(false));
    m.handle_close(ms(5), frame(1000), 0);
    assert_eq!(m.poll_flush(ms(5)), Ok(true));
}

#[test]
fn sink_close_drains_the_queue_first() {
    let mut m = Machine::new(config(), 1, ms(0));
    actions(&mut m);
    m.send(ms(0), text("queued")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    assert!(
        actions(&mut m).is_empty(),
        "nothing closes while the queue waits for open"
    );
    m.handle_open(ms(10), String::new());
    let a = actions(&mut m);
    let send_at = a
        .iter()
        .position(|x| matches!(x, Action::Send(seq) if m.outgoing(*seq) == Some(&text("queued"))))
        .expect("sent");
    let close_at = a
        .iter()
        .position(|x| matches!(x, Action::Close { .. }))
        .expect("then closed");
    assert!(send_at < close_at);
}

#[test]
fn sink_close_gives_up_waiting_after_the_close_timeout() {
    let mut m = Machine::new(
        Config {
            close_timeout: ms(200),
            ..config()
        },
        1,
        ms(0),
    );
    actions(&mut m);
    m.send(ms(0), text("stuck")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    assert_eq!(m.poll_timeout(), Some(ms(200)));
    m.handle_timeout(ms(200));
    assert!(actions(&mut m)
        .iter()
        .any(|a| matches!(a, Action::Close { .. })));
    assert_eq!(m.state(), State::Closing);
}

#[test]
fn a_connection_lost_while_a_close_drains_the_queue_is_not_replaced() {
    let mut m = open_machine(Config {
        high_water_mark: 100,
        low_water_mark: 10,
        ..config()
    });
    m.send(ms(0), Message::Binary(vec![0; 150])).unwrap(); // handed over: above the mark
    m.send(ms(0), text("queued")).unwrap(); // waits for the buffer to drain
    actions(&mut m);
    m.close_when_drained(ms(0), 1000, "").unwrap();
    assert_eq!(m.state(), State::Open, "still draining");
    m.handle_close(ms(50), CloseFrame::abnormal(""), 150);
    let a = actions(&mut m);
    assert!(
        !a.iter().any(|x| matches!(x, Action::Connect { .. })),
        "no new connection: {a:?}"
    );
    assert_eq!(m.state(), State::Closed);
    assert_eq!(m.take_terminal(), None, "the end that was asked for");
    assert_eq!(
        m.take_unsent(),
        vec![Message::Binary(vec![0; 150]), text("queued")],
        "what never left is handed back, in order"
    );
}

#[test]
fn an_inbound_limit_close_during_a_drain_still_tells_the_reader() {
    let mut m = open_machine(Config {
        high_water_mark: 100,
        low_water_mark: 10,
        ..limited(InboundOverflow::Close)
    });
    m.send(ms(0), Message::Binary(vec![0; 150])).unwrap();
    m.send(ms(0), text("queued")).unwrap();
    actions(&mut m);
    m.close_when_drained(ms(0), 1000, "").unwrap();
    // The reader is slow: the limit closes the connection and discards what comes.
    assert_eq!(m.admit(ms(1), 41, 60, true), Admission::Discard);
    actions(&mut m);
    m.handle_close(ms(2), frame(codes::INBOUND_LIMIT), 150);
    actions(&mut m);
    assert!(m.is_closed());
    assert!(
        matches!(m.take_terminal(), Some(Error::Closed(f)) if f.code == codes::INBOUND_LIMIT),
        "the end says messages were discarded"
    );
}

#[test]
fn a_close_whose_queue_the_hook_emptied_closes_at_once_though_the_queue_is_held() {
    // The hook drops every queued message and holds the (now empty) queue.
    let hook: OpenHook = Rc::new(RefCell::new(|o: &mut Opening<'_>| {
        let _ = o.retain(|_| false);
        o.hold_queue();
    }));
    let mut m = Machine::new(
        Config {
            on_open: Some(hook),
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text("stale")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    assert!(
        actions(&mut m)
            .iter()
            .any(|a| matches!(a, Action::Close { .. })),
        "nothing is left to drain: the close goes now"
    );
}

#[test]
fn a_flush_that_waited_on_a_held_queue_looks_again_at_the_next_task_after_the_release() {
    let hook: OpenHook = Rc::new(RefCell::new(|o: &mut Opening<'_>| o.hold_queue()));
    let mut m = Machine::new(
        Config {
            on_open: Some(hook),
            ..config()
        },
        1,
        ms(0),
    );
    actions(&mut m);
    m.handle_open(ms(0), String::new());
    m.send(ms(0), text("held")).unwrap();
    assert_eq!(m.poll_flush(ms(0)), Ok(false));
    // Buffer polls while held find nothing leaving and back off.
    let mut now = ms(0);
    for _ in 0..10 {
        now = m.poll_timeout().unwrap().max(now);
        m.handle_buffered(now, 0);
        m.handle_timeout(now);
        actions(&mut m);
    }
    m.release_queue(now);
    assert_eq!(sent(&mut m), vec![text("held")]);
    assert_eq!(
        m.poll_timeout(),
        Some(now),
        "read again at once, not after the back-off"
    );
}

#[test]
fn heartbeat_does_not_kill_a_slow_uplink_the_app_keeps_full() {
    let mut m = open_machine(Config {
        high_water_mark: 1 << 30,
        ..heartbeat_config()
    });
    m.send(ms(0), Message::Binary(vec![0; 300_000])).unwrap();
    actions(&mut m);
    m.handle_buffered(ms(0), 300_000);
    m.handle_timeout(ms(1000)); // ping queued behind 300 KB
    actions(&mut m);
    // The app refills the buffer as fast as it drains: the level stays high, yet bytes
    // (and so the ping's turn) keep coming.
    let mut now = ms(1000);
    let mut buffered = 300_004;
    for _ in 0..5 {
        now += ms(500);
        m.send(now, Message::Binary(vec![0; 70_000])).unwrap();
        actions(&mut m);
        buffered = buffered + 70_000 - 60_000; // the level rises while the link drains
        m.handle_buffered(now, buffered);
        m.handle_timeout(now);
        assert_eq!(m.state(), State::Open, "at {now:?}");
    }
    // Now the ping has left (transmitted past it), perhaps only just: one more timeout.
    now += ms(500);
    m.handle_buffered(now, 0);
    m.handle_timeout(now);
    assert_eq!(m.state(), State::Open, "the ping may have left just now");
    // A whole timeout with nothing leaving and no pong: dead.
    now += ms(500);
    m.handle_buffered(now, 0);
    m.handle_timeout(now);
    assert!(
        matches!(m.state(), State::Reconnecting { .. }),
        "{:?}",
        m.state()
    );
}

#[test]
fn heartbeat_waits_while_what_follows_a_ping_that_left_keeps_leaving() {
    // The ping left the browser just before its deadline, behind 100 KB of an upload that
    // goes on: it may still sit in the system's buffers behind that data.
    let mut m = open_machine(Config {
        high_water_mark: 1 << 30,
        ..heartbeat_config()
    });
    m.send(ms(0), Message::Binary(vec![0; 100_000])).unwrap();
    actions(&mut m);
    m.handle_buffered(ms(0), 100_000);
    m.handle_timeout(ms(1000)); // ping queued behind 100 KB
    actions(&mut m);
    m.send(ms(1000), Message::Binary(vec![0; 100_000])).unwrap();
    actions(&mut m);
    m.handle_buffered(ms(1500), 90_000); // the ping and 10 KB after it left
    m.handle_timeout(ms(1500));
    assert_eq!(m.state(), State::Open);
    m.handle_buffered(ms(2000), 40_000); // still leaving
    m.handle_timeout(ms(2000));
    assert_eq!(m.state(), State::Open);
    m.handle_buffered(ms(2500), 40_000); // stuck: no pong within a timeout of no progress
    m.handle_timeout(ms(2500));
    assert!(
        matches!(m.state(), State::Reconnecting { .. }),
        "{:?}",
        m.state()
    );
}

#[test]
fn heartbeat_on_an_idle_connection_ends_it_at_the_first_deadline() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000)); // ping, nothing ahead of it
    actions(&mut m);
    m.handle_buffered(ms(1500), 0); // it left
    m.handle_timeout(ms(1500));
    assert!(
        matches!(m.state(), State::Reconnecting { .. }),
        "{:?}",
        m.state()
    );
}

#[test]
fn a_page_frozen_twice_reprobes_again() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000));
    m.handle_timeout(ms(300_000)); // frozen for minutes: re-probe
    assert_eq!(m.state(), State::Open);
    m.handle_timeout(ms(900_000)); // frozen again before the pong's event ran
    assert_eq!(
        m.state(),
        State::Open,
        "a frozen page's silence proves nothing"
    );
    m.handle_timeout(ms(900_500)); // this probe went unanswered while awake: dead
    assert!(matches!(m.state(), State::Reconnecting { .. }));
}

#[test]
fn a_late_connect_deadline_waits_once_for_queued_events() {
    let mut m = Machine::new(
        Config {
            connect_timeout: Some(ms(500)),
            ..config()
        },
        1,
        ms(0),
    );
    actions(&mut m);
    m.handle_timeout(ms(60_000)); // a frozen page wakes up
    assert_eq!(
        m.state(),
        State::Connecting,
        "the open event may be queued behind the timer"
    );
    m.handle_open(ms(60_001), String::new());
    assert_eq!(m.state(), State::Open);
}

#[test]
fn enormous_durations_do_not_panic() {
    let huge = Config {
        connect_timeout: Some(Duration::MAX),
        close_timeout: Duration::MAX,
        heartbeat: Some(Heartbeat::new(Duration::MAX, Duration::MAX)),
        reconnect: Some(Backoff::new().base(Duration::MAX).cap(Duration::MAX)),
        ..Config::default()
    };
    let mut m = Machine::new(huge, 1, ms(5));
    m.handle_open(ms(6), String::new());
    let _ = m.poll_timeout();
    m.handle_close(ms(7), frame(1006), 0);
    let _ = m.poll_timeout();
    m.handle_timeout(ms(8));
    m.close(ms(9), 1000, "").unwrap();
}

#[test]
fn the_first_message_after_a_ping_reports_the_round_trip() {
    let mut m = open_machine(heartbeat_config());
    m.handle_timeout(ms(1000));
    actions(&mut m);
    m.handle_inbound(ms(1042));
    assert_eq!(
        events(&actions(&mut m)),
        vec![Event::HeartbeatAck { rtt: ms(42) }]
    );
    m.handle_inbound(ms(1050));
    assert!(
        events(&actions(&mut m)).is_empty(),
        "only the first message answers a ping"
    );
}

#[test]
fn queued_bytes_count_what_waits_for_the_browser() {
    let mut m = Machine::new(config(), 1, ms(0));
    m.send(ms(0), text("abc")).unwrap();
    m.send(ms(0), text("de")).unwrap();
    assert_eq!(m.queued_bytes(), 5);
    m.handle_open(ms(1), String::new());
    assert_eq!(m.queued_bytes(), 0);
}

#[test]
fn buffer_readings_are_asked_for_only_when_needed() {
    let mut m = open_machine(config());
    m.send(ms(0), text("small")).unwrap();
    assert!(
        !m.wants_buffer_reading(),
        "one small message needs no JS call"
    );
    for _ in 0..64 {
        m.send(ms(0), text("small")).unwrap();
    }
    assert!(
        m.wants_buffer_reading(),
        "after 65 unconfirmed messages, read"
    );
    m.handle_buffered(ms(1), 0);
    assert!(!m.wants_buffer_reading());
    m.send(ms(1), Message::Binary(vec![0; 300 * 1024])).unwrap();
    assert!(m.wants_buffer_reading(), "above the low-water mark, read");
}

// ---- The open hook: messages first, a filtered queue ----

/// A config whose open hook sends `hello{attempt}` first and drops queued messages that
/// start with `old:`, collecting them.
fn hook_config(removed: &Rc<RefCell<Vec<Message>>>) -> Config {
    let removed = removed.clone();
    let hook: OpenHook = Rc::new(RefCell::new(move |o: &mut Opening<'_>| {
        o.send_first(text(&format!("hello{}", o.attempt())));
        let gone = o.retain(|m| !matches!(m, Message::Text(t) if t.starts_with("old:")));
        removed.borrow_mut().extend(gone);
    }));
    Config {
        on_open: Some(hook),
        ..config()
    }
}

#[test]
fn a_queue_the_hook_holds_waits_for_the_release_and_the_next_connection_starts_unheld() {
    // The hook logs in first, and holds the queue on the first connection only.
    let hook: OpenHook = Rc::new(RefCell::new(|o: &mut Opening<'_>| {
        o.send_first(text("login"));
        if o.attempt() == 0 {
            o.hold_queue();
        }
    }));
    let mut m = Machine::new(
        Config {
            on_open: Some(hook),
            queue_capacity: 2,
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text("q1")).unwrap();
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    assert_eq!(sent(&mut m), vec![text("login")], "only the login goes");
    m.send(ms(2), text("q2")).unwrap();
    assert_eq!(sent(&mut m), vec![], "what is sent meanwhile waits too");
    assert_eq!(
        m.poll_ready(),
        Ready::Wait,
        "the queue is full: the Sink waits"
    );
    assert_eq!(m.poll_flush(ms(2)), Ok(false), "a flush waits");
    m.release_queue(ms(3));
    assert_eq!(sent(&mut m), vec![text("q1"), text("q2")], "in order");
    assert_eq!(m.poll_ready(), Ready::Yes);
    m.release_queue(ms(3));
    assert_eq!(sent(&mut m), vec![], "a second release does nothing");
    // The next connection: the hook does not hold it.
    m.handle_close(ms(4), CloseFrame::abnormal(""), 0);
    actions(&mut m);
    let t = m.poll_timeout().unwrap();
    m.handle_timeout(t);
    m.send(t, text("q3")).unwrap();
    actions(&mut m);
    m.handle_open(t, String::new());
    assert_eq!(sent(&mut m), vec![text("login"), text("q3")]);
}

#[test]
fn the_hook_sends_first_on_every_open_before_requeued_and_queued_messages() {
    let removed = Rc::new(RefCell::new(vec![]));
    let mut m = Machine::new(hook_config(&removed), 1, ms(0));
    m.send(ms(0), text("q1")).unwrap();
    actions(&mut m);
    m.handle_open(ms(1), "v1".into());
    let a = actions(&mut m);
    assert_eq!(
        events(&a),
        vec![Event::Open {
            protocol: "v1".into()
        }],
        "nothing removed, no Discarded event"
    );
    assert_eq!(sends(&m, &a), vec![text("hello0"), text("q1")]);
    for s in ["m1", "m2", "m3"] {
        m.send(ms(2), text(s)).unwrap();
    }
    actions(&mut m);
    m.handle_buffered(ms(3), 3); // hello0, q1 and m1 left; m2 in part, m3 not at all
    m.handle_close(ms(4), frame(1006), 3);
    assert_eq!(events(&actions(&mut m))[0], Event::Requeued { count: 2 });
    m.send(ms(5), text("m4")).unwrap();
    m.handle_timeout(ms(104));
    assert_eq!(actions(&mut m)[0], Action::Connect { attempt: 1 });
    m.handle_open(ms(110), String::new());
    assert_eq!(
        sent(&mut m),
        vec![text("hello1"), text("m2"), text("m3"), text("m4")],
        "the hook's message, then the re-queued ones in order, then the newer one"
    );
    assert!(removed.borrow().is_empty());
}

#[test]
fn retain_filters_the_queue_hands_back_what_it_removed_and_frees_capacity() {
    let removed = Rc::new(RefCell::new(vec![]));
    let mut m = Machine::new(
        Config {
            queue_capacity: 3,
            ..hook_config(&removed)
        },
        1,
        ms(0),
    );
    for s in ["old:ack 1", "send a", "old:ack 2"] {
        m.send(ms(0), text(s)).unwrap();
    }
    assert_eq!(m.poll_ready(), Ready::Wait, "the queue is full");
    assert_eq!(m.queued_bytes(), 24);
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    let a = actions(&mut m);
    assert_eq!(
        events(&a),
        vec![
            Event::Open {
                protocol: String::new()
            },
            Event::Discarded { count: 2 }
        ]
    );
    assert_eq!(sends(&m, &a), vec![text("hello0"), text("send a")]);
    assert_eq!(
        *removed.borrow(),
        vec![text("old:ack 1"), text("old:ack 2")]
    );
    assert_eq!(m.poll_ready(), Ready::Yes);
    assert_eq!(m.queued(), 0);
    assert_eq!(m.queued_bytes(), 0);
}

#[test]
fn the_hook_can_empty_a_queue_a_sink_close_waits_on() {
    let removed = Rc::new(RefCell::new(vec![]));
    let mut m = Machine::new(hook_config(&removed), 1, ms(0));
    m.send(ms(0), text("old:x")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    let a = actions(&mut m);
    assert_eq!(sends(&m, &a), vec![text("hello0")]);
    assert!(a
        .iter()
        .any(|a| matches!(a, Action::Close { code: 1000, .. })));
    assert_eq!(m.state(), State::Closing);
}

#[test]
fn what_the_hook_sends_first_is_never_requeued_nor_handed_back() {
    let removed = Rc::new(RefCell::new(vec![]));
    let mut m = Machine::new(hook_config(&removed), 1, ms(0));
    m.send(ms(0), text("m1")).unwrap();
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    assert_eq!(sent(&mut m), vec![text("hello0"), text("m1")]);
    // Nothing left the browser: both are untransmitted, only m1 is the application's.
    m.handle_close(ms(2), frame(1006), 8);
    assert_eq!(events(&actions(&mut m))[0], Event::Requeued { count: 1 });
    m.handle_timeout(ms(102));
    actions(&mut m);
    m.handle_open(ms(103), String::new());
    assert_eq!(sent(&mut m), vec![text("hello1"), text("m1")]);
    // Dies again with everything untransmitted, and is not retried.
    m.handle_close(ms(104), frame(1008), 8);
    actions(&mut m);
    assert!(m.is_closed());
    assert_eq!(m.take_unsent(), vec![text("m1")], "no hello in the unsent");
}

#[test]
fn the_bytes_of_the_first_messages_count_so_the_requeue_stays_exact() {
    let removed = Rc::new(RefCell::new(vec![]));
    for (buffered, back) in [
        (0, vec![]),
        (2, vec!["m2"]),
        (3, vec!["m1", "m2"]),
        (4, vec!["m1", "m2"]),
        (10, vec!["m1", "m2"]),
    ] {
        let mut m = Machine::new(hook_config(&removed), 1, ms(0));
        actions(&mut m);
        m.handle_open(ms(1), String::new()); // hello0: 6 bytes
        m.send(ms(1), text("m1")).unwrap();
        m.send(ms(1), text("m2")).unwrap();
        actions(&mut m);
        m.handle_buffered(ms(2), buffered.min(4));
        m.handle_close(ms(3), frame(1006), buffered);
        actions(&mut m);
        m.handle_timeout(ms(103));
        actions(&mut m);
        m.handle_open(ms(104), String::new());
        let mut expected = vec![text("hello1")];
        expected.extend(back.iter().map(|s| text(s)));
        assert_eq!(sent(&mut m), expected, "{buffered} bytes untransmitted");
    }
}

#[test]
fn the_first_messages_go_even_above_the_high_water_mark_and_the_queue_waits() {
    let hook: OpenHook = Rc::new(RefCell::new(|o: &mut Opening<'_>| {
        o.send_first(text(&"x".repeat(20)));
    }));
    let mut m = Machine::new(
        Config {
            on_open: Some(hook),
            high_water_mark: 10,
            low_water_mark: 4,
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text("queued")).unwrap();
    actions(&mut m);
    m.handle_open(ms(1), String::new());
    assert_eq!(sent(&mut m), vec![text(&"x".repeat(20))]);
    assert_eq!(m.poll_ready(), Ready::Wait);
    m.handle_buffered(ms(5), 0);
    assert_eq!(sent(&mut m), vec![text("queued")]);
}

#[test]
fn queued_messages_wait_for_room_only_while_blocked_and_open() {
    let mut m = Machine::new(
        Config {
            high_water_mark: 10,
            low_water_mark: 4,
            ..config()
        },
        1,
        ms(0),
    );
    m.send(ms(0), text(&"x".repeat(20))).unwrap();
    m.send(ms(0), text("queued")).unwrap();
    actions(&mut m);
    assert!(
        !m.waits_for_room(),
        "not open: the queue waits for the open"
    );
    m.handle_open(ms(1), String::new());
    assert_eq!(sent(&mut m), vec![text(&"x".repeat(20))]);
    assert!(
        m.waits_for_room(),
        "above the high-water mark with one queued"
    );
    m.handle_buffered(ms(2), 6);
    assert!(m.waits_for_room(), "6 is above the low-water mark");
    m.handle_buffered(ms(3), 4);
    assert_eq!(sent(&mut m), vec![text("queued")]);
    assert!(!m.waits_for_room(), "nothing queued any more");
    m.send(ms(4), text(&"y".repeat(20))).unwrap();
    m.send(ms(4), text("next")).unwrap();
    actions(&mut m);
    assert!(m.waits_for_room());
    m.close_when_drained(ms(5), 1000, "").unwrap();
    actions(&mut m);
    assert!(
        m.waits_for_room(),
        "a Sink close waits for the queue to drain"
    );
    m.close(ms(6), 1000, "").unwrap();
    actions(&mut m);
    assert!(!m.waits_for_room(), "closing: nothing more is handed over");
}

#[test]
fn the_hook_sees_each_attempt_number() {
    let seen = Rc::new(RefCell::new(vec![]));
    let s = seen.clone();
    let hook: OpenHook = Rc::new(RefCell::new(move |o: &mut Opening<'_>| {
        s.borrow_mut().push((o.attempt(), o.protocol().to_owned()));
    }));
    let mut m = Machine::new(
        Config {
            on_open: Some(hook),
            ..config()
        },
        1,
        ms(0),
    );
    m.handle_open(ms(0), "a".into());
    m.handle_close(ms(1), frame(1006), 0); // a short life: attempt 1
    m.handle_timeout(ms(101));
    m.handle_close(ms(102), frame(1006), 0); // refused: attempt 2
    m.handle_timeout(ms(302));
    m.handle_open(ms(303), "b".into());
    assert_eq!(*seen.borrow(), vec![(0, "a".into()), (2, "b".into())]);
}

#[test]
fn flush_with_nothing_queued_is_done_while_connecting_or_waiting_to_reconnect() {
    let mut m = Machine::new(config(), 7, ms(0));
    actions(&mut m);
    assert_eq!(m.poll_flush(ms(0)), Ok(true), "nothing accepted yet");
    m.send(ms(1), text("queued")).unwrap();
    assert_eq!(m.poll_flush(ms(1)), Ok(false), "queued until the open");
    m.handle_open(ms(2), String::new());
    assert_eq!(sent(&mut m), vec![text("queued")]);
    assert_eq!(
        m.poll_flush(ms(2)),
        Ok(false),
        "handed over, not yet transmitted"
    );
    // The message left, then the connection died: nothing to re-queue, and the flush
    // that waited must not wait for the next connection.
    m.handle_close(ms(3), frame(1006), 0);
    assert_eq!(
        m.state(),
        State::Reconnecting {
            attempt: 1,
            delay: ms(100)
        }
    );
    assert_eq!(m.poll_flush(ms(3)), Ok(true));
    assert_eq!(
        m.poll_timeout(),
        Some(ms(103)),
        "no buffer readings asked for"
    );
    // What a dead connection never transmitted is queued again: that flush waits.
    m.handle_timeout(ms(103));
    m.handle_open(ms(104), String::new());
    m.send(ms(105), text("stuck")).unwrap();
    actions(&mut m);
    m.handle_close(ms(106), frame(1006), 5);
    assert_eq!(m.poll_flush(ms(106)), Ok(false));
}

#[test]
fn a_driver_close_does_not_leave_a_due_heartbeat_deadline_behind() {
    let mut m = open_machine(Config {
        heartbeat: Some(Heartbeat::new(ms(1000), ms(500))),
        ..limited(InboundOverflow::Close)
    });
    assert_eq!(m.admit(ms(10), 41, 60, true), Admission::Discard);
    actions(&mut m);
    // The server neither answers nor completes the close: past the heartbeat interval,
    // the next deadline is the close timeout, not the heartbeat's (which does not run
    // while closing and would be due at every turn).
    m.handle_timeout(ms(1500));
    assert!(actions(&mut m).is_empty());
    let close_timeout = Config::default().close_timeout;
    assert_eq!(m.poll_timeout(), Some(ms(10) + close_timeout));
}

#[test]
fn the_next_attempt_has_a_time_only_while_waiting_online() {
    let mut m = open_machine(config());
    assert_eq!(m.next_attempt_at(), None, "open");
    m.handle_close(ms(10), frame(1006), 0);
    assert_eq!(m.next_attempt_at(), Some(ms(110)), "waiting out the delay");
    m.handle_offline();
    assert_eq!(m.next_attempt_at(), None, "offline: waits for online");
    m.handle_online(ms(50));
    assert_eq!(m.next_attempt_at(), None, "online: attempting at once");
    assert_eq!(m.state(), State::Connecting);
}

#[test]
fn reconnect_closes_the_open_connection_and_connects_again_at_once_whatever_the_policy() {
    // No automatic reconnection at all: the application's reconnect still makes one.
    let mut m = open_machine(Config {
        reconnect: None,
        ..config()
    });
    m.send(ms(10), text("a")).unwrap();
    m.send(ms(10), text("b")).unwrap();
    assert_eq!(sent(&mut m), vec![text("a"), text("b")]);
    assert!(m.is_live());
    m.reconnect(ms(20), 4000, "new token").unwrap();
    assert_eq!(
        m.state(),
        State::Open,
        "until the old connection has closed"
    );
    assert!(
        !m.is_live(),
        "what is sent now waits for the next connection"
    );
    assert_eq!(
        actions(&mut m),
        vec![Action::Close {
            code: 4000,
            reason: "new token".into()
        }],
        "a closing handshake: what the browser holds still goes out"
    );
    m.reconnect(ms(21), 1000, "").unwrap();
    assert!(actions(&mut m).is_empty(), "once is enough");
    // Accepted meanwhile, but not handed to the closing socket; what arrives is kept.
    m.send(ms(30), text("c")).unwrap();
    assert!(sent(&mut m).is_empty());
    assert_eq!(m.admit(ms(30), 5, 0, false), Admission::Keep);
    // The close event says "b" never left: it is re-queued, before "c".
    m.handle_close(ms(40), frame(1000), 1);
    let a = actions(&mut m);
    let closed = CloseFrame {
        code: 4000,
        reason: "new token".into(),
        was_clean: true,
    };
    assert_eq!(
        events(&a),
        vec![
            Event::Requeued { count: 1 },
            Event::Close(closed),
            Event::Reconnecting {
                attempt: 1,
                delay: ms(0)
            },
            Event::Connecting { attempt: 1 },
        ]
    );
    assert!(a.contains(&Action::Connect { attempt: 1 }), "{a:?}");
    assert_eq!(m.state(), State::Connecting);
    m.handle_open(ms(50), String::new());
    assert!(m.is_live());
    assert_eq!(sent(&mut m), vec![text("b"), text("c")]);
}

#[test]
fn a_close_during_a_reconnect_handshake_ends_the_socket_with_no_new_attempt() {
    let mut m = open_machine(config());
    m.reconnect(ms(0), 4000, "new token").unwrap();
    actions(&mut m);
    m.close(ms(1), 1000, "").unwrap();
    assert_eq!(m.state(), State::Closing);
    assert!(!m.is_live());
    m.handle_close(ms(2), frame(4000), 0);
    let a = actions(&mut m);
    assert!(
        !a.iter().any(|a| matches!(a, Action::Connect { .. })),
        "{a:?}"
    );
    assert!(m.is_closed());
    assert_eq!(m.take_terminal(), None, "the end was asked for");
}

#[test]
fn reconnect_skips_the_wait_and_restarts_a_connecting_attempt() {
    let mut m = open_machine(config());
    m.handle_close(ms(0), CloseFrame::abnormal(""), 0);
    actions(&mut m);
    assert_eq!(
        m.state(),
        State::Reconnecting {
            attempt: 1,
            delay: ms(100)
        }
    );
    // Waiting out the delay: the attempt starts now, and counts as it would have.
    m.reconnect(ms(10), 1000, "").unwrap();
    assert_eq!(
        actions(&mut m),
        vec![
            Action::Connect { attempt: 1 },
            Action::Emit(Event::Connecting { attempt: 1 })
        ]
    );
    // Connecting: that attempt is given up and made again.
    m.reconnect(ms(20), 1000, "").unwrap();
    assert_eq!(
        actions(&mut m),
        vec![
            Action::Abandon {
                code: 1000,
                reason: String::new()
            },
            Action::Connect { attempt: 1 },
            Action::Emit(Event::Connecting { attempt: 1 })
        ]
    );
    m.handle_open(ms(30), String::new());
    assert_eq!(m.state(), State::Open);
}

#[test]
fn reconnect_validates_and_refuses_a_socket_closed_or_closing_for_good() {
    let mut m = open_machine(config());
    assert_eq!(
        m.reconnect(ms(1), 1001, ""),
        Err(Error::InvalidCloseCode(1001))
    );
    assert_eq!(
        m.reconnect(ms(1), 1000, &"x".repeat(124)),
        Err(Error::CloseReasonTooLong(124))
    );
    assert!(
        actions(&mut m).is_empty(),
        "an invalid call changes nothing"
    );
    m.close(ms(4), 1000, "").unwrap();
    assert_eq!(m.reconnect(ms(5), 1000, ""), Err(Error::SocketClosed));
    m.handle_close(ms(6), frame(1000), 0);
    assert!(m.is_closed());
    assert_eq!(m.reconnect(ms(7), 1000, ""), Err(Error::SocketClosed));

    // A Sink close waiting for the queue to drain is a close for good too.
    let mut m = open_machine(config());
    m.handle_close(ms(0), CloseFrame::abnormal(""), 0);
    m.send(ms(0), text("queued")).unwrap();
    m.close_when_drained(ms(0), 1000, "").unwrap();
    actions(&mut m);
    assert_eq!(m.reconnect(ms(1), 1000, ""), Err(Error::SocketClosed));
    assert!(actions(&mut m).is_empty());
}

#[test]
fn reconnect_during_an_inbound_limit_close_connects_again_when_it_ends() {
    // The default policy would end the socket on 4001; the application asked for more.
    let mut m = open_machine(config());
    assert!(m.close_connection(ms(0), codes::INBOUND_LIMIT, "limit"));
    assert!(!m.is_live());
    actions(&mut m);
    m.reconnect(ms(1), 1000, "").unwrap();
    assert!(actions(&mut m).is_empty(), "the close under way serves");
    let timeout = Config::default().close_timeout;
    m.handle_timeout(ms(1) + timeout);
    let a = actions(&mut m);
    assert!(a.contains(&Action::Connect { attempt: 1 }), "{a:?}");
    assert!(!m.is_closed());
}

#[test]
fn over_the_inbound_limit_during_a_reconnect_handshake_messages_are_dropped_and_counted() {
    let mut m = open_machine(Config {
        inbound_limit: Some((100, InboundOverflow::Close)),
        ..config()
    });
    m.reconnect(ms(0), 1000, "").unwrap();
    actions(&mut m);
    assert_eq!(m.admit(ms(1), 50, 0, false), Admission::Keep);
    assert_eq!(
        m.admit(ms(1), 60, 90, true),
        Admission::Drop,
        "told, not discarded"
    );
    assert!(actions(&mut m).is_empty(), "no second close");
}

#[test]
fn a_sink_close_during_a_reconnect_handshake_sends_the_queue_on_the_new_connection_then_closes() {
    let mut m = open_machine(config());
    m.reconnect(ms(0), 4000, "new token").unwrap();
    actions(&mut m);
    m.send(ms(1), text("x")).unwrap();
    m.close_when_drained(ms(2), 1000, "bye").unwrap();
    assert!(actions(&mut m).is_empty(), "waits for the queue to drain");
    m.handle_close(ms(3), frame(4000), 0);
    let a = actions(&mut m);
    assert!(a.contains(&Action::Connect { attempt: 1 }), "{a:?}");
    m.handle_open(ms(4), String::new());
    let a = actions(&mut m);
    assert_eq!(sends(&m, &a), vec![text("x")]);
    assert!(
        a.contains(&Action::Close {
            code: 1000,
            reason: "bye".into()
        }),
        "closed with the Sink close's code once drained: {a:?}"
    );
    m.handle_close(ms(5), frame(1000), 0);
    assert!(m.is_closed());
    assert!(m.take_unsent().is_empty());
}
