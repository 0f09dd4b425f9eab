package loss

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/internal/parallel"
	"github.com/fenchel-ml/fenchel/nn"
)

// batchCase builds a rows×K float64 batch of logits and labels.
func batchCase(rng *rand.Rand, rows, K int) (*nn.Mat[float64], []int) {
	z := nn.NewMat[float64](rows, K)
	for i := range z.Data {
		z.Data[i] = 2 * rng.NormFloat64()
	}
	labels := make([]int, rows)
	for i := range labels {
		labels[i] = rng.IntN(K)
	}
	return z, labels
}

func toF32(m *nn.Mat[float64]) *nn.Mat[float32] {
	out := nn.NewMat[float32](m.Rows, m.Cols)
	for i, v := range m.Data {
		out.Data[i] = float32(v)
	}
	return out
}

func TestBatchGrad(t *testing.T) {
	rng := rand.New(rand.NewPCG(8, 8))
	rows, K := 7, 5
	for _, l := range allLosses(t) {
		for _, s := range []float64{0, 0.1} {
			z, labels := batchCase(rng, rows, K)
			dz := nn.NewMat[float64](rows, K)
			sum, correct, err := BatchGrad(l, z, labels, s, dz)
			if err != nil {
				t.Fatal(err)
			}
			// Per-row reference from the single-sample API.
			var wantSum float64
			wantCorrect := 0
			q, p := make([]float64, K), make([]float64, K)
			for i := 0; i < rows; i++ {
				Target(q, labels[i], K, s)
				wantSum += l.Value(z.Row(i), q)
				if argmax(z.Row(i)) == labels[i] {
					wantCorrect++
				}
				l.Predict(p, z.Row(i))
				for k := range p {
					if g := (p[k] - q[k]) / float64(rows); math.Abs(dz.At(i, k)-g) > exactTol {
						t.Errorf("%s s=%v: dz[%d,%d] = %v, want %v", l.Name(), s, i, k, dz.At(i, k), g)
					}
				}
			}
			if math.Abs(sum-wantSum) > exactTol || correct != wantCorrect {
				t.Errorf("%s s=%v: sum %v correct %d, want %v %d", l.Name(), s, sum, correct, wantSum, wantCorrect)
			}

			// dz is the gradient of the batch-mean loss: check by central differences.
			mean := func() float64 {
				v, _, err := BatchGrad(l, z, labels, s, nil)
				if err != nil {
					t.Fatal(err)
				}
				return v / float64(rows)
			}
			for _, idx := range []int{0, rows*K/2 + 1, rows*K - 1} {
				v := z.Data[idx]
				z.Data[idx] = v + fdStep
				up := mean()
				z.Data[idx] = v - fdStep
				down := mean()
				z.Data[idx] = v
				if fd := (up - down) / (2 * fdStep); math.Abs(fd-dz.Data[idx]) > fdTol {
					t.Errorf("%s s=%v: dz[%d] = %v, finite difference %v", l.Name(), s, idx, dz.Data[idx], fd)
				}
			}

			// float32 logits: the same float64 computation on the rounded logits,
			// with the gradient rounded to float32 (relative 2^-24 ≈ 6e-8).
			z32 := toF32(z)
			dz32 := nn.NewMat[float32](rows, K)
			sum32, correct32, err := BatchGrad(l, z32, labels, s, dz32)
			if err != nil {
				t.Fatal(err)
			}
			zr := nn.NewMat[float64](rows, K)
			for i, v := range z32.Data {
				zr.Data[i] = float64(v)
			}
			dzr := nn.NewMat[float64](rows, K)
			sumR, correctR, _ := BatchGrad(l, zr, labels, s, dzr)
			if sum32 != sumR || correct32 != correctR {
				t.Errorf("%s float32: sum %v correct %d, want %v %d", l.Name(), sum32, correct32, sumR, correctR)
			}
			for i, v := range dz32.Data {
				if v != float32(dzr.Data[i]) {
					t.Errorf("%s float32: dz[%d] = %v, want %v", l.Name(), i, v, float32(dzr.Data[i]))
				}
			}
		}
	}
}

