package loss

import "math"

// Sparsemax is the Fenchel-Young loss of Ω(p) = ½‖p‖² on Δ^K: p is the
// Euclidean projection of z onto the simplex (Martins & Astudillo, "From
// softmax to sparsemax", ICML 2016, Algorithm 1), p_k = [z_k − τ]_+.
type Sparsemax struct{}

func (Sparsemax) Name() string        { return "sparsemax" }
func (Sparsemax) Mu() float64         { return 1 }
func (Sparsemax) OnSimplex() bool     { return true }
func (Sparsemax) HasUpperBound() bool { return false }

// sparsemaxTau returns the threshold τ with Σ_k [z_k − τ]_+ = 1: with z sorted
// decreasingly, the support size is the largest ρ with 1 + ρ z_(ρ) > Σ_{j≤ρ} z_(j)
// and τ = (Σ_{j≤ρ} z_(j) − 1)/ρ.
func sparsemaxTau(z []float64) float64 {
	var buf [scratchSize]float64
	s := sortedDesc(buf[:], z)
	var cum, tau float64
	for i, v := range s {
		cum += v
		rho := float64(i + 1)
		if t := (cum - 1) / rho; v > t {
			tau = t
		}
	}
	return tau
}

func (Sparsemax) Predict(p, z []float64) {
	checkLen("sparsemax predict", p, z)
	tau := sparsemaxTau(z)
	for k, v := range z {
		p[k] = math.Max(v-tau, 0)
	}
}

// Value returns d = ½‖z − q‖² − ½‖z − p‖², evaluated as the sum of two
// non-negative terms ½‖p − q‖² + Σ_{k: p_k = 0} q_k (τ − z_k) (see the package doc).
func (Sparsemax) Value(z, q []float64) float64 {
	checkLen("sparsemax value", z, q)
	tau := sparsemaxTau(z)
	var sq, slack float64
	for k, v := range z {
		pk := math.Max(v-tau, 0)
		sq += (pk - q[k]) * (pk - q[k])
		if pk == 0 {
			slack += q[k] * (tau - v)
		}
	}
	return sq/2 + slack
}
