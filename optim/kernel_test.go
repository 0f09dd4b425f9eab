package optim

import (
	"fmt"
	"math"
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/nn"
)

// withKernel runs f with useKernel set to k.
func withKernel(k kernel, f func()) {
	saved := useKernel
	useKernel = k
	defer func() { useKernel = saved }()
	f()
}

// awkward returns a float32 drawn to stress the kernels' rounding: zeros of
// both signs, subnormals, values near the float32 limits, and otherwise a
// random sign and mantissa with a binary exponent uniform in [−10, 1]
// (typical weights) or in [−140, 127].
func awkward(rng *rand.Rand) float32 {
	switch rng.IntN(16) {
	case 0:
		return 0
	case 1:
		return float32(math.Copysign(0, -1))
	case 2: // subnormal
		return math.Float32frombits(uint32(rng.IntN(1<<23-1)+1)) * float32(1-2*rng.IntN(2))
	case 3:
		return float32(math.SmallestNonzeroFloat32)
	case 4:
		return math.MaxFloat32 * float32(1-2*rng.IntN(2)) * float32(0.5+rng.Float64()/2)
	case 5, 6, 7, 8, 9, 10, 11: // typical weights and gradients
		return float32(math.Ldexp(1+rng.Float64(), rng.IntN(12)-10)) * float32(1-2*rng.IntN(2))
	}
	return float32(math.Ldexp(1+rng.Float64(), rng.IntN(268)-140)) * float32(1-2*rng.IntN(2))
}

// sameBits reports whether a and b are the same float32 bit pattern, NaN
// payloads included: Inf−Inf, 0·Inf and Inf/Inf arise from the values near
// MaxFloat32 (about 1% of the results are NaN) and the kernels match them too.
// Were a NaN payload ever to differ, suspect the order in which the compiler
// puts the operands of a commutative operation on two NaNs (x86 returns the
// first), not the arithmetic.
func sameBits(a, b float32) bool {
	return math.Float32bits(a) == math.Float32bits(b)
}

// cancel sets a quarter of the values θ (in both parameter sets) to the
// float32 nearest the update δ that Step will subtract, so θ − δ cancels
// about 24 bits and the float64 rounding of every intermediate (the
// products, the sums, √v, the moments) shows in the float32 result with a
// probability of about 1/8 per element: without this, a kernel that
// reassociated a sum or fused a product would round to the same float32
// but once in ~2^29 elements. δ depends on θ through wd·θ, so the fixed
// point θ = δ(θ) is approached by three iterations (enough for small
// wd·lr; otherwise θ just stays a random value).
func cancel(rng *rand.Rand, o *optimizer[float32], step int, lr float64, pr, pv []*nn.Param[float32]) {
	oo := *o
	oo.step = step
	u := oo.rule(lr)
	moment := func(j, i, e int) float64 { // zero before the first Step allocates them
		if o.moments == nil {
			return 0
		}
		return float64(o.moments[j][i][e])
	}
	for i, p := range pr {
		for e := range p.Value {
			if rng.IntN(4) != 0 {
				continue
			}
			t, g := float64(p.Value[e]), float64(p.Grad[e])
			for range 3 {
				var d float64
				switch u.name {
				case "sgd":
					d = u.lr * (g + u.wd*t)
				case "momentum":
					d = u.lr * (u.mu*moment(0, i, e) + g + u.wd*t)
				case "adam":
					gk := g + u.wd*t
					m := u.b1*moment(0, i, e) + (1-u.b1)*gk
					v := u.b2*moment(1, i, e) + (1-u.b2)*gk*gk
					d = u.stepSize * m / (math.Sqrt(v)/u.sqrtBC2 + u.eps)
				}
				if d32 := float32(d); !math.IsInf(float64(d32), 0) && d32 == d32 {
					t = float64(d32)
				}
			}
			p.Value[e], pv[i].Value[e] = float32(t), float32(t)
		}
	}
}

