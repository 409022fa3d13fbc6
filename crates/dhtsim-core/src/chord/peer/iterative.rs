//! Iterative lookups (SPEC §2, `overlay.lookup = "iterative"`), as the Chord papers' simulator
//! ran them: the querier asks each peer on the way for its next step and contacts that peer
//! itself, so every timeout is the querier's.
//!
//! A peer asked ([`Message::Ask`]) decides by the same rules as a recursive forward
//! ([`Peer::next_step`]): it owns the key and answers the querier, or it names the next peer
//! ([`Message::Next`]). Hops are the peers contacted in sequence, the owner included, so both
//! styles count the same hops on a static ring; messages are the requests and their replies.
//!
//! When a peer the querier contacts proves dead, the querier drops it from its own tables, and
//! asks the peer that named it again, telling it which peers to leave out this time (that peer
//! keeps its own tables as they are: it learns of the death only through its own
//! maintenance). A peer sent back to as a predecessor (SPEC §2) and found dead makes the peer
//! that sent it back the owner, as in a recursive lookup. If the peer that named the dead one
//! is gone too, the querier takes the next step from its own tables.

use super::{Next, Peer};
use crate::chord::{Command, Hop, Message, Op, Params, Query, Reply};
use crate::protocol::PeerRef;

impl Peer {
    /// The querier takes a step itself: its first, or after the peer that named the dead one
    /// proved dead too. `avoid` lists the peers found dead so far.
    pub(super) fn step_from_here(
        &mut self,
        params: &Params,
        mut q: Query,
        avoid: Vec<PeerRef>,
        out: &mut Vec<Command>,
    ) {
        let back = q.expect_owner;
        match self.next_step(params, &mut q, &avoid) {
            Next::Own => self.answer_query(params, q, out),
            Next::Fail => self.answer(&q, Reply::Failed, out),
            Next::To(next) => {
                let hop = Box::new(Hop { q, avoid, named_by: self.me, next, back });
                out.push(Command::Send { to: next, msg: Message::Ask { hop, again: false } });
            }
        }
    }

    /// This peer is asked for its next step towards the key (`again`: asked a second time,
    /// after the peer it named proved dead).
    pub(super) fn on_ask(&mut self, params: &Params, mut hop: Box<Hop>, out: &mut Vec<Command>) {
        if !self.is_joined() {
            let q = hop.q;
            return self.answer(&q, Reply::Failed, out);
        }
        let back = hop.q.expect_owner;
        match self.next_step(params, &mut hop.q, &hop.avoid) {
            Next::Own => self.answer_query(params, hop.q, out),
            Next::Fail => {
                let q = hop.q;
                self.answer(&q, Reply::Failed, out)
            }
            Next::To(next) => {
                (hop.named_by, hop.next, hop.back) = (self.me, next, back);
                out.push(Command::Send { to: hop.q.querier, msg: Message::Next(hop) });
            }
        }
    }

    /// The querier contacts the peer it was told to ask next.
    pub(super) fn on_next(&mut self, hop: Box<Hop>, out: &mut Vec<Command>) {
        let to = hop.next;
        out.push(Command::Send { to, msg: Message::Ask { hop, again: false } });
    }

    /// A peer the querier asked did not answer (the querier has already dropped it from its
    /// tables): ask again without it, or give up when out of retries.
    pub(super) fn on_ask_timeout(
        &mut self,
        params: &Params,
        mut hop: Box<Hop>,
        again: bool,
        out: &mut Vec<Command>,
    ) {
        if !again {
            hop.q.hops -= 1; // the step to the dead peer did not happen
        }
        hop.q.timeouts += 1;
        let limit = match hop.q.kind {
            Op::Lookup | Op::Store { .. } => params.retries,
            Op::FindFinger { .. } => params.repair_retries,
            Op::Join => u32::MAX,
        };
        if hop.q.timeouts > limit {
            let q = hop.q;
            return self.answer(&q, Reply::Failed, out);
        }
        let dead = if again { hop.named_by } else { hop.next };
        hop.avoid.push(dead);
        // Sent back to a dead predecessor: the peer that sent it back still expects to own it.
        hop.q.expect_owner = !again && hop.back;
        if !again && hop.named_by.idx != self.me.idx {
            let to = hop.named_by;
            out.push(Command::Send { to, msg: Message::Ask { hop, again: true } });
        } else {
            let Hop { q, avoid, .. } = *hop;
            self.step_from_here(params, q, avoid, out);
        }
    }
}
