package nn

import (
	"math/rand/v2"
	"runtime"
	"slices"
	"sync/atomic"
	"testing"
)

// TestElementwiseCovers checks that elementwise calls f on ranges that tile
// [0, n) exactly once, below and above the splitting threshold and with more
// chunks than items, on 1, 2 and 3 goroutines.
func TestElementwiseCovers(t *testing.T) {
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		for _, c := range []struct{ n, cost int }{
			{0, 1}, {1, minParallelWork}, {5, minParallelWork}, {100, 1}, {100003, 1}, {64, 12544},
		} {
			hits := make([]atomic.Int32, c.n)
			elementwise(c.n, c.cost, func(lo, hi int) {
				if lo >= hi && c.n > 0 {
					t.Errorf("procs %d, %+v: empty range [%d, %d)", procs, c, lo, hi)
				}
				for i := lo; i < hi; i++ {
					hits[i].Add(1)
				}
			})
			for i := range hits {
				if h := hits[i].Load(); h != 1 {
					t.Fatalf("procs %d, %+v: item %d covered %d times", procs, c, i, h)
				}
			}
		}
	}
}

// TestReLUSplit checks ReLU's forward and backward on a batch split over
// goroutines against the scalar definition, bit for bit, on 1, 2 and 3
// goroutines.
func TestReLUSplit(t *testing.T) {
	const rows = 16
	shape := Shape{16, 28, 28}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(11, 12))
	x := NewMat[float32](rows, shape.Size())
	dy := NewMat[float32](rows, shape.Size())
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
		dy.Data[i] = float32(rng.NormFloat64())
	}
	wantY, wantDx := make([]float32, len(x.Data)), make([]float32, len(x.Data))
	for i, v := range x.Data {
		if v > 0 {
			wantY[i], wantDx[i] = v, dy.Data[i]
		}
	}
	for _, procs := range []int{1, 2, 3} {
		runtime.GOMAXPROCS(procs)
		r := NewReLU[float32](shape)
		if got := r.Forward(x).Data; !slices.Equal(got, wantY) {
			t.Errorf("%d procs: Forward differs from max(x, 0)", procs)
		}
		if got := r.Backward(dy).Data; !slices.Equal(got, wantDx) {
			t.Errorf("%d procs: Backward differs from dy·[x > 0]", procs)
		}
	}
}

// TestPoolSplit checks the pooling layers' forward and backward on a batch
// split over goroutines (2 and 3) against one goroutine's serial loop, bit
// for bit.
func TestPoolSplit(t *testing.T) {
	const rows = 16
	in := Shape{16, 28, 28}
	defer runtime.GOMAXPROCS(runtime.GOMAXPROCS(0))
	rng := rand.New(rand.NewPCG(13, 14))
	x := NewMat[float32](rows, in.Size())
	for i := range x.Data {
		x.Data[i] = float32(rng.NormFloat64())
	}
	pools := map[string]func() Layer[float32]{
		"max": func() Layer[float32] { return must(NewMaxPool2D[float32](in, 3, 2, 1)) },
		"avg": func() Layer[float32] { return must(NewAvgPool2D[float32](in, 3, 2, 1)) },
	}
	for name, newPool := range pools {
		run := func(procs int) (y, dx []float32) {
			runtime.GOMAXPROCS(procs)
			p := newPool()
			y = slices.Clone(p.Forward(x).Data)
			dy := NewMat[float32](rows, p.OutShape().Size())
			r := rand.New(rand.NewPCG(15, 16))
			for i := range dy.Data {
				dy.Data[i] = float32(r.NormFloat64())
			}
			return y, slices.Clone(p.Backward(dy).Data)
		}
		wantY, wantDx := run(1)
		for _, procs := range []int{2, 3} {
			y, dx := run(procs)
			if !slices.Equal(y, wantY) {
				t.Errorf("%s pool, %d procs: Forward differs from 1 goroutine's", name, procs)
			}
			if !slices.Equal(dx, wantDx) {
				t.Errorf("%s pool, %d procs: Backward differs from 1 goroutine's", name, procs)
			}
		}
	}
}
