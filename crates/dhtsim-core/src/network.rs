//! The network model: how long a message takes from one peer to another, and whether it
//! arrives at all.
//!
//! Owns message latency, loss and reachability. It draws from the run's network stream only, so
//! a different latency or loss never changes peer IDs, churn or the workload; without loss it
//! draws nothing for it, so a lossless run is the same run as before loss existed. With the
//! plane topology ([`Plane`]) or unreachable hosts, each host's place and reachability come
//! from the topology stream instead, by host number, and the network stream gives only the
//! jitter and the losses. A latency matrix ([`LatencyMatrix`]) is a topology too: each host's
//! place is then its row of the matrix. Classes of access links ([`LinkClass`]) give each host
//! a loss (and in the plane its access delays), its class drawn from the links stream by host
//! number.

use crate::config::{HostMapping, Latency, LatencyMatrix, LinkClass, Plane};
use crate::protocol::PeerIdx;
use crate::rng::{Purpose, Rng, stream};
use crate::time::SimDuration;
use rand::{Rng as _, RngExt};
use std::sync::Arc;

/// Delivery delays for one run.
#[derive(Debug)]
pub struct Network {
    latency: Latency,
    loss: f64,
    /// Whether any message can be dropped (by `loss` or a lossy class of access links).
    lossy: bool,
    /// Per class of access links, the probability that it lets a message through.
    keep: Vec<f64>,
    rng: Rng,
    /// The hosts' places and reachability, when the latency model is the plane or some
    /// hosts are unreachable.
    topology: Option<Topology>,
    /// Whether delays come from the topology (the plane or a matrix).
    plane: bool,
}

impl Network {
    /// A lossless network with the given latency model, drawing from the stream `purpose` of
    /// the run seeded with `seed` (and, for the plane, placing hosts from its topology stream).
    pub fn new(latency: Latency, seed: u64, purpose: Purpose) -> Self {
        let (topology, plane) = match &latency {
            Latency::Plane(plane) => (Some(Topology::new(*plane, seed)), true),
            Latency::Matrix(m) => (Some(Topology::new(Plane::POINT, seed).with_matrix(m)), true),
            _ => (None, false),
        };
        let rng = stream(seed, purpose);
        Network { latency, loss: 0.0, lossy: false, keep: Vec::new(), rng, topology, plane }
    }

    /// The same network with the share `unreachable` (in [0, 1)) of its hosts behind a NAT or a
    /// firewall, drawn per host from the topology stream (run seeded with `seed`).
    pub fn with_unreachable(self, unreachable: f64, seed: u64) -> Self {
        debug_assert!(
            (0.0..1.0).contains(&unreachable),
            "unreachable {unreachable} outside [0, 1)"
        );
        if unreachable == 0.0 {
            return self;
        }
        let topology = self.topology.unwrap_or_else(|| Topology::new(Plane::POINT, seed));
        Network { topology: Some(topology.with_unreachable(unreachable)), ..self }
    }

    /// Whether some hosts are unreachable.
    #[inline]
    pub fn has_unreachable(&self) -> bool {
        self.topology.as_ref().is_some_and(|t| t.unreachable_below > 0)
    }

    /// Whether host `h` accepts only the replies to its own requests: a request or one-way
    /// message sent to it is lost.
    pub fn is_unreachable(&mut self, h: u32) -> bool {
        self.has_unreachable() && !self.topology.as_mut().is_some_and(|t| t.place(h).reachable)
    }

    /// The same network dropping each message with probability `loss` (in [0, 1)).
    pub fn with_loss(self, loss: f64) -> Self {
        debug_assert!((0.0..1.0).contains(&loss), "loss {loss} outside [0, 1)");
        Network { loss, lossy: self.lossy || loss > 0.0, ..self }
    }

    /// The same network with its hosts on the classes of access links `links` (none: no
    /// classes), each host's class drawn by weight from the links stream (run seeded with
    /// `seed`).
    pub fn with_links(self, links: &[LinkClass], seed: u64) -> Self {
        if links.is_empty() {
            return self;
        }
        let topology = self.topology.unwrap_or_else(|| Topology::new(Plane::POINT, seed));
        let keep = links.iter().map(|c| 1.0 - c.loss).collect();
        let lossy = self.lossy || links.iter().any(|c| c.loss > 0.0);
        Network { topology: Some(topology.with_links(links)), keep, lossy, ..self }
    }

