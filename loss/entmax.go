package loss

import "math"

// Entmax15 is the Fenchel-Young loss of the Tsallis α = 1.5 regulariser
// Ω(p) = (Σ_k p_k^{3/2} − 1)/0.75 on Δ^K, whose prediction map is
// 1.5-entmax: p_k = [z_k/2 − τ]_+², τ chosen so that Σ p = 1 (Peters, Niculae,
// Martins, "Sparse Sequence-to-Sequence Models", ACL 2019, Algorithm 2, the
// exact sort-based solve).
type Entmax15 struct{}

func (Entmax15) Name() string        { return "entmax15" }
func (Entmax15) Mu() float64         { return 1 } // ∇²Ω = diag(1/√p_k) ⪰ I on Δ^K
func (Entmax15) OnSimplex() bool     { return true }
func (Entmax15) HasUpperBound() bool { return false }

// entmaxTau returns τ with Σ_k [z_k/2 − τ]_+² = 1. With x = z/2 sorted
// decreasingly, for each candidate support size ρ the root of
// Σ_{j≤ρ} (x_(j) − τ)² = 1 is τ_ρ = M_ρ − √((1 − SS_ρ)/ρ), where M_ρ is the mean
// and SS_ρ the centred sum of squares of the top ρ values (kept by Welford's
// update, which avoids the cancellation of Σx² − ρM²); the support is the
// largest ρ with τ_ρ ≤ x_(ρ).
func entmaxTau(z []float64) float64 {
	var buf [scratchSize]float64
	s := sortedDesc(buf[:], z)
	var mean, ss float64
	tau := s[0]/2 - 1 // ρ = 1: the top entry alone carries p = 1
	for i, v := range s {
		x := v / 2
		rho := float64(i + 1)
		d := x - mean
		mean += d / rho
		ss += d * (x - mean)
		delta := (1 - ss) / rho
		if delta < 0 {
			break // SS grows with ρ, so no larger support can sum to 1
		}
		if t := mean - math.Sqrt(delta); t <= x {
			tau = t
		}
	}
	return tau
}

func (Entmax15) Predict(p, z []float64) {
	checkLen("entmax15 predict", p, z)
	tau := entmaxTau(z)
	for k, v := range z {
		s := math.Max(v/2-tau, 0)
		p[k] = s * s
	}
}

// Value returns Ω(q) − Ω(p) + <z, p − q>, evaluated as the Bregman divergence
// D_Ω(q, p) = ⅔ Σ_k (√q_k − √p_k)² (2√q_k + √p_k) plus the slack term
// Σ_{k: p_k = 0} q_k (2τ − z_k), both non-negative (see the package doc).
func (Entmax15) Value(z, q []float64) float64 {
	checkLen("entmax15 value", z, q)
	tau := entmaxTau(z)
	var breg, slack float64
	for k, v := range z {
		sp := math.Max(v/2-tau, 0) // √p_k
		sq := math.Sqrt(q[k])
		var diff float64 // √q_k − √p_k, as a quotient to keep relative accuracy when close
		if sq+sp > 0 {
			diff = (q[k] - sp*sp) / (sq + sp)
		}
		breg += diff * diff * (2*sq + sp)
		if sp == 0 {
			slack += q[k] * (2*tau - v)
		}
	}
	return 2*breg/3 + slack
}
