// Package loss implements the Fenchel-Young losses of THEORY §1:
//
//	d_Ω(z; q) = Ω(q) + Ω*(z) − <z, q> ≥ 0,   ∂d/∂z = p − q,   p = ∇Ω*(z),
//
// for Ω = negative Shannon entropy (softmax, cross-entropy), ½‖p‖² on the
// simplex (sparsemax), the Tsallis α = 1.5 entropy (entmax15), and ½‖p‖² on
// R^K (squared error). All four are 1-strongly convex in ℓ2 (μ = 1).
//
// Every computation is in float64 whatever the training dtype (THEORY §3
// "Numerics"), and each loss value is evaluated in a form whose terms are all
// non-negative, so a tiny loss keeps its relative accuracy instead of being
// the difference of O(1) numbers:
//
//	softmax    d = Σ_k q_k (log q_k − log p_k), log p_k in log-sum-exp form with log1p
//	sparsemax  d = ½‖p − q‖² + Σ_{k: p_k = 0} q_k (τ − z_k)
//	entmax15   d = ⅔ Σ_k (√q_k − √p_k)² (2√q_k + √p_k) + Σ_{k: p_k = 0} q_k (2τ − z_k)
//	squared    d = ½‖z − q‖²
//
// (The sparsemax and entmax15 forms are d = D_Ω(q, p) + <∇Ω(p) − z, q − p>,
// a Bregman divergence plus a complementary-slackness term, both ≥ 0.)
//
// For the simplex losses the target q must lie in the simplex Δ^K; Target
// builds one from a label with optional label smoothing.
package loss

import (
	"fmt"
	"math"
	"slices"
	"strings"
)

// Loss is a Fenchel-Young loss (THEORY §1). Implementations are stateless and
// safe for concurrent use.
type Loss interface {
	// Name is one of "softmax", "sparsemax", "entmax15", "squared".
	Name() string
	// Value returns d_Ω(z; q) = Ω(q) + Ω*(z) − <z, q> ≥ 0. For the simplex
	// losses q must lie in Δ^K. len(z) == len(q) is required.
	Value(z, q []float64) float64
	// Predict writes p = ∇Ω*(z) into p (len(p) == len(z)).
	Predict(p, z []float64)
	// Mu is the strong-convexity modulus of Ω in ℓ2 (THEORY §1, bound (B)).
	Mu() float64
	// OnSimplex reports whether the domain of Ω is the simplex Δ^K (the
	// structural engine then uses H_S = Π H Π); false for squared (R^K, H).
	OnSimplex() bool
	// HasUpperBound reports whether bound (C) of THEORY §3 exists: true for
	// softmax and squared only.
	HasUpperBound() bool
}

var names = []string{"softmax", "sparsemax", "entmax15", "squared"}

// Names lists the valid loss names, in a fixed order.
func Names() []string { return append([]string(nil), names...) }

// New returns the loss with the given name.
func New(name string) (Loss, error) {
	switch name {
	case "softmax":
		return Softmax{}, nil
	case "sparsemax":
		return Sparsemax{}, nil
	case "entmax15":
		return Entmax15{}, nil
	case "squared":
		return Squared{}, nil
	}
	return nil, fmt.Errorf("loss: unknown loss %q (valid: %s)", name, strings.Join(names, ", "))
}

// ValidateSmoothing errors unless the label smoothing s lies in [0, 1).
func ValidateSmoothing(s float64) error {
	if !(s >= 0 && s < 1) {
		return fmt.Errorf("loss: label smoothing = %v, must lie in [0, 1)", s)
	}
	return nil
}

// Target writes the target distribution q = (1−s)·e_label + s/K into q.
// With s = 0 the result is exactly one-hot (entries exactly 0 and 1), which
// Residual recognises. It panics on len(q) != K, label outside [0, K) or s
// outside [0, 1): callers validate user input first (ValidateSmoothing).
func Target(q []float64, label, K int, smoothing float64) {
	if len(q) != K || label < 0 || label >= K {
		panic(fmt.Sprintf("loss: target: len(q) = %d, K = %d, label = %d", len(q), K, label))
	}
	if err := ValidateSmoothing(smoothing); err != nil {
		panic(err.Error())
	}
	off := smoothing / float64(K)
	for k := range q {
		q[k] = off
	}
	q[label] = 1 - smoothing + off
}

// Residual writes r = p − q (THEORY §2). When label ≥ 0 and q is exactly the
// one-hot vector e_label, the target entry is computed as
// r_label = −Σ_{k≠label} p_k rather than p_label − 1, which cancels
// catastrophically once p_label ≈ 1 (THEORY §3 "Numerics"). That identity
// needs Σ p = 1: pass label ≥ 0 only for simplex losses (OnSimplex), and
// label = −1 for squared. When q is not one-hot the plain difference is used.
func Residual(r, p, q []float64, label int) {
	if len(r) != len(p) || len(q) != len(p) {
		panic(fmt.Sprintf("loss: residual: len(r) = %d, len(p) = %d, len(q) = %d", len(r), len(p), len(q)))
	}
	for k := range r {
		r[k] = p[k] - q[k]
	}
	if label < 0 || label >= len(p) || !oneHot(q, label) {
		return
	}
	var s float64
	for k, v := range p {
		if k != label {
			s += v
		}
	}
	r[label] = -s
}

// oneHot reports whether q is exactly e_label.
func oneHot(q []float64, label int) bool {
	for k, v := range q {
		if (k == label && v != 1) || (k != label && v != 0) {
			return false
		}
	}
	return true
}

// scratchSize is the class count up to which the sort-based maps keep their
// scratch buffer on the stack.
const scratchSize = 128

// sortedDesc copies z into buf (or a new slice when buf is short) and sorts
// it in decreasing order.
func sortedDesc(buf []float64, z []float64) []float64 {
	var s []float64
	if len(z) <= len(buf) {
		s = buf[:len(z)]
	} else {
		s = make([]float64, len(z))
	}
	copy(s, z)
	if len(s) > insertionMax {
		slices.Sort(s)
		slices.Reverse(s)
		return s
	}
	for i := 1; i < len(s); i++ {
		v := s[i]
		j := i - 1
		for j >= 0 && s[j] < v {
			s[j+1] = s[j]
			j--
		}
		s[j+1] = v
	}
	return s
}

// insertionMax is the length up to which sortedDesc uses insertion sort,
// fastest for the few classes of typical classifiers.
const insertionMax = 24

// argmax returns the index of the first largest entry of z.
func argmax(z []float64) int {
	m := 0
	for k, v := range z {
		if v > z[m] {
			m = k
		}
	}
	return m
}

func checkLen(what string, a, b []float64) {
	if len(a) != len(b) || len(a) == 0 {
		panic(fmt.Sprintf("loss: %s: lengths %d and %d", what, len(a), len(b)))
	}
}

// finite reports whether v is neither NaN nor ±Inf.
func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
