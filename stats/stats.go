// Package stats holds the few statistics the experiments report: Pearson and
// Spearman correlation, a sliding-window Pearson correlation (THEORY §5, the
// paper's "local" correlation over 50 measurements) and a least-squares fit of
// a power law on log-log axes (THEORY §4, P5: spread ~ P^{-1/2}).
//
// Every function validates its input and returns an error naming the problem
// (length mismatch, too few points, NaN or infinite values, zero variance)
// instead of a silent NaN.
package stats

import (
	"fmt"
	"math"
	"sort"

	"gonum.org/v1/gonum/stat"
)

// checkPair validates two samples for a correlation or a regression.
func checkPair(what string, x, y []float64) error {
	if len(x) != len(y) {
		return fmt.Errorf("stats: %s: length mismatch: len(x) = %d, len(y) = %d", what, len(x), len(y))
	}
	if len(x) < 2 {
		return fmt.Errorf("stats: %s: need at least 2 points, have %d", what, len(x))
	}
	for i := range x {
		if math.IsNaN(x[i]) || math.IsInf(x[i], 0) {
			return fmt.Errorf("stats: %s: x[%d] = %v is not finite", what, i, x[i])
		}
		if math.IsNaN(y[i]) || math.IsInf(y[i], 0) {
			return fmt.Errorf("stats: %s: y[%d] = %v is not finite", what, i, y[i])
		}
	}
	return nil
}

// constant reports whether every value of v equals v[0] (zero variance).
func constant(v []float64) bool {
	for _, a := range v[1:] {
		if a != v[0] {
			return false
		}
	}
	return true
}

// Pearson returns the Pearson product-moment correlation of x and y.
// It errors on a length mismatch, fewer than 2 points, non-finite values, or
// a sample with zero variance (where the correlation is undefined).
func Pearson(x, y []float64) (float64, error) {
	if err := checkPair("pearson", x, y); err != nil {
		return 0, err
	}
	if constant(x) {
		return 0, fmt.Errorf("stats: pearson: x has zero variance (all %d values = %v)", len(x), x[0])
	}
	if constant(y) {
		return 0, fmt.Errorf("stats: pearson: y has zero variance (all %d values = %v)", len(y), y[0])
	}
	return clampUnit(stat.Correlation(x, y, nil)), nil
}

// clampUnit removes rounding excursions just outside [-1, 1].
func clampUnit(r float64) float64 {
	return math.Max(-1, math.Min(1, r))
}

// Spearman returns Spearman's rank correlation of x and y: the Pearson
// correlation of their ranks, tied values sharing the average of their ranks.
// It errors in the same cases as Pearson.
func Spearman(x, y []float64) (float64, error) {
	if err := checkPair("spearman", x, y); err != nil {
		return 0, err
	}
	if constant(x) {
		return 0, fmt.Errorf("stats: spearman: x has zero variance (all %d values = %v)", len(x), x[0])
	}
	if constant(y) {
		return 0, fmt.Errorf("stats: spearman: y has zero variance (all %d values = %v)", len(y), y[0])
	}
	return clampUnit(stat.Correlation(Ranks(nil, x), Ranks(nil, y), nil)), nil
}

// Ranks writes into dst (allocated when nil or short) the 1-based ranks of v,
// giving tied values the average of the ranks they span, and returns dst.
func Ranks(dst, v []float64) []float64 {
	n := len(v)
	if cap(dst) < n {
		dst = make([]float64, n)
	}
	dst = dst[:n]
	idx := make([]int, n)
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(a, b int) bool { return v[idx[a]] < v[idx[b]] })
	for i := 0; i < n; {
		j := i + 1
		for j < n && v[idx[j]] == v[idx[i]] {
			j++
		}
		// Positions i..j-1 hold ranks i+1..j; their average is (i+1+j)/2.
		avg := float64(i+1+j) / 2
		for k := i; k < j; k++ {
			dst[idx[k]] = avg
		}
		i = j
	}
	return dst
}

// SlidingPearson returns the Pearson correlation over every window of
// consecutive points: value i is Pearson(x[i:i+window], y[i:i+window]), for
// i = 0 … len(x)−window. A window in which x or y is constant has no
// correlation; its value is NaN (so one flat stretch does not void a whole
// run). It errors on a length mismatch, non-finite values, window < 2 or
// window > len(x).
func SlidingPearson(x, y []float64, window int) ([]float64, error) {
	if len(x) != len(y) {
		return nil, fmt.Errorf("stats: sliding pearson: length mismatch: len(x) = %d, len(y) = %d", len(x), len(y))
	}
	if window < 2 {
		return nil, fmt.Errorf("stats: sliding pearson: window = %d, need at least 2", window)
	}
	if window > len(x) {
		return nil, fmt.Errorf("stats: sliding pearson: window = %d exceeds the %d points", window, len(x))
	}
	if err := checkPair("sliding pearson", x, y); err != nil {
		return nil, err
	}
	out := make([]float64, len(x)-window+1)
	for i := range out {
		xs, ys := x[i:i+window], y[i:i+window]
		if constant(xs) || constant(ys) {
			out[i] = math.NaN()
			continue
		}
		out[i] = clampUnit(stat.Correlation(xs, ys, nil))
	}
	return out, nil
}

// LogLogSlope fits log y = intercept + slope·log x by least squares (natural
// logarithms) and returns the slope, the intercept and the coefficient of
// determination r2 of the fit on the log scale. A power law y = c·x^a gives
// slope a and intercept log c. When log y is constant the fit is exact and r2 = 1.
// It errors on a length mismatch, fewer than 2 points, non-finite or
// non-positive values, or when all x are equal.
func LogLogSlope(x, y []float64) (slope, intercept, r2 float64, err error) {
	if err := checkPair("log-log slope", x, y); err != nil {
		return 0, 0, 0, err
	}
	lx, ly := make([]float64, len(x)), make([]float64, len(y))
	for i := range x {
		if x[i] <= 0 {
			return 0, 0, 0, fmt.Errorf("stats: log-log slope: x[%d] = %v is not positive", i, x[i])
		}
		if y[i] <= 0 {
			return 0, 0, 0, fmt.Errorf("stats: log-log slope: y[%d] = %v is not positive", i, y[i])
		}
		lx[i], ly[i] = math.Log(x[i]), math.Log(y[i])
	}
	if constant(x) {
		return 0, 0, 0, fmt.Errorf("stats: log-log slope: all %d x values equal %v, slope undefined", len(x), x[0])
	}
	intercept, slope = stat.LinearRegression(lx, ly, nil, false)
	if constant(ly) {
		return slope, intercept, 1, nil
	}
	return slope, intercept, stat.RSquared(lx, ly, nil, intercept, slope), nil
}
