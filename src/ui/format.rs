//! Number formatting for narrow columns.

/// 1234 → "1.2k", 1_500_000 → "1.5M"; exact below 10 000.
pub fn short(n: u64) -> String {
    const UNITS: [(u64, &str); 4] = [(1_000_000_000_000, "T"), (1_000_000_000, "G"), (1_000_000, "M"), (1_000, "k")];
    if n < 10_000 {
        return n.to_string();
    }
    for (div, unit) in UNITS {
        if n >= div {
            let v = n as f64 / div as f64;
            return if v < 100.0 { format!("{v:.1}{unit}") } else { format!("{v:.0}{unit}") };
        }
    }
    n.to_string()
}

/// Bytes per second: "512B", "12.3KB", "1.5MB" (powers of 1000, like the rates ipvsadm prints).
pub fn bytes(n: u64) -> String {
    const UNITS: [(u64, &str); 4] =
        [(1_000_000_000_000, "TB"), (1_000_000_000, "GB"), (1_000_000, "MB"), (1_000, "KB")];
    for (div, unit) in UNITS {
        if n >= div {
            let v = n as f64 / div as f64;
            return if v < 100.0 { format!("{v:.1}{unit}") } else { format!("{v:.0}{unit}") };
        }
    }
    format!("{n}B")
}

/// A sparkline of `width` cells from the newest values (scaled to their max).
pub fn sparkline(values: impl DoubleEndedIterator<Item = u64> + ExactSizeIterator, width: usize) -> String {
    const BARS: [char; 8] = ['▁', '▂', '▃', '▄', '▅', '▆', '▇', '█'];
    let len = values.len();
    let v: Vec<u64> = values.skip(len.saturating_sub(width)).collect();
    // In u128: a rate near u64::MAX (a kernel's or a corrupt reply's) must not overflow.
    let max = u128::from(v.iter().copied().max().unwrap_or(0));
    v.iter().map(|&x| BARS[(u128::from(x) * 7 + max / 2).checked_div(max).unwrap_or(0).min(7) as usize]).collect()
}

/// A share bar of `width` cells and the percentage.
pub fn share(part: u64, total: u64, width: usize) -> String {
    if total == 0 || width == 0 {
        return String::new();
    }
    let frac = part as f64 / total as f64;
    let filled = ((frac * width as f64).round() as usize).min(width);
    format!("{}{} {:>3.0}%", "█".repeat(filled), "░".repeat(width - filled), frac * 100.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn formats() {
        assert_eq!(short(9999), "9999");
        assert_eq!(short(12_345), "12.3k");
        assert_eq!(short(1_488_095), "1.5M");
        assert_eq!(bytes(999), "999B");
        assert_eq!(bytes(1500), "1.5KB");
        assert_eq!(sparkline([0u64, 1, 2, 4].into_iter(), 3), "▃▅█");
        assert_eq!(sparkline([0u64, 0].into_iter(), 5), "▁▁");
        let k = u64::MAX / 4;
        assert_eq!(sparkline([0, k, 2 * k, 4 * k].into_iter(), 3), "▃▅█", "scaled alike near u64::MAX");
        assert_eq!(share(1, 4, 4), "█░░░  25%");
        assert_eq!(share(1, 0, 4), "");
    }
}
