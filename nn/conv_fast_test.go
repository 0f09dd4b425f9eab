package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"slices"
	"strings"
	"testing"
)

// fastGeoms covers the im2col/col2im and pooling paths: the "same" stride-1
// shift path (k = 2p + 1), stride 1 without it (pad 0, even kernels),
// strides 2 and 3, pads 0–2, odd and non-square sizes, one and several
// channels, and images smaller than the kernel's reach.
func fastGeoms() []window {
	var out []window
	for _, c := range []int{1, 3} {
		for _, hw := range [][2]int{{1, 1}, {2, 3}, {5, 5}, {7, 6}, {9, 4}} {
			for _, k := range []int{1, 2, 3, 5} {
				for _, s := range []int{1, 2, 3} {
					for _, p := range []int{0, 1, 2} {
						g, err := newWindow("test", Shape{c, hw[0], hw[1]}, k, s, p)
						if err != nil {
							continue
						}
						out = append(out, g)
					}
				}
			}
		}
	}
	return out
}

// refIm2col is the definition: cols[(c·k + ki)·k + kj][oi·OutW + oj] =
// x[c, oi·s − p + ki, oj·s − p + kj], 0 outside the image.
func refIm2col(g window, x []float64) [][]float64 {
	k, L := g.Kernel, g.outArea()
	cols := make([][]float64, g.C*k*k)
	for c := 0; c < g.C; c++ {
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := make([]float64, L)
				for oi := 0; oi < g.OutH; oi++ {
					for oj := 0; oj < g.OutW; oj++ {
						i, j := oi*g.Stride-g.Pad+ki, oj*g.Stride-g.Pad+kj
						if i >= 0 && i < g.H && j >= 0 && j < g.W {
							row[oi*g.OutW+oj] = x[(c*g.H+i)*g.W+j]
						}
					}
				}
				cols[(c*k+ki)*k+kj] = row
			}
		}
	}
	return cols
}

// refCol2im is the adjoint of refIm2col, summed in a fixed order.
func refCol2im(g window, cols [][]float64) []float64 {
	k := g.Kernel
	dx := make([]float64, g.inSize())
	for c := 0; c < g.C; c++ {
		for ki := 0; ki < k; ki++ {
			for kj := 0; kj < k; kj++ {
				row := cols[(c*k+ki)*k+kj]
				for oi := 0; oi < g.OutH; oi++ {
					for oj := 0; oj < g.OutW; oj++ {
						i, j := oi*g.Stride-g.Pad+ki, oj*g.Stride-g.Pad+kj
						if i >= 0 && i < g.H && j >= 0 && j < g.W {
							dx[(c*g.H+i)*g.W+j] += row[oi*g.OutW+oj]
						}
					}
				}
			}
		}
	}
	return dx
}

// TestIm2colCol2imMatchDefinition checks im2colSample (every entry, padding
// zeros included, written at an offset inside a wider buffer prefilled with
// NaN) and col2imSample in both modes (store, add) against the definitions
// above, for every geometry of fastGeoms.
func TestIm2colCol2imMatchDefinition(t *testing.T) {
	const tol = 1e-13
	rng := rand.New(rand.NewPCG(21, 22))
	for _, g := range fastGeoms() {
		name := fmt.Sprintf("C%d_%dx%d_k%d_s%d_p%d", g.C, g.H, g.W, g.Kernel, g.Stride, g.Pad)
		L, rows := g.outArea(), g.C*g.Kernel*g.Kernel
		x := make([]float64, g.inSize())
		fillNormal(rng, x, 1)
		want := refIm2col(g, x)
		// Two samples side by side: ours is the second, at offset L+1.
		ld, off := 2*L+1, L+1
		cols := make([]float64, rows*ld)
		for i := range cols {
			cols[i] = math.NaN()
		}
		im2colSample(&g, x, cols, ld, off)
		for r := 0; r < rows; r++ {
			for l := 0; l < L; l++ {
				if got := cols[r*ld+off+l]; got != want[r][l] {
					t.Fatalf("%s: im2col[%d][%d] = %g, definition %g", name, r, l, got, want[r][l])
				}
			}
			if !math.IsNaN(cols[r*ld+L]) {
				t.Fatalf("%s: im2col wrote outside its columns (row %d)", name, r)
			}
		}

		// col2im of random column gradients.
		dcols := make([][]float64, rows)
		buf := make([]float64, rows*ld)
		for r := range dcols {
			dcols[r] = make([]float64, L)
			fillNormal(rng, dcols[r], 1)
		}
		wantDx := refCol2im(g, dcols)
		for _, overwrite := range []bool{true, false} {
			for r := range dcols {
				copy(buf[r*ld+off:], dcols[r])
			}
			dx := make([]float64, g.inSize())
			base := make([]float64, g.inSize())
			if overwrite {
				for i := range dx {
					dx[i] = math.NaN() // must be ignored
				}
			} else {
				fillNormal(rng, base, 1)
				copy(dx, base)
			}
			col2imSample(&g, buf, ld, off, dx, overwrite)
			for i := range dx {
				w := wantDx[i] + base[i]
				if math.Abs(dx[i]-w) > tol*(1+math.Abs(w)) {
					t.Fatalf("%s overwrite %v: col2im dx[%d] = %.15g, definition %.15g", name, overwrite, i, dx[i], w)
				}
			}
		}
	}
}

