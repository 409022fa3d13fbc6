//! A BitTorrent swarm (SPEC §2c): one torrent, seeders and leechers that find each other through
//! a tracker, and exchange pieces with rarest-first choice and tit-for-tat unchoking, over
//! capacities they share.
//!
//! [`Swarm`] is the model: every peer's swarm state, the transfers in flight (`flow`), the
//! tracker (`tracker`). It consumes one input at a time (an arrival, a message, a timer, the end
//! of a transfer, a departure) and emits [`Cmd`]s: messages to send, timers to set, transfer
//! completions to schedule, departures. It reads no clock and draws only from the generator it
//! is given. `run` drives it on the engine for a tracker-discovered swarm.
//!
//! Modelling choices where SPEC §2c is silent, each as the reference client does or the simplest
//! that keeps the measured quantities right:
//! - a neighbour relation is a connection both sides accept; a peer opens connections while it
//!   has fewer than `max_peers` and accepts them while it has fewer than twice that, as the
//!   reference client did (`max_initiate` 40, `max_allow_in` 80): with one limit for both, a
//!   flash crowd larger than it splits into cliques, the late half connected only to itself;
//!   bitfields are exchanged on connecting, `have` messages after each piece;
//! - a downloader asks one piece at a time of each neighbour that unchokes it; the first request
//!   costs a one-way latency, and the next piece from the same uploader starts as the previous
//!   one ends (requests are pipelined, as clients do to keep the link busy);
//! - a choke takes effect after the piece in flight; a peer unchokes a newly interested
//!   neighbour at once while it has a regular slot free, and otherwise at its next rechoke
//!   (every 10 s: the `unchoke_slots` interested neighbours that sent it the most in the last
//!   10 s, or, for a seeder, those it sent the most; plus one optimistic unchoke, drawn again
//!   every 30 s);
//! - bytes count when a piece completes: a piece cut off by a departure counts for nobody;
//! - a departing peer's transfers stop at once; its neighbours drop it one latency later; a
//!   connection request to a peer that has left is given up after [`CONNECT_TIMEOUT`].

pub mod flow;
pub mod pieces;
pub mod run;
pub mod tracker;

use std::collections::{BTreeSet, VecDeque};

use rand::RngExt;
use rand::seq::SliceRandom;

use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};
use flow::{Completion, Flows, TransferId};
use pieces::{Availability, Bitfield};
use tracker::Tracker;

/// Upload and download capacities of a class of peers, and its weight among arrivals.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CapacityClass {
    /// Relative share of the leechers in this class.
    pub weight: u32,
    /// Upload capacity, kbit/s (> 0).
    pub up_kbps: u64,
    /// Download capacity, kbit/s (> 0).
    pub down_kbps: u64,
}

/// How peers find the swarm (`swarm.discovery`, SPEC §2c).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Discovery {
    /// Announces to the tracker, which answers with peers drawn at random.
    Tracker,
    /// Announces stored in the DHT under the infohash, and peers found by looking it up.
    Dht,
    /// Both, at every announce.
    Both,
}

impl Discovery {
    /// Whether peers announce to the tracker.
    pub fn tracker(self) -> bool {
        matches!(self, Discovery::Tracker | Discovery::Both)
    }

    /// Whether peers announce in the DHT.
    pub fn dht(self) -> bool {
        matches!(self, Discovery::Dht | Discovery::Both)
    }

    /// Its name in scenario files.
    pub fn name(self) -> &'static str {
        match self {
            Discovery::Tracker => "tracker",
            Discovery::Dht => "dht",
            Discovery::Both => "both",
        }
    }
}

/// A swarm's settings (`[swarm]`, SPEC §2c and §4).
#[derive(Clone, Debug, PartialEq)]
pub struct SwarmConfig {
    /// Pieces of the file (> 0).
    pub pieces: u32,
    /// Size of a piece, KiB (> 0).
    pub piece_kib: u32,
    /// Peers holding the whole file at time zero.
    pub seeders: u32,
    /// The initial seeders' capacities.
    pub seeder: CapacityClass,
    /// Leechers arriving at once, at `flash_at`.
    pub flash_crowd: u32,
    /// When the flash crowd arrives.
    pub flash_at: SimTime,
    /// Leechers arriving as a Poisson process, per second (0: none).
    pub arrivals_per_s: f64,
    /// When Poisson arrivals stop.
    pub arrivals_until: SimTime,
    /// Leechers' capacity classes, drawn by weight for each arrival.
    pub classes: Vec<CapacityClass>,
    /// How long a leecher stays once complete (`None`: to the end).
    pub seed_time: Option<SimDuration>,
    /// Period of a peer's announces.
    pub announce: SimDuration,
    /// Peers a tracker answer names at most.
    pub numwant: u32,
    /// Connections a peer opens at most (it accepts up to twice as many).
    pub max_peers: u32,
    /// Regular unchoke slots.
    pub unchoke_slots: u32,
    /// Times the tracker goes down (`false`) and comes back (`true`), in order.
    pub tracker_events: Vec<(SimTime, bool)>,
    /// How peers find each other.
    pub discovery: Discovery,
    /// The torrent's key in the DHT.
    pub infohash: crate::ring::RingId,
    /// How long a leecher stays before it aborts (drawn per leecher from the swarm's arrivals
    /// stream), and the share of aborts that are crashes; `None`: leechers never abort.
    pub aborts: Option<(crate::churn::SessionDist, f64)>,
}

