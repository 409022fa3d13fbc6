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
//! - each side of a connection sends its bitfield with its hello or welcome; a piece completed
//!   later is announced by a `have` that reaches all the neighbours together, one latency
//!   (drawn once) after the completion. Each peer knows a neighbour's pieces as those in the
//!   bitfield plus those whose `have` has arrived: a view read from the neighbour's own pieces,
//!   not a copy kept per neighbour;
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
    /// A connection request, with the sender's pieces: those it completed before `since`
    /// (the swarm's count of completions when it was sent).
    Hello {
        /// Its bitfield's date.
        since: u32,
    },
    /// The connection is accepted, with the answerer's pieces as of `since`.
    Welcome {
        /// Its bitfield's date.
        since: u32,
    },
    /// The connection is refused: no room.
    Busy,
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
    /// `peer` tells its neighbours it now has `piece`: call [`Swarm::have_arrives`] one
    /// latency from now. One latency for all of them, drawn once: the neighbours hear of a
    /// piece together, and a `have` costs one event, not one per neighbour.
    Have {
        /// Who.
        peer: u32,
        /// Its new piece.
        piece: u32,
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
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
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

/// One end's state of a connection: what it knows of the other end and has agreed with it.
#[derive(Clone, Copy, Debug)]
struct Half {
    /// This end counts the other among its neighbours. A connection lives while either end
    /// does; the other end's half of a connection closed on one side waits for the `Closed`.
    linked: bool,
    /// The other end wants something of ours.
    interested: bool,
    /// We want something of the other end's.
    interesting: bool,
    /// We choke the other end.
    choking: bool,
    /// The other end chokes us.
    choked: bool,
    /// Rechokes in a row at which neither side wanted anything of the other.
    idle: u16,
    /// The other end's pieces known here: those it completed before its bitfield was sent to
    /// this end (this is how many it held then), and the later ones whose `have` has arrived.
    since: u32,
    /// The piece we asked of the other end and are waiting for (request sent, transfer not
    /// yet begun).
    requested: Opt,
    /// Our transfer to the other end.
    upload: Opt,
    /// Its transfer to us.
    download: Opt,
    /// KiB it sent us since the last rechoke.
    got: u32,
    /// KiB we sent it since the last rechoke.
    gave: u32,
}

impl Half {
    fn new(since: u32) -> Self {
        Half {
            linked: true,
            interested: false,
            interesting: false,
            choking: true,
            choked: true,
            idle: 0,
            since,
            requested: Opt::NONE,
            upload: Opt::NONE,
            download: Opt::NONE,
            got: 0,
            gave: 0,
        }
    }
}

/// An optional index (a piece, a transfer) in four bytes, `u32::MAX` for none: a connection's
/// two halves fit one cache line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Opt(u32);

impl Opt {
    const NONE: Opt = Opt(u32::MAX);

    fn get(self) -> Option<u32> {
        (self.0 != u32::MAX).then_some(self.0)
    }

    fn take(&mut self) -> Option<u32> {
        std::mem::replace(self, Opt::NONE).get()
    }

    fn is_none(self) -> bool {
        self.0 == u32::MAX
    }
}

/// A connection between two peers: both ends' halves in one cache line, so that a `have`
/// reaches each neighbour by one read (looking the sender up in each neighbour's list missed
/// the cache at every step). A half is named by `2 × connection + side`; the other end's is
/// the same with the side flipped.
#[derive(Clone, Copy, Debug)]
#[repr(C, align(64))]
struct Conn([Half; 2]);

const _: () = assert!(std::mem::size_of::<Conn>() == 64, "a connection in one cache line");

/// A connection in one end's list.
#[derive(Clone, Copy, Debug)]
struct Link {
    /// The other end.
    other: u32,
    /// Our half of the connection (`2 × connection + side`).
    half: u32,
    /// While we want something of the other end: one of its pieces we lack (`u32::MAX`
    /// otherwise). We want something for as long as we lack this one, since what we know of
    /// its pieces only grows: a completed piece rechecks only the neighbours it was the
    /// witness of, not all of them.
    witness: u32,
}

/// A peer's swarm state.
#[derive(Clone, Debug)]
struct SPeer {
    have: Bitfield,
    /// Its pieces whose `have` has not arrived yet, each with the count of pieces it held before.
    recent: Vec<(u32, u32)>,
    /// Pieces on their way to it (requested or in transfer).
    busy: Bitfield,
    /// Its connections, by the other end's index (linked at its end or not).
    links: Vec<Link>,
    /// Connections linked at its end.
    degree: u32,
    /// The neighbours that unchoke it, in index order.
    unchokers: Vec<(u32, u32)>,
    /// The neighbours it unchokes.
    unchoking: u32,
    /// Peers named by the tracker and not tried yet, in the order named.
    candidates: VecDeque<u32>,
    /// Connection requests sent, not answered.
    pending: BTreeSet<u32>,
    optimistic: Option<u32>,
    rechokes: u32,
    alive: bool,
    rec: PeerRecord,
}

/// The swarm: its peers, connections, transfers and tracker.
#[derive(Clone, Debug)]
pub struct Swarm {
    cfg: SwarmConfig,
    peers: Vec<SPeer>,
    conns: Vec<Conn>,
    free_conns: Vec<u32>,
    /// Copies of each piece among each peer's neighbours (counting what each knows of).
    avail: Availability,
    /// A neighbour's pieces as a peer knows them, computed here to save an allocation.
    scratch: Bitfield,
    flows: Flows,
    tracker: Tracker,
    /// Live peers holding each piece.
    copies: Vec<u32>,
    /// Live peers holding every piece, and the others.
    seeders: u64,
    leechers: u64,
}

/// The most connections a peer may open (`swarm.max_peers`; it accepts twice as many): the
/// copies of a piece among a peer's neighbours are counted in 16 bits, to halve the table
/// that every `have` writes to.
pub const MAX_PEERS: u32 = 10_000;

/// How often a peer recomputes its unchokes.
pub const RECHOKE: SimDuration = SimDuration(10_000);
/// How long a peer waits for an answer to a connection request: TCP's classic initial
/// retransmission timeout (RFC 1122), after which a peer that left (a tracker may still name it)
/// no longer holds one of its `max_peers` places.
pub const CONNECT_TIMEOUT: SimDuration = SimDuration(3_000);
/// A connection over which neither side has wanted anything for this many rechokes (600 s,
/// libtorrent's `inactivity_timeout`) is closed, making room for other peers.
const INACTIVE_RECHOKES: u16 = 60;
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
            conns: Vec::new(),
            free_conns: Vec::new(),
            avail: Availability::new(copies.len() as u32),
            scratch: Bitfield::default(),
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
        let same = self.avail.add_peer();
        debug_assert_eq!(idx, same, "one index in every table");
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
            recent: Vec::new(),
            busy: Bitfield::empty(n),
            links: Vec::new(),
            degree: 0,
            unchokers: Vec::new(),
            unchoking: 0,
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
            Msg::Hello { since } => {
                if self.half(peer, from).is_some() {
                    return;
                }
                let p = &self.peers[peer as usize];
                if p.degree as usize + p.pending.len() >= 2 * self.cfg.max_peers as usize
                    && !p.pending.contains(&from)
                {
                    out.push(Cmd::Send {
                        from: Addr::Peer(peer),
                        to: Addr::Peer(from),
                        msg: Msg::Busy,
                    });
                    return;
                }
                out.push(Cmd::Send {
                    from: Addr::Peer(peer),
                    to: Addr::Peer(from),
                    msg: Msg::Welcome { since: self.peers[peer as usize].have.count() },
                });
                self.connected(now, peer, from, since, out);
            }
            Msg::Welcome { since } => {
                let linked = self.half(peer, from).is_some();
                if self.peers[peer as usize].pending.remove(&from) {
                    if !linked {
                        self.connected(now, peer, from, since, out);
                    }
                } else if !linked {
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
            Msg::Interested(yes) => {
                let Some(n) = self.half_mut(peer, from) else { return };
                n.interested = yes;
                if !(yes && n.choking) {
                    return;
                }
                let free = self.regular_unchoked(peer) < self.cfg.unchoke_slots;
                let n = self.half_mut(peer, from).expect("a neighbour");
                if free {
                    n.choking = false;
                    self.peers[peer as usize].unchoking += 1;
                    out.push(Cmd::Send {
                        from: Addr::Peer(peer),
                        to: Addr::Peer(from),
                        msg: Msg::Choke(false),
                    });
                }
            }
            Msg::Choke(choke) => {
                let Some(h) = self.half_id(peer, from) else { return };
                let n = self.at_mut(h);
                if !n.linked {
                    return;
                }
                n.choked = choke;
                // A request it will not serve: the piece may be asked of someone else.
                let refused = if choke { n.requested.take() } else { None };
                let p = &mut self.peers[peer as usize];
                match (p.unchokers.binary_search_by_key(&from, |u| u.0), choke) {
                    (Ok(at), true) => drop(p.unchokers.remove(at)),
                    (Err(at), false) => p.unchokers.insert(at, (from, h)),
                    _ => {}
                }
                if let Some(piece) = refused {
                    p.busy_remove(piece);
                    self.request_all(peer, rng, out);
                } else if !choke {
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
        let t = *self.flows.get(c.id).expect("a current transfer");
        let bytes = self.cfg.piece_bits() / 8;
        let kib = self.cfg.piece_kib;
        let (up, down) = (t.up, t.down);
        {
            let u = &mut self.peers[up as usize];
            u.rec.bytes_up += bytes;
            if u.have.is_full() {
                u.rec.bytes_up_seeding += bytes;
            }
        }
        // The uploader's half of their connection; the downloader's is the other.
        let h = self.half_id(up, down);
        if let Some(h) = h {
            let n = self.at_mut(h);
            if n.linked {
                n.upload = Opt::NONE;
                n.gave = n.gave.saturating_add(kib);
            }
            let n = self.at_mut(h ^ 1);
            if n.linked {
                n.download = Opt::NONE;
                n.got = n.got.saturating_add(kib);
            }
        }
        let d = &mut self.peers[down as usize];
        d.rec.bytes_down += bytes;
        d.busy_remove(t.piece);
        let stamp = d.have.count();
        if d.have.insert(t.piece) {
            self.copies[t.piece as usize] += 1;
            d.recent.push((t.piece, stamp));
            out.push(Cmd::Have { peer: down, piece: t.piece });
        }
        d.rec.first_piece.get_or_insert(now);
        if d.have.is_full() {
            if self.cfg.discovery.tracker() {
                d.rec.discovery_messages += 1;
                out.push(Cmd::Send {
                    from: Addr::Peer(down),
                    to: Addr::Tracker,
                    msg: Msg::Completed,
                });
            }
            d.rec.complete = Some(now);
            self.leechers -= 1;
            self.seeders += 1;
            if let Some(after) = self.cfg.seed_time {
                out.push(Cmd::Leave { peer: down, after });
            }
        }
        // The neighbours whose pieces this one may have been the last wanted of.
        for i in 0..self.peers[down as usize].links.len() {
            if self.peers[down as usize].links[i].witness == t.piece {
                self.recheck_interest(down, i, out);
            }
        }
        // The next piece from the same uploader starts at once: it was requested ahead.
        let still = h.filter(|&h| {
            let (u, d) = (self.at(h), self.at(h ^ 1));
            u.linked && !u.choking && d.linked && self.is_alive(up)
        });
        let next = still.and_then(|h| self.choose(down, up, h ^ 1, rng));
        if let (Some(piece), Some(h)) = (next, still) {
            self.peers[down as usize].busy.insert(piece);
            let done = self.flows.restart(now, c.id, piece, self.cfg.piece_bits());
            out.push(Cmd::Complete(done));
            self.at_mut(h).upload = Opt(c.id.0);
            self.at_mut(h ^ 1).download = Opt(c.id.0);
        } else {
            let (_, moved) = self.flows.stop(now, c.id);
            out.extend(moved.into_iter().map(Cmd::Complete));
        }
        self.request_all(down, rng, out);
        self.request_all(up, rng, out);
    }

    /// `peer`'s `have` of `piece` reaches its neighbours: each that did not know of it counts
    /// one more copy among its neighbours, becomes interested if it lacks the piece and was
    /// not yet, and asks for a piece if `peer` unchokes it and sends it nothing.
    pub fn have_arrives(&mut self, peer: u32, piece: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let p = &mut self.peers[peer as usize];
        let Some(k) = p.recent.iter().position(|r| r.0 == piece) else { return };
        let stamp = p.recent.swap_remove(k).1;
        for i in 0..self.peers[peer as usize].links.len() {
            let Link { other, half, .. } = self.peers[peer as usize].links[i];
            let theirs = half ^ 1;
            let n = &mut self.conns[(theirs / 2) as usize].0[(theirs % 2) as usize];
            if !n.linked || stamp < n.since {
                continue; // not a neighbour, or the piece was in the bitfield it got
            }
            self.avail.have(other, piece);
            let o = &mut self.peers[other as usize];
            if !n.interesting && !o.have.has(piece) {
                n.interesting = true;
                out.push(Cmd::Send {
                    from: Addr::Peer(other),
                    to: Addr::Peer(peer),
                    msg: Msg::Interested(true),
                });
                let at = self.find(other, peer).expect("both ends list a connection");
                let o = &mut self.peers[other as usize];
                o.links[at].witness = piece;
            }
            self.request_via(other, peer, theirs, rng, out);
        }
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
            if let Some(n) = self.half_mut(other, peer) {
                if t.up == peer {
                    n.download = Opt::NONE;
                    self.peers[other as usize].busy_remove(t.piece);
                } else {
                    n.upload = Opt::NONE;
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
        // Its neighbours learn of it by the `Closed`; its own ends of the connections go now.
        for x in self.neighbours(peer) {
            self.unlink(peer, x);
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
        if !list.is_empty() {
            self.peers[peer as usize].rec.first_peer.get_or_insert(now);
        }
        for q in list {
            let known = self.half(peer, q).is_some();
            let p = &mut self.peers[peer as usize];
            if q != peer && !known && !p.pending.contains(&q) && !p.candidates.contains(&q) {
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
        let since = p.have.count();
        while p.degree as usize + p.pending.len() < max {
            let Some(q) = p.candidates.pop_front() else { break };
            p.pending.insert(q);
            let hello = Msg::Hello { since };
            out.push(Cmd::Send { from: Addr::Peer(peer), to: Addr::Peer(q), msg: hello });
            out.push(Cmd::Timer { peer, timer: Timer::Connect(q), after: CONNECT_TIMEOUT });
        }
    }

    fn connected(&mut self, now: SimTime, peer: u32, other: u32, since: u32, out: &mut Vec<Cmd>) {
        let p = &mut self.peers[peer as usize];
        p.rec.first_peer.get_or_insert(now);
        p.pending.remove(&other);
        p.candidates.retain(|&q| q != other);
        let at = self.link(peer, other, since);
        let mut view = std::mem::take(&mut self.scratch);
        self.view(other, since, &mut view);
        self.avail.add(peer, &view);
        let p = &mut self.peers[peer as usize];
        let wanted = view.lacked_by(&p.have, witness_from(other, self.cfg.pieces));
        self.scratch = view;
        if let Some(piece) = wanted {
            p.links[at].witness = piece;
            self.half_mut(peer, other).expect("linked").interesting = true;
            out.push(Cmd::Send {
                from: Addr::Peer(peer),
                to: Addr::Peer(other),
                msg: Msg::Interested(true),
            });
        }
    }

    fn drop_neighbour(
        &mut self,
        now: SimTime,
        peer: u32,
        gone: u32,
        rng: &mut Rng,
        out: &mut Vec<Cmd>,
    ) {
        self.peers[peer as usize].pending.remove(&gone);
        let Some(n) = self.unlink(peer, gone) else { return };
        if let Some(piece) = n.requested.get() {
            self.peers[peer as usize].busy_remove(piece);
        }
        // A connection closed by a peer still here (a refused half connection): its transfers
        // stop too.
        for id in [n.upload, n.download].into_iter().filter_map(Opt::get).map(TransferId) {
            let (t, moved) = self.flows.stop(now, id);
            out.extend(moved.into_iter().map(Cmd::Complete));
            let (d, u) = (t.down, t.up);
            self.peers[d as usize].busy_remove(t.piece);
            if let Some(x) = self.half_mut(u, d) {
                x.upload = Opt::NONE;
            }
            if let Some(x) = self.half_mut(d, u) {
                x.download = Opt::NONE;
            }
        }
        self.connect_more(peer, out);
        self.request_all(peer, rng, out);
    }

    // ----- connections: each end's half, and what an end knows of the other's pieces -----

    /// Where the connection between `a` and `b` is in `a`'s list.
    fn find(&self, a: u32, b: u32) -> Option<usize> {
        self.peers[a as usize].links.binary_search_by_key(&b, |l| l.other).ok()
    }

    /// Half `h` (`2 × connection + side`).
    fn at(&self, h: u32) -> &Half {
        &self.conns[(h / 2) as usize].0[(h % 2) as usize]
    }

    fn at_mut(&mut self, h: u32) -> &mut Half {
        &mut self.conns[(h / 2) as usize].0[(h % 2) as usize]
    }

    /// `a`'s half of its connection to `b`, if there is one (linked at `a` or not); `b`'s is
    /// the same with the last bit flipped.
    fn half_id(&self, a: u32, b: u32) -> Option<u32> {
        Some(self.peers[a as usize].links[self.find(a, b)?].half)
    }

    /// `a`'s half of its connection to `b`, if `a` counts `b` among its neighbours.
    fn half(&self, a: u32, b: u32) -> Option<&Half> {
        let h = self.peers[a as usize].links[self.find(a, b)?].half;
        Some(self.at(h)).filter(|n| n.linked)
    }

    fn half_mut(&mut self, a: u32, b: u32) -> Option<&mut Half> {
        let h = self.peers[a as usize].links[self.find(a, b)?].half;
        Some(self.at_mut(h)).filter(|n| n.linked)
    }

    /// `peer`'s neighbours in index order, each with `peer`'s half of the connection.
    fn halves(&self, peer: u32) -> impl Iterator<Item = (u32, &Half)> {
        self.peers[peer as usize].links.iter().filter_map(move |l| {
            let n = self.at(l.half);
            n.linked.then_some((l.other, n))
        })
    }

    /// The peers `peer` counts among its neighbours, in index order.
    fn neighbours(&self, peer: u32) -> Vec<u32> {
        self.halves(peer).map(|(q, _)| q).collect()
    }

    /// `a` counts `b` among its neighbours, knowing `b`'s pieces as of `since`: the connection
    /// is made (in both ends' lists) if `b` has not made it yet. Returns its place in `a`'s
    /// list.
    fn link(&mut self, a: u32, b: u32, since: u32) -> usize {
        self.peers[a as usize].degree += 1;
        if let Some(at) = self.find(a, b) {
            let h = self.peers[a as usize].links[at].half;
            debug_assert!(!self.at(h).linked, "linked twice");
            *self.at_mut(h) = Half::new(since);
            return at;
        }
        let unlinked = Half { linked: false, ..Half::new(0) };
        let conn = Conn([Half::new(since), unlinked]);
        let id = match self.free_conns.pop() {
            Some(id) => {
                self.conns[id as usize] = conn;
                id
            }
            None => {
                self.conns.push(conn);
                (self.conns.len() - 1) as u32
            }
        };
        let mut insert = |p: u32, other: u32, half: u32| {
            let links = &mut self.peers[p as usize].links;
            let at =
                links.binary_search_by_key(&other, |l| l.other).expect_err("no connection yet");
            links.insert(at, Link { other, half, witness: u32::MAX });
            at
        };
        insert(b, a, 2 * id + 1);
        insert(a, b, 2 * id)
    }

    /// `a` no longer counts `b` among its neighbours: it forgets what it counted of `b`'s
    /// pieces, and the connection goes once neither end holds it. Returns `a`'s half as it was.
    fn unlink(&mut self, a: u32, b: u32) -> Option<Half> {
        let at = self.find(a, b)?;
        let h = self.peers[a as usize].links[at].half;
        if !self.at(h).linked {
            return None;
        }
        self.at_mut(h).linked = false;
        let n = *self.at(h);
        let gone = !self.at(h ^ 1).linked;
        let mut view = std::mem::take(&mut self.scratch);
        self.view(b, n.since, &mut view);
        self.avail.remove(a, &view);
        self.scratch = view;
        let p = &mut self.peers[a as usize];
        p.degree -= 1;
        p.unchoking -= u32::from(!n.choking);
        p.links[at].witness = u32::MAX;
        if let Ok(at) = p.unchokers.binary_search_by_key(&b, |u| u.0) {
            p.unchokers.remove(at);
        }
        if p.optimistic == Some(b) {
            p.optimistic = None;
        }
        if gone {
            p.links.remove(at);
            let at = self.find(b, a).expect("both ends list a connection");
            self.peers[b as usize].links.remove(at);
            self.free_conns.push(h / 2);
        }
        Some(n)
    }

    /// The pieces of `of` known to a neighbour that got its bitfield as of `since`: all it
    /// holds but those completed since whose `have` is still on its way.
    fn view(&self, of: u32, since: u32, into: &mut Bitfield) {
        let o = &self.peers[of as usize];
        into.copy_from(&o.have);
        for &(piece, stamp) in &o.recent {
            if stamp >= since {
                into.remove(piece);
            }
        }
    }

    /// How many pieces of `of` a neighbour knows of (as [`Swarm::view`]).
    fn view_count(&self, of: u32, since: u32) -> u32 {
        let o = &self.peers[of as usize];
        o.have.count() - o.recent.iter().filter(|r| r.1 >= since).count() as u32
    }

    // ----- interest, choking, requests -----

    /// Whether `peer`, which has just got the piece it wanted of the neighbour at `at` in its
    /// list, still wants another: if not, it says so; if so, that one is the new witness.
    fn recheck_interest(&mut self, peer: u32, at: usize, out: &mut Vec<Cmd>) {
        let Link { other, half, .. } = self.peers[peer as usize].links[at];
        let mut view = std::mem::take(&mut self.scratch);
        self.view(other, self.at(half).since, &mut view);
        let p = &mut self.peers[peer as usize];
        let wanted = view.lacked_by(&p.have, witness_from(other, self.cfg.pieces));
        self.scratch = view;
        if let Some(piece) = wanted {
            p.links[at].witness = piece;
            return;
        }
        p.links[at].witness = u32::MAX;
        self.at_mut(half).interesting = false;
        out.push(Cmd::Send {
            from: Addr::Peer(peer),
            to: Addr::Peer(other),
            msg: Msg::Interested(false),
        });
    }

    /// Neighbours `peer` unchokes by merit (its optimistic unchoke left out).
    fn regular_unchoked(&self, peer: u32) -> u32 {
        let p = &self.peers[peer as usize];
        let optimistic = p.optimistic.and_then(|q| self.half(peer, q)).is_some_and(|n| !n.choking);
        p.unchoking - u32::from(optimistic)
    }

    fn rechoke(&mut self, peer: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let slots = self.cfg.unchoke_slots as usize;
        let seeding = self.peers[peer as usize].have.is_full();
        let nbrs = self.neighbours(peer);
        let mut ranked: Vec<(u32, u32)> = self
            .halves(peer)
            .filter(|(_, n)| n.interested)
            .map(|(q, n)| (q, if seeding { n.gave } else { n.got }))
            .collect();
        ranked.shuffle(rng); // ties in random order
        ranked.sort_by_key(|r| std::cmp::Reverse(r.1));
        let mut unchoke: BTreeSet<u32> = ranked.iter().take(slots).map(|r| r.0).collect();
        let keep = self.peers[peer as usize]
            .optimistic
            .filter(|&q| self.half(peer, q).is_some_and(|n| n.interested) && !unchoke.contains(&q));
        let p = &mut self.peers[peer as usize];
        p.rechokes += 1;
        p.optimistic = if p.rechokes % OPTIMISTIC_EVERY == 1 || keep.is_none() {
            let rest: Vec<u32> =
                ranked.iter().map(|r| r.0).filter(|q| !unchoke.contains(q)).collect();
            if rest.is_empty() { None } else { Some(rest[rng.random_range(0..rest.len())]) }
        } else {
            keep
        };
        unchoke.extend(p.optimistic);
        p.unchoking = nbrs.iter().filter(|q| unchoke.contains(q)).count() as u32;
        for q in nbrs {
            let n = self.half_mut(peer, q).expect("a neighbour");
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
        let pieces = self.cfg.pieces;
        let seeding = self.peers[peer as usize].have.is_full();
        let mut closing = Vec::new();
        for q in self.neighbours(peer) {
            let n = self.half_mut(peer, q).expect("a neighbour");
            let idle = !n.interested && !n.interesting;
            n.idle = if idle { n.idle.saturating_add(1) } else { 0 };
            let quiet = n.upload.is_none() && n.download.is_none() && n.requested.is_none();
            let (since, long) = (n.since, n.idle >= INACTIVE_RECHOKES);
            if idle && quiet && ((seeding && self.view_count(q, since) == pieces) || long) {
                closing.push(q);
            }
        }
        for &q in &closing {
            self.unlink(peer, q);
            out.push(Cmd::Send { from: Addr::Peer(peer), to: Addr::Peer(q), msg: Msg::Closed });
        }
        if !closing.is_empty() {
            self.connect_more(peer, out);
        }
    }

    /// The piece `peer` would ask of `from` now.
    /// (`h`: `peer`'s half of their connection, linked.)
    fn choose(&mut self, peer: u32, from: u32, h: u32, rng: &mut Rng) -> Option<u32> {
        let since = self.at(h).since;
        let mut view = std::mem::take(&mut self.scratch);
        self.view(from, since, &mut view);
        let p = &self.peers[peer as usize];
        let piece = pieces::pick(&p.have, &p.busy, &view, self.avail.of(peer), rng);
        self.scratch = view;
        piece
    }

    /// `peer` asks `from`, which unchokes it, for a piece if it has none coming from there.
    fn request(&mut self, peer: u32, from: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        if let Some(h) = self.half_id(peer, from) {
            self.request_via(peer, from, h, rng, out);
        }
    }

    /// [`Swarm::request`], given `peer`'s half `h` of the connection.
    fn request_via(&mut self, peer: u32, from: u32, h: u32, rng: &mut Rng, out: &mut Vec<Cmd>) {
        let n = self.at(h);
        if !(n.linked && !n.choked && n.requested.is_none() && n.download.is_none()) {
            return;
        }
        let Some(piece) = self.choose(peer, from, h, rng) else { return };
        self.peers[peer as usize].busy.insert(piece);
        self.at_mut(h).requested = Opt(piece);
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
        let ready: Vec<(u32, u32)> = self.peers[peer as usize]
            .unchokers
            .iter()
            .copied()
            .filter(|&(_, h)| self.at(h).requested.is_none() && self.at(h).download.is_none())
            .collect();
        for (q, h) in ready {
            self.request_via(peer, q, h, rng, out);
        }
    }

    /// `peer` receives `from`'s request for `piece`.
    fn serve(&mut self, now: SimTime, peer: u32, from: u32, piece: u32, out: &mut Vec<Cmd>) {
        if !self.is_alive(from) {
            return; // its connection is gone
        }
        let Some(h) = self.half_id(peer, from) else { return };
        let n = self.at(h);
        if !n.linked {
            return;
        }
        if n.choking || !n.upload.is_none() || !self.peers[peer as usize].have.has(piece) {
            // Not served: a choke tells the requester to ask elsewhere.
            out.push(Cmd::Send {
                from: Addr::Peer(peer),
                to: Addr::Peer(from),
                msg: Msg::Choke(true),
            });
            return;
        }
        if self.at(h ^ 1).linked {
            self.at_mut(h ^ 1).requested = Opt::NONE;
        }
        self.start_transfer(now, peer, from, piece, out);
    }

    fn start_transfer(&mut self, now: SimTime, up: u32, down: u32, piece: u32, out: &mut Vec<Cmd>) {
        let (id, moved) = self.flows.start(now, up, down, piece, self.cfg.piece_bits());
        out.extend(moved.into_iter().map(Cmd::Complete));
        let h = self.half_id(up, down).expect("a connection");
        if self.at(h).linked {
            self.at_mut(h).upload = Opt(id.0);
        }
        if self.at(h ^ 1).linked {
            self.at_mut(h ^ 1).download = Opt(id.0);
        }
    }
}

/// Where a search for a piece wanted of neighbour `other` starts: a place of its own for each
/// neighbour, so that the witnesses of a peer's neighbours are spread over the pieces and a
/// completed piece is the witness of few of them (from the first piece, most would share it).
fn witness_from(other: u32, pieces: u32) -> u32 {
    (u64::from(other).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> 32) as u32 % pieces.max(1)
}

#[cfg(test)]
impl Swarm {
    /// Checks that the connections' two lists, the counts kept beside them and what each peer
    /// counts of its neighbours' pieces agree with a recount from scratch.
    pub(crate) fn check(&self) -> Result<(), String> {
        let free: BTreeSet<u32> = self.free_conns.iter().copied().collect();
        let mut listed = vec![0u32; self.conns.len()];
        for (a, p) in self.peers.iter().enumerate() {
            for l in &p.links {
                listed[(l.half / 2) as usize] += 1;
                let back = self.find(l.other, a as u32).ok_or(format!("{} lacks {a}", l.other))?;
                if self.peers[l.other as usize].links[back].half != l.half ^ 1 {
                    return Err(format!("{a} and {} list different connections", l.other));
                }
            }
        }
        for (id, c) in self.conns.iter().enumerate() {
            let held = !free.contains(&(id as u32));
            if held != (listed[id] == 2) || (held && !c.0[0].linked && !c.0[1].linked) {
                return Err(format!(
                    "connection {id}: listed {} times, free: {}",
                    listed[id], !held
                ));
            }
        }
        let mut view = Bitfield::default();
        for (i, p) in self.peers.iter().enumerate() {
            let peer = i as u32;
            if !p.links.windows(2).all(|w| w[0].other < w[1].other) {
                return Err(format!("{peer}'s connections are out of order"));
            }
            let linked: Vec<(u32, &Half)> = self.halves(peer).collect();
            if linked.len() != p.degree as usize {
                return Err(format!("{peer} counts {} neighbours of {}", p.degree, linked.len()));
            }
            if !p.alive {
                if linked.is_empty() {
                    continue;
                }
                return Err(format!("{peer} left and still holds connections"));
            }
            let unchokers: Vec<(u32, u32)> = linked
                .iter()
                .filter(|(_, n)| !n.choked)
                .map(|&(q, _)| (q, self.half_id(peer, q).expect("listed")))
                .collect();
            let unchoking = linked.iter().filter(|(_, n)| !n.choking).count() as u32;
            if unchoking != p.unchoking {
                return Err(format!("{peer} unchokes {unchoking}, counts {}", p.unchoking));
            }
            if unchokers != p.unchokers {
                return Err(format!("{peer}'s unchokers {:?} are {unchokers:?}", p.unchokers));
            }
            let mut copies = vec![0u16; self.cfg.pieces as usize];
            for (at, &(q, n)) in linked.iter().enumerate() {
                self.view(q, n.since, &mut view);
                view.iter().for_each(|i| copies[i as usize] += 1);
                let wanted = view.count_lacked_by(&p.have);
                let witness = p.links[self.find(peer, q).expect("listed")].witness;
                if n.interesting != (wanted > 0) {
                    return Err(format!(
                        "{peer} wants {wanted} of {q}'s pieces, interested: {}",
                        n.interesting
                    ));
                }
                let lacked = witness < self.cfg.pieces && view.has(witness) && !p.have.has(witness);
                if n.interesting != lacked {
                    return Err(format!("{peer}'s witness of {q} is {witness} ({at})"));
                }
            }
            if copies != self.avail.of(peer) {
                return Err(format!("{peer} counts other copies than its neighbours hold"));
            }
        }
        Ok(())
    }
}

impl SPeer {
    fn busy_remove(&mut self, piece: u32) {
        self.busy.remove(piece);
    }
}
