//! The outbound queue, and the record of what the current socket may not have transmitted.
//!
//! `queue` holds messages accepted but not yet handed to the browser. `in_flight` holds
//! those handed to the current socket whose bytes `bufferedAmount` may still count, in
//! order, so that after an abnormal close the tail the browser never transmitted can be
//! put back at the head of the queue.

use crate::Message;
use std::collections::VecDeque;

#[derive(Debug)]
struct InFlight {
    /// Kept here, not copied: the `Send` action names it by number and the driver reads it
    /// from here (`Outbox::handed`), so handing a message over allocates nothing.
    message: Message,
    /// Put back in the queue if it did not leave; `false` for what belongs to the
    /// connection only (heartbeat pings, what the open hook sends first).
    requeue: bool,
}

#[derive(Debug, Default)]
pub(crate) struct Outbox {
    queue: VecDeque<Message>,
    /// The bytes of `queue`, kept as it changes: read on every `bufferedAmount` a JS app
    /// polls, which must not walk a long queue.
    queue_bytes: usize,
    in_flight: VecDeque<InFlight>,
    in_flight_bytes: usize,
    /// The number of the first record in `in_flight`: every message handed over gets the
    /// next number, from 0.
    first: u64,
    /// Records numbered from here on wait for the driver to take their `Send` action: the
    /// browser cannot hold their bytes yet, so no reading can show them transmitted.
    untaken: u64,
    /// The bytes of those records.
    untaken_bytes: usize,
}

impl Outbox {
    pub(crate) fn push(&mut self, message: Message) {
        self.queue_bytes += message.len();
        self.queue.push_back(message);
    }

    pub(crate) fn queued(&self) -> usize {
        self.queue.len()
    }

    pub(crate) fn queued_bytes(&self) -> usize {
        self.queue_bytes
    }

    /// Takes the next queued message, recording it as handed to the socket: its number
    /// (for [`handed`](Self::handed)) and its length.
    pub(crate) fn pop_to_send(&mut self) -> Option<(u64, usize)> {
        let message = self.queue.pop_front()?;
        self.queue_bytes -= message.len();
        Some(self.record_sent(message, true))
    }

    /// Records a message that belongs to the current connection only (a heartbeat ping, a
    /// message the open hook sends first) as handed to the socket: its bytes count, but it
    /// is never re-queued. Its number and length.
    pub(crate) fn record_control(&mut self, message: Message) -> (u64, usize) {
        self.record_sent(message, false)
    }

    fn record_sent(&mut self, message: Message, requeue: bool) -> (u64, usize) {
        let len = message.len();
        let seq = self.first + self.in_flight.len() as u64;
        self.in_flight_bytes += len;
        self.untaken_bytes += len;
        self.in_flight.push_back(InFlight { message, requeue });
        (seq, len)
    }

    /// The driver took the `Send` action for `seq`: from now on the browser may hold its
    /// bytes. (Actions are taken in the order of their records.)
    pub(crate) fn taken(&mut self, seq: u64) {
        // Below `untaken`: its record went back to the queue (or left) with its bytes.
        if seq < self.untaken {
            return;
        }
        self.untaken = seq + 1;
        if let Some(message) = self.handed(seq) {
            self.untaken_bytes -= message.len();
        }
    }

    /// The bytes of records whose `Send` action the driver has not taken yet.
    pub(crate) fn untaken_bytes(&self) -> usize {
        self.untaken_bytes
    }

    /// The message handed over as number `seq`, while it is still recorded (until the
    /// browser is known to have transmitted it, or its socket ended).
    pub(crate) fn handed(&self, seq: u64) -> Option<&Message> {
        let index = usize::try_from(seq.checked_sub(self.first)?).ok()?;
        self.in_flight.get(index).map(|f| &f.message)
    }