impl SwarmConfig {
    /// Bits in a piece.
    pub fn piece_bits(&self) -> u64 {
        u64::from(self.piece_kib) * 1024 * 8
    }
}

/// Where a message goes: a peer (by swarm index) or the tracker.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Addr {
    /// A peer.
    Peer(u32),
    /// The tracker.
    Tracker,
}

/// What peers (and the tracker) tell each other.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Msg {
    /// To the tracker: here I am (and, `stopped`, I am leaving).
    Announce {
        /// A graceful departure's last announce.
        stopped: bool,
        /// The announcer holds every piece (what a tracker's scrape counts).
        complete: bool,
    },
    /// To the tracker: I have just completed (BitTorrent's `event=completed`); no answer.
    Completed,
    /// The tracker's answer.
    Peers(Vec<u32>),
    /// A connection request, with the sender's pieces.
    Hello(Bitfield),
    /// The connection is accepted, with the answerer's pieces.
    Welcome(Bitfield),
    /// The connection is refused: no room.
    Busy,
    /// The sender now has this piece.
    Have(u32),
    /// Whether the sender wants something the receiver has.
    Interested(bool),
    /// The sender chokes (`true`) or unchokes (`false`) the receiver.
    Choke(bool),
    /// Send me this piece.
    Request(u32),
    /// The sender is gone.
    Closed,
}

/// A peer's periodic timers.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Timer {
    /// Announce to the tracker again.
    Announce,
    /// Recompute whom to unchoke.
    Rechoke,
    /// Give up on a connection request to this peer if it is still unanswered (the peer left).
    Connect(u32),
}

/// What the model asks its driver to do.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Cmd {
    /// Deliver `msg` from `from` to `to` one latency from now.
    Send {
        /// Sender.
        from: Addr,
        /// Receiver.
        to: Addr,
        /// Payload.
        msg: Msg,
    },
    /// Fire `timer` at `peer` after `after`.
    Timer {
        /// Whose.
        peer: u32,
        /// Which.
        timer: Timer,
        /// When, from now.
        after: SimDuration,
    },
    /// Call [`Swarm::transfer_done`] with this at its time, if still current.
    Complete(Completion),
    /// Call [`Swarm::depart`] for `peer` after `after` (a seed time that ends).
    Leave {
        /// Who.
        peer: u32,
        /// When, from now.
        after: SimDuration,
    },
    /// `peer` announces in the DHT: store (infohash, itself) at the key's owners and look the
    /// key up; the holders found go to [`Swarm::dht_answer`].
    DhtAnnounce {
        /// Who.
        peer: u32,
    },
}

/// What is measured of a peer (SPEC §5, `downloads.csv`).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PeerRecord {
    /// Arrival.
    pub arrive: SimTime,
    /// Whether it was an initial seeder.
    pub initial_seeder: bool,
    /// First peer known: a tracker answer naming one, or a peer connecting to it.
    pub first_peer: Option<SimTime>,
    /// First piece received.
    pub first_piece: Option<SimTime>,
    /// Last piece received.
    pub complete: Option<SimTime>,
    /// Departure.
    pub leave: Option<SimTime>,
    /// Bytes of pieces sent.
    pub bytes_up: u64,
    /// Of those, bytes sent while it held every piece (seeding).
    pub bytes_up_seeding: u64,
    /// Bytes of pieces received.
    pub bytes_down: u64,
    /// Messages to and from the tracker.
    pub discovery_messages: u64,
}

/// A neighbour, as a peer sees it.
#[derive(Clone, Debug)]
struct Nbr {
    have: Bitfield,
    /// Pieces it has that we lack: we are interested while there is one. Kept as pieces arrive
    /// on either side, so a `have` costs a test, not a scan of both bitfields.
    wanted: u32,
    /// It wants something of ours.
    interested: bool,
    /// We want something of its.
    interesting: bool,
    /// We choke it.
    choking: bool,
    /// It chokes us.
    choked: bool,
    /// The piece we asked of it and are waiting for (request sent, transfer not yet begun).
    requested: Option<u32>,
    /// Our transfer to it.
    upload: Option<TransferId>,
    /// Its transfer to us.
    download: Option<TransferId>,
    /// Bytes it sent us since the last rechoke.
    got: u64,
    /// Bytes we sent it since the last rechoke.
    gave: u64,
    /// Rechokes in a row at which neither side wanted anything of the other.
    idle: u32,
}

