//! How long to wait before each reconnection attempt.

use std::time::Duration;

/// How the delay before a reconnection attempt is randomised, so that many clients dropped
/// at once (a server restart) do not come back in one wave.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Jitter {
    /// Uniform in `[0, ceiling]`: spreads clients the most (the default).
    #[default]
    Full,
    /// Uniform in `[ceiling / 2, ceiling]`: never retries sooner than half the ceiling.
    Equal,
    /// Exactly the ceiling: deterministic, for tests and single-client tools.
    None,
}

/// Exponential backoff with jitter for reconnection.
///
/// The ceiling for reconnection attempt `n` (1 for the first) is
/// `min(cap, base · factorⁿ⁻¹)`; the delay is drawn from it by [`Jitter`], with a random
/// number drawn per socket. The attempt counter goes back to 1 only after a connection has
/// stayed open for [`stable_after`](Backoff::stable_after), so a server that accepts and at
/// once drops cannot hold the delay at its minimum.
///
/// Defaults: base 1 s, factor 2, cap 30 s, full jitter, unlimited retries, stable after
/// 10 s. The first retry then comes within a second, a restarting server sees its clients
/// spread over the whole window rather than in one spike, and an outage of minutes costs a
/// client one attempt every 15 s on average. (For comparison: socket.io uses 1 s·2ⁿ capped
/// at 5 s with ±50 %; centrifuge 0.5 s·2ⁿ capped at 20 s with full jitter.)
#[derive(Debug, Clone, PartialEq)]
pub struct Backoff {
    pub(crate) base: Duration,
    pub(crate) factor: f64,
    pub(crate) cap: Duration,
    pub(crate) max_retries: Option<u32>,
    pub(crate) jitter: Jitter,
    pub(crate) stable_after: Duration,
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff {
            base: Duration::from_secs(1),
            factor: 2.0,
            cap: Duration::from_secs(30),
            max_retries: None,
            jitter: Jitter::Full,
            stable_after: Duration::from_secs(10),
        }
    }
}

impl Backoff {
    /// The default backoff (see the type's docs).
    pub fn new() -> Self {
        Self::default()
    }

    /// The ceiling of the first retry's delay.
    pub fn base(mut self, base: Duration) -> Self {
        self.base = base;
        self
    }

    /// How much the ceiling grows per attempt; at least 1.
    pub fn factor(mut self, factor: f64) -> Self {
        self.factor = factor;
        self
    }

    /// The largest ceiling.
    pub fn cap(mut self, cap: Duration) -> Self {
        self.cap = cap;
        self
    }

    /// Give up after this many consecutive failed reconnection attempts (`None`: never).
    pub fn max_retries(mut self, max: Option<u32>) -> Self {
        self.max_retries = max;
        self
    }

    /// How the delay is drawn below its ceiling.
    pub fn jitter(mut self, jitter: Jitter) -> Self {
        self.jitter = jitter;
        self
    }

    /// How long a connection must stay open before the attempt counter starts again at 1.
    pub fn stable_after(mut self, period: Duration) -> Self {
        self.stable_after = period;
        self
    }

    pub(crate) fn validate(&self) -> Result<(), String> {
        if !(self.factor.is_finite() && self.factor >= 1.0) {
            // No `{}` of an f64 nor `{:?}` of a Duration in these messages: either pulls
            // ~24 KB of float formatting into every wasm binary.
            return Err("backoff factor must be a finite number >= 1".into());
        }
        if self.base.is_zero() {
            return Err(
                "backoff base must be greater than zero, or every retry comes at once".into(),
            );
        }
        if self.base > self.cap {
            return Err(format!(
                "backoff base ({} ms) must not exceed its cap ({} ms)",
                millis(self.base),
                millis(self.cap)
            ));
        }
        Ok(())
    }

    /// The ceiling of the delay before reconnection attempt `attempt` (1-based).
    pub fn ceiling(&self, attempt: u32) -> Duration {
        let exp = attempt.saturating_sub(1).min(1024) as i32;
        let secs = self.base.as_secs_f64() * self.factor.powi(exp);
        if !secs.is_finite() || secs >= self.cap.as_secs_f64() {
            self.cap
        } else {
            secs_f64(secs)
        }
    }

    /// The delay before attempt `attempt` (1-based), given a uniform random `unit` in [0, 1).
    pub fn delay(&self, attempt: u32, unit: f64) -> Duration {
        let ceiling = self.ceiling(attempt);
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.0
        };
        match self.jitter {
            Jitter::Full => secs_f64(ceiling.as_secs_f64() * unit),
            Jitter::Equal => {
                half(ceiling).saturating_add(secs_f64(half(ceiling).as_secs_f64() * unit))
            }
            Jitter::None => ceiling,
        }
    }
}

/// Seconds as a `Duration` to the microsecond, saturating: negative and NaN give zero,
/// too large gives `u64::MAX` microseconds. Unlike `Duration::from_secs_f64` it cannot panic, and it
/// brings no float formatting into the wasm.
pub(crate) fn secs_f64(secs: f64) -> Duration {
    Duration::from_micros((secs * 1e6) as u64)
}

/// Half of `d`. Duration's `/` checks for a zero divisor and panics: this cannot (and
/// keeps that panic path out of the wasm).
pub(crate) fn half(d: Duration) -> Duration {
    d.checked_div(2).unwrap_or_default()
}

