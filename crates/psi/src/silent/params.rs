//! Sizes of the silent VOLE for `m` outputs: noise weight, tree depth, code length
//! and correlated-OT count. Everything follows from `m` and the constants here, so
//! both parties compute the same from the declared set size.

use super::cot::COT_WIDTH;

/// Computational security the noise weight is chosen for.
pub const SECURITY_BITS: u32 = 128;

/// The least code length per output (`N ≥ 2m`, libOTe's `ExConvConfigure` scaler).
pub const CODE_SCALER: usize = 2;

/// Minimum distance of the expand-convolute code as a fraction of its length, in
/// thousandths: libOTe's older, conservative estimate for `ExConv7x24`
/// (`ExConvConfigure` gave 0.15 from April 2024 to June 2025, 0.25 since; RRT23 §6
/// for the measured minimum distances behind it). Our expander is not libOTe's:
/// 7 regular slices where libOTe's regular `ExpanderCode` uses 4 regular and 3
/// uniform positions, so the estimate carries over by analogy only.
pub const MIN_DIST_PER_MILLE: u32 = 150;

/// Least number of noise positions (GGM trees), `t ≥ λ / −log2(1 − 2·d/N)` for a
/// regular noise vector against linear tests (libOTe `getRegNoiseWeight`):
/// `128 / −log2(0.7) = 248.7`, rounded up to a multiple of 8 as libOTe does.
pub const MIN_NOISE_WEIGHT: usize = 256;

/// The silent VOLE's shape for `m` outputs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SilentParams {
    /// Outputs `m`.
    pub outputs: usize,
    /// Trees `t` (noise positions, one per tree).
    pub trees: usize,
    /// Tree depth `d`: each tree has `2^d` leaves.
    pub depth: usize,
    /// Code length `N = t · 2^d ≥ 2m`.
    pub code_len: usize,
}

impl SilentParams {
    /// Depth `d = ⌊log2(2m / 256)⌋` (at least 1), then `t = ⌈2m / 2^d⌉ ≥ 256` trees,
    /// so `N = t·2^d` is at least `2m` with no partial tree.
    #[must_use]
    pub fn for_outputs(m: usize) -> SilentParams {
        let target = m.max(1).saturating_mul(CODE_SCALER);
        let per_tree = (target / MIN_NOISE_WEIGHT).max(2);
        let depth = per_tree.ilog2() as usize;
        let trees = target.div_ceil(1 << depth).max(MIN_NOISE_WEIGHT);
        SilentParams {
            outputs: m,
            trees,
            depth,
            code_len: trees << depth,
        }
    }

    /// Correlated OTs for the base VOLE: 128 per tree.
    #[must_use]
    pub fn base_vole_rows(&self) -> usize {
        self.trees * COT_WIDTH
    }

    /// Correlated OTs for the trees: one per level.
    #[must_use]
    pub fn tree_rows(&self) -> usize {
        self.trees * self.depth
    }

    /// All correlated OTs, rounded up to whole 128-row blocks.
    #[must_use]
    pub fn cot_rows(&self) -> usize {
        (self.base_vole_rows() + self.tree_rows()).div_ceil(128) * 128
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_weight_meets_the_linear_test_bound() {
        let d = f64::from(MIN_DIST_PER_MILLE) / 1000.0;
        let t = f64::from(SECURITY_BITS) / -(1.0 - 2.0 * d).log2();
        assert!(t <= MIN_NOISE_WEIGHT as f64 && t > (MIN_NOISE_WEIGHT - 8) as f64);
    }

    #[test]
    fn shapes_cover_twice_the_outputs() {
        for m in [1usize, 256, 384, 5000, 72_192, 1 << 20, 1_153_664, 1 << 24] {
            let p = SilentParams::for_outputs(m);
            assert!(p.trees >= MIN_NOISE_WEIGHT, "{p:?}");
            assert!(p.code_len >= 2 * m && p.code_len > m, "{p:?}");
            assert!(p.depth >= 1);
            // No more than one tree's worth of slack past the bound, beyond t_min.
            assert!(p.code_len < 2 * m + (1 << p.depth) || p.trees == MIN_NOISE_WEIGHT);
            assert!(p.trees < 2 * MIN_NOISE_WEIGHT + 1, "{p:?}");
            assert_eq!(p.cot_rows() % 128, 0);
            assert!(p.cot_rows() >= p.base_vole_rows() + p.tree_rows());
        }
        let p = SilentParams::for_outputs(1_153_664);
        assert_eq!((p.trees, p.depth), (282, 13));
    }
}
