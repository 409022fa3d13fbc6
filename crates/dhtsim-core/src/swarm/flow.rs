//! Piece transfers sharing the peers' capacities (SPEC §2c): a transfer runs at its uploader's
//! upload capacity shared equally among the uploader's transfers, capped by its downloader's
//! download capacity shared equally among the downloader's transfers. When a transfer starts or
//! ends, the transfers of its uploader and of its downloader change rate; each keeps the bits it
//! has moved and gets a new completion time.
//!
//! Integer arithmetic throughout, so that a run is reproducible bit for bit: capacities in
//! kbit/s are bits per millisecond; progress is counted in millionths of a bit, and a transfer
//! ends at the first whole millisecond at which its bits are all through.

use crate::time::{SimDuration, SimTime};

/// Millionths of a bit per bit: the unit of progress.
const SCALE: u64 = 1_000_000;

/// A transfer in progress, by its slot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct TransferId(pub u32);

/// When a transfer will end, as of now. A later one replaces it: the caller schedules each and
/// ignores those [`Flows::is_current`] rejects. Generations are never reused, not even by a
/// transfer that takes the slot of one that stopped with its completion still scheduled.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Completion {
    /// The transfer.
    pub id: TransferId,
    /// Its schedule's number.
    pub generation: u32,
    /// When it ends at the present rates.
    pub at: SimTime,
}

/// One piece on its way.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Transfer {
    /// The sending peer (its index in the swarm).
    pub up: u32,
    /// The receiving peer.
    pub down: u32,
    /// The piece.
    pub piece: u32,
    /// Millionths of a bit still to move, as of `since`.
    remaining: u64,
    /// Millionths of a bit per millisecond.
    rate: u64,
    since: SimTime,
    generation: u32,
}

/// Every transfer of a swarm, and each peer's capacities and transfers.
#[derive(Clone, Debug, Default)]
pub struct Flows {
    slots: Vec<Option<Transfer>>,
    free: Vec<u32>,
    up_kbps: Vec<u64>,
    down_kbps: Vec<u64>,
    uploads: Vec<Vec<TransferId>>,
    downloads: Vec<Vec<TransferId>>,
    /// The generation the next schedule gets.
    next_generation: u32,
}

impl Flows {
    /// A peer with these capacities (kbit/s, at least 1) joins; returns its index.
    pub fn add_peer(&mut self, up_kbps: u64, down_kbps: u64) -> u32 {
        assert!(up_kbps > 0 && down_kbps > 0, "capacities are positive");
        self.up_kbps.push(up_kbps);
        self.down_kbps.push(down_kbps);
        self.uploads.push(Vec::new());
        self.downloads.push(Vec::new());
        (self.up_kbps.len() - 1) as u32
    }

    /// The transfers `peer` is sending.
    pub fn uploads(&self, peer: u32) -> &[TransferId] {
        &self.uploads[peer as usize]
    }

    /// The transfers `peer` is receiving.
    pub fn downloads(&self, peer: u32) -> &[TransferId] {
        &self.downloads[peer as usize]
    }

    /// Transfer `id`.
    pub fn get(&self, id: TransferId) -> Option<&Transfer> {
        self.slots.get(id.0 as usize).and_then(Option::as_ref)
    }

    /// Whether `c` is the latest schedule of a transfer still running.
    pub fn is_current(&self, c: &Completion) -> bool {
        self.get(c.id).is_some_and(|t| t.generation == c.generation)
    }

    /// Starts sending `piece` (`bits` long) from `up` to `down` at `now`. Returns the new
    /// transfer and the completions of every transfer whose rate changed, itself included.
    pub fn start(
        &mut self,
        now: SimTime,
        up: u32,
        down: u32,
        piece: u32,
        bits: u64,
    ) -> (TransferId, Vec<Completion>) {
        assert_ne!(up, down, "a peer does not send to itself");
        let t = Transfer {
            up,
            down,
            piece,
            remaining: bits.max(1) * SCALE,
            rate: 1,
            since: now,
            generation: 0,
        };
        let id = match self.free.pop() {
            Some(i) => {
                self.slots[i as usize] = Some(t);
                TransferId(i)
            }
            None => {
                self.slots.push(Some(t));
                TransferId((self.slots.len() - 1) as u32)
            }
        };
        self.uploads[up as usize].push(id);
        self.downloads[down as usize].push(id);
        (id, self.rerate(now, up, down))
    }

    /// Transfer `id`, ending at `now`, goes straight on with `piece` (`bits` long) between the
    /// same two peers: the counts of their transfers do not change, so neither do any rates,
    /// and no other transfer is rescheduled (stopping and starting would move each of them
    /// twice, to the times they had). Returns its completion.
    pub fn restart(&mut self, now: SimTime, id: TransferId, piece: u32, bits: u64) -> Completion {
        self.next_generation += 1;
        let t = self.slots[id.0 as usize].as_mut().expect("a running transfer");
        t.piece = piece;
        t.remaining = bits.max(1) * SCALE;
        t.since = now;
        t.generation = self.next_generation;
        let ms = t.remaining.div_ceil(t.rate);
        Completion { id, generation: t.generation, at: now + SimDuration::from_ms(ms) }
    }

    /// Ends transfer `id` at `now`, complete or abandoned (its uploader or downloader left).
    /// Returns it and the completions of the transfers whose rate changed.
    pub fn stop(&mut self, now: SimTime, id: TransferId) -> (Transfer, Vec<Completion>) {
        let t = self.slots[id.0 as usize].take().expect("a running transfer");
        self.free.push(id.0);
        self.uploads[t.up as usize].retain(|&x| x != id);
        self.downloads[t.down as usize].retain(|&x| x != id);
        (t, self.rerate(now, t.up, t.down))
    }

