package instrument

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"gonum.org/v1/gonum/mat"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/linalg"
	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/nn"
	"github.com/fenchel-ml/fenchel/train"
)

// refTol is the relative agreement of Measure with perImageReference: both
// compute the same sums in different orders (the Gram formula of THEORY §6
// against Jacobian rows, g from H against g from ∇ℓ), so they differ by a
// few ε·κ.
const refTol = 1e-11

// checkReference compares Measure's g, λ_min, λ_max and loss on x_a (got,
// from h on m) with perImageReference's to refTol, prefixing errors by what.
func checkReference(t *testing.T, what string, h *PerImage, got *PerImageMeasurement, m nn.Layer[float64], test *data.Dataset, labels []int) {
	t.Helper()
	a, _ := h.Images()
	l, _ := loss.New("softmax")
	g, lmin, lmax, lossA := perImageReference(t, m, data.Gather[float64](test, []int{a}, nil), labels[a], l)
	for _, c := range []struct {
		what      string
		got, want float64
	}{
		{"g", float64(got.G), g}, {"lambda_min", float64(got.LambdaMin), lmin},
		{"lambda_max", float64(got.LambdaMax), lmax}, {"loss_a", float64(got.LossA), lossA},
	} {
		if d := math.Abs(c.got-c.want) / math.Abs(c.want); !(d <= refTol) {
			t.Errorf("%s%s = %.17g, reference %.17g (rel diff %.3g > %g)", what, c.what, c.got, c.want, d, refTol)
		}
	}
}

// perImageReference computes the per-image quantities of x_a the plainest
// way: K single-row backward passes (Backward of e_k, the Jacobian row k in
// Param.Grad), H = J Jᵀ by dot products, the gradient of the loss by one
// more backward pass, gonum's eigenvalues. It shares nothing with Measure
// beyond the layers' Forward and Backward.
func perImageReference(t *testing.T, m nn.Layer[float64], xa *nn.Mat[float64], y int, l loss.Loss) (g, lmin, lmax, lossA float64) {
	t.Helper()
	K := m.OutShape().Size()
	rows := make([][]float64, K)
	var z []float64
	for k := range K {
		z = append(z[:0], m.Forward(xa).Row(0)...)
		seed := nn.NewMat[float64](1, K)
		seed.Data[k] = 1
		nn.ZeroGrad(m)
		m.Backward(seed)
		for _, p := range m.Params() {
			rows[k] = append(rows[k], p.Grad...)
		}
	}
	h := mat.NewSymDense(K, nil)
	for i := range K {
		for j := i; j < K; j++ {
			s := 0.0
			for c, v := range rows[i] {
				s += v * rows[j][c]
			}
			h.SetSym(i, j, s)
		}
	}
	var eig mat.EigenSym
	if !eig.Factorize(h, false) {
		t.Fatal("reference eigen-decomposition failed")
	}
	ev := eig.Values(nil)

	q, p, r := make([]float64, K), make([]float64, K), make([]float64, K)
	loss.Target(q, y, K, 0)
	lossA = l.Value(z, q)
	l.Predict(p, z)
	label := y
	if !l.OnSimplex() {
		label = -1
	}
	loss.Residual(r, p, q, label)
	m.Forward(xa)
	nn.ZeroGrad(m)
	m.Backward(&nn.Mat[float64]{Rows: 1, Cols: K, Data: r})
	for _, p := range m.Params() {
		for _, v := range p.Grad {
			g += v * v
		}
	}
	nn.ZeroGrad(m)
	return g, ev[0], ev[K-1], lossA
}

// TestPerImageMatchesReference checks Measure on Models a–d (small images,
// with and without skips, random weights) against perImageReference, with
// the pass Measure chooses and with each of the two passes forced: the
// seed-split pass (perimage_split.go), on one model and on a twin, and the
// broadcast pass.
func TestPerImageMatchesReference(t *testing.T) {
	img := nn.Shape{1, 8, 8}
	specs := []models.Spec{
		{Name: models.ModelA, Depth: 2, Width: 12, Input: img, Classes: 10},
		{Name: models.ModelB, Depth: 1, Input: img, Classes: 10},
		{Name: models.ModelC, Depth: 2, Skip: true, Input: img, Classes: 10},
		{Name: models.ModelD, Depth: 1, Skip: true, Input: img, Classes: 10},
		{Name: models.ModelD, Depth: 2, Skip: false, Input: img, Classes: 10},
	}
	labels := []int{3, 1, 3, 0, 2, 3}
	rng := rand.New(rand.NewPCG(4, 4))
	feat := make([]float64, len(labels)*img.Size())
	for i := range feat {
		feat[i] = rng.NormFloat64()
	}
	test, err := data.NewFeatures("test", img, feat, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	on, off := true, false
	paths := []struct {
		name  string
		split *bool
		twin  bool
	}{{"auto", nil, false}, {"split", &on, false}, {"split-twin", &on, true}, {"broadcast", &off, false}}
	for _, spec := range specs {
		for _, path := range paths {
			t.Run(spec.String()+"/"+path.name, func(t *testing.T) {
				m, err := models.Build[float64](spec)
				if err != nil {
					t.Fatal(err)
				}
				if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(7, 1))); err != nil {
					t.Fatal(err)
				}
				h, err := NewPerImage(2, FirstTestClass, "")
				if err != nil {
					t.Fatal(err)
				}
				if err := h.Select(test); err != nil {
					t.Fatal(err)
				}
				h.forceSplit = path.split
				if path.twin {
					if h.twin, err = models.Build[float64](spec); err != nil {
						t.Fatal(err)
					}
				}
				got, err := h.Measure(m)
				if err != nil {
					t.Fatal(err)
				}
				checkReference(t, "", h, got, m, test, labels)
			})
		}
	}
}