/// A peer's neighbours by swarm index, in index order, as two parallel arrays: a search reads a
/// few cache lines of indices, where a `BTreeMap`'s walk missed the cache at every node (22 % of
/// a flash crowd's time). The same order as the map it replaced, so the same results.
#[derive(Clone, Debug, Default)]
struct Nbrs {
    keys: Vec<u32>,
    vals: Vec<Nbr>,
}

impl Nbrs {
    fn get(&self, k: &u32) -> Option<&Nbr> {
        self.keys.binary_search(k).ok().map(|i| &self.vals[i])
    }

    fn get_mut(&mut self, k: &u32) -> Option<&mut Nbr> {
        self.keys.binary_search(k).ok().map(|i| &mut self.vals[i])
    }

    fn contains_key(&self, k: &u32) -> bool {
        self.keys.binary_search(k).is_ok()
    }

    fn insert(&mut self, k: u32, v: Nbr) {
        match self.keys.binary_search(&k) {
            Ok(i) => self.vals[i] = v,
            Err(i) => {
                self.keys.insert(i, k);
                self.vals.insert(i, v);
            }
        }
    }

    fn remove(&mut self, k: &u32) -> Option<Nbr> {
        let i = self.keys.binary_search(k).ok()?;
        self.keys.remove(i);
        Some(self.vals.remove(i))
    }

    fn len(&self) -> usize {
        self.keys.len()
    }

    fn keys(&self) -> std::slice::Iter<'_, u32> {
        self.keys.iter()
    }

    fn iter(&self) -> impl Iterator<Item = (&u32, &Nbr)> {
        self.keys.iter().zip(&self.vals)
    }

    fn iter_mut(&mut self) -> impl Iterator<Item = (&u32, &mut Nbr)> {
        self.keys.iter().zip(&mut self.vals)
    }
}

/// A peer's swarm state.
#[derive(Clone, Debug)]
struct SPeer {
    have: Bitfield,
    /// Pieces on their way to it (requested or in transfer).
    busy: Bitfield,
    avail: Availability,
    nbrs: Nbrs,
    /// Peers named by the tracker and not tried yet, in the order named.
    candidates: VecDeque<u32>,
    /// Connection requests sent, not answered.
    pending: BTreeSet<u32>,
    optimistic: Option<u32>,
    rechokes: u32,
    alive: bool,
    rec: PeerRecord,
}

/// The swarm: its peers, transfers and tracker.
#[derive(Clone, Debug)]
pub struct Swarm {
    cfg: SwarmConfig,
    peers: Vec<SPeer>,
    flows: Flows,
    tracker: Tracker,
    /// Live peers holding each piece.
    copies: Vec<u32>,
    /// Live peers holding every piece, and the others.
    seeders: u64,
    leechers: u64,
}

/// How often a peer recomputes its unchokes.
pub const RECHOKE: SimDuration = SimDuration(10_000);
/// How long a peer waits for an answer to a connection request: TCP's classic initial
/// retransmission timeout (RFC 1122), after which a peer that left (a tracker may still name it)
/// no longer holds one of its `max_peers` places.
pub const CONNECT_TIMEOUT: SimDuration = SimDuration(3_000);
/// A connection over which neither side has wanted anything for this many rechokes (600 s,
/// libtorrent's `inactivity_timeout`) is closed, making room for other peers.
const INACTIVE_RECHOKES: u32 = 60;
/// An optimistic unchoke is drawn again every this many rechokes (30 s).
const OPTIMISTIC_EVERY: u32 = 3;

impl Swarm {
    /// An empty swarm; the tracker forgets a peer silent for two announce periods.
    pub fn new(cfg: SwarmConfig) -> Self {
        let keep = SimDuration::from_ms(cfg.announce.as_ms().saturating_mul(2));
        let copies = vec![0; cfg.pieces as usize];
        Swarm {
            cfg,
            peers: Vec::new(),
            flows: Flows::default(),
            tracker: Tracker::new(keep),
            copies,
            seeders: 0,
            leechers: 0,
        }
    }

    /// Its settings.
    pub fn config(&self) -> &SwarmConfig {
        &self.cfg
    }

    /// The tracker.
    pub fn tracker(&self) -> &Tracker {
        &self.tracker
    }

    /// Takes the tracker down or brings it back.
    pub fn set_tracker_up(&mut self, up: bool) {
        self.tracker.set_up(up);
    }

