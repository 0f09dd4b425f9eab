package linalg

import (
	"math"
	"math/rand/v2"
	"testing"
)

// eigenTol is relative to the spectral scale ‖A‖ ≈ n for the matrices below;
// backward-stable solvers reach a few hundred ulps at these sizes.
const eigenTol = 1e-11

// TestSymEigenTridiagonal checks the closed form of the second-difference
// matrix: λ_j = 2 − 2cos(jπ/(n+1)), j = 1..n.
func TestSymEigenTridiagonal(t *testing.T) {
	for _, n := range []int{1, 2, 7, 50} {
		a := make([]float64, n*n)
		for i := 0; i < n; i++ {
			a[i*n+i] = 2
			if i+1 < n {
				a[i*n+i+1] = -1
			}
			for j := 0; j < i; j++ {
				a[i*n+j] = math.NaN() // lower triangle must not be referenced
			}
		}
		w := make([]float64, n)
		if err := SymEigen(n, a, w, false); err != nil {
			t.Fatal(err)
		}
		for j := 1; j <= n; j++ {
			want := 2 - 2*math.Cos(float64(j)*math.Pi/float64(n+1))
			if math.Abs(w[j-1]-want) > eigenTol*4 {
				t.Errorf("n=%d: λ_%d = %v, want %v", n, j, w[j-1], want)
			}
		}
	}
}

// TestSymEigenVectors checks A·v_j = λ_j·v_j, VᵀV = I and ascending order on
// random symmetric matrices, and that the values agree with the values-only call.
func TestSymEigenVectors(t *testing.T) {
	rnd := rand.New(rand.NewPCG(11, 12))
	for _, n := range []int{1, 3, 17, 80} {
		orig := make([]float64, n*n)
		for i := 0; i < n; i++ {
			for j := i; j < n; j++ {
				v := 2*rnd.Float64() - 1
				orig[i*n+j], orig[j*n+i] = v, v
			}
		}
		scale := float64(n)
		v := append([]float64(nil), orig...)
		w := make([]float64, n)
		if err := SymEigen(n, v, w, true); err != nil {
			t.Fatal(err)
		}
		a2 := append([]float64(nil), orig...)
		w2 := make([]float64, n)
		if err := SymEigen(n, a2, w2, false); err != nil {
			t.Fatal(err)
		}
		for j := 0; j < n; j++ {
			if j > 0 && w[j] < w[j-1] {
				t.Errorf("n=%d: eigenvalues not ascending at %d: %v < %v", n, j, w[j], w[j-1])
			}
			if math.Abs(w[j]-w2[j]) > eigenTol*scale {
				t.Errorf("n=%d: λ_%d with vectors %v, without %v", n, j, w[j], w2[j])
			}
			for i := 0; i < n; i++ {
				var av float64
				for p := 0; p < n; p++ {
					av += orig[i*n+p] * v[p*n+j]
				}
				if d := math.Abs(av - w[j]*v[i*n+j]); d > eigenTol*scale {
					t.Errorf("n=%d: (A v_%d)[%d] - λ v = %g", n, j, i, d)
				}
			}
			for k := 0; k <= j; k++ {
				var dot float64
				for p := 0; p < n; p++ {
					dot += v[p*n+j] * v[p*n+k]
				}
				want := 0.0
				if j == k {
					want = 1
				}
				if math.Abs(dot-want) > eigenTol*scale {
					t.Errorf("n=%d: v_%d·v_%d = %v, want %v", n, j, k, dot, want)
				}
			}
		}
	}
}

func TestSymEigenErrors(t *testing.T) {
	if err := SymEigen(3, make([]float64, 8), make([]float64, 3), false); err == nil {
		t.Error("short a: no error")
	}
	if err := SymEigen(3, make([]float64, 9), make([]float64, 2), false); err == nil {
		t.Error("short w: no error")
	}
	if err := SymEigen(-1, nil, nil, false); err == nil {
		t.Error("negative n: no error")
	}
}
