package initializer

import (
	"math"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// Statistical tolerance: sample means and variances of N = 200,000 draws are
// compared with their theoretical values within zTol standard errors. The
// standard error of the sample variance is σ²·√((κ−1)/N), κ the kurtosis (3
// for Gaussian, 9/5 for uniform). A fixed seed makes the test deterministic;
// zTol = 5 keeps it far from a chance failure for any seed.
const (
	zTol      = 5
	orthoTol  = 1e-10
	float32Eq = 1e-6 // relative agreement of float32 and float64 draws
)

// layer returns the weight and bias of a fresh 400×500 dense layer.
func layer[T nn.Float]() []*nn.Param[T] {
	return nn.NewDense[T](500, 400).Params()
}

func moments(v []float64) (mean, variance float64) {
	for _, x := range v {
		mean += x
	}
	mean /= float64(len(v))
	for _, x := range v {
		variance += (x - mean) * (x - mean)
	}
	return mean, variance / float64(len(v)-1)
}

func TestDistributions(t *testing.T) {
	const in, out = 500, 400
	s3 := math.Sqrt(3)
	kStd := math.Sqrt2 / math.Sqrt(in)
	xStd := math.Sqrt(2.0 / (in + out))
	tests := []struct {
		scheme   Scheme
		mean     float64
		variance float64
		kurtosis float64
		lo, hi   float64 // bounds of uniform draws (NaN: unbounded)
	}{
		{PyTorch, 0, 1.0 / (3 * in), 1.8, -1 / math.Sqrt(in), 1 / math.Sqrt(in)},
		{Uniform, 0.5, 1.0 / 12, 1.8, 0, 1},
		{KaimingUniform, 0, kStd * kStd, 1.8, -s3 * kStd, s3 * kStd},
		{XavierUniform, 0, xStd * xStd, 1.8, -s3 * xStd, s3 * xStd},
		{Normal, 0, 1, 3, math.NaN(), math.NaN()},
		{KaimingNormal, 0, kStd * kStd, 3, math.NaN(), math.NaN()},
		{XavierNormal, 0, xStd * xStd, 3, math.NaN(), math.NaN()},
	}
	for _, tc := range tests {
		t.Run(string(tc.scheme), func(t *testing.T) {
			ps := layer[float64]()
			if err := Apply(ps, Options{Scheme: tc.scheme}, rand.New(rand.NewPCG(3, 4))); err != nil {
				t.Fatal(err)
			}
			w := ps[0].Value
			n := float64(len(w))
			mean, variance := moments(w)
			if se := math.Sqrt(tc.variance / n); math.Abs(mean-tc.mean) > zTol*se {
				t.Errorf("mean %g, want %g ± %g", mean, tc.mean, zTol*se)
			}
			if se := tc.variance * math.Sqrt((tc.kurtosis-1)/n); math.Abs(variance-tc.variance) > zTol*se {
				t.Errorf("variance %g, want %g ± %g", variance, tc.variance, zTol*se)
			}
			if !math.IsNaN(tc.lo) {
				lo, hi := w[0], w[0]
				for _, v := range w {
					lo, hi = math.Min(lo, v), math.Max(hi, v)
				}
				if lo < tc.lo || hi > tc.hi {
					t.Errorf("draws in [%g, %g], outside [%g, %g]", lo, hi, tc.lo, tc.hi)
				}
				// 200k draws come within 0.1% of both ends.
				if span := tc.hi - tc.lo; lo > tc.lo+1e-3*span || hi < tc.hi-1e-3*span {
					t.Errorf("draws in [%g, %g] do not fill [%g, %g]", lo, hi, tc.lo, tc.hi)
				}
			}
		})
	}
}

func TestPyTorchBias(t *testing.T) {
	ps := layer[float64]()
	if err := Apply(ps, Options{}, rand.New(rand.NewPCG(5, 6))); err != nil {
		t.Fatal(err)
	}
	b := ps[1].Value
	bound := 1 / math.Sqrt(500)
	nonzero := 0
	for _, v := range b {
		if math.Abs(v) > bound {
			t.Fatalf("bias %g outside ±1/√fan_in = %g", v, bound)
		}
		if v != 0 {
			nonzero++
		}
	}
	if nonzero != len(b) {
		t.Errorf("%d of %d biases nonzero", nonzero, len(b))
	}
	// Uniform on ±bound: variance bound²/3, 400 draws.
	_, variance := moments(b)
	want := bound * bound / 3
	if se := want * math.Sqrt(0.8/float64(len(b))); math.Abs(variance-want) > zTol*se {
		t.Errorf("bias variance %g, want %g", variance, want)
	}
}

func TestBiasesZero(t *testing.T) {
	for _, s := range Schemes() {
		if s == PyTorch {
			continue
		}
		ps := layer[float64]()
		for _, p := range ps {
			for i := range p.Value {
				p.Value[i] = 7 // must be overwritten
			}
		}
		if err := Apply(ps, Options{Scheme: s, Eps: 0.1}, rand.New(rand.NewPCG(1, 1))); err != nil {
			t.Fatal(err)
		}
		for _, v := range ps[1].Value {
			if v != 0 {
				t.Fatalf("%s: bias %g, want 0", s, v)
			}
		}
	}
}

func TestOrthogonal(t *testing.T) {
	// Shapes with rows > cols, rows < cols, square, and a conv weight
	// 6×2×3×3 (flattened 6×18).
	shapes := [][]int{{400, 50}, {30, 200}, {64, 64}, {6, 2, 3, 3}}
	for _, sh := range shapes {
		fanIn := nn.Shape(sh[1:]).Size()
		p := nn.NewParam[float64]("weight", sh, fanIn, sh[0]*fanIn/sh[1], false)
		if err := Apply([]*nn.Param[float64]{p}, Options{Scheme: Orthogonal}, rand.New(rand.NewPCG(7, 8))); err != nil {
			t.Fatal(err)
		}
		rows := sh[0]
		cols := p.Len() / rows
		w := func(i, j int) float64 { return p.Value[i*cols+j] }
		// Check the Gram on the smaller side: WᵀW (cols×cols) when rows ≥ cols, else WWᵀ.
		small, big := cols, rows
		at := w
		if rows < cols {
			small, big = rows, cols
			at = func(i, j int) float64 { return w(j, i) }
		}
		maxErr := 0.0
		for a := 0; a < small; a++ {
			for b := 0; b < small; b++ {
				s := 0.0
				for k := 0; k < big; k++ {
					s += at(k, a) * at(k, b)
				}
				if a == b {
					s--
				}
				maxErr = math.Max(maxErr, math.Abs(s))
			}
		}
		if maxErr > orthoTol {
			t.Errorf("shape %v: max |Gram − I| = %g", sh, maxErr)
		}
	}
}

// TestOrthogonalSign checks the sign correction: without it Householder QR
// returns R with a negative diagonal (LAPACK's convention), so the entries of
// the result would be biased; with it the first column of W (rows ≥ cols)
// satisfies <w_0, g_0> = R_00 > 0 against the Gaussian column it came from.
func TestOrthogonalSign(t *testing.T) {
	const rows, cols = 50, 10
	p := nn.NewParam[float64]("weight", []int{rows, cols}, cols, rows, false)
	rng := rand.New(rand.NewPCG(9, 9))
	if err := Apply([]*nn.Param[float64]{p}, Options{Scheme: Orthogonal}, rng); err != nil {
		t.Fatal(err)
	}
	// Redraw the same Gaussian matrix.
	g := rand.New(rand.NewPCG(9, 9))
	gauss := make([]float64, rows*cols)
	for i := range gauss {
		gauss[i] = g.NormFloat64()
	}
	for j := 0; j < cols; j++ {
		// R_jj = <q_j, g_j> must be positive.
		s := 0.0
		for i := 0; i < rows; i++ {
			s += p.Value[i*cols+j] * gauss[i*cols+j]
		}
		if s <= 0 {
			t.Errorf("column %d: <q_j, g_j> = %g, want > 0", j, s)
		}
	}
}

func TestSymmetric(t *testing.T) {
	for _, c := range []float64{0, 2.5} {
		ps := nn.NewDense[float64](20, 7).Params()
		ps = append(ps, nn.NewDense[float64](7, 3).Params()...)
		if err := Apply(ps, Options{Scheme: Symmetric, Constant: c, Eps: 0.3}, rand.New(rand.NewPCG(1, 2))); err != nil {
			t.Fatal(err)
		}
		want := c
		if want == 0 {
			want = DefaultConstant
		}
		for _, p := range ps {
			if p.Bias {
				continue
			}
			for _, v := range p.Value {
				if v != want/float64(p.FanIn) {
					t.Fatalf("constant %g: %s has %g, want %g/%d", c, p.Name, v, want, p.FanIn)
				}
			}
		}
	}
}

func TestSymmetricNoise(t *testing.T) {
	const eps = 0.01
	ps := layer[float64]()
	if err := Apply(ps, Options{Scheme: SymmetricNoise, Eps: eps}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	c := DefaultConstant / 500
	dev := make([]float64, len(ps[0].Value))
	for i, v := range ps[0].Value {
		dev[i] = v - c
	}
	mean, variance := moments(dev)
	n := float64(len(dev))
	if math.Abs(mean) > zTol*eps/math.Sqrt(n) {
		t.Errorf("mean deviation %g, want 0", mean)
	}
	if se := eps * eps * math.Sqrt(2/n); math.Abs(variance-eps*eps) > zTol*se {
		t.Errorf("deviation std %g, want %g", math.Sqrt(variance), eps)
	}
	// ε = 0 is the plain symmetric init.
	ps0 := layer[float64]()
	if err := Apply(ps0, Options{Scheme: SymmetricNoise}, rand.New(rand.NewPCG(1, 2))); err != nil {
		t.Fatal(err)
	}
	for _, v := range ps0[0].Value {
		if v != c {
			t.Fatalf("eps 0: weight %g, want %g", v, c)
		}
	}
}

func TestDeterminism(t *testing.T) {
	for _, s := range Schemes() {
		o := Options{Scheme: s, Eps: 0.1}
		a, b, c := layer[float64](), layer[float64](), layer[float64]()
		f := layer[float32]()
		if err := Apply(a, o, rand.New(rand.NewPCG(11, 12))); err != nil {
			t.Fatal(err)
		}
		_ = Apply(b, o, rand.New(rand.NewPCG(11, 12)))
		_ = Apply(c, o, rand.New(rand.NewPCG(13, 12)))
		_ = Apply(f, o, rand.New(rand.NewPCG(11, 12)))
		same, differ := true, false
		for i := range a {
			for j := range a[i].Value {
				same = same && a[i].Value[j] == b[i].Value[j]
				differ = differ || a[i].Value[j] != c[i].Value[j]
				if d := math.Abs(float64(f[i].Value[j]) - a[i].Value[j]); d > float32Eq*(math.Abs(a[i].Value[j])+1e-30) {
					t.Fatalf("%s: float32 %g vs float64 %g", s, f[i].Value[j], a[i].Value[j])
				}
			}
		}
		if !same {
			t.Errorf("%s: same seed gave different values", s)
		}
		if !differ && s != Symmetric {
			t.Errorf("%s: different seeds gave identical values", s)
		}
	}
}

func TestErrors(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	tests := []struct {
		o    Options
		want string
	}{
		{Options{Scheme: "he"}, "unknown scheme \"he\""},
		{Options{Scheme: SymmetricNoise, Eps: -1}, "eps -1"},
		{Options{Scheme: SymmetricNoise, Eps: math.NaN()}, "eps NaN"},
		{Options{Scheme: Symmetric, Constant: math.Inf(1)}, "constant +Inf"},
	}
	for _, tc := range tests {
		err := Apply(layer[float64](), tc.o, rng)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%+v: error %v, want %q", tc.o, err, tc.want)
		}
	}
	if err := Apply(layer[float64](), Options{Scheme: "he"}, rng); err == nil || !strings.Contains(err.Error(), "xavier_normal") {
		t.Errorf("unknown scheme error does not list the valid ones: %v", err)
	}
	// eps given to a scheme that ignores it is fine.
	if err := Apply(layer[float64](), Options{Scheme: Normal, Eps: 3}, rng); err != nil {
		t.Errorf("eps with normal: %v", err)
	}
	p := nn.NewParam[float64]("w", []int{3, 3}, 0, 3, false)
	if err := Apply([]*nn.Param[float64]{p}, Options{Scheme: KaimingUniform}, rng); err == nil || !strings.Contains(err.Error(), "fan_in 0") {
		t.Errorf("fan_in 0: error %v", err)
	}
}