    /// Whether the next message between two distinct peers `from` and `to`, which run on the
    /// hosts `host` gives (asked only with classes of links, as [`Network::delay`] asks), is
    /// dropped: one draw from the network stream when some message can be, none otherwise.
    /// Between two hosts it crosses both access links, so it gets through with probability
    /// (1 - `loss`) times each link's; between two nodes of one host, with 1 - `loss`.
    #[inline]
    pub fn dropped(&mut self, from: PeerIdx, to: PeerIdx, host: impl Fn(PeerIdx) -> u32) -> bool {
        if !self.lossy {
            return false;
        }
        let p = match &mut self.topology {
            Some(t) if !self.keep.is_empty() && host(from) != host(to) => {
                let (a, b) = (host(from), host(to));
                let links =
                    self.keep[t.place(a).class as usize] * self.keep[t.place(b).class as usize];
                // Lossless links leave exactly `loss`, so its draws are those of a run
                // without classes.
                if links == 1.0 { self.loss } else { 1.0 - (1.0 - self.loss) * links }
            }
            _ => self.loss,
        };
        self.rng.random_bool(p)
    }

    /// One-way delay of a message from `from` to `to`, which run on the hosts `host` gives
    /// (asked only with a topology). A peer reaches itself instantly, and with a topology so
    /// does a host.
    #[inline]
    pub fn delay(
        &mut self,
        from: PeerIdx,
        to: PeerIdx,
        host: impl Fn(PeerIdx) -> u32,
    ) -> SimDuration {
        if from == to {
            return SimDuration::ZERO;
        }
        match &mut self.topology {
            Some(topology) if self.plane => {
                let (a, b) = (host(from), host(to));
                if a == b {
                    return SimDuration::ZERO;
                }
                let base = topology.one_way(a, b);
                let jitter = topology.plane.jitter.as_ms();
                if jitter == 0 {
                    base
                } else {
                    SimDuration(base.as_ms() + self.rng.random_range(0..=jitter))
                }
            }
            _ => self.draw(),
        }
    }

    /// The round trip between hosts `a` and `b` without jitter (0 for one host), if the network
    /// has a topology: what a lookup's latency is compared with (its stretch). The way there
    /// and the way back (the same in the plane; a matrix may give two).
    pub fn round_trip(&mut self, a: u32, b: u32) -> Option<SimDuration> {
        let topology = self.topology.as_mut().filter(|_| self.plane)?;
        Some(if a == b { SimDuration::ZERO } else { topology.round_trip(a, b) })
    }

    /// The round trips between the peers whose hosts are `hosts` (peer i on `hosts[i]`), if
    /// the network has a topology.
    pub fn round_trips(&mut self, hosts: &[u32]) -> Option<RoundTrips> {
        let topology = self.topology.as_mut().filter(|_| self.plane)?;
        if let Some(&last) = hosts.iter().max() {
            topology.place(last);
        }
        Some(RoundTrips { hosts: hosts.to_vec(), topology: topology.clone() })
    }

    /// One-way delay of a message between two different peers, with no topology.
    pub fn draw(&mut self) -> SimDuration {
        match self.latency {
            Latency::Constant(d) => d,
            Latency::Uniform { min, max } => {
                SimDuration(self.rng.random_range(min.as_ms()..=max.as_ms()))
            }
            Latency::Plane(_) | Latency::Matrix(_) => {
                unreachable!("a delay in a topology is between two hosts")
            }
        }
    }
}

/// Where each host sits in the plane: a point and an access delay (or its row of a latency
/// matrix).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Place {
    /// Coordinates, in ms of propagation delay from a corner of the square.
    pub x: f64,
    /// See `x`.
    pub y: f64,
    /// The host's access delay.
    pub access: SimDuration,
    /// Whether the host accepts messages it did not ask for (`network.unreachable`).
    pub reachable: bool,
    /// With a latency matrix, the matrix's host this one is (0 otherwise).
    pub row: u32,
    /// The class of the host's access link, an index into `network.links` (0 without classes).
    pub class: u32,
}