    /// The rate of `t` under the present counts, in millionths of a bit per millisecond.
    fn rate_of(&self, t: &Transfer) -> u64 {
        let up = self.up_kbps[t.up as usize] * SCALE / self.uploads[t.up as usize].len() as u64;
        let down =
            self.down_kbps[t.down as usize] * SCALE / self.downloads[t.down as usize].len() as u64;
        up.min(down).max(1)
    }

    /// Brings the transfers of uploader `up` and downloader `down` to `now` at their old rates,
    /// sets their new ones and returns their completions.
    fn rerate(&mut self, now: SimTime, up: u32, down: u32) -> Vec<Completion> {
        let mut ids: Vec<TransferId> = self.uploads[up as usize].clone();
        ids.extend(&self.downloads[down as usize]);
        ids.sort_unstable();
        ids.dedup();
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            let t = self.slots[id.0 as usize].expect("listed transfers run");
            let rate = self.rate_of(&t);
            let t = self.slots[id.0 as usize].as_mut().expect("listed transfers run");
            let moved = t.rate.saturating_mul(now.as_ms().saturating_sub(t.since.as_ms()));
            t.remaining = t.remaining.saturating_sub(moved);
            t.since = now;
            if rate == t.rate && t.generation > 0 {
                continue; // unchanged: its scheduled completion stands
            }
            t.rate = rate;
            self.next_generation += 1;
            t.generation = self.next_generation;
            let ms = t.remaining.div_ceil(rate);
            out.push(Completion {
                id,
                generation: t.generation,
                at: now + SimDuration::from_ms(ms),
            });
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PIECE: u64 = 256 * 1024 * 8; // 256 KiB

    fn at(ms: u64) -> SimTime {
        SimTime(ms)
    }

    #[test]
    fn a_lone_transfer_takes_bits_over_the_smaller_capacity() {
        let mut f = Flows::default();
        let (s, l) = (f.add_peer(1000, 1000), f.add_peer(500, 3000));
        let (id, c) = f.start(at(0), s, l, 7, PIECE);
        // 2,097,152 bits at 1,000 bits/ms: 2,097.152 ms, so it ends at 2,098 ms.
        assert_eq!(c, vec![Completion { id, generation: 1, at: at(2098) }]);
        let (t, rest) = f.stop(at(2098), id);
        assert_eq!((t.up, t.down, t.piece), (s, l, 7));
        assert!(rest.is_empty() && f.uploads(s).is_empty() && f.downloads(l).is_empty());
        // The downloader's capacity caps it: 2,097,152 / 500 = 4,194.3 ms.
        let (_, c) = f.start(at(0), l, s, 0, PIECE);
        assert_eq!(c[0].at, at(4195));
    }

    #[test]
    fn uploads_share_the_uploader_s_capacity_and_keep_their_progress() {
        let mut f = Flows::default();
        let s = f.add_peer(1000, 1000);
        let (a, b) = (f.add_peer(1000, 1000), f.add_peer(1000, 1000));
        let (ta, _) = f.start(at(0), s, a, 0, PIECE);
        // At 1,000 ms, 1,000,000 bits are through; the second upload halves the rate.
        let (tb, c) = f.start(at(1000), s, b, 1, PIECE);
        let when = |id| c.iter().find(|x| x.id == id).unwrap().at;
        // a: 1,097,152 bits left at 500 bits/ms = 2,194.3 ms; b: 4,194.3 ms.
        assert_eq!((when(ta), when(tb)), (at(3195), at(5195)));
        let old = c.iter().find(|x| x.id == ta).copied().unwrap();
        assert!(f.is_current(&old) && f.is_current(&c[1]));
        // a ends; b had 1,097,152 bits left at 3,195 ms... minus rounding, at full rate again.
        let (_, c) = f.stop(at(3195), ta);
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].id, tb);
        // b moved 2,195 ms × 500 = 1,097,500 bits of 2,097,152: 999,652 left at 1,000 bits/ms.
        assert_eq!(c[0].at, at(3195 + 1000));
        assert!(!f.is_current(&Completion { id: tb, generation: 1, at: at(5195) }));
    }

    #[test]
    fn the_downloader_s_share_caps_each_of_its_downloads() {
        let mut f = Flows::default();
        let (s1, s2) = (f.add_peer(1000, 1000), f.add_peer(1000, 1000));
        let l = f.add_peer(100, 800);
        f.start(at(0), s1, l, 0, PIECE);
        let (_, c) = f.start(at(0), s2, l, 1, PIECE);
        // Two downloads share 800: 400 bits/ms each, below the uploaders' 1,000.
        assert!(c.iter().all(|x| x.at == at(5243)), "{c:?}"); // 2,097,152 / 400 = 5,242.9
        // Slots are reused, never schedules: the stopped transfer's completion, still in the
        // caller's queue, must not end the one that took its slot (it did once, and the swarm
        // downloaded 16 % more than its peers could upload).
        let (t, _) = f.stop(at(10), c[0].id);
        let (id, c2) = f.start(at(10), s1, l, 2, PIECE);
        assert_eq!(id, c[0].id);
        assert_eq!(t.piece, 0);
        assert!(!f.is_current(&c[0]));
        assert!(c2.iter().any(|x| x.id == id && f.is_current(x)));
    }
}
