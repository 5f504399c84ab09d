//! The statistics behind the feedback reports: the Wilson score interval of a thumbs-up rate and
//! the two-proportion z-test that compares two prompt versions.
//!
//! They are plain functions of counts, kept out of the reports so that they can be checked
//! against independently computed values without a database. Each returns `None` where the
//! statistic is undefined (no observations, or no variance), which the reports turn into JSON
//! `null` rather than a made-up number.

/// The standard normal quantile for a two-sided 95% interval (Φ⁻¹(0.975)).
pub const Z_95: f64 = 1.959_963_984_540_054;

/// A closed interval of proportions.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Interval {
    /// The lower bound, in [0, 1].
    pub low: f64,
    /// The upper bound, in [0, 1].
    pub high: f64,
}

/// The Wilson score interval of `successes` out of `trials` at the normal quantile `z`
/// (use [`Z_95`] for 95%); `None` when there are no trials.
///
/// Unlike the textbook p ± z·√(p(1−p)/n), it stays inside [0, 1] and does not collapse to a
/// point at 0 or n successes, which matters for prompt versions with a handful of ratings.
pub fn wilson_interval(successes: u64, trials: u64, z: f64) -> Option<Interval> {
    if trials == 0 || successes > trials {
        return None;
    }

    let n = trials as f64;
    let p = successes as f64 / n;
    let z_squared = z * z;

    let denominator = 1.0 + z_squared / n;
    let centre = (p + z_squared / (2.0 * n)) / denominator;
    let half_width = z / denominator * (p * (1.0 - p) / n + z_squared / (4.0 * n * n)).sqrt();

    Some(Interval {
        low: (centre - half_width).max(0.0),
        high: (centre + half_width).min(1.0),
    })
}

/// The two-sided p-value of the pooled two-proportion z-test of `successes_a / trials_a`
/// against `successes_b / trials_b`.
///
/// `None` when a side has no trials, or when the pooled proportion is 0 or 1: every rating is
/// then the same and the test has no variance to measure against.
pub fn two_proportion_p_value(
    successes_a: u64,
    trials_a: u64,
    successes_b: u64,
    trials_b: u64,
) -> Option<f64> {
    if trials_a == 0 || trials_b == 0 || successes_a > trials_a || successes_b > trials_b {
        return None;
    }

    let (n_a, n_b) = (trials_a as f64, trials_b as f64);
    let pooled = (successes_a + successes_b) as f64 / (n_a + n_b);
    let standard_error = (pooled * (1.0 - pooled) * (1.0 / n_a + 1.0 / n_b)).sqrt();
    if standard_error == 0.0 {
        return None;
    }

    let z = (successes_b as f64 / n_b - successes_a as f64 / n_a) / standard_error;

    // P(|Z| ≥ |z|) = 2·(1 − Φ(|z|)) = erfc(|z| / √2).
    Some(complementary_error_function(z.abs() / std::f64::consts::SQRT_2).min(1.0))
}

/// erfc(x), by the Chebyshev fit of Press et al., *Numerical Recipes* (2nd ed., §6.2), whose
/// relative error is below 1.2·10⁻⁷ everywhere: ample for p-values shown to four places.
fn complementary_error_function(x: f64) -> f64 {
    let t = 1.0 / (1.0 + 0.5 * x.abs());
    let polynomial = [
        -1.265_512_23,
        1.000_023_68,
        0.374_091_96,
        0.096_784_18,
        -0.186_288_06,
        0.278_868_07,
        -1.135_203_98,
        1.488_515_87,
        -0.822_152_23,
        0.170_872_77,
    ]
    .iter()
    .rev()
    .fold(0.0, |accumulated, coefficient| {
        coefficient + t * accumulated
    });
    let value = t * (-x * x + polynomial).exp();

    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;

    const TOLERANCE: f64 = 1e-6;

    #[track_caller]
    fn assert_close(actual: f64, expected: f64) {
        assert!(
            (actual - expected).abs() < TOLERANCE,
            "{actual} is not within {TOLERANCE} of {expected}"
        );
    }

    #[test]
    fn erfc_matches_reference_values() {
        // Reference values from Python's math.erfc.
        assert_close(complementary_error_function(0.0), 1.0);
        assert_close(complementary_error_function(0.5), 0.479_500_122_186_953_5);
        assert_close(complementary_error_function(1.0), 0.157_299_207_050_285_13);
        assert_close(complementary_error_function(2.0), 0.004_677_734_981_047_266);
        assert_close(complementary_error_function(-1.0), 1.842_700_792_949_715);
    }

    #[test]
    fn wilson_interval_of_eight_in_ten() {
        // p = 0.8, n = 10, z² = 3.841459: centre = (0.8 + 0.192073) / 1.384146 = 0.716741,
        // half-width = 1.959964 / 1.384146 · √(0.016 + 0.009604) = 0.226607.
        let interval = wilson_interval(8, 10, Z_95).unwrap();
        assert_close(interval.low, 0.490_162_471_536_641_8);
        assert_close(interval.high, 0.943_317_848_545_624_8);
    }

    #[test]
    fn wilson_interval_stays_within_bounds_at_the_extremes() {
        // 0 of 5: centre = z²/(2n) / (1 + z²/n) = half-width, so low is exactly 0;
        // high = 2 · 0.384146 / 1.768292 = 0.434482.
        let none = wilson_interval(0, 5, Z_95).unwrap();
        assert_close(none.low, 0.0);
        assert_close(none.high, 0.434_482_464_783_174_8);

        let all = wilson_interval(5, 5, Z_95).unwrap();
        assert_close(all.low, 1.0 - 0.434_482_464_783_174_8);
        assert_close(all.high, 1.0);
    }

    #[test]
    fn wilson_interval_is_undefined_without_trials() {
        assert_eq!(wilson_interval(0, 0, Z_95), None);
        assert_eq!(wilson_interval(3, 2, Z_95), None);
    }

    #[test]
    fn pooled_z_test_p_value() {
        // 40/50 against 30/50: pooled 0.7, se = √(0.21 · 0.04) = 0.091652, z = −2.182179,
        // p = erfc(2.182179 / √2) = 0.029096.
        assert_close(
            two_proportion_p_value(40, 50, 30, 50).unwrap(),
            0.029_096_331_741_252,
        );
        assert_close(
            two_proportion_p_value(30, 50, 40, 50).unwrap(),
            0.029_096_331_741_252,
        );
        assert_close(two_proportion_p_value(10, 20, 10, 20).unwrap(), 1.0);
    }

    #[test]
    fn pooled_z_test_is_undefined_without_variance() {
        assert_eq!(two_proportion_p_value(0, 0, 3, 4), None);
        assert_eq!(two_proportion_p_value(5, 5, 7, 7), None);
        assert_eq!(two_proportion_p_value(0, 5, 0, 7), None);
    }
}
