//! The network model: how long a message takes from one peer to another.
//!
//! Owns message latency (and, later, loss). It draws from the run's network stream only, so a
//! different latency model never changes peer IDs, churn or the workload.

use crate::config::Latency;
use crate::protocol::PeerIdx;
use crate::rng::Rng;
use crate::time::SimDuration;
use rand::RngExt;

/// Delivery delays for one run.
#[derive(Debug)]
pub struct Network {
    latency: Latency,
    rng: Rng,
}

impl Network {
    /// A network with the given latency model, drawing from `rng` (the run's network stream).
    pub fn new(latency: Latency, rng: Rng) -> Self {
        Network { latency, rng }
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
}
