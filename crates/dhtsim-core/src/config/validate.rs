//! [`Config::validate`]: every rule that relates a configuration's fields, and the
//! [`ConfigError`] that names the scenario key a broken rule concerns.

use super::*;
use crate::churn::{Arrivals, ChurnModel, SessionDist, TraceKind};
use std::fmt;

impl Config {
    /// Checks the rules every run's configuration obeys, in a fixed order, and returns the first
    /// one broken, naming the scenario key it concerns.
    ///
    /// - the warm-up ends before the run does (`warmup_s`);
    /// - at least one peer; random peers fit the space (at most `min(2^m, 2^32 - 1)`); listed
    ///   IDs are inside the space and distinct (`population.peers`, `population.ids`);
    /// - a ring formed by joins draws its peers at random (`population.bootstrap`);
    /// - a uniform latency has `min <= max` (`network.latency_max_ms`), a plane's access delays
    ///   too (`network.access_max_ms`);
    /// - per-peer lookups have a positive interval and no lookup count; keys drawn from stored
    ///   files need files; a Zipf exponent is at least 0 (`workload.*`);
    /// - scripted events happen before the end of the run and name IDs of the space
    ///   (`events[i].*`);
    /// - churn: positive session means, shapes and rates, fractions in range, a mass failure
    ///   before the end of the run, trace rows before the end of the run and inside the space
    ///   (`churn.*`, `churn.trace` with the row's index);
    /// - successor lists of at least 1, replication from 1 to `successors + 1`, positive
    ///   maintenance periods, 1 to 16 RPC attempts, at least 1 virtual node (`overlay.*`);
    /// - `own_fingers` keys need fingers (`workload.keys`);
    /// - a ring formed by joins needs maintenance and has no virtual nodes, clients or proximity
    ///   selection;
    /// - virtual nodes need a random population and no churn model, and the `n·v` nodes fit the
    ///   space (`overlay.virtual_nodes`);
    /// - a swarm has no topology (plane or matrix) nor classes of access links
    ///   (`network.latency`, `network.links`);
    /// - classes of access links have weights of at least 1, losses in [0, 1), and access
    ///   delays in order and only in the plane (`network.links[i].*`);
    /// - an exact latency matrix has a host for every peer the run can have, and no churn model
    ///   (`network.matrix_hosts`);
    /// - proximity selection needs a topology and a static network bootstrapped converged
    ///   (`overlay.proximity`); proximity route selection a topology and no peer joining
    ///   after time zero (`overlay.proximity_routing`);
    /// - samples have a positive interval (`output.sample_s`).
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_window()?;
        self.check_population()?;
        self.check_network()?;
        self.check_workload()?;
        self.check_events()?;
        self.check_churn()?;
        self.check_overlay()?;
        self.check_combinations()?;
        self.check_swarm()?;
        self.check_output()
    }

    fn check_swarm(&self) -> Result<(), ConfigError> {
        let Some(s) = &self.swarm else { return Ok(()) };
        if !self.network.links.is_empty() {
            let msg = "a swarm's messages are never lost and take the constant or uniform \
                       latency: classes of access links are not supported with [swarm] yet";
            return fail("network.links", msg);
        }
        if self.network.latency.has_topology() {
            let msg = "a swarm's messages use the constant or uniform model: \
                       `latency = \"plane\"` or `\"matrix\"` is not supported with [swarm] yet";
            return fail("network.latency", msg);
        }
        if s.pieces == 0 {
            return fail("swarm.pieces", "must be at least 1");
        }
        if s.piece_kib == 0 {
            return fail("swarm.piece_kib", "must be at least 1");
        }
        let capacity = |key: &str, c: &crate::swarm::CapacityClass| {
            if c.up_kbps == 0 {
                return fail(format!("{key}up_kbps"), "must be positive");
            }
            if c.down_kbps == 0 {
                return fail(format!("{key}down_kbps"), "must be positive");
            }
            Ok(())
        };
        if s.classes.is_empty() {
            return fail("swarm.classes", "must list at least one capacity class");
        }
        for (i, c) in s.classes.iter().enumerate() {
            if s.classes.len() == 1 {
                capacity("swarm.", c)?;
            } else {
                capacity(&format!("swarm.classes[{i}]."), c)?;
                if c.weight == 0 {
                    return fail(format!("swarm.classes[{i}].weight"), "must be at least 1");
                }
            }
        }
        capacity("swarm.seeder_", &s.seeder)?;
        if s.seeders == 0 && s.flash_crowd == 0 && s.arrivals_per_s <= 0.0 {
            return fail("swarm.leechers", "a swarm needs peers: seeders, leechers or arrivals");
        }
        if !(s.arrivals_per_s.is_finite() && s.arrivals_per_s >= 0.0) {
            return fail("swarm.arrivals_per_s", "must be a rate of at least 0");
        }
        if s.announce == SimDuration::ZERO {
            return fail("swarm.announce_s", "must be positive");
        }
        for (key, v) in [("numwant", s.numwant), ("max_peers", s.max_peers)] {
            if v == 0 {
                return fail(format!("swarm.{key}"), "must be at least 1");
            }
        }
        if s.max_peers > crate::swarm::MAX_PEERS {
            let most = crate::swarm::MAX_PEERS;
            return fail("swarm.max_peers", format!("must be at most {most}"));
        }
        if !s.discovery.tracker() && !s.tracker_events.is_empty() {
            return fail(
                "swarm.tracker_down_s",
                format!(
                    "names a tracker outage, and this swarm has no tracker (`discovery = \"{}\"`)",
                    s.discovery.name()
                ),
            );
        }
        if let Some((law, crash)) = s.aborts {
            if !(law.mean_ms() >= 1.0 && law.mean_ms().is_finite()) {
                return fail("swarm.abort_mean_s", "must be at least 0.001 s");
            }
            if !(0.0..=1.0).contains(&crash) {
                return fail("swarm.abort_crash_fraction", "must be in [0, 1]");
            }
        }
        Ok(())
    }

    fn check_window(&self) -> Result<(), ConfigError> {
        if self.warmup >= self.duration {
            let msg = format!(
                "must be less than duration_s ({}), got {}",
                seconds(self.duration.as_ms()),
                seconds(self.warmup.as_ms())
            );
            return fail("warmup_s", msg);
        }
        Ok(())
    }

    fn check_population(&self) -> Result<(), ConfigError> {
        let space = self.space;
        match &self.population {
            Population::Random(0) => return fail("population.peers", "must be at least 1"),
            Population::Random(n) if *n as u128 > max_nodes(space) => {
                let msg = format!(
                    "{n} peers do not fit: at most {} distinct IDs with id_bits = {}",
                    max_nodes(space),
                    space.bits()
                );
                return fail("population.peers", msg);
            }
            Population::Random(_) => {}
            Population::Explicit(ids) if ids.is_empty() => {
                return fail("population.ids", "must list at least one peer ID");
            }
            Population::Explicit(ids) => {
                if let Some(i) = ids.iter().position(|id| !space.contains(id.0)) {
                    let e = ConfigError::new("population.ids", outside(space, ids[i]));
                    return Err(e.at_element(i));
                }
                // (ID, index) in order: the first equal pair is the smallest repeated ID, the
                // second of the pair its second occurrence.
                let mut sorted: Vec<(RingId, usize)> = ids.iter().copied().zip(0..).collect();
                sorted.sort_unstable();
                if let Some(pair) = sorted.windows(2).find(|w| w[0].0 == w[1].0) {
                    let msg = format!("duplicate peer ID {}", pair[1].0);
                    return Err(ConfigError::new("population.ids", msg).at_element(pair[1].1));
                }
            }
        }
        if self.bootstrap == Bootstrap::Joins && matches!(self.population, Population::Explicit(_))
        {
            let msg = "\"joins\" draws the peers' IDs and join order: use `peers`, not `ids`";
            return fail("population.bootstrap", msg);
        }
        Ok(())
    }

    fn check_network(&self) -> Result<(), ConfigError> {
        if let Latency::Uniform { min, max } = self.network.latency
            && min > max
        {
            let msg =
                format!("must be at least latency_min_ms ({}), got {}", min.as_ms(), max.as_ms());
            return fail("network.latency_max_ms", msg);
        }
        if let Latency::Plane(p) = self.network.latency
            && p.access_min > p.access_max
        {
            let (min, max) = (p.access_min.as_ms(), p.access_max.as_ms());
            let msg = format!("must be at least access_min_ms ({min}), got {max}");
            return fail("network.access_max_ms", msg);
        }
        if let Latency::Matrix(m) = &self.network.latency
            && m.mapping == HostMapping::Exact
        {
            // Hosts are the physical peers, one more per join.
            let joins = |n: usize| n as u64;
            let scripted = self.events.iter().filter(|e| matches!(e.action, Action::Join { .. }));
            let hosts = match &self.churn.model {
                ChurnModel::None => Some(self.population.len() + joins(scripted.count())),
                ChurnModel::Trace(events) => {
                    let traced = events.iter().filter(|e| e.kind == TraceKind::Join).count();
                    Some(self.population.len() + joins(scripted.count() + traced))
                }
                _ => None,
            };
            let rule = "set `matrix_hosts = \"modulo\"` or `\"random\"` to map several onto one";
            match hosts {
                None => {
                    let msg = format!(
                        "a churn model adds peers as it runs, and the matrix has {} hosts: {rule}",
                        m.hosts
                    );
                    return fail("network.matrix_hosts", msg);
                }
                Some(n) if n > m.hosts as u64 => {
                    let msg = format!(
                        "the run has {n} peers (joiners included) and the matrix {} hosts: {rule}",
                        m.hosts
                    );
                    return fail("network.matrix_hosts", msg);
                }
                Some(_) => {}
            }
        }
        for (key, share) in
            [("network.loss", self.network.loss), ("network.unreachable", self.network.unreachable)]
        {
            if !(0.0..1.0).contains(&share) {
                return fail(key, format!("must be at least 0 and less than 1, got {share}"));
            }
        }
        self.check_links()
    }

    /// The classes of access links: weights of at least 1, losses in [0, 1), access delays
    /// only in the plane and in order.
    fn check_links(&self) -> Result<(), ConfigError> {
        for (i, c) in self.network.links.iter().enumerate() {
            let key = |k: &str| format!("network.links[{i}].{k}");
            if c.weight == 0 {
                return fail(key("weight"), "must be at least 1");
            }
            if !(0.0..1.0).contains(&c.loss) {
                let msg = format!("must be at least 0 and less than 1, got {}", c.loss);
                return fail(key("loss"), msg);
            }
            if let Some((min, max)) = c.access {
                if !matches!(self.network.latency, Latency::Plane(_)) {
                    let msg = "access delays are the plane's: they need `latency = \"plane\"`";
                    return fail(key("access_min_ms"), msg);
                }
                if min > max {
                    let (min, max) = (min.as_ms(), max.as_ms());
                    let msg = format!("must be at least access_min_ms ({min}), got {max}");
                    return fail(key("access_max_ms"), msg);
                }
            }
        }
        Ok(())
    }

    fn check_workload(&self) -> Result<(), ConfigError> {
        let w = &self.workload;
        if let Some(every) = w.per_peer_interval {
            if every == SimDuration::ZERO {
                return fail("workload.per_peer_interval_s", "must be positive");
            }
            if w.lookups > 0 {
                let msg = "must be 0 when every peer looks up once per `per_peer_interval_s`";
                return fail("workload.lookups", msg);
            }
        }
        match w.keys {
            KeyDist::Zipf { exponent } if !(exponent >= 0.0 && exponent.is_finite()) => {
                fail("workload.zipf_exponent", format!("must be at least 0, got {exponent}"))
            }
            KeyDist::Stored | KeyDist::Zipf { .. } if w.files == 0 => {
                let kind = if w.keys == KeyDist::Stored { "stored" } else { "zipf" };
                let msg = format!(
                    "\"{kind}\" draws keys from the stored files: set `workload.files` to 1 or more"
                );
                fail("workload.keys", msg)
            }
            _ => Ok(()),
        }
    }

    fn check_events(&self) -> Result<(), ConfigError> {
        for (i, ev) in self.events.iter().enumerate() {
            for (key, id) in ev.action.ids() {
                if !self.space.contains(id.0) {
                    return fail(format!("events[{i}].{key}"), outside(self.space, id));
                }
            }
            if ev.at >= self.duration {
                let msg = format!(
                    "{} is not before the end of the run (duration_s = {} ms)",
                    ev.at.as_ms(),
                    self.duration.as_ms()
                );
                return fail(format!("events[{i}].at_ms"), msg);
            }
        }
        Ok(())
    }

    fn check_churn(&self) -> Result<(), ConfigError> {
        let churn = &self.churn;
        let crash = match &churn.model {
            ChurnModel::None | ChurnModel::Trace(_) => None,
            ChurnModel::Sessions { session, arrivals, crash_fraction } => {
                positive("churn.session_mean_s", session.mean_ms() / 1000.0, " s")?;
                match *session {
                    SessionDist::Pareto { shape, .. } if !(shape > 1.0 && shape.is_finite()) => {
                        let msg = format!("must be greater than 1 (a finite mean), got {shape}");
                        return fail("churn.shape", msg);
                    }
                    SessionDist::Weibull { shape, .. } => positive("churn.shape", shape, "")?,
                    _ => {}
                }
                if let Arrivals::Poisson { rate_per_ms } = *arrivals {
                    positive("churn.arrival_rate_per_s", rate_per_ms * 1000.0, " per s")?;
                }
                Some(*crash_fraction)
            }
            ChurnModel::Poisson { join_rate_per_ms, leave_rate_per_ms, crash_fraction } => {
                positive("churn.rate_per_s", join_rate_per_ms * 1000.0, " per s")?;
                positive("churn.rate_per_s", leave_rate_per_ms * 1000.0, " per s")?;
                Some(*crash_fraction)
            }
        };
        if let Some(m) = churn.mass_failure {
            if !(0.0..1.0).contains(&m.fraction) {
                let msg = format!("must be at least 0 and less than 1, got {}", m.fraction);
                return fail("churn.fail_fraction", msg);
            }
            if m.at >= self.duration {
                let msg =
                    format!("must be before duration_s ({} s)", self.duration.as_ms() as f64 / 1e3);
                return fail("churn.fail_at_s", msg);
            }
        }
        if let Some(x) = crash
            && !(0.0..=1.0).contains(&x)
        {
            return fail("churn.crash_fraction", format!("must be between 0 and 1, got {x}"));
        }
        if let ChurnModel::Trace(rows) = &churn.model {
            for (i, row) in rows.iter().enumerate() {
                let msg = if row.at >= self.duration {
                    format!(
                        "at_ms {} is not before the end of the run (duration_s = {} ms)",
                        row.at.as_ms(),
                        self.duration.as_ms()
                    )
                } else if !self.space.contains(row.peer.0) {
                    format!(
                        "peer: expected an ID in 0..2^{}, found \"{}\"",
                        self.space.bits(),
                        row.peer
                    )
                } else {
                    continue;
                };
                return Err(ConfigError::new("churn.trace", msg).at_element(i));
            }
        }
        Ok(())
    }

    fn check_overlay(&self) -> Result<(), ConfigError> {
        let o = &self.overlay;
        if o.protocol == ProtocolKind::Kademlia {
            return self.check_kademlia();
        }
        if o.successors == 0 {
            return fail("overlay.successors", "must be at least 1");
        }
        if o.replication == 0 {
            return fail("overlay.replication", "must be at least 1");
        }
        if o.replication as u64 > o.successors as u64 + 1 {
            let msg = format!(
                "at most successors + 1 = {} (copies go to the successor list)",
                o.successors as u64 + 1
            );
            return fail("overlay.replication", msg);
        }
        if !(1..=defaults::MAX_RPC_ATTEMPTS).contains(&o.rpc_attempts) {
            let msg =
                format!("must be from 1 to {}, got {}", defaults::MAX_RPC_ATTEMPTS, o.rpc_attempts);
            return fail("overlay.rpc_attempts", msg);
        }
        if let Some(m) = o.maintenance {
            let periods = [
                ("overlay.stabilize_s", m.stabilize),
                ("overlay.fix_fingers_s", m.fix_finger),
                ("overlay.check_predecessor_s", m.check_predecessor),
            ];
            if let Some((key, _)) = periods.iter().find(|(_, p)| *p == SimDuration::ZERO) {
                return fail(*key, "must be positive");
            }
        }
        if !o.learn_from_timeouts && o.lookup != LookupStyle::Iterative {
            let msg = "`false` needs `overlay.lookup = \"iterative\"`: a recursive forwarder that \
                       kept a dead peer would pick it again at every retry";
            return fail("overlay.learn_from_timeouts", msg);
        }
        if o.virtual_nodes == 0 {
            return fail("overlay.virtual_nodes", "must be at least 1");
        }
        if o.timer_exponential && o.timer_jitter {
            let msg = "and `timer_jitter` both draw timer intervals: choose one";
            return fail("overlay.timer_exponential", msg);
        }
        Ok(())
    }

    /// Kademlia's own rules, and the Chord settings that it cannot take (left at their defaults
    /// they are not Chord's choices but nobody's; set to anything else they would be ignored).
    fn check_kademlia(&self) -> Result<(), ConfigError> {
        let o = &self.overlay;
        let kad = &o.kademlia;
        if kad.k == 0 {
            return fail("overlay.k", "must be at least 1");
        }
        if kad.alpha == 0 {
            return fail("overlay.alpha", "must be at least 1");
        }
        if kad.alpha > kad.k {
            let msg = format!("at most k = {} (requests go to the k closest contacts)", kad.k);
            return fail("overlay.alpha", msg);
        }
        if o.replication == 0 {
            return fail("overlay.replication", "must be at least 1");
        }
        if o.maintenance.is_some() {
            let periods =
                [("overlay.refresh_s", kad.refresh), ("overlay.republish_s", kad.republish)];
            if let Some((key, _)) = periods.iter().find(|(_, p)| *p == SimDuration::ZERO) {
                return fail(*key, "must be positive");
            }
        }
        let chord_only = [
            ("overlay.fingers", o.fingers),
            ("overlay.cache_size", o.cache_size != 0),
            ("overlay.route_via_successors", o.route_via_successors),
            ("overlay.reactive_stabilization", o.reactive_stabilization),
            ("overlay.fingers_at_join", o.fingers_at_join),
            ("overlay.finger_hints", o.finger_hints),
            ("overlay.iterative_repairs", o.iterative_repairs),
            ("overlay.repair_retries", o.repair_retries.is_some()),
            ("overlay.fix_all_fingers", o.fix_all_fingers),
            ("overlay.chord_variant", o.chord_variant != ChordVariant::Zave),
            ("overlay.lookup", o.lookup != LookupStyle::Recursive),
            ("overlay.learn_from_timeouts", !o.learn_from_timeouts),
            ("overlay.hop_limit", o.hop_limit.is_some()),
            ("overlay.virtual_nodes", o.virtual_nodes != 1),
        ];
        if let Some((key, _)) = chord_only.iter().find(|(_, set)| *set) {
            let msg = "is a Chord setting; Kademlia (`overlay.protocol = \"kademlia\"`) has no \
                       such thing: remove it, or run Chord";
            return fail(*key, msg);
        }
        Ok(())
    }

    /// Rules that tie the overlay to the workload, the bootstrap, the population and the churn.
    fn check_combinations(&self) -> Result<(), ConfigError> {
        let o = &self.overlay;
        if self.workload.keys == KeyDist::OwnFingers && !o.fingers {
            let msg = "\"own_fingers\" looks up the origin's fingers: set `overlay.fingers = true`";
            return fail("workload.keys", msg);
        }
        if self.bootstrap == Bootstrap::Joins {
            if o.maintenance.is_none() && o.protocol == ProtocolKind::Chord {
                let msg = "a ring formed by joins needs maintenance: stabilization builds it";
                return fail("overlay.maintenance", msg);
            }
            if o.virtual_nodes > 1 {
                let msg = "not supported with `population.bootstrap = \"joins\"`";
                return fail("overlay.virtual_nodes", msg);
            }
            if o.proximity > 1 {
                let msg = "proximity selection applies to a converged network's tables: not \
                           supported with `population.bootstrap = \"joins\"` yet";
                return fail("overlay.proximity", msg);
            }
            if o.client_mode && self.network.unreachable > 0.0 {
                let msg = "clients are not supported with `population.bootstrap = \"joins\"` \
                           yet (the ring forms from peers that serve)";
                return fail("overlay.client_mode", msg);
            }
        }
        if o.proximity > 1 {
            if !self.network.latency.has_topology() {
                let msg = "proximity selection needs distances: set `network.latency = \"plane\"` \
                           or `\"matrix\"`";
                return fail("overlay.proximity", msg);
            }
            if o.maintenance.is_some() || !matches!(self.churn.model, ChurnModel::None) {
                let msg = "proximity selection applies to the tables of a converged network at \
                           time zero, which repairs and joins would not keep: not supported with \
                           maintenance or a churn model yet";
                return fail("overlay.proximity", msg);
            }
        }
        if o.kademlia.proximity_routing && o.protocol == ProtocolKind::Kademlia {
            let key = "overlay.proximity_routing";
            if !self.network.latency.has_topology() {
                let msg = "proximity route selection needs round trips: set \
                           `network.latency = \"plane\"` or `\"matrix\"`";
                return fail(key, msg);
            }
            let joins = self.events.iter().any(|e| matches!(e.action, Action::Join { .. }));
            if self.bootstrap == Bootstrap::Joins
                || joins
                || !matches!(self.churn.model, ChurnModel::None)
            {
                let msg = "proximity route selection reads the round trips of the peers present \
                           at time zero: not supported with joins or a churn model yet";
                return fail(key, msg);
            }
        }
        if o.virtual_nodes > 1 {
            let v = o.virtual_nodes;
            match self.population {
                Population::Explicit(_) => {
                    let msg =
                        "virtual nodes need `population.peers` (IDs drawn at random), not `ids`";
                    return fail("overlay.virtual_nodes", msg);
                }
                _ if !matches!(self.churn.model, ChurnModel::None) => {
                    let msg = "virtual nodes are not supported with a churn model yet (only a \
                               static population, scripted events and `churn.fail_fraction`)";
                    return fail("overlay.virtual_nodes", msg);
                }
                Population::Random(n) if n as u128 * v as u128 > max_nodes(self.space) => {
                    let msg = format!(
                        "{n} peers × {v} virtual nodes do not fit in id_bits = {}",
                        self.space.bits()
                    );
                    return fail("overlay.virtual_nodes", msg);
                }
                Population::Random(_) => {}
            }
        }
        Ok(())
    }

    fn check_output(&self) -> Result<(), ConfigError> {
        if self.sample == Some(SimDuration::ZERO) {
            return fail("output.sample_s", "must be positive (`None`: no samples)");
        }
        Ok(())
    }
}