// refMaxPool is the scan of PyTorch's MaxPool2d with its argmax (first in
// scan order on ties), for checking maxPoolSample's unrolled 3×3 path.
func refMaxPool(g window, x []float64) ([]float64, []int32) {
	var y []float64
	var arg []int32
	for c := 0; c < g.C; c++ {
		for oi := 0; oi < g.OutH; oi++ {
			for oj := 0; oj < g.OutW; oj++ {
				best, at := 0.0, -1
				for ki := 0; ki < g.Kernel; ki++ {
					for kj := 0; kj < g.Kernel; kj++ {
						i, j := oi*g.Stride-g.Pad+ki, oj*g.Stride-g.Pad+kj
						if i < 0 || i >= g.H || j < 0 || j >= g.W {
							continue
						}
						idx := (c*g.H+i)*g.W + j
						if at < 0 || x[idx] > best {
							best, at = x[idx], idx
						}
					}
				}
				y, arg = append(y, best), append(arg, int32(at))
			}
		}
	}
	return y, arg
}

// TestMaxPoolSampleMatchesScan checks values and argmax positions of
// maxPoolSample against refMaxPool on inputs drawn from {0, 1, 2} (many
// ties, so the first-in-scan-order rule is exercised) and on continuous ones,
// in float64 and in float32 (whose 3×3 stride-1 interior runs one
// simd.MaxPool3Row32 call per plane, and with padding 1 every window, on a
// −∞-bordered copy), over fastGeoms and Model d's pool; inputs drawn from
// {−∞, NaN, −1, 0} check that padding never wins and that a NaN first in
// its window stays.
func TestMaxPoolSampleMatchesScan(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	geoms := fastGeoms()
	for _, sh := range [][6]int{{16, 28, 28, 3, 1, 1}, {2, 9, 11, 3, 1, 0}, {3, 12, 5, 3, 1, 1}} {
		g, err := newWindow("test", Shape{sh[0], sh[1], sh[2]}, sh[3], sh[4], sh[5])
		if err != nil {
			t.Fatal(err)
		}
		geoms = append(geoms, g)
	}
	var ps planeScratch
	for _, g := range geoms {
		if g.Pad > g.Kernel/2 {
			continue
		}
		for _, mode := range []string{"ties", "normal", "special"} {
			ties := mode
			x := make([]float64, g.inSize())
			for i := range x {
				switch mode {
				case "ties":
					x[i] = float64(rng.IntN(3))
				case "normal":
					x[i] = rng.NormFloat64()
				default:
					x[i] = []float64{math.Inf(-1), math.NaN(), -1, 0, math.Inf(-1), math.Inf(-1)}[rng.IntN(6)]
				}
			}
			want, wantArg := refMaxPool(g, x)
			y := make([]float64, len(want))
			arg := make([]int32, len(want))
			maxPoolSample(&g, x, y, arg, &ps)
			x32 := make([]float32, len(x))
			for i, v := range x {
				x32[i] = float32(v)
				x[i] = float64(x32[i])
			}
			want32, wantArg32 := refMaxPool(g, x)
			y32 := make([]float32, len(want))
			arg32 := make([]int32, len(want))
			maxPoolSample(&g, x32, y32, arg32, &ps)
			for o := range want {
				same := func(a, b float64) bool { return a == b || math.IsNaN(a) && math.IsNaN(b) }
				if !same(y[o], want[o]) || arg[o] != wantArg[o] {
					t.Fatalf("C%d %dx%d k%d s%d p%d %s: out %d = %g at %d, scan %g at %d",
						g.C, g.H, g.W, g.Kernel, g.Stride, g.Pad, ties, o, y[o], arg[o], want[o], wantArg[o])
				}
				if !same(float64(y32[o]), want32[o]) || arg32[o] != wantArg32[o] {
					t.Fatalf("float32 C%d %dx%d k%d s%d p%d %s: out %d = %g at %d, scan %g at %d",
						g.C, g.H, g.W, g.Kernel, g.Stride, g.Pad, ties, o, y32[o], arg32[o], want32[o], wantArg32[o])
				}
			}
		}
	}
}

