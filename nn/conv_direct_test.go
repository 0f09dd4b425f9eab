package nn

import (
	"fmt"
	"math"
	"math/rand/v2"
	"runtime"
	"testing"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// TestConv2DDirectMatchesDefinition runs float32 convolutions on the direct
// path (conv_direct.go; the Go twins of package conv in purego builds) over
// the geometries of fastGeoms and Model d's, with and without bias, at
// GOMAXPROCS 1, 2 and 3: Forward, Backward, BackwardParams and BackwardDeltas
// must agree with the float64 brute force (naiveConv, naiveConvGrads) to
// float32 accuracy and be bit-identical across goroutine counts.
func TestConv2DDirectMatchesDefinition(t *testing.T) {
	oldDirect, oldProcs := convDirect, runtime.GOMAXPROCS(0)
	defer func() { convDirect = oldDirect; runtime.GOMAXPROCS(oldProcs) }()
	convDirect = true
	type tcase struct {
		in                   Shape
		outC, k, stride, pad int
		rows                 int
	}
	var cases []tcase
	for i, g := range fastGeoms() {
		cases = append(cases, tcase{Shape{g.C, g.H, g.W}, 2 + i%11, g.Kernel, g.Stride, g.Pad, 1 + i%5})
	}
	cases = append(cases,
		tcase{Shape{1, 28, 28}, 16, 3, 1, 1, 5},
		tcase{Shape{16, 28, 28}, 16, 3, 1, 1, 6},
		tcase{Shape{16, 28, 28}, 32, 3, 2, 1, 5},
		tcase{Shape{32, 14, 14}, 32, 3, 1, 1, 7},
		tcase{Shape{32, 14, 14}, 64, 3, 2, 1, 4},
		tcase{Shape{64, 7, 7}, 64, 3, 1, 1, 9},
	)
	for ci, tc := range cases {
		for _, bias := range []bool{true, false} {
			rng := rand.New(rand.NewPCG(uint64(ci), 7))
			proto := must(NewConv2D[float32](tc.in, tc.outC, tc.k, tc.stride, tc.pad, bias))
			x, dy := randomCase32(rng, proto, tc.rows)
			c, h, w := tc.in[0], tc.in[1], tc.in[2]
			w64 := to64(proto.Weight.Value)
			var b64 []float64
			if bias {
				b64 = to64(proto.Bias.Value)
			}
			wantY := make([]float64, 0, len(dy.Data))
			wantDW := make([]float64, proto.Weight.Len())
			wantDB := make([]float64, tc.outC)
			wantDx := make([]float64, len(x.Data))
			for r := 0; r < tc.rows; r++ {
				xr := to64(x.Row(r))
				wantY = append(wantY, naiveConv(xr, c, h, w, w64, b64, tc.outC, tc.k, tc.stride, tc.pad)...)
				naiveConvGrads(xr, to64(dy.Row(r)), c, h, w, w64, tc.outC, tc.k, tc.stride, tc.pad,
					wantDW, wantDB, wantDx[r*tc.in.Size():(r+1)*tc.in.Size()])
			}
			var ref [][]float32
			for _, procs := range []int{1, 2, 3} {
				runtime.GOMAXPROCS(procs)
				name := fmt.Sprintf("%+v bias %v procs %d", tc, bias, procs)
				l := must(NewConv2D[float32](tc.in, tc.outC, tc.k, tc.stride, tc.pad, bias))
				for i, p := range l.Params() {
					copy(p.Value, proto.Params()[i].Value)
				}
				got := [][]float32{clone32(l.Forward(x).Data), clone32(l.Backward(dy).Data), clone32(l.Weight.Grad)}
				if bias {
					got = append(got, clone32(l.Bias.Grad))
				}
				ZeroGrad[float32](l)
				l.Forward(x)
				BackwardParams[float32](l, dy)
				got = append(got, clone32(l.Weight.Grad))
				dx, touched := BackwardDeltas[float32](l, dy, true)
				if touched {
					t.Fatalf("%s: BackwardDeltas reports touched gradients", name)
				}
				got = append(got, clone32(dx.Data))
				if procs == 1 {
					ref = got
					check32(t, name+" y", got[0], wantY)
					check32(t, name+" dx", got[1], wantDx)
					check32(t, name+" dW", got[2], wantDW)
					if bias {
						check32(t, name+" db", got[3], wantDB)
					}
					check32(t, name+" dW (BackwardParams)", got[len(got)-2], wantDW)
					check32(t, name+" dx (BackwardDeltas)", got[len(got)-1], wantDx)
					continue
				}
				if i, j, diff := bitDiff32(got, ref); diff {
					t.Fatalf("%s: output %d element %d = %v, with 1 proc %v", name, i, j, got[i][j], ref[i][j])
				}
			}
		}
	}
}

func to64(v []float32) []float64 {
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

func clone32(v []float32) []float32 { return append([]float32(nil), v...) }

// check32 compares a float32 result with its float64 definition: the
// tolerance is a few float32 roundings of sums of up to a few thousand
// unit-scale terms.
func check32(t *testing.T, what string, got []float32, want []float64) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: %d values, want %d", what, len(got), len(want))
	}
	for i, w := range want {
		if d := math.Abs(float64(got[i]) - w); d > 2e-5*(8+math.Abs(w)) || math.IsNaN(float64(got[i])) {
			t.Fatalf("%s[%d] = %v, definition %v", what, i, got[i], w)
		}
	}
}

// BenchmarkConv2DPaths times Forward then Backward of Model d's
// convolutions (float32, batch 64) on the direct path and by im2col; the
// CPU time per op is the figure to compare on a loaded machine.
func BenchmarkConv2DPaths(b *testing.B) {
	oldDirect := convDirect
	defer func() { convDirect = oldDirect }()
	const batch = 64
	for _, tc := range []struct {
		name                 string
		in                   Shape
		outC, k, stride, pad int
		bias                 bool
	}{
		{"stem_1x28x28_16", Shape{1, 28, 28}, 16, 3, 1, 1, true},
		{"s1_16x28x28_16", Shape{16, 28, 28}, 16, 3, 1, 1, false},
		{"s2_16x28x28_32_s2", Shape{16, 28, 28}, 32, 3, 2, 1, false},
		{"s2_32x14x14_32", Shape{32, 14, 14}, 32, 3, 1, 1, false},
		{"s3_32x14x14_64_s2", Shape{32, 14, 14}, 64, 3, 2, 1, false},
		{"s3_64x7x7_64", Shape{64, 7, 7}, 64, 3, 1, 1, false},
	} {
		for _, direct := range []bool{false, true} {
			name := tc.name + "/im2col"
			if direct {
				name = tc.name + "/direct"
			}
			b.Run(name, func(b *testing.B) {
				convDirect = direct
				rng := rand.New(rand.NewPCG(1, 2))
				l := must(NewConv2D[float32](tc.in, tc.outC, tc.k, tc.stride, tc.pad, tc.bias))
				x, dy := randomCase32(rng, l, batch)
				flops := 3 * 2 * float64(batch*tc.outC*l.patch()*l.geom.outArea())
				c0 := cputime.Process()
				for b.Loop() {
					l.Forward(x)
					l.Backward(dy)
				}
				b.ReportMetric(flops*float64(b.N)/b.Elapsed().Seconds()/1e9, "gflop/s")
				b.ReportMetric(float64((cputime.Process()-c0).Microseconds())/1e3/float64(b.N), "cpu-ms/op")
			})
		}
	}
}