    /// What was measured of each peer, by swarm index.
    pub fn records(&self) -> impl Iterator<Item = &PeerRecord> {
        self.peers.iter().map(|p| &p.rec)
    }

    /// Whether `peer` is still in the swarm.
    pub fn is_alive(&self, peer: u32) -> bool {
        self.peers.get(peer as usize).is_some_and(|p| p.alive)
    }

    /// Pieces `peer` holds.
    pub fn pieces_of(&self, peer: u32) -> &Bitfield {
        &self.peers[peer as usize].have
    }

    /// Live seeders and leechers.
    pub fn population(&self) -> (u64, u64) {
        (self.seeders, self.leechers)
    }

    /// Copies of the rarest piece among live peers.
    pub fn rarest_copies(&self) -> u32 {
        self.copies.iter().copied().min().unwrap_or(0)
    }

    // ----- inputs -----

    /// A peer arrives at `now` with these capacities, holding every piece (`seeder`) or none.
    /// Returns its swarm index. It announces and starts its rechoke timer.
    pub fn arrive(
        &mut self,
        now: SimTime,
        class: CapacityClass,
        seeder: bool,
        out: &mut Vec<Cmd>,
    ) -> u32 {
        let idx = self.flows.add_peer(class.up_kbps, class.down_kbps);
        let n = self.cfg.pieces;
        let have = if seeder { Bitfield::full(n) } else { Bitfield::empty(n) };
        if seeder {
            self.copies.iter_mut().for_each(|c| *c += 1);
            self.seeders += 1;
        } else {
            self.leechers += 1;
        }
        self.peers.push(SPeer {
            have,
            busy: Bitfield::empty(n),
            avail: Availability::new(n),
            nbrs: Nbrs::default(),
            candidates: VecDeque::new(),
            pending: BTreeSet::new(),
            optimistic: None,
            rechokes: 0,
            alive: true,
            rec: PeerRecord { arrive: now, initial_seeder: seeder, ..PeerRecord::default() },
        });
        self.announce(idx, false, out);
        out.push(Cmd::Timer { peer: idx, timer: Timer::Announce, after: self.cfg.announce });
        out.push(Cmd::Timer { peer: idx, timer: Timer::Rechoke, after: RECHOKE });
        idx
    }

    /// A timer of `peer` fires.
    pub fn timer(&mut self, peer: u32, timer: Timer, rng: &mut Rng, out: &mut Vec<Cmd>) {
        if !self.is_alive(peer) {
            return;
        }
        match timer {
            Timer::Announce => {
                self.announce(peer, false, out);
                out.push(Cmd::Timer { peer, timer, after: self.cfg.announce });
            }
            Timer::Rechoke => {
                self.close_idle(peer, out);
                self.rechoke(peer, rng, out);
                out.push(Cmd::Timer { peer, timer, after: RECHOKE });
            }
            Timer::Connect(q) => {
                if self.peers[peer as usize].pending.remove(&q) {
                    self.connect_more(peer, out);
                }
            }
        }
    }

