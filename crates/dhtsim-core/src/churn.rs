//! Churn models: when peers arrive and leave, and whether a departure is graceful or a crash.
//!
//! Draws only from the run's churn stream, so runs that differ only in routing or maintenance
//! see the same churn trace. Session lengths follow an exponential, Pareto or Weibull law with a
//! given mean; arrivals either replace each departure at once (steady population) or form a
//! Poisson process; a trace replays timed events from a file. The `Poisson` model is Chord's
//! own (ToN 2003 §V.E): joins and departures are two independent Poisson processes, each
//! departure striking a uniformly chosen live peer. A mass failure crashes a fraction of the
//! members at one instant (ToN 2003 §V.D).

use crate::ring::RingId;
use crate::rng::Rng;
use crate::time::{SimDuration, SimTime};
use rand::RngExt;

/// Distribution of session lengths (time from joining to departing).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum SessionDist {
    /// Exponential with this mean.
    Exponential {
        /// Mean session, ms.
        mean_ms: f64,
    },
    /// Pareto with this mean and shape α > 1 (scale = mean·(α-1)/α).
    Pareto {
        /// Mean session, ms.
        mean_ms: f64,
        /// Shape α.
        shape: f64,
    },
    /// Weibull with this mean and shape k > 0 (scale = mean / Γ(1 + 1/k)).
    Weibull {
        /// Mean session, ms.
        mean_ms: f64,
        /// Shape k.
        shape: f64,
    },
}

impl SessionDist {
    /// The mean session, ms.
    pub fn mean_ms(&self) -> f64 {
        match *self {
            SessionDist::Exponential { mean_ms }
            | SessionDist::Pareto { mean_ms, .. }
            | SessionDist::Weibull { mean_ms, .. } => mean_ms,
        }
    }

    /// One session length, at least 1 ms.
    pub fn sample(&self, rng: &mut Rng) -> SimDuration {
        // 1 - U is in (0, 1]: never takes the log of zero.
        let u = 1.0 - rng.random::<f64>();
        let ms = match *self {
            SessionDist::Exponential { mean_ms } => -mean_ms * libm::log(u),
            SessionDist::Pareto { mean_ms, shape } => {
                let scale = mean_ms * (shape - 1.0) / shape;
                scale / libm::pow(u, 1.0 / shape)
            }
            SessionDist::Weibull { mean_ms, shape } => {
                let scale = mean_ms / gamma(1.0 + 1.0 / shape);
                scale * libm::pow(-libm::log(u), 1.0 / shape)
            }
        };
        SimDuration(ms.round().clamp(1.0, 1e15) as u64)
    }
}

/// How new peers arrive.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Arrivals {
    /// Each departure is replaced at once by a new peer (new ID): the population stays constant.
    Steady,
    /// A Poisson process with this rate (arrivals per ms).
    Poisson {
        /// Rate, arrivals per ms.
        rate_per_ms: f64,
    },
}

/// What a trace row does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TraceKind {
    /// A new peer with this ID joins (through a random live peer).
    Join,
    /// The peer with this ID leaves gracefully.
    Leave,
    /// The peer with this ID crashes.
    Crash,
}

/// One timed trace event.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TraceEvent {
    /// When.
    pub at: SimTime,
    /// What.
    pub kind: TraceKind,
    /// Which peer.
    pub peer: RingId,
}

/// The churn of a run.
#[derive(Clone, Debug, PartialEq)]
pub enum ChurnModel {
    /// A static population.
    None,
    /// Random sessions.
    Sessions {
        /// Session lengths.
        session: SessionDist,
        /// Arrivals.
        arrivals: Arrivals,
        /// Share of departures that are crashes (the rest leave gracefully), in [0, 1].
        crash_fraction: f64,
    },
    /// Joins and departures as two independent Poisson processes; each departure strikes a
    /// live peer chosen uniformly.
    Poisson {
        /// Joins per ms.
        join_rate_per_ms: f64,
        /// Departures per ms.
        leave_rate_per_ms: f64,
        /// Share of departures that are crashes (the rest leave gracefully), in [0, 1].
        crash_fraction: f64,
    },
    /// Replay of timed events, in time order.
    Trace(Vec<TraceEvent>),
}

