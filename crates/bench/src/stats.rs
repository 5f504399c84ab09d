//! Percentiles over latency samples. The runner quotes medians and the 99th percentile only,
//! because on a shared machine a mean is pulled around by whatever else runs.

use std::time::Duration;

/// Latencies collected for one side of one operation.
#[derive(Debug, Default, Clone)]
pub struct Samples {
    durations: Vec<Duration>,
}

impl Samples {
    /// Records one latency.
    pub fn push(&mut self, duration: Duration) {
        self.durations.push(duration);
    }

    /// Adds every sample of `other`.
    pub fn extend(&mut self, other: Samples) {
        self.durations.extend(other.durations);
    }

    /// The median, or `None` without samples.
    pub fn p50(&self) -> Option<Duration> {
        self.percentile(0.50)
    }

    /// The 99th percentile, or `None` without samples.
    pub fn p99(&self) -> Option<Duration> {
        self.percentile(0.99)
    }

    /// The nearest-rank percentile `fraction` (0 to 1).
    fn percentile(&self, fraction: f64) -> Option<Duration> {
        if self.durations.is_empty() {
            return None;
        }
        let mut sorted = self.durations.clone();
        sorted.sort_unstable();

        let rank = (fraction * sorted.len() as f64).ceil() as usize;
        let index = rank.clamp(1, sorted.len()) - 1;
        sorted.get(index).copied()
    }
}

/// The middle value of `values` (the upper one of an even count); 0 for none.
pub fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(f64::total_cmp);
    values.get(values.len() / 2).copied().unwrap_or(0.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn millis(values: &[u64]) -> Samples {
        let mut samples = Samples::default();
        for value in values {
            samples.push(Duration::from_millis(*value));
        }
        samples
    }

    #[test]
    fn nearest_rank_percentiles() {
        let samples = millis(&[5, 1, 4, 2, 3]);
        assert_eq!(samples.p50(), Some(Duration::from_millis(3)));
        assert_eq!(samples.p99(), Some(Duration::from_millis(5)));

        let hundred: Vec<u64> = (1..=100).collect();
        let samples = millis(&hundred);
        assert_eq!(samples.p50(), Some(Duration::from_millis(50)));
        assert_eq!(samples.p99(), Some(Duration::from_millis(99)));
    }

    #[test]
    fn no_samples_no_percentile() {
        assert_eq!(Samples::default().p50(), None);
    }
}