/// The round trips between the peers of a network whose membership never changes, for a
/// protocol to choose by at run time (`overlay.proximity_routing`): each peer's host, and every
/// host's place. What a peer would know of its contacts from accurate network coordinates, as
/// Vuze's DHT carried Vivaldi coordinates with each contact.
#[derive(Debug)]
pub struct RoundTrips {
    hosts: Vec<u32>,
    topology: Topology,
}

impl RoundTrips {
    /// The round trip in ms between peers `i` and `j`, without jitter (0 on one host).
    pub fn get(&self, i: PeerIdx, j: PeerIdx) -> u64 {
        let (a, b) = (self.hosts[i.0 as usize], self.hosts[j.0 as usize]);
        if a == b { 0 } else { self.topology.round_trip_placed(a, b).as_ms() }
    }
}

/// The hosts' places in a [`Plane`]. Host h's place comes from words 4h .. 4h + 3 of the
/// run's topology stream (x, y, access delay, reachability), so it depends on nothing but the
/// seed and h; places are drawn on first use and kept.
#[derive(Clone, Debug)]
pub struct Topology {
    plane: Plane,
    seed: u64,
    places: Vec<Place>,
    /// A host is unreachable when its fourth word is below this (the unreachable share of
    /// 2^32; 0 when every host is reachable).
    unreachable_below: u64,
    /// A latency matrix that gives the latencies instead of the plane.
    matrix: Option<Arc<LatencyMatrix>>,
    /// The classes of access links, if any: a host is on the first class whose entry here is
    /// above its word of the links stream (the classes' cumulative shares of 2^32), with that
    /// class's access delays (the plane's when `None`).
    classes: Vec<(u64, Option<(SimDuration, SimDuration)>)>,
}

/// Words of the topology stream per host.
const WORDS_PER_HOST: u128 = 4;

impl Topology {
    /// The plane's hosts for the run seeded with `seed`.
    pub fn new(plane: Plane, seed: u64) -> Self {
        let (places, classes) = (Vec::new(), Vec::new());
        Topology { plane, seed, places, unreachable_below: 0, matrix: None, classes }
    }

    /// The same hosts, their latencies read from `matrix` instead of the plane: host h is the
    /// matrix's host its mapping gives (drawn from h's first word for a random mapping).
    pub fn with_matrix(self, matrix: &Arc<LatencyMatrix>) -> Self {
        debug_assert!(self.places.is_empty(), "set before any host is placed");
        Topology { matrix: Some(matrix.clone()), ..self }
    }

    /// The same hosts with the share `unreachable` of them unreachable.
    pub fn with_unreachable(self, unreachable: f64) -> Self {
        debug_assert!(self.places.is_empty(), "set before any host is placed");
        let unreachable_below = (unreachable * (1u64 << 32) as f64) as u64;
        Topology { unreachable_below, ..self }
    }

    /// The same hosts on the classes of access links `links`, each host on a class with
    /// probability its weight over the classes' total.
    pub fn with_links(self, links: &[LinkClass]) -> Self {
        debug_assert!(self.places.is_empty(), "set before any host is placed");
        let total: u64 = links.iter().map(|c| c.weight as u64).sum();
        let mut cumulative = 0;
        let classes = links
            .iter()
            .map(|c| {
                cumulative += c.weight as u64;
                // floor(cumulative · 2^32 / total): the last class ends at 2^32 exactly.
                (((cumulative as u128) << 32) / total as u128) as u64
            })
            .zip(links.iter().map(|c| c.access))
            .collect();
        Topology { classes, ..self }
    }

    /// Host `h`'s place.
    pub fn place(&mut self, h: u32) -> Place {
        let h = h as usize;
        if h >= self.places.len() {
            self.draw_places(h + 1);
        }
        self.places[h]
    }

