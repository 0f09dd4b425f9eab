package conv

import (
	"fmt"
	"math/rand/v2"
	"testing"

	"github.com/fenchel-ml/fenchel/internal/cputime"
)

// modelDGrid returns the offsets, grid width (Nr) and per-sample size of a
// 3×3, stride-1, padding-1 convolution's grid over C planes of H×W (rows
// of W + 2), as nn lays it out for Model d's stride-1 convolutions.
func modelDGrid(C, H, W int) (offs []int32, nr, size int) {
	wa := W + 2
	plane := (H + 2) * wa
	nr = (H*wa + 15) &^ 15
	for c := 0; c < C; c++ {
		for t := 0; t < 9; t++ {
			offs = append(offs, int32(c*plane+(t/3)*wa+t%3))
		}
	}
	return offs, nr, (C*plane + nr + 15) &^ 15
}

// modelDConvs are Model d's stride-1 convolutions: channels in = out, the
// image side and the samples of one Dot call (nn's dotSpan; 28×28 also
// with one sample a call).
var modelDConvs = []struct{ c, hw, samples int }{{16, 28, 1}, {16, 28, 2}, {32, 14, 9}, {64, 7, 32}}

// BenchmarkDot times the weight-gradient product of Model d's stride-1
// convolutions on data in cache; gflop/s is per CPU second.
func BenchmarkDot(b *testing.B) {
	for _, g := range modelDConvs {
		b.Run(fmt.Sprintf("C%d_%dx%d_s%d", g.c, g.hw, g.hw, g.samples), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			offs, n, size := modelDGrid(g.c, g.hw, g.hw)
			k, ns := len(offs), g.samples
			x := randSlice(rng, ns*size)
			a := randSlice(rng, ns*g.c*n)
			c := make([]float32, g.c*k)
			c0 := cputime.Process()
			for b.Loop() {
				Dot(g.c, k, n, ns, a, n, g.c*n, offs, x, size, c, k)
			}
			b.ReportMetric(float64(b.N)*2*float64(g.c*k*n*ns)/(cputime.Process()-c0).Seconds()/1e9, "gflop/s")
		})
	}
}

// BenchmarkGemm times one sample's forward product of Model d's stride-1
// convolutions on data in cache; gflop/s is per CPU second.
func BenchmarkGemm(b *testing.B) {
	for i, g := range modelDConvs {
		if i > 0 && g.c == modelDConvs[i-1].c {
			continue // the same convolution, other Dot samples
		}
		b.Run(fmt.Sprintf("C%d_%dx%d", g.c, g.hw, g.hw), func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			offs, n, size := modelDGrid(g.c, g.hw, g.hw)
			k := len(offs)
			x := randSlice(rng, size)
			pack := make([]float32, PackLen(g.c, k))
			Pack(g.c, k, randSlice(rng, g.c*k), pack)
			c := make([]float32, g.c*n)
			c0 := cputime.Process()
			for b.Loop() {
				Gemm(g.c, n, k, pack, offs, x, c, n)
			}
			b.ReportMetric(float64(b.N)*2*float64(g.c*k*n)/(cputime.Process()-c0).Seconds()/1e9, "gflop/s")
		})
	}
}

// BenchmarkSplit2 times the stride-2 split of one 16×28×28 image (Model d's
// second stage) from a source in cache ("hot") and from a 25 MB batch read
// once per pass ("cold", as Forward reads its input); CPU ns per element.
func BenchmarkSplit2(b *testing.B) {
	const c, h, w = 16, 28, 28
	for _, tc := range []struct {
		name    string
		samples int
	}{{"hot", 1}, {"cold", 512}} {
		b.Run(tc.name, func(b *testing.B) {
			rng := rand.New(rand.NewPCG(1, 2))
			x := randSlice(rng, tc.samples*c*h*w)
			const wa, plane = 15, 15 * 15
			dst := make([]float32, c*4*plane)
			s := 0
			c0 := cputime.Process()
			for b.Loop() {
				xs := x[s*c*h*w:][:c*h*w]
				for ch := 0; ch < c; ch++ {
					for pi := 0; pi < 2; pi++ {
						base := (ch*2 + pi) * 2 * plane
						Split2(dst[base:], dst[base+plane:], wa, xs[(ch*h+pi)*w:], 2*w, h/2, w)
					}
				}
				s = (s + 1) % tc.samples
			}
			b.ReportMetric(float64((cputime.Process()-c0).Nanoseconds())/float64(b.N*c*h*w), "cpu-ns/elem")
		})
	}
}