/// The most ring nodes a run may start with: distinct IDs of `space`, and peer indices are
/// 32-bit.
fn max_nodes(space: IdSpace) -> u128 {
    space.size().min(u32::MAX as u128)
}

/// Milliseconds as seconds, for messages.
fn seconds(ms: u64) -> f64 {
    ms as f64 / 1000.0
}

/// The message for an ID outside `space` (as the scenario reader words a value out of range).
fn outside(space: IdSpace, id: RingId) -> String {
    format!("{id} is out of range: expected 0 to {}", space.max_id())
}

fn fail(key: impl Into<String>, message: impl Into<String>) -> Result<(), ConfigError> {
    Err(ConfigError::new(key, message))
}

/// Fails unless `x` is positive and finite; `unit` follows the number in the message.
fn positive(key: &str, x: f64, unit: &str) -> Result<(), ConfigError> {
    if x > 0.0 && x.is_finite() {
        Ok(())
    } else {
        fail(key, format!("must be positive, got {x}{unit}"))
    }
}

/// A rule of [`Config::validate`] that a configuration breaks: the key it concerns, named as in a
/// scenario file (`docs/scenario.md`), and what is wrong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ConfigError {
    /// The key, dotted from the top of a scenario file: `warmup_s`, `overlay.virtual_nodes`,
    /// `events[2].at_ms` (the third `[[events]]` table), `churn.trace`.
    pub key: String,
    /// For a key that holds a list, the element at fault, from 0: an index into
    /// `population.ids`, or the row (among the trace's events) of `churn.trace`.
    pub element: Option<usize>,
    /// What is wrong, worded to follow the key ("must be less than duration_s (10), got 10").
    pub message: String,
}

impl ConfigError {
    /// A broken rule about `key`.
    pub fn new(key: impl Into<String>, message: impl Into<String>) -> Self {
        ConfigError { key: key.into(), element: None, message: message.into() }
    }

    /// The same error about element `i` of the key's list.
    pub fn at_element(mut self, i: usize) -> Self {
        self.element = Some(i);
        self
    }
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "key `{}`", self.key)?;
        if let Some(i) = self.element {
            write!(f, " (element {i})")?;
        }
        write!(f, ": {}", self.message)
    }
}

impl std::error::Error for ConfigError {}