    /// `msg` from `from` arrives at `to` at `now`. Messages to a departed peer are lost.
    pub fn deliver(
        &mut self,
        now: SimTime,
        from: Addr,
        to: Addr,
        msg: Msg,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        let peer = match to {
            Addr::Tracker => return self.at_tracker(now, from, msg, rng, out),
            Addr::Peer(p) if self.is_alive(p) => p,
            Addr::Peer(_) => return,
        };
        let Addr::Peer(from) = from else {
            // The tracker's answer.
            if let Msg::Peers(list) = msg {
                self.peers[peer as usize].rec.discovery_messages += 1;
                self.peers_named(now, peer, list, out);
            }
            return;
        };
        match msg {
            Msg::Hello(have) => {
                let p = &self.peers[peer as usize];
                if p.nbrs.contains_key(&from) {
                    return;
                }
                if p.nbrs.len() + p.pending.len() >= 2 * self.cfg.max_peers as usize
                    && !p.pending.contains(&from)
                {
                    out.push(Cmd::Send {
                        from: Addr::Peer(peer),
                        to: Addr::Peer(from),
                        msg: Msg::Busy,
                    });
                    return;
                }
                let mine = p.have.clone();
                out.push(Cmd::Send {
                    from: Addr::Peer(peer),
                    to: Addr::Peer(from),
                    msg: Msg::Welcome(mine),
                });
                self.connected(now, peer, from, have, out);
            }
            Msg::Welcome(have) => {
                let p = &mut self.peers[peer as usize];
                if p.pending.remove(&from) {
                    if !p.nbrs.contains_key(&from) {
                        self.connected(now, peer, from, have, out);
                    }
                } else if !p.nbrs.contains_key(&from) {
                    // Accepted after we gave up on it: the other side would keep a half
                    // connection.
                    out.push(Cmd::Send {
                        from: Addr::Peer(peer),
                        to: Addr::Peer(from),
                        msg: Msg::Closed,
                    });
                }
            }
            Msg::Busy => {
                self.peers[peer as usize].pending.remove(&from);
                self.connect_more(peer, out);
            }
            Msg::Have(piece) => {
                let p = &mut self.peers[peer as usize];
                let Some(n) = p.nbrs.get_mut(&from) else { return };
                if n.have.insert(piece) {
                    p.avail.have(piece);
                    n.wanted += u32::from(!p.have.has(piece));
                }
                self.update_interest(peer, from, out);
                self.request(peer, from, rng, out);
            }
            Msg::Interested(yes) => {
                let free = self.regular_unchoked(peer) < self.cfg.unchoke_slots;
                let Some(n) = self.peers[peer as usize].nbrs.get_mut(&from) else { return };
                n.interested = yes;
                if yes && n.choking && free {
                    n.choking = false;
                    out.push(Cmd::Send {
                        from: Addr::Peer(peer),
                        to: Addr::Peer(from),
                        msg: Msg::Choke(false),
                    });
                }
            }
            Msg::Choke(choke) => {
                let p = &mut self.peers[peer as usize];
                let Some(n) = p.nbrs.get_mut(&from) else { return };
                n.choked = choke;
                if choke {
                    // A request it will not serve: the piece may be asked of someone else.
                    if let Some(piece) = n.requested.take() {
                        p.busy_remove(piece);
                        self.request_all(peer, rng, out);
                    }
                } else {
                    self.request(peer, from, rng, out);
                }
            }
            Msg::Request(piece) => self.serve(now, peer, from, piece, out),
            Msg::Closed => self.drop_neighbour(now, peer, from, rng, out),
            Msg::Announce { .. } | Msg::Completed | Msg::Peers(_) => {}
        }
    }

    /// A transfer's scheduled completion comes due. Ignored unless it is the transfer's latest.
    pub fn transfer_done(
        &mut self,
        now: SimTime,
        c: Completion,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        if !self.flows.is_current(&c) {
            return;
        }
        let (t, moved) = self.flows.stop(now, c.id);
        out.extend(moved.into_iter().map(Cmd::Complete));
        let bytes = self.cfg.piece_bits() / 8;
        let (up, down) = (t.up, t.down);
        {
            let u = &mut self.peers[up as usize];
            u.rec.bytes_up += bytes;
            if u.have.is_full() {
                u.rec.bytes_up_seeding += bytes;
            }
            if let Some(n) = u.nbrs.get_mut(&down) {
                n.upload = None;
                n.gave += bytes;
            }
        }
        let d = &mut self.peers[down as usize];
        d.rec.bytes_down += bytes;
        d.busy_remove(t.piece);
        if let Some(n) = d.nbrs.get_mut(&up) {
            n.download = None;
            n.got += bytes;
        }
        if d.have.insert(t.piece) {
            self.copies[t.piece as usize] += 1;
            for n in d.nbrs.vals.iter_mut() {
                n.wanted -= u32::from(n.have.has(t.piece));
            }
        }
        d.rec.first_piece.get_or_insert(now);
        let complete = d.have.is_full();
        let nbrs: Vec<u32> = d.nbrs.keys().copied().collect();
        for &x in &nbrs {
            out.push(Cmd::Send {
                from: Addr::Peer(down),
                to: Addr::Peer(x),
                msg: Msg::Have(t.piece),
            });
        }
        if complete {
            if self.cfg.discovery.tracker() {
                self.peers[down as usize].rec.discovery_messages += 1;
                out.push(Cmd::Send {
                    from: Addr::Peer(down),
                    to: Addr::Tracker,
                    msg: Msg::Completed,
                });
            }
            self.peers[down as usize].rec.complete = Some(now);
            self.leechers -= 1;
            self.seeders += 1;
            if let Some(after) = self.cfg.seed_time {
                out.push(Cmd::Leave { peer: down, after });
            }
        }
        for &x in &nbrs {
            self.update_interest(down, x, out);
        }
        // The next piece from the same uploader starts at once: it was requested ahead.
        let still = self.peers[up as usize].nbrs.get(&down).is_some_and(|n| !n.choking);
        if still
            && self.is_alive(up)
            && let Some(piece) = self.choose(down, up, rng)
        {
            self.peers[down as usize].busy.insert(piece);
            self.start_transfer(now, up, down, piece, out);
        }
        self.request_all(down, rng, out);
        self.request_all(up, rng, out);
    }

