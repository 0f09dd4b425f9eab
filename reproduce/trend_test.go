package reproduce

import (
	"context"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/initializer"
	"github.com/fenchel-ml/fenchel/models"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

// trendRun trains cfg in the fit regime on the fixture with a probe every
// `every` steps and returns its n-sample records with the trend diagnosis.
func trendRun(t *testing.T, cfg train.Config, every int) *RunData {
	t.Helper()
	tr, te := fixture(t)
	dir := t.TempDir()
	r := RunSpec{ID: "trend/run", Experiment: ExpFitDynamics, Mode: Tiny, Regime: RegimeFit, Config: cfg,
		Hooks: []HookSpec{{Kind: HookNSample, Every: every, N: cfg.Data.NTrain}}}
	if _, err := runOne(context.Background(), dir, r, tr, te); err != nil {
		t.Fatal(err)
	}
	d, err := loadRun(dir + "/" + r.ID)
	if err != nil {
		t.Fatal(err)
	}
	return d
}

// A full-batch GD run that fits (MLP 784-128-10 on its 50 training images,
// lr 0.1, float64) is never called stalled at any probe, and ends near the
// global optimum.
func TestTrendOfFittingGDRun(t *testing.T) {
	s, _ := settingsFor(Tiny)
	cfg := s.fit.config(50, 200, 0.1, "fixture", 0)
	cfg.Model = models.Spec{Name: models.MLP, Hidden: []int{128}}
	d := trendRun(t, cfg, 20)
	if len(d.NSample) != 11 || len(d.Trends) != 11 {
		t.Fatalf("%d probes, %d trends, want 11", len(d.NSample), len(d.Trends))
	}
	for i, tr := range d.Trends {
		if tr.State == structural.TrendStalled {
			t.Errorf("step %d: a fitting run called stalled: %s", d.NSample[i].Step, tr.Text)
		}
	}
	first, last := d.First(), d.Last()
	if !(last.FittingError < first.FittingError/20) {
		t.Errorf("test setup: E_f %.3g → %.3g, the run did not fit", first.FittingError, last.FittingError)
	}
	if s := d.lastTrend().State; s != structural.TrendOptimum && s != structural.TrendFitting {
		t.Errorf("final trend %q: %s", s, d.lastTrend().Text)
	}
	t.Logf("E_f %.3g → %.3g; final: %s", first.FittingError, last.FittingError, d.lastTrend().Text)
}

// A symmetric-init run under GD keeps its hidden units identical and is
// called stalled at a non-global stationary point, with the rank reason.
func TestTrendOfSymmetricGDRun(t *testing.T) {
	s, _ := settingsFor(Tiny)
	cfg := s.fit.config(50, 600, 0.05, "fixture", 0)
	cfg.Model = models.Spec{Name: models.ModelA, Depth: 1, Width: 16}
	cfg.Init = initializer.Options{Scheme: initializer.Symmetric}
	d := trendRun(t, cfg, 150)
	last, tr := d.Last(), d.lastTrend()
	text := tr.Text
	if tr.State != structural.TrendStalled || !strings.Contains(text, "rank-deficient") || !strings.Contains(text, "15 of 16 hidden units duplicate") {
		t.Errorf("symmetric run at step %d: %q", last.Step, text)
	}
	if !(last.FittingError > 0.5) {
		t.Errorf("test setup: symmetric run reached E_f %.3g", last.FittingError)
	}
	t.Log(text)
}
