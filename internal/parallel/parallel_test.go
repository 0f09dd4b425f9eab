package parallel

import (
	"slices"
	"sync/atomic"
	"testing"
)

func TestRunCallsEveryTaskOnce(t *testing.T) {
	for _, tasks := range []int{0, 1, 2, 7, 64} {
		seen := make([]atomic.Int32, max(tasks, 1))
		Run(tasks, func(i int) { seen[i].Add(1) })
		for i := 0; i < tasks; i++ {
			if got := seen[i].Load(); got != 1 {
				t.Errorf("tasks %d: task %d ran %d times", tasks, i, got)
			}
		}
		if tasks == 0 && seen[0].Load() != 0 {
			t.Error("tasks 0 ran a task")
		}
	}
}

// TestRangesCover checks that the ranges tile [lo, hi) exactly, whatever
// the number of parts (more parts than items, one part, none).
func TestRangesCover(t *testing.T) {
	for _, c := range []struct{ lo, hi, parts int }{
		{0, 10, 3}, {5, 6, 4}, {3, 100, 1}, {0, 0, 4}, {2, 9, 0}, {0, 1000, 7},
	} {
		hits := make([]atomic.Int32, c.hi)
		var calls atomic.Int32
		Ranges(c.lo, c.hi, c.parts, func(a, b int) {
			calls.Add(1)
			if a >= b {
				t.Errorf("%+v: empty range [%d, %d)", c, a, b)
			}
			for i := a; i < b; i++ {
				hits[i].Add(1)
			}
		})
		for i := c.lo; i < c.hi; i++ {
			if hits[i].Load() != 1 {
				t.Errorf("%+v: item %d covered %d times", c, i, hits[i].Load())
			}
		}
		if want := int32(min(max(c.parts, 1), c.hi-c.lo)); c.hi > c.lo && calls.Load() != want {
			t.Errorf("%+v: %d calls, want %d", c, calls.Load(), want)
		}
	}
}

func TestBounds(t *testing.T) {
	var got [4][2]int
	Bounds([]int{0, 3, 3, 8, 10}, func(a, b int) {
		for i, lo := range []int{0, 3, 3, 8} {
			if lo == a && (i != 1 || b == 3) && (i != 2 || b == 8) {
				got[i] = [2]int{a, b}
			}
		}
	})
	want := [4][2]int{{0, 3}, {3, 3}, {3, 8}, {8, 10}}
	if !slices.Equal(got[:], want[:]) {
		t.Errorf("Bounds: %v, want %v", got, want)
	}
}