    /// `peer` leaves at `now` (`graceful`: it tells the tracker). Its transfers stop; its
    /// neighbours learn it one latency later.
    pub fn depart(&mut self, now: SimTime, peer: u32, graceful: bool, out: &mut Vec<Cmd>) {
        if !self.is_alive(peer) {
            return;
        }
        let ids: Vec<TransferId> =
            self.flows.uploads(peer).iter().chain(self.flows.downloads(peer)).copied().collect();
        for id in ids {
            let (t, moved) = self.flows.stop(now, id);
            out.extend(moved.into_iter().map(Cmd::Complete));
            let other = if t.up == peer { t.down } else { t.up };
            let o = &mut self.peers[other as usize];
            if let Some(n) = o.nbrs.get_mut(&peer) {
                if t.up == peer {
                    n.download = None;
                    o.busy_remove(t.piece);
                } else {
                    n.upload = None;
                }
            }
        }
        let p = &mut self.peers[peer as usize];
        p.alive = false;
        p.rec.leave = Some(now);
        if p.have.is_full() {
            self.seeders -= 1;
        } else {
            self.leechers -= 1;
        }
        for i in p.have.iter() {
            self.copies[i as usize] -= 1;
        }
        if graceful {
            self.announce(peer, true, out);
        }
        for &x in self.peers[peer as usize].nbrs.keys() {
            out.push(Cmd::Send { from: Addr::Peer(peer), to: Addr::Peer(x), msg: Msg::Closed });
        }
    }

    // ----- tracker -----

    fn announce(&mut self, peer: u32, stopped: bool, out: &mut Vec<Cmd>) {
        if self.cfg.discovery.tracker() {
            self.peers[peer as usize].rec.discovery_messages += 1;
            out.push(Cmd::Send {
                from: Addr::Peer(peer),
                to: Addr::Tracker,
                msg: Msg::Announce { stopped, complete: self.peers[peer as usize].have.is_full() },
            });
        }
        // A DHT entry is not withdrawn: it stays until the entry's holder is asked and is gone,
        // as with BEP 5's peers that expire rather than leave.
        if self.cfg.discovery.dht() && !stopped {
            out.push(Cmd::DhtAnnounce { peer });
        }
    }

    /// A DHT lookup of the infohash by `peer` found these `holders` (swarm indices; the
    /// `messages` it took are counted as its discovery messages): up to `numwant` of the others,
    /// drawn at random, become candidates, as a tracker's answer would.
    pub fn dht_answer(
        &mut self,
        now: SimTime,
        peer: u32,
        mut holders: Vec<u32>,
        messages: u64,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        if !self.is_alive(peer) {
            return;
        }
        self.peers[peer as usize].rec.discovery_messages += messages;
        holders.retain(|&h| h != peer);
        let n = holders.len().min(self.cfg.numwant as usize);
        let chosen = holders.partial_shuffle(rng, n).0.to_vec();
        self.peers_named(now, peer, chosen, out);
    }

    /// Counts `messages` more discovery messages of `peer` (a DHT store of its announce).
    pub fn count_discovery(&mut self, peer: u32, messages: u64) {
        self.peers[peer as usize].rec.discovery_messages += messages;
    }

    fn at_tracker(
        &mut self,
        now: SimTime,
        from: Addr,
        msg: Msg,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        let Addr::Peer(peer) = from else { return };
        let (stopped, complete) = match msg {
            Msg::Announce { stopped, complete } => (stopped, complete),
            Msg::Completed => {
                self.tracker.completed(peer);
                return;
            }
            _ => return,
        };
        if stopped {
            self.tracker.requests += 1;
            if self.tracker.is_up() {
                self.tracker.stopped(peer);
            }
            return;
        }
        // A peer that left after announcing is still named until it is forgotten, as a real
        // tracker would.
        let numwant = self.cfg.numwant as usize;
        if let Some(list) = self.tracker.announce(now, peer, complete, numwant, rng) {
            out.push(Cmd::Send {
                from: Addr::Tracker,
                to: Addr::Peer(peer),
                msg: Msg::Peers(list),
            });
        }
    }

    fn peers_named(&mut self, now: SimTime, peer: u32, list: Vec<u32>, out: &mut Vec<Cmd>) {
        let p = &mut self.peers[peer as usize];
        if !list.is_empty() {
            p.rec.first_peer.get_or_insert(now);
        }
        for q in list {
            if q != peer
                && !p.nbrs.contains_key(&q)
                && !p.pending.contains(&q)
                && !p.candidates.contains(&q)
            {
                p.candidates.push_back(q);
            }
        }
        self.connect_more(peer, out);
    }

    // ----- connections -----