// TestKernelsMatchGo checks every assembly kernel the CPU can run against
// the Go loop applyGo, the specification of the result, bit for bit: every
// rule, with and without weight decay, tensor lengths 0…70 (all tails of
// both vector widths) and a few large odd ones (the largest is split over
// goroutines), awkward values (awkward), over four steps so the moments
// evolve, checking values and moments after each step; cancel makes
// the float64 intermediates matter.
func TestKernelsMatchGo(t *testing.T) {
	ks := kernels()
	if len(ks) == 1 {
		t.Logf("only the Go kernel is available (%v): nothing to compare", ks)
	}
	var lens []int
	for n := 0; n <= 70; n++ {
		lens = append(lens, n)
	}
	lens = append(lens, 1001, 4099, 2*parallelMinVector+13)
	rng := rand.New(rand.NewPCG(5, 2503))
	for _, k := range ks[1:] {
		for _, name := range Names() {
			for _, wd := range []float64{0, 1e-2, 3.7} {
				cfg := Config{Name: name, WeightDecay: wd}
				if name == "momentum" {
					cfg.Momentum = 0.37
				}
				t.Run(fmt.Sprintf("%v/%s/wd=%g", k, name, wd), func(t *testing.T) {
					ref, _ := New[float32](cfg)
					vec, _ := New[float32](cfg)
					var pr, pv []*nn.Param[float32]
					for i, n := range lens {
						pr = append(pr, nn.NewParam[float32](fmt.Sprint("p", i), []int{n}, 1, 1, false))
						pv = append(pv, nn.NewParam[float32](fmt.Sprint("p", i), []int{n}, 1, 1, false))
						for j := range pr[i].Value {
							x := awkward(rng)
							pr[i].Value[j], pv[i].Value[j] = x, x
						}
					}
					for step := 1; step <= 4; step++ {
						for i := range pr {
							for j := range pr[i].Grad {
								g := awkward(rng)
								pr[i].Grad[j], pv[i].Grad[j] = g, g
							}
						}
						lr := []float64{1e-3, 0.5, 3, 1e-7}[step-1]
						cancel(rng, ref.(*optimizer[float32]), step, lr, pr, pv)
						withKernel(kernelGo, func() { ref.Step(pr, lr) })
						withKernel(k, func() { vec.Step(pv, lr) })
						for i := range pr {
							got := [][]float32{pv[i].Value}
							want := [][]float32{pr[i].Value}
							what := []string{"value"}
							mr, mv := ref.(*optimizer[float32]).moments, vec.(*optimizer[float32]).moments
							for j := range mr {
								got, want = append(got, mv[j][i]), append(want, mr[j][i])
								what = append(what, fmt.Sprint("moment ", j))
							}
							for a := range got {
								for e := range got[a] {
									if !sameBits(got[a][e], want[a][e]) {
										t.Fatalf("step %d, length %d, %s[%d]: %v gives %v (%#08x), Go %v (%#08x)",
											step, lens[i], what[a], e, k, got[a][e], math.Float32bits(got[a][e]), want[a][e], math.Float32bits(want[a][e]))
									}
								}
							}
						}
					}
				})
			}
		}
	}
}

// TestKernelsHandSteps checks each kernel against closed forms, apart from
// applyGo: two steps of every rule on a float32 tensor of 37 copies of the
// hand-worked cases of TestSGDHandSteps and TestAdamHandSteps (θ = 2, g = 1
// then 3, lr 0.5; Adam θ = 1, g = 0.5 then 1, lr 0.1), so every lane and
// the tail hold the same case; the answer is the float64 closed form
// rounded to float32 within float32Tol.
func TestKernelsHandSteps(t *testing.T) {
	const (
		n = 37 // 4 AVX-512 vectors and a tail of 5
		// Each step rounds θ (and the moments) to float32 once, from the
		// exact float64 value; two steps give at most a few float32 ulps.
		float32Tol = 4e-7
	)
	bc1, bc2 := 1-0.9*0.9, 1-0.999*0.999
	adamM, adamV := 0.9*0.05+0.1, 0.999*0.00025+0.001
	for _, c := range []struct {
		cfg    Config
		th, lr float64
		g      [2]float64
		want   float64
	}{
		{Config{Name: "sgd"}, 2, 0.5, [2]float64{1, 3}, 2 - 0.5*1 - 0.5*3},
		{Config{Name: "sgd", WeightDecay: 0.1}, 2, 0.5, [2]float64{1, 3}, 1.4 - 0.5*3.14},
		{Config{Name: "momentum"}, 2, 0.5, [2]float64{1, 3}, 1.5 - 0.5*3.9},
		// wd 0.1: b1 = 1.2, θ = 1.4; b2 = 0.9·1.2 + 3 + 0.14 = 4.22, θ = 1.4 − 2.11.
		{Config{Name: "momentum", WeightDecay: 0.1}, 2, 0.5, [2]float64{1, 3}, 1.4 - 0.5*4.22},
		{Config{Name: "adam"}, 1, 0.1, [2]float64{0.5, 1},
			1 - 0.1*0.5/(0.5+1e-8) - 0.1*(adamM/bc1)/(math.Sqrt(adamV/bc2)+1e-8)},
	} {
		for _, k := range kernels() {
			o, _ := New[float32](c.cfg)
			p := nn.NewParam[float32]("x", []int{n}, 1, 1, false)
			for i := range p.Value {
				p.Value[i] = float32(c.th)
			}
			for _, g := range c.g {
				for i := range p.Grad {
					p.Grad[i] = float32(g)
				}
				withKernel(k, func() { o.Step([]*nn.Param[float32]{p}, c.lr) })
			}
			for i, v := range p.Value {
				if math.Abs(float64(v)-c.want) > float32Tol*math.Abs(c.want) {
					t.Errorf("%v %+v: θ[%d] = %.9g, want %.9g", k, c.cfg, i, v, c.want)
				}
			}
		}
	}
}