// TestInteriorSpan checks interiorSpan against the direct condition on every
// output index.
func TestInteriorSpan(t *testing.T) {
	for size := 1; size <= 9; size++ {
		for k := 1; k <= 5; k++ {
			for s := 1; s <= 3; s++ {
				for p := 0; p <= 2; p++ {
					if size+2*p < k {
						continue
					}
					out := (size+2*p-k)/s + 1
					lo, hi := interiorSpan(size, out, k, s, p)
					for o := 0; o < out; o++ {
						inside := o*s-p >= 0 && o*s-p+k <= size
						if inside != (o >= lo && o < hi) {
							t.Fatalf("size %d k %d s %d p %d: output %d inside %v, span [%d,%d)", size, k, s, p, o, inside, lo, hi)
						}
					}
				}
			}
		}
	}
}

// TestConv2DAddGramRep checks Conv2D.AddGram with rep = 1, 2, 3, 5 against
// G Gᵀ built from PerSampleGrad, on batches whose inputs come in groups of
// rep identical rows (and, with rep = 1, distinct rows), for several
// geometries, with and without bias, with default and with tiny budgets
// (one sample per im2col chunk, one group per Gram block).
func TestConv2DAddGramRep(t *testing.T) {
	type conv struct {
		in                   Shape
		outC, k, stride, pad int
		bias                 bool
	}
	convs := []conv{
		{Shape{1, 5, 5}, 2, 3, 1, 1, true},  // same-shift path, one channel
		{Shape{3, 6, 5}, 4, 3, 1, 1, false}, // several channels, no bias (direct path)
		{Shape{2, 7, 7}, 3, 3, 2, 1, false}, // stride 2
		{Shape{2, 5, 4}, 2, 2, 1, 0, true},  // stride 1 without the shift path
		{Shape{3, 5, 5}, 2, 3, 2, 0, true},  // stride 2, pad 0
	}
	oldCols, oldGram := convColsBudget, gramChunkBudget
	defer func() { convColsBudget, gramChunkBudget = oldCols, oldGram }()
	for _, tiny := range []bool{false, true} {
		for ci, c := range convs {
			for _, rep := range []int{1, 2, 3, 5} {
				convColsBudget, gramChunkBudget = oldCols, oldGram
				if tiny {
					convColsBudget, gramChunkBudget = 1, 1
				}
				rng := rand.New(rand.NewPCG(uint64(ci), uint64(rep)))
				l := must(NewConv2D[float64](c.in, c.outC, c.k, c.stride, c.pad, c.bias))
				for _, p := range l.Params() {
					fillNormal(rng, p.Value, 0.5)
				}
				const distinct = 3
				n := distinct * rep
				x := NewMat[float64](n, c.in.Size())
				for i := 0; i < distinct; i++ {
					fillNormal(rng, x.Row(i*rep), 1)
					for k := 1; k < rep; k++ {
						copy(x.Row(i*rep+k), x.Row(i*rep))
					}
				}
				dy := NewMat[float64](n, l.OutShape().Size())
				fillNormal(rng, dy.Data, 1)
				l.Forward(x)
				l.Backward(dy)
				np := NumParams[float64](l)
				g := NewMat[float64](n, np)
				l.PerSampleGrad(g, 0)
				// ldh > n: AddGram must respect the leading dimension.
				ldh := n + 2
				h := make([]float64, n*ldh)
				for i := range h {
					h[i] = -0.5
				}
				l.AddGram(h, ldh, rep)
				for a := 0; a < n; a++ {
					for b := a; b < n; b++ {
						want := -0.5
						for k := 0; k < np; k++ {
							want += g.At(a, k) * g.At(b, k)
						}
						if got := h[a*ldh+b]; math.Abs(got-want) > 1e-10*(1+math.Abs(want)) {
							t.Fatalf("tiny %v conv %d rep %d: gram[%d,%d] = %.15g, G Gᵀ = %.15g", tiny, ci, rep, a, b, got, want)
						}
					}
				}
			}
		}
	}
}