    /// Sends connection requests to candidates while there is room.
    fn connect_more(&mut self, peer: u32, out: &mut Vec<Cmd>) {
        let max = self.cfg.max_peers as usize;
        let p = &mut self.peers[peer as usize];
        while p.nbrs.len() + p.pending.len() < max {
            let Some(q) = p.candidates.pop_front() else { break };
            p.pending.insert(q);
            let hello = Msg::Hello(p.have.clone());
            out.push(Cmd::Send { from: Addr::Peer(peer), to: Addr::Peer(q), msg: hello });
            out.push(Cmd::Timer { peer, timer: Timer::Connect(q), after: CONNECT_TIMEOUT });
        }
    }

    fn connected(
        &mut self,
        now: SimTime,
        peer: u32,
        other: u32,
        have: Bitfield,
        out: &mut Vec<Cmd>,
    ) {
        let p = &mut self.peers[peer as usize];
        p.rec.first_peer.get_or_insert(now);
        p.pending.remove(&other);
        p.candidates.retain(|&q| q != other);
        p.avail.add(&have);
        let wanted = have.count_lacked_by(&p.have);
        let n = Nbr {
            have,
            wanted,
            interested: false,
            interesting: false,
            choking: true,
            choked: true,
            requested: None,
            upload: None,
            download: None,
            got: 0,
            gave: 0,
            idle: 0,
        };
        p.nbrs.insert(other, n);
        self.update_interest(peer, other, out);
    }

    fn drop_neighbour(
        &mut self,
        now: SimTime,
        peer: u32,
        gone: u32,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        let p = &mut self.peers[peer as usize];
        p.pending.remove(&gone);
        let Some(n) = p.nbrs.remove(&gone) else { return };
        p.avail.remove(&n.have);
        if let Some(piece) = n.requested {
            p.busy_remove(piece);
        }
        if p.optimistic == Some(gone) {
            p.optimistic = None;
        }
        // A connection closed by a peer still here (a refused half connection): its transfers
        // stop too.
        for id in [n.upload, n.download].into_iter().flatten() {
            let (t, moved) = self.flows.stop(now, id);
            out.extend(moved.into_iter().map(Cmd::Complete));
            let (d, u) = (t.down, t.up);
            self.peers[d as usize].busy_remove(t.piece);
            if let Some(x) = self.peers[u as usize].nbrs.get_mut(&d) {
                x.upload = None;
            }
            if let Some(x) = self.peers[d as usize].nbrs.get_mut(&u) {
                x.download = None;
            }
        }
        self.connect_more(peer, out);
        self.request_all(peer, rng, out);
    }

    // ----- interest, choking, requests -----

    /// Tells `other` whether `peer` now wants something it has, when that changed.
    fn update_interest(&mut self, peer: u32, other: u32, out: &mut Vec<Cmd>) {
        let p = &mut self.peers[peer as usize];
        let Some(n) = p.nbrs.get_mut(&other) else { return };
        debug_assert_eq!(n.wanted, n.have.count_lacked_by(&p.have), "wanted pieces kept");
        let wants = n.wanted > 0;
        if wants != n.interesting {
            n.interesting = wants;
            out.push(Cmd::Send {
                from: Addr::Peer(peer),
                to: Addr::Peer(other),
                msg: Msg::Interested(wants),
            });
        }
    }

    /// Neighbours `peer` unchokes by merit (its optimistic unchoke left out).
    fn regular_unchoked(&self, peer: u32) -> u32 {
        let p = &self.peers[peer as usize];
        p.nbrs.iter().filter(|&(&q, n)| !n.choking && p.optimistic != Some(q)).count() as u32
    }

    fn rechoke(&mut self, peer: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let slots = self.cfg.unchoke_slots as usize;
        let p = &mut self.peers[peer as usize];
        let seeding = p.have.is_full();
        let mut ranked: Vec<(u32, u64)> = p
            .nbrs
            .iter()
            .filter(|(_, n)| n.interested)
            .map(|(&q, n)| (q, if seeding { n.gave } else { n.got }))
            .collect();
        ranked.shuffle(rng); // ties in random order
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
        let mut unchoke: BTreeSet<u32> = ranked.iter().take(slots).map(|r| r.0).collect();
        p.rechokes += 1;
        let keep = p
            .optimistic
            .filter(|q| p.nbrs.get(q).is_some_and(|n| n.interested) && !unchoke.contains(q));
        p.optimistic = if p.rechokes % OPTIMISTIC_EVERY == 1 || keep.is_none() {
            let rest: Vec<u32> =
                ranked.iter().map(|r| r.0).filter(|q| !unchoke.contains(q)).collect();
            if rest.is_empty() { None } else { Some(rest[rng.random_range(0..rest.len())]) }
        } else {
            keep
        };
        unchoke.extend(p.optimistic);
        for (&q, n) in p.nbrs.iter_mut() {
            let choke = !unchoke.contains(&q);
            if choke != n.choking {
                n.choking = choke;
                out.push(Cmd::Send {
                    from: Addr::Peer(peer),
                    to: Addr::Peer(q),
                    msg: Msg::Choke(choke),
                });
            }
            n.got = 0;
            n.gave = 0;
        }
    }