// TestPerImageTwin checks that OnStep builds the twin for a convolutional
// model and not for Model a, and that the measurement with the pass on x_b
// on the twin is bit for bit the one without it, for two successive steps
// with different weights (the twin takes each step's weights).
func TestPerImageTwin(t *testing.T) {
	img := nn.Shape{1, 8, 8}
	labels := []int{2, 2, 1, 0}
	rng := rand.New(rand.NewPCG(9, 9))
	feat := make([]float64, len(labels)*img.Size())
	for i := range feat {
		feat[i] = rng.NormFloat64()
	}
	test, err := data.NewFeatures("test", img, feat, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		spec models.Spec
		twin bool
	}{
		{models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Input: img, Classes: 10}, true},
		{models.Spec{Name: models.ModelA, Depth: 1, Width: 16, Input: img, Classes: 10}, false},
	} {
		m, err := models.Build[float64](c.spec)
		if err != nil {
			t.Fatal(err)
		}
		withTwin, err := NewPerImage(2, FirstTestClass, "")
		if err != nil {
			t.Fatal(err)
		}
		plain, err := NewPerImage(2, FirstTestClass, "")
		if err != nil {
			t.Fatal(err)
		}
		if err := plain.Select(test); err != nil {
			t.Fatal(err)
		}
		info := &train.StepInfo{Test: test, Config: train.Config{Model: c.spec},
			Model64: func() (nn.Layer[float64], error) { return m, nil }}
		for step := range 2 {
			if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(uint64(step), 3))); err != nil {
				t.Fatal(err)
			}
			rec, err := withTwin.OnStep(info)
			if err != nil {
				t.Fatal(err)
			}
			// The twin only where the products run on the calling goroutine.
			if want := c.twin && linalg.SerialGemm[float64](); (withTwin.twin != nil) != want {
				t.Fatalf("%v: twin built %v, want %v", c.spec, withTwin.twin != nil, want)
			}
			want, err := plain.Measure(m)
			if err != nil {
				t.Fatal(err)
			}
			if got := rec.(*PerImageMeasurement); *got != *want {
				t.Errorf("%v step %d: with the twin %+v, without %+v", c.spec, step, *got, *want)
			}
		}
	}
}

// TestPerImageGOMAXPROCS checks that the measurement, twin included, is bit
// for bit the same on 1, 2 and 3 goroutines, on the full-size MNIST fixture
// (so that the products, the dL/dx split and the copies of the broadcast
// batch take their parallel paths).
func TestPerImageGOMAXPROCS(t *testing.T) {
	if testing.Short() {
		t.Skip("full-size Model d measurements")
	}
	_, test, err := data.LoadFixture(data.StandardMNIST)
	if err != nil {
		t.Fatal(err)
	}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, spec := range []models.Spec{{Name: models.ModelD, Depth: 1, Skip: true}, {Name: models.ModelA, Depth: 1}} {
		var want *PerImageMeasurement
		for _, procs := range []int{1, 2, 3} {
			runtime.GOMAXPROCS(procs)
			// A model of its own: no scratch left by another run.
			m, err := models.Build[float64](spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := initializer.Apply(m.Params(), initializer.Options{}, rand.New(rand.NewPCG(4, 4))); err != nil {
				t.Fatal(err)
			}
			h, err := NewPerImage(2, FirstTestClass, "")
			if err != nil {
				t.Fatal(err)
			}
			info := &train.StepInfo{Test: test, Config: train.Config{Model: spec},
				Model64: func() (nn.Layer[float64], error) { return m, nil }}
			rec, err := h.OnStep(info)
			if err != nil {
				t.Fatal(err)
			}
			got := rec.(*PerImageMeasurement)
			if want == nil {
				want = got
			} else if *got != *want {
				t.Errorf("%v GOMAXPROCS %d: %+v, on one goroutine %+v", spec, procs, *got, *want)
			}
		}
	}
}

// TestPerImageSplitFewClasses checks the seed-split pass against
// perImageReference where the sides hold one seed each (K = 2) and one and
// two (K = 3), on one model and on a twin.
func TestPerImageSplitFewClasses(t *testing.T) {
	img := nn.Shape{1, 8, 8}
	for _, K := range []int{2, 3} {
		labels := []int{1, 0, 1, K - 1}
		rng := rand.New(rand.NewPCG(5, uint64(K)))
		feat := make([]float64, len(labels)*img.Size())
		for i := range feat {
			feat[i] = rng.NormFloat64()
		}
		test, err := data.NewFeatures("test", img, feat, labels, K)
		if err != nil {
			t.Fatal(err)
		}
		spec := models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Input: img, Classes: K}
		for _, twin := range []bool{false, true} {
			m, err := models.Build[float64](spec)
			if err != nil {
				t.Fatal(err)
			}
			if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(3, 1))); err != nil {
				t.Fatal(err)
			}
			h, err := NewPerImage(2, FirstTestClass, "")
			if err != nil {
				t.Fatal(err)
			}
			if err := h.Select(test); err != nil {
				t.Fatal(err)
			}
			if !h.splitFor(m) {
				t.Fatalf("K = %d: Model d does not take the seed-split pass", K)
			}
			if twin {
				if h.twin, err = models.Build[float64](spec); err != nil {
					t.Fatal(err)
				}
			}
			got, err := h.Measure(m)
			if err != nil {
				t.Fatal(err)
			}
			checkReference(t, fmt.Sprintf("K = %d twin %v: ", K, twin), h, got, m, test, labels)
		}
	}
}

