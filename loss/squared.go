package loss

// Squared is the squared error: Ω(p) = ½‖p‖² on R^K, p = z, d = ½‖z − q‖².
// Its domain is not the simplex, so the structural engine uses H, not H_S.
type Squared struct{}

func (Squared) Name() string        { return "squared" }
func (Squared) Mu() float64         { return 1 }
func (Squared) OnSimplex() bool     { return false }
func (Squared) HasUpperBound() bool { return true }

func (Squared) Predict(p, z []float64) {
	checkLen("squared predict", p, z)
	copy(p, z)
}

func (Squared) Value(z, q []float64) float64 {
	checkLen("squared value", z, q)
	var d float64
	for k, v := range z {
		d += (v - q[k]) * (v - q[k])
	}
	return d / 2
}