/// A small per-socket random source (SplitMix64): deterministic from its seed, so the core
/// stays a pure function of its inputs; the browser driver seeds it per socket.
#[derive(Debug, Clone)]
pub(crate) struct Rng(u64);

impl Rng {
    pub(crate) fn new(seed: u64) -> Self {
        Rng(seed)
    }

    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in [0, 1).
    pub(crate) fn unit(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }
}

/// Milliseconds for a message, as a `u32` (saturating past 49 days): every integer in
/// resocket's error messages is a `u32` or `usize`, which share one formatting function in
/// wasm; a `u64` (or `as_millis()`'s `u128`) would bring in another into every app.
pub(crate) fn millis(d: Duration) -> u32 {
    // (Not through `as_millis()`: u128 arithmetic is a 128-bit multiply more.)
    (u32::try_from(d.as_secs()).ok())
        .and_then(|s| s.checked_mul(1000))
        .and_then(|ms| ms.checked_add(d.subsec_millis()))
        .unwrap_or(u32::MAX)
}

#[cfg(all(test, not(target_arch = "wasm32")))]
mod tests {
    use super::{millis, Backoff, Jitter, Rng};
    use proptest::prelude::{prop_assert, proptest};
    use std::time::Duration;

    #[test]
    fn ceilings_grow_by_factor_until_the_cap() {
        let b = Backoff::new()
            .base(Duration::from_millis(100))
            .factor(2.0)
            .cap(Duration::from_millis(500));
        let c: Vec<_> = (1..=5).map(|n| b.ceiling(n).as_millis()).collect();
        assert_eq!(c, [100, 200, 400, 500, 500]);
    }

    #[test]
    fn millis_are_exact_up_to_u32_and_saturate_past_it() {
        assert_eq!(millis(Duration::from_micros(1_500_999)), 1500);
        assert_eq!(millis(Duration::from_millis(u64::from(u32::MAX))), u32::MAX);
        assert_eq!(
            millis(Duration::from_millis(u64::from(u32::MAX) - 1)),
            u32::MAX - 1
        );
        assert_eq!(
            millis(Duration::from_millis(u64::from(u32::MAX) + 1)),
            u32::MAX
        );
        // Seconds that fit a u32 but whose milliseconds do not.
        assert_eq!(millis(Duration::from_secs(5_000_000)), u32::MAX);
        assert_eq!(millis(Duration::MAX), u32::MAX);
    }

    #[test]
    fn huge_attempt_numbers_stay_at_the_cap() {
        let b = Backoff::new();
        assert_eq!(b.ceiling(u32::MAX), b.cap);
    }

    #[test]
    fn jitter_modes_draw_where_they_say() {
        let b = Backoff::new()
            .base(Duration::from_secs(8))
            .cap(Duration::from_secs(8));
        assert_eq!(b.clone().jitter(Jitter::Full).delay(1, 0.0), Duration::ZERO);
        assert_eq!(
            b.clone().jitter(Jitter::Full).delay(1, 0.5),
            Duration::from_secs(4)
        );
        assert_eq!(
            b.clone().jitter(Jitter::Equal).delay(1, 0.0),
            Duration::from_secs(4)
        );
        assert_eq!(
            b.clone().jitter(Jitter::Equal).delay(1, 0.5),
            Duration::from_secs(6)
        );
        assert_eq!(
            b.clone().jitter(Jitter::None).delay(1, 0.3),
            Duration::from_secs(8)
        );
    }

    #[test]
    fn invalid_settings_are_reported() {
        assert!(Backoff::new().factor(0.5).validate().is_err());
        assert!(Backoff::new().factor(f64::NAN).validate().is_err());
        assert!(Backoff::new()
            .base(Duration::from_secs(60))
            .validate()
            .is_err());
        assert!(Backoff::new().validate().is_ok());
    }

    #[test]
    fn rng_is_uniformish_and_seeded() {
        let mut a = Rng::new(1);
        let mut b = Rng::new(2);
        let xs: Vec<f64> = (0..1000).map(|_| a.unit()).collect();
        assert!(xs.iter().all(|x| (0.0..1.0).contains(x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((0.45..0.55).contains(&mean), "mean {mean}");
        assert_ne!(
            Rng::new(1).unit(),
            b.unit(),
            "different seeds draw differently"
        );
    }

    proptest! {
        #[test]
        fn delay_always_within_the_ceiling(base_ms in 1u64..10_000, factor in 1.0f64..10.0,
                                            cap_ms in 10_000u64..100_000, attempt in 1u32..200,
                                            unit in 0.0f64..1.0) {
            let b = Backoff::new().base(Duration::from_millis(base_ms)).factor(factor)
                .cap(Duration::from_millis(cap_ms));
            for j in [Jitter::Full, Jitter::Equal, Jitter::None] {
                let b = b.clone().jitter(j);
                let d = b.delay(attempt, unit);
                prop_assert!(d <= b.ceiling(attempt));
                prop_assert!(b.ceiling(attempt) <= b.cap);
                if j == Jitter::Equal { prop_assert!(d >= b.ceiling(attempt) / 2); }
            }
        }
    }
}
