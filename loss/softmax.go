package loss

import "math"

// Softmax is the cross-entropy loss: Ω(p) = Σ p_k log p_k on Δ^K (0 log 0 = 0),
// Ω*(z) = logsumexp(z), p = softmax(z), d_Ω(z; q) = KL(q ‖ softmax(z)).
type Softmax struct{}

func (Softmax) Name() string        { return "softmax" }
func (Softmax) Mu() float64         { return 1 } // Pinsker
func (Softmax) OnSimplex() bool     { return true }
func (Softmax) HasUpperBound() bool { return true }

// logNorm returns m = argmax z and L = log(Σ_k exp(z_k − z_m)) = log1p(Σ_{k≠m} exp(z_k − z_m)),
// so that log p_k = z_k − z_m − L without overflow and, for a confident
// prediction, with full relative accuracy in −log p_m = L.
func logNorm(z []float64) (m int, L float64) {
	m = argmax(z)
	var s float64
	for k, v := range z {
		if k != m {
			s += math.Exp(v - z[m])
		}
	}
	return m, math.Log1p(s)
}

// valuePredict is Value(z, q) and Predict(p, z) with one logNorm shared by
// both: the same operations in the same order, so the same bits as the two
// calls. It also returns m = argmax z.
func (Softmax) valuePredict(p, z, q []float64) (v float64, m int) {
	checkLen("softmax value", z, q)
	checkLen("softmax predict", p, z)
	m, L := logNorm(z)
	for k, qk := range q {
		if qk > 0 {
			v += qk * (math.Log(qk) - (z[k] - z[m]) + L)
		}
	}
	for k, zk := range z {
		p[k] = math.Exp(zk - z[m] - L)
	}
	return v, m
}

// Value returns KL(q ‖ softmax(z)) = Σ_k q_k (log q_k − log p_k). For a
// one-hot q at the argmax this is exactly log1p(Σ_{k≠y} exp(z_k − z_y)).
func (Softmax) Value(z, q []float64) float64 {
	checkLen("softmax value", z, q)
	m, L := logNorm(z)
	var d float64
	for k, qk := range q {
		if qk > 0 {
			d += qk * (math.Log(qk) - (z[k] - z[m]) + L)
		}
	}
	return d
}

func (Softmax) Predict(p, z []float64) {
	checkLen("softmax predict", p, z)
	m, L := logNorm(z)
	for k, v := range z {
		p[k] = math.Exp(v - z[m] - L)
	}
}