// TestStepFinite checks StepFinite's report with every kernel and rule:
// true on finite updates; false when one gradient is NaN or ±Inf, or when a
// finite update overflows float32 (θ − lr·g beyond the largest float32), at
// the first element, in the vector prefix, in the tail and in the second of
// two goroutine chunks; and the values are those of Step, bit for bit.
func TestStepFinite(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	for _, k := range kernels() {
		for _, name := range Names() {
			for _, n := range []int{1, 13, 70, 2*parallelMinVector + 13} {
				for _, bad := range []int{-1, 0, n / 2, n - 1} {
					for _, kind := range []string{"nan", "inf", "overflow"} {
						if bad < 0 && kind != "nan" {
							continue
						}
						cfg := Config{Name: name}
						ref, _ := New[float32](cfg)
						got, _ := New[float32](cfg)
						pr := nn.NewParam[float32]("w", []int{n}, 1, 1, false)
						pg := nn.NewParam[float32]("w", []int{n}, 1, 1, false)
						for j := range pr.Value {
							x, g := float32(rng.NormFloat64()), float32(rng.NormFloat64())
							pr.Value[j], pg.Value[j], pr.Grad[j], pg.Grad[j] = x, x, g, g
						}
						if bad >= 0 {
							switch kind {
							case "nan":
								pr.Grad[bad], pg.Grad[bad] = float32(math.NaN()), float32(math.NaN())
							case "inf":
								pr.Grad[bad], pg.Grad[bad] = float32(math.Inf(-1)), float32(math.Inf(-1))
							case "overflow":
								pr.Value[bad], pg.Value[bad] = 3e38, 3e38
								pr.Grad[bad], pg.Grad[bad] = -3e38, -3e38
							}
						}
						lr := 1.0
						if name == "adam" && kind == "overflow" {
							continue // Adam's step is bounded by lr: no overflow from a finite state
						}
						var fin bool
						withKernel(k, func() {
							ref.Step([]*nn.Param[float32]{pr}, lr)
							fin = got.(FiniteStepper[float32]).StepFinite([]*nn.Param[float32]{pg}, lr)
						})
						want := true
						for _, v := range pr.Value {
							want = want && !math.IsNaN(float64(v)) && !math.IsInf(float64(v), 0)
						}
						if want != (bad < 0) {
							t.Fatalf("%v %s n=%d %s at %d: the case itself is wrong (finite %v)", k, name, n, kind, bad, want)
						}
						if fin != want {
							t.Errorf("%v %s n=%d %s at %d: StepFinite = %v, want %v", k, name, n, kind, bad, fin, want)
						}
						for j := range pr.Value {
							if !sameBits(pr.Value[j], pg.Value[j]) {
								t.Fatalf("%v %s n=%d: θ[%d] = %v, Step gives %v", k, name, n, j, pg.Value[j], pr.Value[j])
							}
						}
					}
				}
			}
		}
	}
}