    /// One-way latency between two distinct hosts, without jitter: the distance between their
    /// points, rounded to whole ms, plus both access delays.
    pub fn one_way(&mut self, a: u32, b: u32) -> SimDuration {
        self.place(a.max(b));
        self.one_way_placed(a, b)
    }

    /// [`Topology::one_way`] between two hosts already placed.
    fn one_way_placed(&self, a: u32, b: u32) -> SimDuration {
        let (p, q) = (self.places[a as usize], self.places[b as usize]);
        if let Some(m) = &self.matrix {
            return m.one_way(p.row, q.row);
        }
        let (dx, dy) = (p.x - q.x, p.y - q.y);
        // Basic operations and the square root are correctly rounded in IEEE 754: the same
        // bytes on every machine.
        let distance = (dx * dx + dy * dy).sqrt().round() as u64;
        SimDuration(distance + p.access.as_ms() + q.access.as_ms())
    }

    /// The round trip between two distinct hosts, without jitter: there and back. The plane's
    /// latencies are symmetric, so its way there is computed once; a matrix may give two.
    pub fn round_trip(&mut self, a: u32, b: u32) -> SimDuration {
        self.place(a.max(b));
        self.round_trip_placed(a, b)
    }

    /// [`Topology::round_trip`] between two hosts already placed.
    fn round_trip_placed(&self, a: u32, b: u32) -> SimDuration {
        let there = self.one_way_placed(a, b).as_ms();
        let back = if self.matrix.is_some() { self.one_way_placed(b, a).as_ms() } else { there };
        SimDuration(there + back)
    }