    /// Forgets the in-flight messages that `buffered` (the socket's `bufferedAmount`) shows
    /// as transmitted: all but the tail that still has bytes in the buffer.
    pub(crate) fn forget_transmitted(&mut self, buffered: usize) {
        // Only what the driver took can have reached the browser.
        let transmitted = (self.in_flight_bytes - self.untaken_bytes).saturating_sub(buffered);
        // Walk from the front: a message whose end lies within the transmitted prefix left.
        let mut end = 0;
        while let Some(front) = self.in_flight.front().filter(|_| self.first < self.untaken) {
            let len = front.message.len();
            let e = end + len;
            if !left_the_browser(e, len, transmitted, buffered) {
                break;
            }
            end = e;
            self.in_flight_bytes -= len;
            self.in_flight.pop_front();
            self.first += 1;
        }
    }

    /// After the socket ended with `buffered` bytes never transmitted: puts the messages
    /// that did not leave whole back at the head of the queue, in their order, and forgets
    /// the rest. Returns how many were put back (what belonged to the connection only, pings
    /// and the open hook's first messages, is dropped, not counted).
    pub(crate) fn requeue_untransmitted(&mut self, buffered: usize) -> usize {
        self.forget_transmitted(buffered);
        let mut count = 0;
        // Taken whole rather than drained, here and below: a deque's `Drain` is a kilobyte
        // of wasm, and these run once per connection or per socket, not per message.
        let in_flight = std::mem::take(&mut self.in_flight);
        self.first += in_flight.len() as u64;
        self.untaken = self.first;
        self.untaken_bytes = 0;
        for item in in_flight.into_iter().rev() {
            if item.requeue {
                self.queue_bytes += item.message.len();
                self.queue.push_front(item.message);
                count += 1;
            }
        }
        self.in_flight_bytes = 0;
        count
    }

    /// Keeps the queued messages `keep` accepts, in order; returns the others, in order.
    /// Only the queue changes: the in-flight record and its byte count stay as they are.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&Message) -> bool) -> Vec<Message> {
        let mut removed = Vec::new();
        for message in std::mem::take(&mut self.queue) {
            if keep(&message) {
                self.queue.push_back(message);
            } else {
                self.queue_bytes -= message.len();
                removed.push(message);
            }
        }
        removed
    }

    /// Everything that never reached the socket, for handing back to the application.
    pub(crate) fn take_unsent(&mut self) -> Vec<Message> {
        self.queue_bytes = 0;
        std::mem::take(&mut self.queue).into_iter().collect()
    }
}

