//! Distributions of cycle counts in bounded space, so that a run's memory
//! does not grow with its length: the statistics of a billion system calls
//! take what those of a hundred thousand do.
//!
//! The first [`EXACT_SAMPLES`] values are kept as they are, and the mean,
//! median, 99th percentile and maximum are exact, as when every value was
//! kept. Past that the values go into a log-linear histogram: exact below
//! 256, and within 1/128 of the value above (128 buckets per power of
//! two); a percentile is then the lowest value of its bucket. The count,
//! the mean (from the exact sum) and the maximum stay exact throughout.

use crate::report::Distribution;

/// Values kept exactly before the histogram takes over (512 KiB).
pub const EXACT_SAMPLES: usize = 1 << 16;

/// Values below this have a bucket each.
const LINEAR: u64 = 256;
/// Buckets per power of two above `LINEAR`.
const PER_OCTAVE: u64 = 128;
const BUCKETS: usize = (LINEAR + (64 - 8) * PER_OCTAVE) as usize;

#[derive(Clone, Debug, Default)]
pub struct Quantiles {
    count: u64,
    sum: u128,
    max: u64,
    /// Every value so far, while there are at most EXACT_SAMPLES.
    samples: Vec<u64>,
    /// Counts per bucket, once the samples have overflowed (empty before).
    buckets: Vec<u64>,
}

fn bucket(v: u64) -> usize {
    if v < LINEAR {
        return v as usize;
    }
    let octave = 63 - v.leading_zeros() as u64; // 8..=63
    let top = v >> (octave - 7); // 128..256
    (LINEAR + (octave - 8) * PER_OCTAVE + (top - PER_OCTAVE)) as usize
}

/// The lowest value that falls in bucket `i`.
fn bucket_floor(i: usize) -> u64 {
    let i = i as u64;
    if i < LINEAR {
        return i;
    }
    let octave = 8 + (i - LINEAR) / PER_OCTAVE;
    let top = PER_OCTAVE + (i - LINEAR) % PER_OCTAVE;
    top << (octave - 7)
}

impl Quantiles {
    pub fn add(&mut self, v: u64) {
        self.count += 1;
        self.sum += v as u128;
        self.max = self.max.max(v);
        if self.buckets.is_empty() {
            if self.samples.len() < EXACT_SAMPLES {
                self.samples.push(v);
                return;
            }
            self.buckets = vec![0; BUCKETS];
            for s in std::mem::take(&mut self.samples) {
                self.buckets[bucket(s)] += 1;
            }
        }
        self.buckets[bucket(v)] += 1;
    }

    pub fn count(&self) -> u64 {
        self.count
    }

    /// Whether every value is still kept (the percentiles are exact).
    pub fn is_exact(&self) -> bool {
        self.buckets.is_empty()
    }

    /// Mean, nearest-rank median and 99th percentile, and maximum.
    pub fn distribution(&self) -> Distribution {
        if self.is_exact() {
            return Distribution::of(self.samples.clone());
        }
        let n = self.count;
        let rank = |p: f64| {
            let k = ((p * n as f64).ceil() as u64).clamp(1, n);
            let mut seen = 0;
            for (i, &c) in self.buckets.iter().enumerate() {
                seen += c;
                if seen >= k {
                    return bucket_floor(i).min(self.max);
                }
            }
            self.max
        };
        Distribution {
            count: n,
            mean: self.sum as f64 / n as f64,
            p50: rank(0.50),
            p99: rank(0.99),
            max: self.max,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_ordered_and_tight() {
        let mut values: Vec<u64> = (0..4096)
            .chain((12..64).flat_map(|e| [(1u64 << e) - 1, 1 << e, (1 << e) + 12345]))
            .collect();
        values.sort_unstable();
        let mut last = 0;
        for v in values {
            let b = bucket(v);
            assert!(b < BUCKETS && b >= last, "{v}");
            last = b;
            let floor = bucket_floor(b);
            assert!(
                floor <= v && (v - floor) as f64 <= v as f64 / 128.0,
                "{v}: floor {floor}"
            );
        }
        assert_eq!(bucket(u64::MAX), BUCKETS - 1);
    }

    #[test]
    fn exact_while_small_then_close() {
        let mut q = Quantiles::default();
        let values: Vec<u64> = (0..EXACT_SAMPLES as u64).map(|i| (i * 7919) % 100_003).collect();
        for &v in &values {
            q.add(v);
        }
        assert!(q.is_exact());
        assert_eq!(q.distribution(), Distribution::of(values.clone()));
        let mut all = values;
        for i in 0..200_000u64 {
            let v = (i * 104_729) % 1_000_003;
            q.add(v);
            all.push(v);
        }
        assert!(!q.is_exact());
        let (got, want) = (q.distribution(), Distribution::of(all));
        assert_eq!((got.count, got.max), (want.count, want.max));
        assert!((got.mean - want.mean).abs() < 1e-6 * want.mean);
        for (g, w) in [(got.p50, want.p50), (got.p99, want.p99)] {
            assert!(g <= w && (w - g) as f64 <= w as f64 / 128.0, "{g} vs {w}");
        }
    }
}
