//! Which pieces a peer has, how many copies of each its neighbours hold, and the piece it asks
//! for next: rarest first among what an uploader offers, a random piece for the first
//! (SPEC §2c; Cohen, "Incentives build robustness in BitTorrent", 2003, §2.3).

use rand::RngExt;

use crate::rng::Rng;

/// A set of pieces: bit i set when piece i is held.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Bitfield {
    words: Vec<u64>,
    len: u32,
    count: u32,
}

impl Bitfield {
    /// No piece of `len`.
    pub fn empty(len: u32) -> Self {
        Bitfield { words: vec![0; len.div_ceil(64) as usize], len, count: 0 }
    }

    /// Every piece of `len`.
    pub fn full(len: u32) -> Self {
        let mut b = Bitfield::empty(len);
        for i in 0..len {
            b.insert(i);
        }
        b
    }

    /// Becomes a copy of `other`, keeping its allocation.
    pub fn copy_from(&mut self, other: &Bitfield) {
        self.words.clone_from(&other.words);
        self.len = other.len;
        self.count = other.count;
    }

    /// Pieces in the torrent.
    pub fn len(&self) -> u32 {
        self.len
    }

    /// Pieces held.
    pub fn count(&self) -> u32 {
        self.count
    }

    /// Whether no piece is held.
    pub fn is_empty(&self) -> bool {
        self.count == 0
    }

    /// Whether every piece is held.
    pub fn is_full(&self) -> bool {
        self.count == self.len
    }

    /// Whether piece `i` is held.
    pub fn has(&self, i: u32) -> bool {
        self.words[(i / 64) as usize] & (1 << (i % 64)) != 0
    }

    /// Adds piece `i`; returns whether it was new.
    pub fn insert(&mut self, i: u32) -> bool {
        assert!(i < self.len, "piece {i} of {}", self.len);
        let w = &mut self.words[(i / 64) as usize];
        let bit = 1 << (i % 64);
        let new = *w & bit == 0;
        *w |= bit;
        self.count += new as u32;
        new
    }

    /// Removes piece `i`; returns whether it was held.
    pub fn remove(&mut self, i: u32) -> bool {
        let w = &mut self.words[(i / 64) as usize];
        let bit = 1 << (i % 64);
        let held = *w & bit != 0;
        *w &= !bit;
        self.count -= held as u32;
        held
    }

    /// The pieces held, in increasing order.
    pub fn iter(&self) -> impl Iterator<Item = u32> + '_ {
        (0..self.len).filter(|&i| self.has(i))
    }

    /// How many of its pieces `other` lacks.
    pub fn count_lacked_by(&self, other: &Bitfield) -> u32 {
        let lacked = self.words.iter().zip(&other.words).map(|(&m, &t)| (m & !t).count_ones());
        lacked.sum()
    }

    /// One of its pieces that `other` lacks: the first found from the word of 64 pieces
    /// that piece `from` is in, going round.
    pub fn lacked_by(&self, other: &Bitfield, from: u32) -> Option<u32> {
        let n = self.words.len();
        let start = (from / 64) as usize % n.max(1);
        (start..n).chain(0..start).find_map(|w| {
            let lacked = self.words[w] & !other.words[w];
            (lacked != 0).then(|| w as u32 * 64 + lacked.trailing_zeros())
        })
    }

    /// Whether `other` holds a piece this set lacks.
    pub fn lacks_any_of(&self, other: &Bitfield) -> bool {
        self.words.iter().zip(&other.words).any(|(&mine, &theirs)| theirs & !mine != 0)
    }
}

/// Copies of each piece among each peer's neighbours, every peer's counts in one table: a
/// `have` adds one to a count of each of the sender's neighbours, and a table read with
/// one access each, where a table per peer cost a second cache miss to reach.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Availability {
    pieces: usize,
    /// A peer has at most 3 × [`super::MAX_PEERS`] neighbours (twice that accepted, and the
    /// half connections closing), well within 16 bits.
    copies: Vec<u16>,
}

impl Availability {
    /// No peer yet, in a torrent of `len` pieces.
    pub fn new(len: u32) -> Self {
        Availability { pieces: len as usize, copies: Vec::new() }
    }

    /// A peer with no neighbour joins; returns its index.
    pub fn add_peer(&mut self) -> u32 {
        self.copies.resize(self.copies.len() + self.pieces, 0);
        (self.copies.len() / self.pieces.max(1) - 1) as u32
    }

    /// A neighbour of `peer` holding `pieces` connected.
    pub fn add(&mut self, peer: u32, pieces: &Bitfield) {
        let mine = self.of_mut(peer);
        for i in pieces.iter() {
            mine[i as usize] += 1;
        }
    }

    /// A neighbour of `peer` holding `pieces` went away.
    pub fn remove(&mut self, peer: u32, pieces: &Bitfield) {
        let mine = self.of_mut(peer);
        for i in pieces.iter() {
            mine[i as usize] -= 1;
        }
    }