    /// Draws the places of hosts up to `len` (exclusive), continuing the stream where the
    /// last drawn host ended.
    #[cold]
    fn draw_places(&mut self, len: usize) {
        let mut rng = stream(self.seed, Purpose::Topology);
        rng.set_word_pos(self.places.len() as u128 * WORDS_PER_HOST);
        let mut links = stream(self.seed, Purpose::Links);
        links.set_word_pos(self.places.len() as u128);
        let side = self.plane.side.as_ms() as f64;
        let (min, max) = (self.plane.access_min.as_ms(), self.plane.access_max.as_ms());
        // A 32-bit word scaled to [0, 1): exact in an f64.
        let unit = |w: u32| w as f64 / (1u64 << 32) as f64;
        self.places.reserve(len - self.places.len());
        while self.places.len() < len {
            let (wx, wy, wa, wr) = (rng.next_u32(), rng.next_u32(), rng.next_u32(), rng.next_u32());
            let (class, (min, max)) = match self.classes.is_empty() {
                true => (0, (min, max)),
                false => {
                    let w = links.next_u32() as u64;
                    let c = self.classes.iter().position(|&(below, _)| w < below);
                    let c = c.expect("the last class ends at 2^32");
                    let range = self.classes[c].1.map(|(a, b)| (a.as_ms(), b.as_ms()));
                    (c as u32, range.unwrap_or((min, max)))
                }
            };
            // min + floor(wa · (max - min + 1) / 2^32): every whole ms of the range, with a
            // bias below 2^-20 for any range of ms that fits in this model.
            let access = min + ((wa as u64 * (max - min + 1)) >> 32);
            let h = self.places.len() as u32;
            let row = match self.matrix.as_deref() {
                None => 0,
                Some(m) => match m.mapping {
                    HostMapping::Exact => h,
                    HostMapping::Modulo => h % m.hosts,
                    HostMapping::Random => ((wx as u64 * m.hosts as u64) >> 32) as u32,
                },
            };
            self.places.push(Place {
                x: unit(wx) * side,
                y: unit(wy) * side,
                access: SimDuration(access),
                reachable: (wr as u64) >= self.unreachable_below,
                row,
                class,
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn uniform_stays_in_range_and_self_is_instant() {
        let lat = Latency::Uniform { min: SimDuration(10), max: SimDuration(20) };
        let mut n = Network::new(lat, 1, Purpose::Network);
        let mut seen = [false; 11];
        for _ in 0..2000 {
            let d = n.delay(PeerIdx(0), PeerIdx(1), |p| p.0).as_ms();
            assert!((10..=20).contains(&d));
            seen[(d - 10) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value in the range occurs");
        assert_eq!(n.delay(PeerIdx(3), PeerIdx(3), |p| p.0), SimDuration::ZERO);
    }

    #[test]
    fn loss_drops_its_share_and_no_loss_draws_nothing() {
        let lat = Latency::Uniform { min: SimDuration(10), max: SimDuration(20) };
        let mut lossy = Network::new(lat.clone(), 1, Purpose::Network).with_loss(0.2);
        let dropped =
            (0..100_000).filter(|_| lossy.dropped(PeerIdx(0), PeerIdx(1), |p| p.0)).count();
        // Binomial(10^5, 0.2): standard deviation 126.
        assert!((19_500..20_500).contains(&dropped), "{dropped}");
        // Without loss the stream is untouched: the latencies are those of a network that
        // never asked.
        let mut plain = Network::new(lat.clone(), 1, Purpose::Network);
        let mut asked = Network::new(lat, 1, Purpose::Network);
        for _ in 0..1000 {
            assert!(!asked.dropped(PeerIdx(0), PeerIdx(1), |p| p.0));
            assert_eq!(asked.draw(), plain.draw());
        }
    }

    #[test]
    fn a_message_crosses_both_access_links_and_each_may_drop_it() {
        // Two classes, 3 hosts in 4 on the lossless one; `loss` on top of both.
        let links = [
            LinkClass { weight: 3, loss: 0.0, access: None },
            LinkClass { weight: 1, loss: 0.3, access: None },
        ];
        let lat = Latency::Constant(SimDuration(50));
        let mut net =
            Network::new(lat.clone(), 3, Purpose::Network).with_loss(0.1).with_links(&links, 3);
        let class = |net: &mut Network, h| net.topology.as_mut().unwrap().place(h).class;
        let on = |net: &mut Network, c| (0..).find(|&h| class(net, h) == c).unwrap();
        let (a, b) = (on(&mut net, 0), on(&mut net, 1));
        let b2 = (b + 1..).find(|&h| class(&mut net, h) == 1).unwrap();
        // Probability of getting through: (1 - loss) times each link's.
        let n = 40_000;
        for (x, y, keep) in [(a, a, 0.9), (a, b, 0.9 * 0.7), (b, b2, 0.9 * 0.7 * 0.7), (b, b, 0.9)]
        {
            let p = 1.0 - keep;
            let dropped =
                (0..n).filter(|_| net.dropped(PeerIdx(x), PeerIdx(y), |p| p.0)).count() as f64;
            let z = (dropped - p * n as f64) / (n as f64 * p * (1.0 - p)).sqrt();
            assert!(z.abs() < 4.0, "hosts {x}, {y}: {dropped} of {n}, p = {p:.3}, z = {z:.2}");
        }
        // Each host's class by weight, from its own word of the links stream.
        let hosts = 20_000;
        let lossy = (0..hosts).filter(|&h| class(&mut net, h) == 1).count();
        // Binomial(20,000, 1/4): standard deviation 61.
        assert!((4_750..5_250).contains(&lossy), "{lossy}");
        let mut again = Network::new(lat, 3, Purpose::Network).with_links(&links, 3);
        assert!((0..500).all(|h| class(&mut again, h) == class(&mut net, h)));
    }

    #[test]
    fn lossless_classes_leave_the_draws_of_a_network_without_them() {
        let links = [
            LinkClass { weight: 1, loss: 0.0, access: None },
            LinkClass { weight: 2, loss: 0.0, access: None },
        ];
        let lat = Latency::Plane(plane(4));
        let mut classes =
            Network::new(lat.clone(), 6, Purpose::Network).with_loss(0.05).with_links(&links, 6);
        let mut plain = Network::new(lat.clone(), 6, Purpose::Network).with_loss(0.05);
        for h in 0..300 {
            let (p, q) = (PeerIdx(h), PeerIdx(h + 1));
            assert_eq!(classes.dropped(p, q, |p| p.0), plain.dropped(p, q, |p| p.0));
            let (p, q) = (PeerIdx(h), PeerIdx(h + 7));
            assert_eq!(classes.delay(p, q, |p| p.0), plain.delay(p, q, |p| p.0));
        }
        // Without any loss, nothing is drawn.
        let mut quiet = Network::new(lat.clone(), 6, Purpose::Network).with_links(&links, 6);
        let mut untouched = Network::new(lat, 6, Purpose::Network);
        for h in 0..300 {
            assert!(!quiet.dropped(PeerIdx(h), PeerIdx(h + 1), |p| p.0));
            let (p, q) = (PeerIdx(h), PeerIdx(h + 7));
            assert_eq!(quiet.delay(p, q, |p| p.0), untouched.delay(p, q, |p| p.0));
        }
    }

    #[test]
    fn a_class_gives_its_hosts_its_access_delays() {
        let links = [
            LinkClass { weight: 1, loss: 0.0, access: None },
            LinkClass { weight: 1, loss: 0.0, access: Some((SimDuration(30), SimDuration(40))) },
        ];
        let mut t = Topology::new(plane(0), 2).with_links(&links);
        let mut without = Topology::new(plane(0), 2);
        let mut seen = [0; 2];
        for h in 0..2000 {
            let (p, q) = (t.place(h), without.place(h));
            assert_eq!((p.x, p.y), (q.x, q.y), "classes move no host");
            let range = if p.class == 0 { 1..=20 } else { 30..=40 };
            assert!(range.contains(&p.access.as_ms()), "{p:?}");
            seen[p.class as usize] += 1;
        }
        assert!(seen.iter().all(|&n| n > 900), "{seen:?}");
    }

    fn plane(jitter: u64) -> Plane {
        Plane {
            side: SimDuration(150),
            access_min: SimDuration(1),
            access_max: SimDuration(20),
            jitter: SimDuration(jitter),
        }
    }

    #[test]
    fn a_host_place_depends_on_its_number_alone() {
        let mut in_order = Topology::new(plane(0), 9);
        let ahead: Vec<Place> = (0..50).map(|h| in_order.place(h)).collect();
        // Reached out of order (a late joiner first), every place is the same.
        let mut scattered = Topology::new(plane(0), 9);
        for h in [49, 3, 17, 0, 48] {
            assert_eq!(scattered.place(h), ahead[h as usize]);
        }
        for p in &ahead {
            assert!((0.0..150.0).contains(&p.x) && (0.0..150.0).contains(&p.y), "{p:?}");
            assert!((1..=20).contains(&p.access.as_ms()), "{p:?}");
        }
        let other_seed: Vec<Place> =
            (0..50).map(|h| Topology::new(plane(0), 10).place(h)).collect();
        assert_ne!(ahead, other_seed);
    }

    #[test]
    fn plane_latency_is_distance_plus_both_access_delays() {
        let mut t = Topology::new(plane(0), 4);
        let (p, q) = (t.place(2), t.place(7));
        let distance = ((p.x - q.x).powi(2) + (p.y - q.y).powi(2)).sqrt().round() as u64;
        let expected = distance + p.access.as_ms() + q.access.as_ms();
        assert_eq!(t.one_way(2, 7).as_ms(), expected);
        assert_eq!(t.one_way(7, 2).as_ms(), expected, "symmetric");
        // Through the network: host of peer i is i / 2 (two virtual nodes per host).
        let mut n = Network::new(Latency::Plane(plane(0)), 4, Purpose::Network);
        let host = |p: PeerIdx| p.0 / 2;
        assert_eq!(n.delay(PeerIdx(4), PeerIdx(14), host).as_ms(), expected);
        assert_eq!(n.delay(PeerIdx(4), PeerIdx(5), host), SimDuration::ZERO, "same host");
        assert_eq!(n.round_trip(2, 7), Some(SimDuration(2 * expected)));
        assert_eq!(n.round_trip(3, 3), Some(SimDuration::ZERO));
        let mut constant = Network::new(Latency::Constant(SimDuration(50)), 4, Purpose::Network);
        assert_eq!(constant.round_trip(2, 7), None);
        // Mean one-way latency over many pairs: 0.5214 · 150 + 2 · 10.5 = 99.2 ms.
        let pairs = 20_000u32;
        let sum: u64 = (0..pairs).map(|i| t.one_way(2 * i, 2 * i + 1).as_ms()).sum();
        let mean = sum as f64 / pairs as f64;
        assert!((mean - 99.2).abs() < 1.0, "mean one-way latency {mean}");
    }

    #[test]
    fn jitter_adds_up_to_its_bound_from_the_network_stream() {
        let mut t = Topology::new(plane(0), 4);
        let base = t.one_way(0, 1).as_ms();
        let mut n = Network::new(Latency::Plane(plane(5)), 4, Purpose::Network);
        let mut seen = [false; 6];
        for _ in 0..500 {
            let extra = n.delay(PeerIdx(0), PeerIdx(1), |p| p.0).as_ms() - base;
            seen[extra as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every jitter in 0 ..= 5 occurs");
    }

    #[test]
    fn unreachable_hosts_are_their_share_whatever_the_plane() {
        let mut point = Topology::new(Plane::POINT, 8).with_unreachable(0.3);
        let mut plane = Topology::new(plane(3), 8).with_unreachable(0.3);
        let n = 20_000u32;
        let mut unreachable = 0;
        for h in 0..n {
            let r = point.place(h).reachable;
            assert_eq!(r, plane.place(h).reachable, "host {h}");
            unreachable += u32::from(!r);
        }
        // Binomial(20,000, 0.3): standard deviation 65.
        assert!((5_740..6_260).contains(&unreachable), "{unreachable}");
        let mut none = Topology::new(Plane::POINT, 8);
        assert!((0..1000).all(|h| none.place(h).reachable));
        let mut net = Network::new(Latency::Constant(SimDuration(50)), 8, Purpose::Network);
        assert!(!net.has_unreachable() && !net.is_unreachable(5));
        let mut net = net.with_unreachable(0.3, 8);
        assert!(net.has_unreachable());
        assert_eq!(net.is_unreachable(5), !point.place(5).reachable);
        assert_eq!(net.round_trip(1, 2), None, "reachability alone is no topology");
        assert_eq!(net.delay(PeerIdx(1), PeerIdx(2), |p| p.0), SimDuration(50));
    }

    #[test]
    fn a_matrix_gives_its_row_and_column_by_each_mapping() {
        // One-way latencies of 3 hosts (half their round trips).
        let one_way = vec![0, 5, 10, 6, 1, 15, 11, 16, 2];
        let matrix = |mapping| {
            let m = LatencyMatrix { hosts: 3, one_way: one_way.clone(), mapping };
            Network::new(Latency::Matrix(Arc::new(m)), 9, Purpose::Network)
        };
        let mut exact = matrix(HostMapping::Exact);
        assert_eq!(exact.delay(PeerIdx(0), PeerIdx(2), |p| p.0), SimDuration(10));
        assert_eq!(exact.delay(PeerIdx(2), PeerIdx(0), |p| p.0), SimDuration(11), "as given");
        assert_eq!(exact.round_trip(1, 2), Some(SimDuration(31)), "there (15) and back (16)");
        let mut modulo = matrix(HostMapping::Modulo);
        // Hosts 4 and 5 are rows 1 and 2; hosts 3 and 6 are both row 0, its diagonal.
        assert_eq!(modulo.delay(PeerIdx(4), PeerIdx(5), |p| p.0), SimDuration(15));
        assert_eq!(modulo.delay(PeerIdx(3), PeerIdx(6), |p| p.0), SimDuration(0));
        // Random: each host's row from its first word of the topology stream, so the same
        // for every network of the seed, and every row is used.
        let (mut a, mut b) = (matrix(HostMapping::Random), matrix(HostMapping::Random));
        let rows: Vec<u32> = (0..60).map(|h| a.topology.as_mut().unwrap().place(h).row).collect();
        let again: Vec<u32> = (0..60).map(|h| b.topology.as_mut().unwrap().place(h).row).collect();
        assert_eq!(rows, again);
        assert!((0..3).all(|r| rows.contains(&r)), "{rows:?}");
    }
}
