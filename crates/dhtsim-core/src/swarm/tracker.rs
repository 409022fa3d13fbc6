//! The tracker (SPEC §2c): it records each peer that announces, answers with up to `numwant`
//! peers drawn at random from those it knows, forgets a peer that stops announcing, and may be
//! down (scripted `tracker_down` / `tracker_up`), when announces get no answer.

use rand::RngExt;

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};

/// What the tracker keeps of a peer it knows.
#[derive(Clone, Copy, Debug)]
struct Known {
    /// Its place in [`Tracker::members`].
    at: usize,
    /// Its last announce.
    last: SimTime,
    /// It announced as complete, or said it completed.
    complete: bool,
}

/// A tracker's state.
#[derive(Clone, Debug, Default)]
pub struct Tracker {
    /// The peers it knows, in no particular order: an answer is a partial shuffle of them, so
    /// it costs `numwant` draws, not a pass over every peer (a flash crowd of 10^5 answered by
    /// copying the whole list each time took quadratic time and, with each answer keeping the
    /// list's capacity, 40 GB).
    members: Vec<u32>,
    /// What it knows of each peer, by swarm index.
    known: Vec<Option<Known>>,
    /// How long a peer stays known without announcing.
    keep: SimDuration,
    up: bool,
    /// Announces received (answered or not).
    pub requests: u64,
}

impl Tracker {
    /// An empty tracker, up, that forgets a peer silent for `keep`.
    pub fn new(keep: SimDuration) -> Self {
        Tracker { keep, up: true, ..Tracker::default() }
    }

    /// Whether it answers.
    pub fn is_up(&self) -> bool {
        self.up
    }

    /// Takes it down or brings it back. It keeps what it knew (a restarted tracker that had
    /// lost its state would be `forget_all` as well).
    pub fn set_up(&mut self, up: bool) {
        self.up = up;
    }

    /// Peers it knows, silent ones included until they come up in an answer.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether it knows no peer.
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// `peer` announces at `now`: `None` when the tracker is down, else up to `numwant` other
    /// peers it knows, drawn uniformly without replacement, in the order drawn (a peer tries
    /// them in that order: no preference for the oldest). A peer silent for longer than the
    /// tracker keeps peers is forgotten when it is drawn, and another is drawn in its place.
    pub fn announce(
        &mut self,
        now: SimTime,
        peer: u32,
        complete: bool,
        numwant: usize,
        rng: &mut Rng,
    ) -> Option<Vec<u32>> {
        self.requests += 1;
        if !self.up {
            return None;
        }
        if self.known.len() <= peer as usize {
            self.known.resize(peer as usize + 1, None);
        }
        match &mut self.known[peer as usize] {
            Some(k) => {
                k.last = now;
                k.complete = complete;
            }
            entry @ None => {
                *entry = Some(Known { at: self.members.len(), last: now, complete });
                self.members.push(peer);
            }
        }
        // The announcer goes last, out of the draw; the first `i` places hold the drawn.
        let last = self.members.len() - 1;
        self.swap(self.known[peer as usize].expect("known").at, last);
        let (mut i, mut end) = (0, last);
        while i < numwant.min(end) {
            let j = rng.random_range(i..end);
            self.swap(i, j);
            let q = self.members[i];
            let k = self.known[q as usize].expect("a member is known");
            if now.since(k.last) <= self.keep {
                i += 1;
                continue;
            }
            // Silent too long: out, and the announcer back to the end of what is left.
            end -= 1;
            self.swap(i, end);
            self.swap(end, end + 1);
            self.forget(q);
        }
        Some(self.members[..i].to_vec())
    }

    /// Swaps the peers at places `i` and `j` of `members`.
    fn swap(&mut self, i: usize, j: usize) {
        self.members.swap(i, j);
        for at in [i, j] {
            let q = self.members[at];
            self.known[q as usize].as_mut().expect("a member is known").at = at;
        }
    }