/// Whether a message ending at byte `end` (of everything handed to the socket) with
/// `len` bytes was wholly transmitted, when the first `transmitted` bytes were.
///
/// An empty message right at the boundary is ambiguous while bytes remain buffered (the
/// browser counts payload, not frames); it is then taken as not transmitted, so it is sent
/// again rather than lost.
fn left_the_browser(end: usize, len: usize, transmitted: usize, buffered: usize) -> bool {
    end < transmitted || (end == transmitted && (len > 0 || buffered == 0))
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn text(n: usize, len: usize) -> Message {
        Message::Text(format!("{n:0len$}"))
    }

    /// Hands over up to `count` messages and takes them as the driver does; what the
    /// driver reads for each.
    fn sent(outbox: &mut Outbox, count: usize) -> Vec<Message> {
        let mut handed = Vec::new();
        while handed.len() < count {
            let Some((seq, len)) = outbox.pop_to_send() else {
                break;
            };
            outbox.taken(seq);
            let message = outbox
                .handed(seq)
                .expect("readable once handed over")
                .clone();
            assert_eq!(message.len(), len);
            handed.push(message);
        }
        handed
    }

    #[test]
    fn neither_handing_over_nor_requeueing_copies_the_payload() {
        let mut o = Outbox::default();
        let payload = vec![7; 1000];
        let ptr = payload.as_ptr();
        o.push(Message::Binary(payload));
        let (seq, _) = o.pop_to_send().unwrap();
        o.taken(seq);
        assert_eq!(
            o.handed(seq).unwrap().as_bytes().as_ptr(),
            ptr,
            "handed over in place"
        );
        o.requeue_untransmitted(1000);
        assert_eq!(
            o.take_unsent()[0].as_bytes().as_ptr(),
            ptr,
            "the same allocation came back"
        );
    }

    #[test]
    fn nothing_buffered_means_nothing_requeued() {
        let mut o = Outbox::default();
        for i in 0..5 {
            o.push(text(i, 4));
        }
        sent(&mut o, 5);
        assert_eq!(o.requeue_untransmitted(0), 0);
        assert_eq!(o.queued(), 0);
    }

    #[test]
    fn exactly_the_untransmitted_tail_goes_back_in_order_ahead_of_newer() {
        let mut o = Outbox::default();
        for i in 0..5 {
            o.push(text(i, 4));
        }
        sent(&mut o, 5);
        o.push(text(99, 4)); // accepted after the socket died
                             // 6 bytes untransmitted: message 4 wholly, message 3 half: both go again.
        assert_eq!(o.requeue_untransmitted(6), 2);
        assert_eq!(o.take_unsent(), vec![text(3, 4), text(4, 4), text(99, 4)]);
    }

    #[test]
    fn pings_count_bytes_but_are_not_resent() {
        let mut o = Outbox::default();
        o.push(text(1, 4));
        sent(&mut o, 1);
        let (ping, _) = o.record_control(text(0, 4));
        o.taken(ping);
        o.push(text(2, 4));
        sent(&mut o, 1);
        // 8 bytes left: the ping and message 2; message 1 went out.
        assert_eq!(o.requeue_untransmitted(8), 1);
        assert_eq!(o.take_unsent(), vec![text(2, 4)]);
    }

    #[test]
    fn numbers_name_the_same_message_across_forgetting_and_requeueing() {
        let mut o = Outbox::default();
        for i in 0..3 {
            o.push(text(i, 10));
        }
        let seqs: Vec<u64> = std::iter::from_fn(|| o.pop_to_send().map(|(seq, _)| seq)).collect();
        assert_eq!(seqs, vec![0, 1, 2]);
        let ping = o.record_control(text(7, 4)).0;
        for seq in seqs.into_iter().chain([ping]) {
            o.taken(seq);
        }
        assert_eq!(o.handed(ping), Some(&text(7, 4)));
        o.forget_transmitted(24); // message 0 left: its number names nothing any more
        assert_eq!(o.handed(0), None);
        assert_eq!(o.handed(1), Some(&text(1, 10)));
        assert_eq!(o.handed(ping), Some(&text(7, 4)));
        assert_eq!(o.handed(ping + 1), None, "not handed over yet");
        // The socket ended: messages 1 and 2 go back and get new numbers when handed again.
        assert_eq!(o.requeue_untransmitted(24), 2);
        assert_eq!(o.handed(2), None);
        assert_eq!(o.pop_to_send(), Some((ping + 1, 10)));
        assert_eq!(o.handed(ping + 1), Some(&text(1, 10)));
    }

    #[test]
    fn what_the_driver_has_not_taken_is_never_counted_as_transmitted() {
        let mut o = Outbox::default();
        for i in 0..3 {
            o.push(text(i, 10));
        }
        let (first, _) = o.pop_to_send().unwrap();
        o.taken(first);
        o.pop_to_send().unwrap();
        o.pop_to_send().unwrap();
        assert_eq!(o.untaken_bytes(), 20);
        // A reading of 0 taken now covers message 0 only: the browser never had 1 and 2.
        o.forget_transmitted(0);
        assert_eq!(o.handed(first), None, "message 0 left");
        assert_eq!(o.handed(1), Some(&text(1, 10)));
        assert_eq!(o.handed(2), Some(&text(2, 10)));
        o.taken(1);
        assert_eq!(o.untaken_bytes(), 10);
        // The socket ends with nothing buffered: message 1 left, message 2 was never taken.
        assert_eq!(o.requeue_untransmitted(0), 1);
        assert_eq!(o.untaken_bytes(), 0);
        assert_eq!(o.take_unsent(), vec![text(2, 10)]);
        // Taking an action whose record went back to the queue changes nothing.
        o.taken(2);
        assert_eq!(o.untaken_bytes(), 0);
    }

    #[test]
    fn forgetting_transmitted_keeps_the_buffered_tail() {
        let mut o = Outbox::default();
        for i in 0..4 {
            o.push(text(i, 10));
        }
        sent(&mut o, 4);
        o.forget_transmitted(15); // 25 of 40 bytes left: messages 0 and 1 whole
        assert_eq!(o.in_flight.len(), 2);
        assert_eq!(o.requeue_untransmitted(15), 2);
        assert_eq!(o.take_unsent(), vec![text(2, 10), text(3, 10)]);
    }

    #[test]
    fn retain_removes_from_the_queue_only_and_keeps_the_order() {
        let mut o = Outbox::default();
        o.push(text(1, 4));
        sent(&mut o, 1);
        for i in 2..7 {
            o.push(text(i, 4));
        }
        let removed = o.retain(|m| m != &text(3, 4) && m != &text(5, 4));
        assert_eq!(removed, vec![text(3, 4), text(5, 4)]);
        assert_eq!(o.queued(), 3);
        assert_eq!(o.queued_bytes(), 12);
        // The in-flight record is untouched: message 1 still goes back if never transmitted.
        assert_eq!(o.requeue_untransmitted(4), 1);
        assert_eq!(
            o.take_unsent(),
            vec![text(1, 4), text(2, 4), text(4, 4), text(6, 4)]
        );
    }

    #[test]
    fn empty_message_at_the_boundary_is_resent_not_lost() {
        let mut o = Outbox::default();
        o.push(text(1, 4));
        o.push(Message::Text(String::new()));
        o.push(text(2, 4));
        sent(&mut o, 3);
        assert_eq!(o.requeue_untransmitted(4), 2);
        assert_eq!(
            o.take_unsent(),
            vec![Message::Text(String::new()), text(2, 4)]
        );
    }

    proptest! {
        /// Whatever the sizes and however many bytes were left, the requeued messages are
        /// exactly those not wholly inside the transmitted prefix, in order, and none twice.
        #[test]
        fn requeue_is_the_minimal_untransmitted_suffix(lens in prop::collection::vec(0usize..50, 0..40),
                                                        frac in 0.0f64..=1.0) {
            let mut o = Outbox::default();
            let msgs: Vec<Message> = lens.iter().enumerate().map(|(i, &l)| Message::Binary(vec![i as u8; l])).collect();
            for m in &msgs { o.push(m.clone()); }
            sent(&mut o, msgs.len());
            let total: usize = lens.iter().sum();
            let buffered = (total as f64 * frac) as usize;
            o.requeue_untransmitted(buffered);
            let back = o.take_unsent();
            // The suffix must cover every untransmitted byte.
            let back_bytes: usize = back.iter().map(Message::len).sum();
            prop_assert!(back_bytes >= buffered);
            prop_assert_eq!(&back[..], &msgs[msgs.len() - back.len()..]);
            // Minimal: dropping the first requeued message (if non-empty) would leave bytes uncovered.
            if let Some(first) = back.first() {
                if !first.is_empty() {
                    prop_assert!(back_bytes - first.len() < buffered);
                }
            }
        }

        /// The queued bytes, kept as the queue changes, are always its messages' total:
        /// whatever is pushed, handed over, re-queued, removed or taken back, in any order.
        #[test]
        fn queued_bytes_are_the_queue_s_total(ops in prop::collection::vec((0u8..5, 0usize..40), 0..60)) {
            let mut o = Outbox::default();
            for (i, (op, n)) in ops.into_iter().enumerate() {
                match op {
                    0 | 1 => o.push(Message::Binary(vec![i as u8; n])),
                    2 => { sent(&mut o, n % 4); }
                    3 => { o.requeue_untransmitted(n); }
                    _ => {
                        if n % 8 == 0 {
                            o.take_unsent();
                        } else {
                            o.retain(|m| m.len() % 3 != n % 3);
                        }
                    }
                }
                let total: usize = o.queue.iter().map(Message::len).sum();
                prop_assert_eq!(o.queued_bytes(), total);
            }
        }
    }
}