    /// A neighbour of `peer` announced piece `i`.
    pub fn have(&mut self, peer: u32, i: u32) {
        self.copies[peer as usize * self.pieces + i as usize] += 1;
    }

    /// Copies of each piece among `peer`'s neighbours.
    pub fn of(&self, peer: u32) -> &[u16] {
        let at = peer as usize * self.pieces;
        &self.copies[at..at + self.pieces]
    }

    fn of_mut(&mut self, peer: u32) -> &mut [u16] {
        let at = peer as usize * self.pieces;
        &mut self.copies[at..at + self.pieces]
    }
}

/// The piece a peer holding `mine` (and already fetching `busy`) asks of an uploader holding
/// `theirs`: one the peer lacks and nobody is sending it, the rarest among its neighbours
/// (`avail`, copies by piece), ties broken at random; any such piece, at random, while the peer holds none yet
/// (so that it soon has something to trade). `None` when the uploader has nothing it wants.
pub fn pick(
    mine: &Bitfield,
    busy: &Bitfield,
    theirs: &Bitfield,
    avail: &[u16],
    rng: &mut Rng,
) -> Option<u32> {
    let random_first = mine.is_empty();
    let mut best: Option<(u16, u32)> = None; // (copies, piece)
    let mut ties = 0u32;
    // The pieces it has that we neither hold nor fetch, a word of 64 at a time.
    let words = theirs.words.iter().zip(&mine.words).zip(&busy.words);
    let wanted = words.enumerate().flat_map(|(w, ((&t, &m), &b))| {
        let mut bits = t & !m & !b;
        std::iter::from_fn(move || {
            (bits != 0).then(|| {
                let i = bits.trailing_zeros();
                bits &= bits - 1;
                w as u32 * 64 + i
            })
        })
    });
    for i in wanted {
        let key = if random_first { 0 } else { avail[i as usize] };
        match best {
            Some((c, _)) if key > c => {}
            Some((c, _)) if key == c => {
                // Reservoir sampling: each of the tied pieces is kept with equal chance.
                ties += 1;
                if rng.random_range(0..ties) == 0 {
                    best = Some((key, i));
                }
            }
            _ => {
                best = Some((key, i));
                ties = 1;
            }
        }
    }
    best.map(|(_, i)| i)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    fn bits(len: u32, held: &[u32]) -> Bitfield {
        let mut b = Bitfield::empty(len);
        for &i in held {
            b.insert(i);
        }
        b
    }

    #[test]
    fn a_bitfield_counts_what_it_holds() {
        let mut b = Bitfield::empty(130);
        assert!(b.insert(129) && b.insert(0) && !b.insert(0));
        assert_eq!((b.count(), b.iter().collect::<Vec<_>>()), (2, vec![0, 129]));
        assert!(!b.is_full() && Bitfield::full(130).is_full());
        assert!(b.lacks_any_of(&bits(130, &[64])) && !b.lacks_any_of(&bits(130, &[129])));
    }

    #[test]
    fn the_rarest_wanted_piece_is_picked_once_one_is_held() {
        let mut rng = stream(1, Purpose::Swarm);
        let mut table = Availability::new(6);
        let me = table.add_peer();
        table.add(me, &bits(6, &[0, 1, 2, 3, 4, 5]));
        table.add(me, &bits(6, &[0, 1, 2, 3]));
        table.add(me, &bits(6, &[0, 1, 5]));
        let avail = table.of(me);
        // Copies: 3 3 2 2 1 2. The peer holds 0; piece 4 (one copy) is the rarest offered.
        let mine = bits(6, &[0]);
        let busy = Bitfield::empty(6);
        let seeder = Bitfield::full(6);
        assert_eq!(pick(&mine, &busy, &seeder, avail, &mut rng), Some(4));
        // 4 already coming from elsewhere: 2, 3 and 5 tie at two copies.
        let busy = bits(6, &[4]);
        for _ in 0..50 {
            let p = pick(&mine, &busy, &seeder, avail, &mut rng).unwrap();
            assert!([2, 3, 5].contains(&p));
        }
        // The uploader holds only what the peer has or fetches: nothing to ask.
        assert_eq!(pick(&mine, &busy, &bits(6, &[0, 4]), avail, &mut rng), None);
    }

    #[test]
    fn the_first_piece_is_random_and_ties_are_fair() {
        let mut rng = stream(2, Purpose::Swarm);
        let mut table = Availability::new(4);
        let me = table.add_peer();
        table.add(me, &bits(4, &[0]));
        let avail = table.of(me);
        let empty = Bitfield::empty(4);
        let mut seen = [0u32; 4];
        for _ in 0..4000 {
            let p = pick(&empty, &empty, &Bitfield::full(4), avail, &mut rng).unwrap();
            seen[p as usize] += 1;
        }
        // Piece 0 is the most common, yet a first piece ignores rarity: about 1,000 each.
        assert!(seen.iter().all(|&n| (850..1150).contains(&n)), "{seen:?}");
    }
}