    /// Closes `peer`'s connections that serve nothing, as libtorrent does: one between two
    /// seeders (`close_redundant_connections`), and one over which neither side has wanted
    /// anything for [`INACTIVE_RECHOKES`] rechokes (`inactivity_timeout`). Without the second, a
    /// flash crowd larger than `max_peers` leaves a group of empty-handed newcomers connected
    /// only to each other, for good. Then it tries the candidates it has left.
    fn close_idle(&mut self, peer: u32, out: &mut Vec<Cmd>) {
        let p = &mut self.peers[peer as usize];
        let seeding = p.have.is_full();
        let mut closing = Vec::new();
        for (&q, n) in p.nbrs.iter_mut() {
            let idle = !n.interested && !n.interesting;
            n.idle = if idle { n.idle + 1 } else { 0 };
            let quiet = n.upload.is_none() && n.download.is_none() && n.requested.is_none();
            if idle && quiet && ((seeding && n.have.is_full()) || n.idle >= INACTIVE_RECHOKES) {
                closing.push(q);
            }
        }
        for &q in &closing {
            let p = &mut self.peers[peer as usize];
            let n = p.nbrs.remove(&q).expect("a neighbour");
            p.avail.remove(&n.have);
            if p.optimistic == Some(q) {
                p.optimistic = None;
            }
            out.push(Cmd::Send { from: Addr::Peer(peer), to: Addr::Peer(q), msg: Msg::Closed });
        }
        if !closing.is_empty() {
            self.connect_more(peer, out);
        }
    }

    /// The piece `peer` would ask of `from` now.
    fn choose(&self, peer: u32, from: u32, rng: &mut Rng) -> Option<u32> {
        let p = &self.peers[peer as usize];
        let n = p.nbrs.get(&from)?;
        pieces::pick(&p.have, &p.busy, &n.have, &p.avail, rng)
    }

    /// `peer` asks `from`, which unchokes it, for a piece if it has none coming from there.
    fn request(&mut self, peer: u32, from: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let ready = self.peers[peer as usize]
            .nbrs
            .get(&from)
            .is_some_and(|n| !n.choked && n.requested.is_none() && n.download.is_none());
        if !ready {
            return;
        }
        let Some(piece) = self.choose(peer, from, rng) else { return };
        let p = &mut self.peers[peer as usize];
        p.busy.insert(piece);
        p.nbrs.get_mut(&from).expect("checked").requested = Some(piece);
        out.push(Cmd::Send {
            from: Addr::Peer(peer),
            to: Addr::Peer(from),
            msg: Msg::Request(piece),
        });
    }

    /// `peer` asks every neighbour that unchokes it and sends it nothing for a piece.
    fn request_all(&mut self, peer: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        if !self.is_alive(peer) || self.peers[peer as usize].have.is_full() {
            return;
        }
        let ready: Vec<u32> = self.peers[peer as usize]
            .nbrs
            .iter()
            .filter(|(_, n)| !n.choked && n.requested.is_none() && n.download.is_none())
            .map(|(&q, _)| q)
            .collect();
        for q in ready {
            self.request(peer, q, rng, out);
        }
    }

    /// `peer` receives `from`'s request for `piece`.
    fn serve(&mut self, now: SimTime, peer: u32, from: u32, piece: u32, out: &mut Vec<Cmd>) {
        if !self.is_alive(from) {
            return; // its connection is gone
        }
        let p = &self.peers[peer as usize];
        let Some(n) = p.nbrs.get(&from) else { return };
        if n.choking || n.upload.is_some() || !p.have.has(piece) {
            // Not served: a choke tells the requester to ask elsewhere.
            out.push(Cmd::Send {
                from: Addr::Peer(peer),
                to: Addr::Peer(from),
                msg: Msg::Choke(true),
            });
            return;
        }
        if let Some(d) = self.peers[from as usize].nbrs.get_mut(&peer) {
            d.requested = None;
        }
        self.start_transfer(now, peer, from, piece, out);
    }

    fn start_transfer(&mut self, now: SimTime, up: u32, down: u32, piece: u32, out: &mut Vec<Cmd>) {
        let (id, moved) = self.flows.start(now, up, down, piece, self.cfg.piece_bits());
        out.extend(moved.into_iter().map(Cmd::Complete));
        if let Some(n) = self.peers[up as usize].nbrs.get_mut(&down) {
            n.upload = Some(id);
        }
        if let Some(n) = self.peers[down as usize].nbrs.get_mut(&up) {
            n.download = Some(id);
        }
    }
}

impl SPeer {
    fn busy_remove(&mut self, piece: u32) {
        self.busy.remove(piece);
    }
}