/// Many members crashing at the same instant.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MassFailure {
    /// When.
    pub at: SimTime,
    /// Share of the members that crash, in [0, 1); at least one member survives.
    pub fraction: f64,
}

/// Churn settings.
#[derive(Clone, Debug, PartialEq)]
pub struct ChurnConfig {
    /// The model.
    pub model: ChurnModel,
    /// Sessions and arrivals start here (bootstrap peers' sessions start counting here).
    pub start: SimTime,
    /// No departure or arrival is scheduled at or after this time, so the ring can converge.
    pub stop: SimTime,
    /// A mass failure, if any (independent of the model).
    pub mass_failure: Option<MassFailure>,
}

impl ChurnConfig {
    /// No churn at all.
    pub fn none() -> Self {
        ChurnConfig {
            model: ChurnModel::None,
            start: SimTime::ZERO,
            stop: SimTime::ZERO,
            mass_failure: None,
        }
    }

    /// Whether membership ever changes through this model or a mass failure.
    pub fn is_active(&self) -> bool {
        !matches!(self.model, ChurnModel::None) || self.mass_failure.is_some()
    }
}

/// Exponential inter-arrival gap for a Poisson process of `rate_per_ms`.
pub fn poisson_gap(rate_per_ms: f64, rng: &mut Rng) -> SimDuration {
    let u = 1.0 - rng.random::<f64>();
    SimDuration((-libm::log(u) / rate_per_ms).round().clamp(1.0, 1e15) as u64)
}

/// The gamma function, by the Lanczos approximation (g = 7, 9 terms; relative error < 1e-13 for
/// the arguments used here, 1 < x <= 1 + 1/k).
pub fn gamma(x: f64) -> f64 {
    const G: f64 = 7.0;
    const C: [f64; 9] = [
        0.999_999_999_999_809_9,
        676.520_368_121_885_1,
        -1_259.139_216_722_402_8,
        771.323_428_777_653_1,
        -176.615_029_162_140_6,
        12.507_343_278_686_905,
        -0.138_571_095_265_720_12,
        9.984_369_578_019_572e-6,
        1.505_632_735_149_311_6e-7,
    ];
    if x < 0.5 {
        return std::f64::consts::PI / (libm::sin(std::f64::consts::PI * x) * gamma(1.0 - x));
    }
    let x = x - 1.0;
    let mut a = C[0];
    let t = x + G + 0.5;
    for (i, c) in C.iter().enumerate().skip(1) {
        a += c / (x + i as f64);
    }
    (2.0 * std::f64::consts::PI).sqrt() * libm::pow(t, x + 0.5) * libm::exp(-t) * a
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rng::{Purpose, stream};

    #[test]
    fn gamma_known_values() {
        assert!((gamma(1.0) - 1.0).abs() < 1e-12);
        assert!((gamma(5.0) - 24.0).abs() < 1e-9);
        assert!((gamma(0.5) - std::f64::consts::PI.sqrt()).abs() < 1e-12);
        assert!((gamma(1.0 + 1.0 / 0.5) - 2.0).abs() < 1e-12);
    }

    #[test]
    fn session_means_match_their_parameters() {
        let mean_ms = 60_000.0;
        for dist in [
            SessionDist::Exponential { mean_ms },
            SessionDist::Pareto { mean_ms, shape: 3.0 },
            SessionDist::Weibull { mean_ms, shape: 0.5 },
            SessionDist::Weibull { mean_ms, shape: 2.0 },
        ] {
            let mut rng = stream(9, Purpose::Churn);
            let n = 200_000;
            let sum: f64 = (0..n).map(|_| dist.sample(&mut rng).as_ms() as f64).sum();
            let got = sum / n as f64;
            // Heavy tails converge slowly: 5 % is several standard errors for these shapes.
            assert!((got - mean_ms).abs() / mean_ms < 0.05, "{dist:?}: mean {got}");
        }
    }

    #[test]
    fn poisson_gaps_have_the_right_mean() {
        let mut rng = stream(2, Purpose::Churn);
        let n = 100_000;
        let sum: u64 = (0..n).map(|_| poisson_gap(0.01, &mut rng).as_ms()).sum();
        let mean = sum as f64 / n as f64;
        assert!((mean - 100.0).abs() < 2.0, "{mean}");
    }
}
