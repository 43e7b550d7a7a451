//! Medians, and how far a ratio of two medians can be trusted: a bootstrap interval.

/// The median of `v` (sorted in place).
pub fn median(v: &mut [f64]) -> f64 {
    v.sort_by(f64::total_cmp);
    let n = v.len();
    if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    }
}

/// The 95% bootstrap interval of `median(a) / median(b)`: both resampled with replacement
/// 2000 times, from a fixed seed (the same samples give the same interval).
pub fn ratio_interval(a: &[f64], b: &[f64]) -> (f64, f64) {
    // xorshift64*: enough to resample, and no dependency for it.
    let mut state: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = |n: usize| {
        state ^= state >> 12;
        state ^= state << 25;
        state ^= state >> 27;
        (state.wrapping_mul(0x2545_f491_4f6c_dd1d) >> 33) as usize % n
    };
    let mut ratios: Vec<f64> = (0..2000)
        .map(|_| {
            let mut ra: Vec<f64> = (0..a.len()).map(|_| a[next(a.len())]).collect();
            let mut rb: Vec<f64> = (0..b.len()).map(|_| b[next(b.len())]).collect();
            median(&mut ra) / median(&mut rb)
        })
        .collect();
    ratios.sort_by(f64::total_cmp);
    (ratios[50], ratios[1949])
}