// TestSplitLayers checks which models the seed-split pass walks, and that a
// twin of another structure is not taken for side B.
func TestSplitLayers(t *testing.T) {
	d1, _ := models.Build[float64](models.Spec{Name: models.ModelD, Depth: 1, Skip: true})
	d1b, _ := models.Build[float64](models.Spec{Name: models.ModelD, Depth: 1, Skip: true})
	d2, _ := models.Build[float64](models.Spec{Name: models.ModelD, Depth: 2, Skip: true})
	if !splitLayers(d1) || !sameLayers(d1, d1b) || sameLayers(d1, d2) {
		t.Errorf("Model d: splitLayers %v, same structure %v, against k = 2 %v", splitLayers(d1), sameLayers(d1, d1b), sameLayers(d1, d2))
	}
	// A container the pass does not know (Branches but not Residual).
	seq, err := nn.NewSequential[float64](branchesOnly{d1})
	if err != nil {
		t.Fatal(err)
	}
	if splitLayers(seq) {
		t.Error("splitLayers accepts an unknown Branches container")
	}
	// Side B must not run on a twin of another structure: the split falls
	// back to one model (TestPerImageMatchesReference checks the values).
	s := newSeedSplit(nn.NewMat[float64](1, 784), 10)
	s.run(d1, d2, func([]float64) {}, func() {})
	if s.b.m != d1 {
		t.Error("the seed split ran side B on a model of another structure")
	}
}

// branchesOnly is a layer that declares branches without being a Residual.
type branchesOnly struct{ nn.Layer[float64] }

func (b branchesOnly) Branches() []nn.Layer[float64] { return []nn.Layer[float64]{b.Layer} }

// TestPerImageSplitSideBLate checks that when side B's goroutine starts
// only after side A is done with its pass (no free core), side A runs side
// B's pass itself, with the values of the pass without a twin.
func TestPerImageSplitSideBLate(t *testing.T) {
	if runtime.GOMAXPROCS(0) == 1 {
		t.Skip("one goroutine at GOMAXPROCS 1: no side B goroutine")
	}
	img := nn.Shape{1, 8, 8}
	labels := []int{2, 2, 1, 0}
	rng := rand.New(rand.NewPCG(9, 2))
	feat := make([]float64, len(labels)*img.Size())
	for i := range feat {
		feat[i] = rng.NormFloat64()
	}
	test, err := data.NewFeatures("test", img, feat, labels, 10)
	if err != nil {
		t.Fatal(err)
	}
	spec := models.Spec{Name: models.ModelD, Depth: 1, Skip: true, Input: img, Classes: 10}
	m, err := models.Build[float64](spec)
	if err != nil {
		t.Fatal(err)
	}
	if err := initializer.Apply(m.Params(), initializer.Options{Scheme: "pytorch"}, rand.New(rand.NewPCG(2, 3))); err != nil {
		t.Fatal(err)
	}
	plain, err := NewPerImage(2, FirstTestClass, "")
	if err != nil {
		t.Fatal(err)
	}
	late, err := NewPerImage(2, FirstTestClass, "")
	if err != nil {
		t.Fatal(err)
	}
	for _, h := range []*PerImage{plain, late} {
		if err := h.Select(test); err != nil {
			t.Fatal(err)
		}
	}
	if late.twin, err = models.Build[float64](spec); err != nil {
		t.Fatal(err)
	}
	late.split = newSeedSplit(late.xa, 10)
	ranB := false
	late.split.startB = func() {
		for !late.split.claimB.Load() {
			runtime.Gosched()
		}
		ranB = late.split.b.m == late.twin
	}
	want, err := plain.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	got, err := late.Measure(m)
	if err != nil {
		t.Fatal(err)
	}
	if !ranB {
		t.Fatal("side B's goroutine did not wait for side A's claim on the twin")
	}
	if *got != *want {
		t.Errorf("side B's pass run by side A: %+v, without a twin %+v", *got, *want)
	}
}