// TestConv2DTangentNilDirections checks Conv2D.Tangent for every combination
// of nil and non-nil input, weight and bias directions against the
// definition: conv(dx; W) + conv(x; Ẇ) + ḃ (naiveConv), on the same-shift
// and the strided geometry, with chunks of one sample and the default chunk,
// through the chunk-GEMM-and-scatter product and the per-sample one.
func TestConv2DTangentNilDirections(t *testing.T) {
	oldCols, oldPS := convColsBudget, convPerSampleGemm
	defer func() { convColsBudget, convPerSampleGemm = oldCols, oldPS }()
	for mode := 0; mode < 4; mode++ {
		small := mode&1 != 0
		convColsBudget, convPerSampleGemm = oldCols, math.MaxInt
		if small {
			convColsBudget = 1
		}
		if mode&2 != 0 {
			convPerSampleGemm = 0
		}
		for _, geo := range [][3]int{{3, 1, 1}, {3, 2, 1}} {
			const c, h, w, outC, rows = 2, 5, 5, 3, 3
			k, s, p := geo[0], geo[1], geo[2]
			rng := rand.New(rand.NewPCG(uint64(s), 7))
			l := must(NewConv2D[float64](Shape{c, h, w}, outC, k, s, p, true))
			fillNormal(rng, l.Weight.Value, 1)
			fillNormal(rng, l.Bias.Value, 1)
			x := NewMat[float64](rows, c*h*w)
			fillNormal(rng, x.Data, 1)
			dx := NewMat[float64](rows, c*h*w)
			fillNormal(rng, dx.Data, 1)
			wt := make([]float64, l.Weight.Len())
			bt := make([]float64, outC)
			fillNormal(rng, wt, 1)
			fillNormal(rng, bt, 1)
			for mask := 0; mask < 8; mask++ {
				useDx, useW, useB := mask&1 != 0, mask&2 != 0, mask&4 != 0
				l.Weight.Tangent, l.Bias.Tangent = nil, nil
				var in *Mat[float64]
				if useDx {
					in = dx
				}
				if useW {
					l.Weight.Tangent = wt
				}
				if useB {
					l.Bias.Tangent = bt
				}
				l.Forward(x)
				got := l.Tangent(in)
				for r := 0; r < rows; r++ {
					want := make([]float64, l.OutShape().Size())
					if useDx {
						for i, v := range naiveConv(dx.Row(r), c, h, w, l.Weight.Value, nil, outC, k, s, p) {
							want[i] += v
						}
					}
					if useW {
						for i, v := range naiveConv(x.Row(r), c, h, w, wt, nil, outC, k, s, p) {
							want[i] += v
						}
					}
					if useB {
						L := len(want) / outC
						for i := range want {
							want[i] += bt[i/L]
						}
					}
					for i, v := range want {
						if math.Abs(got.At(r, i)-v) > 1e-12*(1+math.Abs(v)) {
							t.Fatalf("mode %d s%d dx %v Ẇ %v ḃ %v: tangent[%d,%d] = %.15g, definition %.15g",
								mode, s, useDx, useW, useB, r, i, got.At(r, i), v)
						}
					}
				}
			}
		}
	}
}