// TestBatchGradTinyLoss: with float32 logits at margin 40 the residual of the
// target entry is still accurate, because it is computed in float64 as −Σ_{k≠y} p_k.
func TestBatchGradTinyLoss(t *testing.T) {
	K := 10
	z := nn.NewMat[float32](1, K)
	z.Data[4] = 40
	dz := nn.NewMat[float32](1, K)
	sum, correct, err := BatchGrad[float32](Softmax{}, z, []int{4}, 0, dz)
	if err != nil {
		t.Fatal(err)
	}
	S := float64(K-1) * math.Exp(-40)
	if math.Abs(sum-S) > 1e-14*S || correct != 1 {
		t.Errorf("loss %g correct %d, want %g 1", sum, correct, S)
	}
	if want := float32(-S / (1 + S)); math.Abs(float64(dz.Data[4]-want)) > 1e-6*math.Abs(float64(want)) {
		t.Errorf("dz_y = %g, want %g", dz.Data[4], want)
	}
}

func TestBatchGradErrors(t *testing.T) {
	l := Softmax{}
	z := nn.NewMat[float32](3, 4)
	dz := nn.NewMat[float32](3, 4)
	labels := []int{0, 1, 2}
	for _, c := range []struct {
		name   string
		setup  func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32])
		expect string
	}{
		{"NaN logit", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			zz := nn.NewMat[float32](3, 4)
			zz.Data[1*4+2] = float32(math.NaN())
			return zz, labels, 0, dz
		}, "row 1: logit 2 = NaN"},
		{"Inf logit", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			zz := nn.NewMat[float32](3, 4)
			zz.Data[2*4] = float32(math.Inf(-1))
			return zz, labels, 0, dz
		}, "row 2: logit 0 = -Inf"},
		{"label", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			return z, []int{0, 4, 1}, 0, dz
		}, "row 1: label 4"},
		{"label count", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			return z, []int{0}, 0, dz
		}, "1 labels for 3 rows"},
		{"dz shape", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			return z, labels, 0, nn.NewMat[float32](3, 5)
		}, "gradient 3×5"},
		{"smoothing", func() (*nn.Mat[float32], []int, float64, *nn.Mat[float32]) {
			return z, labels, 1, dz
		}, "smoothing = 1"},
	} {
		zz, lab, s, d := c.setup()
		_, _, err := BatchGrad[float32](l, zz, lab, s, d)
		if err == nil || !strings.Contains(err.Error(), c.expect) {
			t.Errorf("%s: error %v, want one containing %q", c.name, err, c.expect)
		}
	}
	// A finite logit whose loss overflows (squared loss of 1e200) is reported too.
	big := nn.NewMat[float64](1, 2)
	big.Data[0] = 1e200
	if _, _, err := BatchGrad[float64](Squared{}, big, []int{0}, 0, nil); err == nil || !strings.Contains(err.Error(), "loss = +Inf") {
		t.Errorf("overflowing loss: error %v", err)
	}
}

func BenchmarkBatchGrad(b *testing.B) {
	for _, name := range Names() {
		l, _ := New(name)
		for _, K := range []int{10, 100} {
			b.Run(fmt.Sprintf("%s/K=%d", name, K), func(b *testing.B) {
				rng := rand.New(rand.NewPCG(9, 9))
				zf, labels := batchCase(rng, 64, K)
				z, dz := toF32(zf), nn.NewMat[float32](64, K)
				b.ReportAllocs()
				for b.Loop() {
					if _, _, err := BatchGrad(l, z, labels, 0, dz); err != nil {
						b.Fatal(err)
					}
				}
			})
		}
	}
}

// plainSoftmax is Softmax behind another type, so BatchGrad takes its
// generic path (separate Value and Predict).
type plainSoftmax struct{ Softmax }

