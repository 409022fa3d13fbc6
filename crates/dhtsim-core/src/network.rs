//! The network model: how long a message takes from one peer to another, and whether it
//! arrives at all.
//!
//! Owns message latency and loss. It draws from the run's network stream only, so a different
//! latency or loss never changes peer IDs, churn or the workload; without loss it draws nothing
//! for it, so a lossless run is the same run as before loss existed.

use crate::config::Latency;
use crate::protocol::PeerIdx;
use crate::rng::Rng;
use crate::time::SimDuration;
use rand::RngExt;

/// Delivery delays for one run.
#[derive(Debug)]
pub struct Network {
    latency: Latency,
    loss: f64,
    rng: Rng,
}

impl Network {
    /// A lossless network with the given latency model, drawing from `rng` (the run's network
    /// stream).
    pub fn new(latency: Latency, rng: Rng) -> Self {
        Network { latency, loss: 0.0, rng }
    }

    /// The same network dropping each message with probability `loss` (in [0, 1)).
    pub fn with_loss(self, loss: f64) -> Self {
        debug_assert!((0.0..1.0).contains(&loss), "loss {loss} outside [0, 1)");
        Network { loss, ..self }
    }

    /// Whether the next message between two distinct peers is dropped: one draw from the
    /// network stream when there is loss, none otherwise.
    #[inline]
    pub fn dropped(&mut self) -> bool {
        self.loss > 0.0 && self.rng.random_bool(self.loss)
    }

    /// One-way delay of a message from `from` to `to`. A peer reaches itself instantly.
    pub fn delay(&mut self, from: PeerIdx, to: PeerIdx) -> SimDuration {
        if from == to {
            return SimDuration::ZERO;
        }
        self.draw()
    }

    /// One-way delay of a message between two different peers.
    pub fn draw(&mut self) -> SimDuration {
        match self.latency {
            Latency::Constant(d) => d,
            Latency::Uniform { min, max } => {
                SimDuration(self.rng.random_range(min.as_ms()..=max.as_ms()))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[test]
    fn uniform_stays_in_range_and_self_is_instant() {
        let lat = Latency::Uniform { min: SimDuration(10), max: SimDuration(20) };
        let mut n = Network::new(lat, stream(1, Purpose::Network));
        let mut seen = [false; 11];
        for _ in 0..2000 {
            let d = n.delay(PeerIdx(0), PeerIdx(1)).as_ms();
            assert!((10..=20).contains(&d));
            seen[(d - 10) as usize] = true;
        }
        assert!(seen.iter().all(|&s| s), "every value in the range occurs");
        assert_eq!(n.delay(PeerIdx(3), PeerIdx(3)), SimDuration::ZERO);
    }

    #[test]
    fn loss_drops_its_share_and_no_loss_draws_nothing() {
        let lat = Latency::Uniform { min: SimDuration(10), max: SimDuration(20) };
        let mut lossy = Network::new(lat, stream(1, Purpose::Network)).with_loss(0.2);
        let dropped = (0..100_000).filter(|_| lossy.dropped()).count();
        // Binomial(10^5, 0.2): standard deviation 126.
        assert!((19_500..20_500).contains(&dropped), "{dropped}");
        // Without loss the stream is untouched: the latencies are those of a network that
        // never asked.
        let mut plain = Network::new(lat, stream(1, Purpose::Network));
        let mut asked = Network::new(lat, stream(1, Purpose::Network));
        for _ in 0..1000 {
            assert!(!asked.dropped());
            assert_eq!(asked.draw(), plain.draw());
        }
    }
}