    /// Forgets `peer`, the last of `members`.
    fn forget(&mut self, peer: u32) {
        debug_assert_eq!(self.members.last(), Some(&peer));
        self.members.pop();
        self.known[peer as usize] = None;
    }

    /// `peer` says it has completed (counted as a request; no answer): it counts as a seeder
    /// from now on. Nothing while the tracker is down, or for a peer it does not know.
    pub fn completed(&mut self, peer: u32) {
        self.requests += 1;
        if self.up
            && let Some(Some(k)) = self.known.get_mut(peer as usize)
        {
            k.complete = true;
        }
    }

    /// What a scrape answers at `now`: the seeders and leechers among the peers it still knows,
    /// or nothing while it is down.
    pub fn scrape(&self, now: SimTime) -> Option<(u64, u64)> {
        if !self.up {
            return None;
        }
        let (mut seeders, mut leechers) = (0, 0);
        for &q in &self.members {
            let k = self.known[q as usize].expect("a member is known");
            if now.since(k.last) <= self.keep {
                if k.complete {
                    seeders += 1;
                } else {
                    leechers += 1;
                }
            }
        }
        Some((seeders, leechers))
    }

    /// `peer` said it stops (a graceful departure): it is forgotten at once.
    pub fn stopped(&mut self, peer: u32) {
        if let Some(Some(k)) = self.known.get(peer as usize) {
            let last = self.members.len() - 1;
            self.swap(k.at, last);
            self.forget(peer);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[test]
    fn answers_a_random_sample_of_the_others_and_forgets_the_silent() {
        let mut rng = stream(3, Purpose::Swarm);
        let mut t = Tracker::new(SimDuration::from_ms(100));
        assert_eq!(t.announce(SimTime(0), 1, false, 50, &mut rng), Some(vec![]));
        for p in 2..=10 {
            t.announce(SimTime(10), p, false, 50, &mut rng);
        }
        let mut all = t.announce(SimTime(20), 1, false, 50, &mut rng).unwrap();
        all.sort_unstable();
        assert_eq!(all, (2..=10).collect::<Vec<u32>>());
        let mut some = t.announce(SimTime(20), 1, false, 3, &mut rng).unwrap();
        some.sort_unstable();
        some.dedup();
        assert_eq!(some.len(), 3);
        assert!(!some.contains(&1));
        // Peers 2..=10 last announced at 10 ms: at 115 ms they are forgotten.
        assert_eq!(t.announce(SimTime(115), 1, false, 50, &mut rng), Some(vec![]));
        t.announce(SimTime(120), 4, false, 50, &mut rng);
        t.stopped(4);
        assert_eq!(t.announce(SimTime(121), 1, false, 50, &mut rng), Some(vec![]));
        t.announce(SimTime(121), 5, true, 50, &mut rng);
        t.completed(1);
        assert_eq!(t.scrape(SimTime(121)), Some((2, 0)), "1 completed, 5 announced complete");
        assert_eq!(t.scrape(SimTime(300)), Some((0, 0)), "both silent too long");
        t.set_up(false);
        assert_eq!(t.scrape(SimTime(122)), None);
        assert_eq!(t.announce(SimTime(122), 1, false, 50, &mut rng), None);
        assert_eq!(t.requests, 18);
    }

    #[test]
    fn every_known_peer_is_equally_likely_to_be_named() {
        let mut rng = stream(4, Purpose::Swarm);
        let mut t = Tracker::new(SimDuration::from_ms(1_000_000));
        for p in 0..10 {
            t.announce(SimTime(0), p, false, 0, &mut rng);
        }
        let mut named = [0u32; 10];
        for _ in 0..3000 {
            for p in t.announce(SimTime(1), 0, false, 3, &mut rng).unwrap() {
                named[p as usize] += 1;
            }
        }
        // 9 others, 3 named per answer: 1,000 each.
        assert_eq!(named[0], 0);
        assert!(named[1..].iter().all(|&n| (880..1120).contains(&n)), "{named:?}");
    }
}