// TestBatchGradSoftmaxFusedBits: the softmax path of BatchGrad, one
// log-sum-exp per row for the value and the prediction, gives bit for bit
// the sums, counts and gradients of the generic path.
func TestBatchGradSoftmaxFusedBits(t *testing.T) {
	rng := rand.New(rand.NewPCG(3, 9))
	for _, K := range []int{2, 10, 37} {
		for _, s := range []float64{0, 0.1} {
			z, labels := batchCase(rng, 33, K)
			z.Data[5] = 40 // a confident row
			for _, f32 := range []bool{false, true} {
				var sum, wsum float64
				var c, wc int
				var err, werr error
				var got, want []float64
				if f32 {
					z32 := toF32(z)
					d, w := nn.NewMat[float32](z.Rows, K), nn.NewMat[float32](z.Rows, K)
					sum, c, err = BatchGrad(Softmax{}, z32, labels, s, d)
					wsum, wc, werr = BatchGrad(plainSoftmax{}, z32, labels, s, w)
					for i := range d.Data {
						got, want = append(got, float64(d.Data[i])), append(want, float64(w.Data[i]))
					}
				} else {
					d, w := nn.NewMat[float64](z.Rows, K), nn.NewMat[float64](z.Rows, K)
					sum, c, err = BatchGrad(Softmax{}, z, labels, s, d)
					wsum, wc, werr = BatchGrad(plainSoftmax{}, z, labels, s, w)
					got, want = d.Data, w.Data
				}
				if err != nil || werr != nil {
					t.Fatal(err, werr)
				}
				if math.Float64bits(sum) != math.Float64bits(wsum) || c != wc {
					t.Errorf("K %d s %v f32 %v: sum %v correct %d, generic %v %d", K, s, f32, sum, c, wsum, wc)
				}
				for i := range got {
					if math.Float64bits(got[i]) != math.Float64bits(want[i]) {
						t.Fatalf("K %d s %v f32 %v: dz[%d] = %v, generic %v", K, s, f32, i, got[i], want[i])
					}
				}
			}
		}
	}
}

// TestBatchGradProcs: a large batch gives the same bits at any GOMAXPROCS,
// with and without a gradient, and the first bad row is the one reported.
func TestBatchGradProcs(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(4, 4))
	rows, K := 203, 10
	zf, labels := batchCase(rng, rows, K)
	z := toF32(zf)
	for _, l := range allLosses(t) {
		for _, s := range []float64{0, 0.1} {
			type out struct {
				sum   float64
				c     int
				dz    []float32
				vsum  float64
				vc    int
				procs int
			}
			var res []out
			for _, procs := range []int{1, 2, 3, 4} {
				runtime.GOMAXPROCS(procs)
				dz := nn.NewMat[float32](rows, K)
				parallel.Team(2, func(int) {}) // the worker spins: the rows are split
				sum, c, err := BatchGrad(l, z, labels, s, dz)
				if err != nil {
					t.Fatal(err)
				}
				parallel.Team(2, func(int) {})
				vsum, vc, err := BatchGrad(l, z, labels, s, nil)
				if err != nil {
					t.Fatal(err)
				}
				res = append(res, out{sum, c, dz.Data, vsum, vc, procs})
			}
			for _, r := range res[1:] {
				if math.Float64bits(r.sum) != math.Float64bits(res[0].sum) || r.c != res[0].c ||
					math.Float64bits(r.vsum) != math.Float64bits(res[0].sum) || r.vc != res[0].c {
					t.Errorf("%s s=%v GOMAXPROCS %d: sum %v correct %d (no dz: %v %d), one goroutine %v %d",
						l.Name(), s, r.procs, r.sum, r.c, r.vsum, r.vc, res[0].sum, res[0].c)
				}
				for i := range r.dz {
					if math.Float32bits(r.dz[i]) != math.Float32bits(res[0].dz[i]) {
						t.Fatalf("%s s=%v GOMAXPROCS %d: dz[%d] = %v, one goroutine %v", l.Name(), s, r.procs, i, r.dz[i], res[0].dz[i])
					}
				}
			}
		}
	}
	bad := toF32(zf)
	bad.Data[190*K+3] = float32(math.NaN())
	bad.Data[150*K+7] = float32(math.Inf(1))
	badLabels := append([]int(nil), labels...)
	badLabels[170] = K
	// Bad rows in the second half only, then in both halves.
	bad2 := toF32(zf)
	copy(bad2.Data, bad.Data)
	bad2.Data[40*K+1] = float32(math.NaN())
	for _, procs := range []int{1, 2, 4} {
		runtime.GOMAXPROCS(procs)
		parallel.Team(2, func(int) {})
		_, _, err := BatchGrad(Softmax{}, bad, badLabels, 0, nn.NewMat[float32](rows, K))
		if err == nil || !strings.Contains(err.Error(), "row 150: logit 7 = +Inf") {
			t.Errorf("GOMAXPROCS %d: error %v, want the first bad row (150)", procs, err)
		}
		parallel.Team(2, func(int) {})
		_, _, err = BatchGrad(Softmax{}, bad2, badLabels, 0, nn.NewMat[float32](rows, K))
		if err == nil || !strings.Contains(err.Error(), "row 40: logit 1 = NaN") {
			t.Errorf("GOMAXPROCS %d: error %v, want the first bad row (40)", procs, err)
		}
	}
}