// TestConv2DProductPaths reruns the forward definition check, the
// BackwardParams-against-Backward check and the conformance checks of the
// conv layers and of the tiny ResNet with Conv2D forced onto each of its two
// forward products (one GEMM over the chunk then a scatter; one GEMM per
// sample into the output).
func TestConv2DProductPaths(t *testing.T) {
	old := convPerSampleGemm
	defer func() { convPerSampleGemm = old }()
	for _, perSample := range []bool{false, true} {
		convPerSampleGemm = math.MaxInt
		if perSample {
			convPerSampleGemm = 0
		}
		t.Run(fmt.Sprintf("perSample=%v", perSample), func(t *testing.T) {
			TestConv2DForwardMatchesDefinition(t)
			TestBackwardParamsMatchesBackward(t)
			for _, tc := range conformanceCases() {
				if !strings.HasPrefix(tc.name, "conv2d") && tc.name != "tiny resnet" && tc.name != "basic block" {
					continue
				}
				t.Run(tc.name, func(t *testing.T) {
					rng := rand.New(rand.NewPCG(1, 2))
					l := tc.make()
					for _, p := range l.Params() {
						fillNormal(rng, p.Value, 0.5)
					}
					checkLayer(t, l, rng)
				})
			}
		})
	}
}

// BenchmarkMaxPool3x3 times Model d's stem max-pool (3×3, stride 1, pad 1
// on 16×28×28, float32, batch 64): Forward then Backward.
func BenchmarkMaxPool3x3(b *testing.B) {
	rng := rand.New(rand.NewPCG(1, 2))
	l := must(NewMaxPool2D[float32](Shape{16, 28, 28}, 3, 1, 1))
	x := NewMat[float32](64, 16*28*28)
	dy := NewMat[float32](64, 16*28*28)
	fill32(rng, x.Data)
	fill32(rng, dy.Data)
	for b.Loop() {
		l.Forward(x)
		l.Backward(dy)
	}
}

// BenchmarkIm2colCol2im times im2colSample then col2imSample on one
// float32 sample for Model d's geometries: 16×28×28 with 3×3 pad 1 at
// stride 1 (the shifted-copy path) and stride 2 (the strided gather).
func BenchmarkIm2colCol2im(b *testing.B) {
	for _, s := range []int{1, 2} {
		b.Run(fmt.Sprintf("stride%d", s), func(b *testing.B) {
			g, err := newWindow("bench", Shape{16, 28, 28}, 3, s, 1)
			if err != nil {
				b.Fatal(err)
			}
			rng := rand.New(rand.NewPCG(1, 2))
			x := make([]float32, g.inSize())
			fill32(rng, x)
			L := g.outArea()
			cols := make([]float32, g.C*9*L)
			dx := make([]float32, g.inSize())
			for b.Loop() {
				im2colSample(&g, x, cols, L, 0)
				col2imSample(&g, cols, L, 0, dx, true)
			}
		})
	}
}

// naiveConvGrads is the brute-force backward pass of one sample of a
// convolution: it adds into dW, db (when non-nil) and dx the gradients of
// Σ dy ∘ conv(x).
func naiveConvGrads(x, dy []float64, c, h, w int, weight []float64, outC, k, s, p int, dW, db, dx []float64) {
	oh, ow := (h+2*p-k)/s+1, (w+2*p-k)/s+1
	for o := 0; o < outC; o++ {
		for i := 0; i < oh; i++ {
			for j := 0; j < ow; j++ {
				g := dy[(o*oh+i)*ow+j]
				if db != nil {
					db[o] += g
				}
				for ci := 0; ci < c; ci++ {
					for ki := 0; ki < k; ki++ {
						for kj := 0; kj < k; kj++ {
							ii, jj := i*s-p+ki, j*s-p+kj
							if ii < 0 || ii >= h || jj < 0 || jj >= w {
								continue
							}
							wi := ((o*c+ci)*k+ki)*k + kj
							dW[wi] += g * x[(ci*h+ii)*w+jj]
							dx[(ci*h+ii)*w+jj] += g * weight[wi]
						}
					}
				}
			}
		}
	}
}

