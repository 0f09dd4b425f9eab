package structural

import (
	"errors"
	"math/rand/v2"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
)

func TestPlanSpectra(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, 1000, 10)
	const gib = 1 << 30
	for _, tc := range []struct {
		name   string
		n      int
		opts   Options
		where  string
		refuse string // substring of the MemoryError, "" for none
	}{
		{"n=500 auto", 500, Options{Method: "auto", MaxMemory: 8 * gib}, "materialised", ""},
		{"n=2000 auto 20 GiB", 2000, Options{Method: "auto", MaxMemory: 20 * gib}, "materialised", ""},
		{"n=2000 auto 4 GiB", 2000, Options{Method: "auto", MaxMemory: 4 * gib}, "matrixfree", ""},
		{"n=10000 auto 8 GiB", 10000, Options{Method: "auto", MaxMemory: 8 * gib}, "matrixfree", ""},
		{"n=20000 dense", 20000, Options{Method: "dense", MaxMemory: 18 * gib}, "", "method dense at n = 20000 (nK = 200000) need about"},
		{"n=20000 lanczos", 20000, Options{Method: "lanczos", MaxMemory: 18 * gib}, "", "method lanczos fits up to n = "},
		{"n=20000 auto 1 GiB", 20000, Options{Method: "auto", MaxMemory: 1 * gib}, "", "matrix-free path needs about"},
		{"n=20000 matrixfree 1 GiB", 20000, Options{Method: "matrixfree", MaxMemory: 1 * gib}, "", "method matrixfree"},
		{"MaxDenseBytes forces matrix-free", 50, Options{Method: "auto", MaxMemory: 8 * gib, MaxDenseBytes: 1}, "matrixfree", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			o := tc.opts
			if err := o.fill(); err != nil {
				t.Fatal(err)
			}
			plan, err := planSpectra(model, tc.n, 10, 4, o)
			where := plan.Where
			var me *MemoryError
			switch {
			case tc.refuse == "" && err != nil:
				t.Fatalf("unexpected error: %v", err)
			case tc.refuse == "" && where != tc.where:
				t.Errorf("plan %q, want %q", where, tc.where)
			case tc.refuse != "" && !errors.As(err, &me):
				t.Fatalf("err = %v, want *MemoryError", err)
			case tc.refuse != "" && !strings.Contains(err.Error(), tc.refuse):
				t.Errorf("error %q does not contain %q", err, tc.refuse)
			case me != nil && !(me.Need > me.Budget):
				t.Errorf("refused with need %d ≤ budget %d", me.Need, me.Budget)
			}
			if me != nil && o.Method == "dense" {
				// H, a projected copy and the solver's copy, 8·(nK)² each, and
				// 16 bytes per activation of the nK replicated rows.
				m := float64(tc.n * 10)
				if want := int64(3*8*m*m + 16*m*float64(activationsPerSample(model))); me.Need != want {
					t.Errorf("Need = %d, want %d", me.Need, want)
				}
			}
			if me != nil && me.MaxN > 0 {
				// The largest n that fits does fit, and n+1 does not.
				dense := o.Method == "dense"
				acts := activationsPerSample(model)
				if materialisedNeed(me.MaxN*10, me.MaxN, acts, 4, dense).need > me.Budget || materialisedNeed((me.MaxN+1)*10, me.MaxN+1, acts, 4, dense).need <= me.Budget {
					t.Errorf("MaxN = %d is not the largest n that fits", me.MaxN)
				}
			}
		})
	}
}

// TestAnalyzeRefusesBeforeAllocating checks that an over-budget method is
// refused before H is formed (dim 2000 would allocate 32 MB; the budget is
// 1 MB).
func TestAnalyzeRefusesBeforeAllocating(t *testing.T) {
	rng := rand.New(rand.NewPCG(2, 2))
	model := mlp(rng, "relu", 20, 8, 10)
	n := 200
	probe := Probe{X: randomX(rng, n, 20), Labels: randomLabels(rng, n, 10)}
	l, err := loss.New("softmax")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Analyze(model, probe, l, Options{Method: "dense", MaxMemory: 1 << 20})
	var me *MemoryError
	if !errors.As(err, &me) {
		t.Fatalf("err = %v, want *MemoryError", err)
	}
	if me.Method != "dense" || me.N != n || me.Dim != n*10 {
		t.Errorf("MemoryError %+v", me)
	}
}

// TestPlanSingleSpectrum: from nK = inPlaceFactorMin one spectrum (H_S
// alone: compressed and factored in H's storage) needs neither a factor
// copy nor the Schur basis, so n = 2000 fits 4 GiB materialised, where
// four spectra (Z beside H) do not.
func TestPlanSingleSpectrum(t *testing.T) {
	rng := rand.New(rand.NewPCG(1, 1))
	model := mlp(rng, "relu", 784, 1000, 10)
	o := Options{Method: "auto", MaxMemory: 4 << 30}
	if err := o.fill(); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		spectra int
		where   string
	}{{1, "materialised"}, {4, "matrixfree"}} {
		plan, err := planSpectra(model, 2000, 10, tc.spectra, o)
		if err != nil {
			t.Fatal(err)
		}
		if plan.Where != tc.where {
			t.Errorf("%d spectra: plan %q (%s, %s), want %q", tc.spectra, plan.Where, Bytes(plan.Need), plan.Parts, tc.where)
		}
	}
}
