//! The tracker (SPEC §2c): it records each peer that announces, answers with up to `numwant`
//! peers drawn at random from those it knows, forgets a peer that stops announcing, and may be
//! down (scripted `tracker_down` / `tracker_up`), when announces get no answer.

use std::collections::BTreeMap;

use rand::RngExt;

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};

/// A tracker's state.
#[derive(Clone, Debug)]
pub struct Tracker {
    /// Peers by swarm index, with the time of their last announce.
    known: BTreeMap<u32, (SimTime, bool)>,
    /// How long a peer stays known without announcing.
    keep: SimDuration,
    up: bool,
    /// Announces received (answered or not).
    pub requests: u64,
}

impl Tracker {
    /// An empty tracker, up, that forgets a peer silent for `keep`.
    pub fn new(keep: SimDuration) -> Self {
        Tracker { known: BTreeMap::new(), keep, up: true, requests: 0 }
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

    /// Peers it knows, silent ones included until they are dropped at the next announce.
    pub fn len(&self) -> usize {
        self.known.len()
    }

    /// Whether it knows no peer.
    pub fn is_empty(&self) -> bool {
        self.known.is_empty()
    }

    /// `peer` announces at `now`: `None` when the tracker is down, else up to `numwant` other
    /// peers it knows, drawn uniformly without replacement, in the order drawn (a peer tries
    /// them in that order: no preference for the oldest).
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
        let keep = self.keep;
        self.known.retain(|_, (last, _)| now.since(*last) <= keep);
        self.known.insert(peer, (now, complete));
        let mut others: Vec<u32> = self.known.keys().copied().filter(|&p| p != peer).collect();
        let n = numwant.min(others.len());
        // A partial Fisher-Yates shuffle: the first n are a uniform sample.
        for i in 0..n {
            let j = rng.random_range(i..others.len());
            others.swap(i, j);
        }
        others.truncate(n);
        Some(others)
    }

    /// `peer` says it has completed (counted as a request; no answer): it counts as a seeder
    /// from now on. Nothing while the tracker is down, or for a peer it does not know.
    pub fn completed(&mut self, peer: u32) {
        self.requests += 1;
        if self.up
            && let Some((_, complete)) = self.known.get_mut(&peer)
        {
            *complete = true;
        }
    }

    /// What a scrape answers at `now`: the seeders and leechers among the peers it still knows,
    /// or nothing while it is down.
    pub fn scrape(&self, now: SimTime) -> Option<(u64, u64)> {
        if !self.up {
            return None;
        }
        let live = self.known.values().filter(|(last, _)| now.since(*last) <= self.keep);
        let (mut seeders, mut leechers) = (0, 0);
        for &(_, complete) in live {
            if complete {
                seeders += 1;
            } else {
                leechers += 1;
            }
        }
        Some((seeders, leechers))
    }

    /// `peer` said it stops (a graceful departure): it is forgotten at once.
    pub fn stopped(&mut self, peer: u32) {
        self.known.remove(&peer);
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