// TestConv2DParallelMatchesSerial runs Forward, Backward, BackwardParams and
// Tangent of convolutions big enough for the parallel paths (several chunks, hence
// several gradient groups) at GOMAXPROCS 1, 2 and 3: the outputs and
// gradients must be bit-identical across goroutine counts and agree with
// the brute-force definitions (naiveConv, naiveConvGrads).
func TestConv2DParallelMatchesSerial(t *testing.T) {
	oldCols := convColsBudget
	oldProcs := runtime.GOMAXPROCS(0)
	defer func() { convColsBudget = oldCols; runtime.GOMAXPROCS(oldProcs) }()
	const tol = 1e-12
	for _, tc := range []struct {
		c, h, w, outC, k, s, p int
		bias                   bool
	}{
		{4, 12, 12, 6, 3, 1, 1, true},
		{3, 13, 11, 5, 3, 2, 1, false},
	} {
		for _, spc := range []int{3, 1} { // samples per im2col chunk
			in := Shape{tc.c, tc.h, tc.w}
			rng := rand.New(rand.NewPCG(31, 32))
			proto := must(NewConv2D[float64](in, tc.outC, tc.k, tc.s, tc.p, tc.bias))
			for _, p := range proto.Params() {
				fillNormal(rng, p.Value, 0.5)
			}
			convColsBudget = spc * proto.patch() * proto.geom.outArea() * 8
			if proto.chunk() != spc {
				t.Fatalf("chunk %d samples, want %d", proto.chunk(), spc)
			}
			const rows = 11
			x := NewMat[float64](rows, in.Size())
			fillNormal(rng, x.Data, 1)
			dy := NewMat[float64](rows, proto.OutShape().Size())
			fillNormal(rng, dy.Data, 1)
			if n := rows * tc.outC * proto.patch() * proto.geom.outArea(); n < minParallelWork {
				t.Fatalf("case too small for the parallel paths: %d < %d", n, minParallelWork)
			}

			// Brute force.
			wantDW := make([]float64, proto.Weight.Len())
			var wantDB []float64
			if tc.bias {
				wantDB = make([]float64, tc.outC)
			}
			wantDx := make([]float64, len(x.Data))
			for r := 0; r < rows; r++ {
				naiveConvGrads(x.Row(r), dy.Row(r), tc.c, tc.h, tc.w, proto.Weight.Value, tc.outC, tc.k, tc.s, tc.p,
					wantDW, wantDB, wantDx[r*in.Size():(r+1)*in.Size()])
			}

			tx := NewMat[float64](rows, in.Size())
			fillNormal(rng, tx.Data, 1)
			tw := make([]float64, proto.Weight.Len())
			fillNormal(rng, tw, 1)
			tb := make([]float64, tc.outC)
			fillNormal(rng, tb, 1)

			var ref [][]float64
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				l := must(NewConv2D[float64](in, tc.outC, tc.k, tc.s, tc.p, tc.bias))
				for i, p := range l.Params() {
					copy(p.Value, proto.Params()[i].Value)
				}
				y := copyMat(l.Forward(x))
				dx := copyMat(l.Backward(dy))
				got := [][]float64{y.Data, dx.Data, append([]float64(nil), l.Weight.Grad...)}
				if tc.bias {
					got = append(got, append([]float64(nil), l.Bias.Grad...))
				}
				ZeroGrad[float64](l)
				l.Forward(x)
				BackwardParams[float64](l, dy)
				got = append(got, append([]float64(nil), l.Weight.Grad...))
				// Tangent along (tx, Ẇ, ḃ).
				l.Weight.Tangent = tw
				if tc.bias {
					l.Bias.Tangent = tb
				}
				tang := copyMat(l.Tangent(tx))
				got = append(got, tang.Data)
				name := fmt.Sprintf("%+v chunk %d procs %d", tc, spc, procs)
				if procs == 1 {
					ref = got
					for r := 0; r < rows; r++ {
						var b []float64
						if tc.bias {
							b = l.Bias.Value
						}
						want := naiveConv(x.Row(r), tc.c, tc.h, tc.w, l.Weight.Value, b, tc.outC, tc.k, tc.s, tc.p)
						for i, v := range want {
							if math.Abs(y.At(r, i)-v) > tol*(1+math.Abs(v)) {
								t.Fatalf("%s: y[%d,%d] = %.15g, definition %.15g", name, r, i, y.At(r, i), v)
							}
						}
					}
					check := func(what string, got, want []float64) {
						for i := range want {
							if math.Abs(got[i]-want[i]) > tol*(1+math.Abs(want[i])) {
								t.Fatalf("%s: %s[%d] = %.15g, brute force %.15g", name, what, i, got[i], want[i])
							}
						}
					}
					check("dx", dx.Data, wantDx)
					for r := 0; r < rows; r++ {
						var b []float64
						if tc.bias {
							b = tb
						}
						want := naiveConv(tx.Row(r), tc.c, tc.h, tc.w, l.Weight.Value, nil, tc.outC, tc.k, tc.s, tc.p)
						for i, v := range naiveConv(x.Row(r), tc.c, tc.h, tc.w, tw, b, tc.outC, tc.k, tc.s, tc.p) {
							want[i] += v
						}
						check(fmt.Sprintf("tangent row %d", r), got[len(got)-1][r*len(want):(r+1)*len(want)], want)
					}
					check("dW", got[2], wantDW)
					check("dW (BackwardParams)", got[len(got)-2], wantDW)
					if tc.bias {
						check("db", got[3], wantDB)
					}
					continue
				}
				for i := range ref {
					for j := range ref[i] {
						if math.Float64bits(got[i][j]) != math.Float64bits(ref[i][j]) {
							t.Fatalf("%s: output %d element %d = %.17g, with 1 proc %.17g", name, i, j, got[i][j], ref[i][j])
						}
					}
				}
			}
		}
	}
}

