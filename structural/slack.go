package structural

import (
	"math"

	"github.com/fenchel-ml/fenchel/loss"
)

// How far each bound of THEORY §3 and §7 sits from the value it bounds
// (THEORY §7 "Slack"). A slack is a ratio ≥ 1 when the bound holds: 1 is
// tight, +Inf an infinite bound, NaN a bound that does not exist.

// upperSlack is Upper/Value: for (C) and (C_r) how many times the upper
// bound exceeds E_f, for (A) λ_max‖r‖² over n²‖∇R‖². NaN when the bound
// has no upper end or is not valid.
func (b Bound) upperSlack() float64 {
	if !b.Valid || b.Name == "B" { // (B) has no upper end
		return math.NaN()
	}
	return ratio(b.Upper, b.Value)
}

// lowerSlack is Value/Lower: for (B) E_f over its lower bound, for (A)
// n²‖∇R‖² over λ_min‖r‖². NaN when the bound has no lower end.
func (b Bound) lowerSlack() float64 {
	if !b.Valid || math.IsInf(b.Lower, -1) {
		return math.NaN()
	}
	return ratio(b.Value, b.Lower)
}

// stepSlacks splits the slack of a chain with a middle term: (C) and (C_r)
// read E_f ≤ Middle ≤ Upper, so first = Middle/E_f (the KL ≤ χ² step for
// softmax) and second = Upper/Middle (the spectral step χ² ≤
// n‖∇R‖²/λ_min); first·second = upperSlack. NaN when there is no middle.
func (b Bound) stepSlacks() (first, second float64) {
	if !b.Valid || math.IsNaN(b.Middle) || b.Name == "A" || b.Name == "B" {
		return math.NaN(), math.NaN()
	}
	return ratio(b.Middle, b.Value), ratio(b.Upper, b.Middle)
}

// vacuous reports whether an upper bound on E_f says nothing: it is
// infinite or at least the fitting error of the uniform prediction
// (trivial, Report.TrivialFittingError), which any model can reach.
func (b Bound) vacuous(trivial float64) bool {
	if !b.Valid || (b.Name != "C" && b.Name != "Cr") {
		return false
	}
	return math.IsInf(b.Upper, 1) || b.Upper >= trivial
}

// fillSlack sets the slack fields of b from its ends.
func (b *Bound) fillSlack(trivial float64) {
	b.UpperSlack, b.LowerSlack = b.upperSlack(), b.lowerSlack()
	b.Step1Slack, b.Step2Slack = b.stepSlacks()
	b.Vacuous = b.vacuous(trivial)
	b.Infinite = b.Valid && (b.Name == "C" || b.Name == "Cr") && math.IsInf(b.Upper, 1)
}

// ratio is a/b with the conventions of a slack: ∞/x = ∞, 0/0 = 1 (both
// ends equal), x/0 = ∞ for x > 0.
func ratio(a, b float64) float64 {
	switch {
	case math.IsNaN(a) || math.IsNaN(b):
		return math.NaN()
	case a == b:
		return 1
	case b == 0:
		return math.Inf(1)
	}
	return a / b
}

// trivialFittingError is E_f of the uniform prediction p = 1/K on the
// targets: scores z = 0 for the simplex losses, z = 1/K for squared.
func trivialFittingError(l loss.Loss, targets [][]float64) float64 {
	if len(targets) == 0 {
		return math.NaN()
	}
	K := len(targets[0])
	z := make([]float64, K)
	if !l.OnSimplex() {
		for k := range z {
			z[k] = 1 / float64(K)
		}
	}
	s := 0.0
	for _, q := range targets {
		s += l.Value(z, q)
	}
	return s / float64(len(targets))
}