// TestCol2imK3S2MatchesTapOrder checks col2imPlaneK3S2 (3×3, stride 2,
// padding 1) bit for bit against the tap-by-tap loop of col2imSample's
// generic path (ki, then kj, then the output positions), in both modes, on
// even and odd image sizes.
func TestCol2imK3S2MatchesTapOrder(t *testing.T) {
	rng := rand.New(rand.NewPCG(23, 24))
	for _, hw := range [][2]int{{28, 28}, {14, 14}, {7, 7}, {5, 6}, {2, 3}, {1, 1}} {
		g, err := newWindow("test", Shape{2, hw[0], hw[1]}, 3, 2, 1)
		if err != nil {
			t.Fatal(err)
		}
		L, rows := g.outArea(), g.C*9
		ld, off := 2*L+1, L+1
		cols := make([]float64, rows*ld)
		fillNormal(rng, cols, 1)
		for _, overwrite := range []bool{true, false} {
			base := make([]float64, g.inSize())
			if !overwrite {
				fillNormal(rng, base, 1)
			}
			want := slices.Clone(base)
			for c := 0; c < g.C; c++ {
				plane := want[c*g.H*g.W : (c+1)*g.H*g.W]
				for ki := 0; ki < 3; ki++ {
					ilo, ihi := g.validRows(ki)
					for kj := 0; kj < 3; kj++ {
						row := cols[((c*3+ki)*3+kj)*ld+off:][:L]
						jlo, jhi := g.validRange(kj)
						for oi := ilo; oi < ihi; oi++ {
							for oj := jlo; oj < jhi; oj++ {
								plane[(oi*2-1+ki)*g.W+oj*2-1+kj] += row[oi*g.OutW+oj]
							}
						}
					}
				}
			}
			got := slices.Clone(base)
			if overwrite {
				for i := range got {
					got[i] = math.NaN()
				}
			}
			col2imSample(&g, cols, ld, off, got, overwrite)
			if !slices.Equal(got, want) {
				t.Fatalf("%v overwrite %v: col2im differs from the tap-by-tap sums (max rel diff %.3g)", hw, overwrite, maxRelDiff(got, want))
			}
		}
	}
}
