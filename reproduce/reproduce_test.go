package reproduce

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/data"
	"github.com/fenchel-ml/fenchel/report"
	"github.com/fenchel-ml/fenchel/structural"
	"github.com/fenchel-ml/fenchel/train"
)

func TestPlanDeterministicAndComplete(t *testing.T) {
	for _, m := range []Mode{Full, Quick, Tiny} {
		a, err := Plan(m, nil)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := Plan(m, nil)
		ja, _ := json.Marshal(a)
		jb, _ := json.Marshal(b)
		if !bytes.Equal(ja, jb) {
			t.Errorf("%s: two plans differ", m)
		}
		ids := map[string]bool{}
		exps := map[string]bool{}
		for _, r := range a {
			if ids[r.ID] {
				t.Errorf("%s: run id %s twice", m, r.ID)
			}
			ids[r.ID] = true
			exps[r.Experiment] = true
			if !strings.HasPrefix(r.ID, r.Experiment+"/") {
				t.Errorf("%s: id %s not under experiment %s", m, r.ID, r.Experiment)
			}
		}
		for _, e := range Experiments() {
			if !exps[e] {
				t.Errorf("%s: experiment %s has no runs", m, e)
			}
		}
	}
	// P2 needs ≥ 6 widths from 8 to 2048 in the modes that decide it.
	for _, m := range []Mode{Full, Quick} {
		s, _ := settingsFor(m)
		if len(s.widths1) < P2MinWidths || len(s.widths2) < P2MinWidths || s.widths1[0] != 8 || s.widths1[len(s.widths1)-1] != 2048 {
			t.Errorf("%s: widths %v / %v", m, s.widths1, s.widths2)
		}
		if s.probeN*10 > 500 {
			t.Errorf("%s: probe n %d gives nK > 500", m, s.probeN)
		}
	}
	if _, err := Plan(Quick, []string{"nope"}); err == nil {
		t.Error("unknown experiment accepted")
	}
	if _, err := Plan("medium", nil); err == nil {
		t.Error("unknown mode accepted")
	}
	only, _ := Plan(Quick, []string{ExpInit})
	for _, r := range only {
		if r.Experiment != ExpInit {
			t.Errorf("experiment filter let %s through", r.ID)
		}
	}
}

func TestShardPartition(t *testing.T) {
	runs, _ := Plan(Full, nil)
	for n := 1; n <= 7; n++ {
		seen := map[string]int{}
		for i := 0; i < n; i++ {
			part, err := Shard(runs, i, n)
			if err != nil {
				t.Fatal(err)
			}
			for _, r := range part {
				seen[r.ID]++
			}
		}
		if len(seen) != len(runs) {
			t.Errorf("N=%d: %d runs covered of %d", n, len(seen), len(runs))
		}
		for id, c := range seen {
			if c != 1 {
				t.Errorf("N=%d: run %s in %d shards", n, id, c)
			}
		}
	}
	for _, bad := range []string{"2/2", "-1/3", "1/0", "x/2", "1", ""} {
		if _, _, err := ParseShard(bad); err == nil {
			t.Errorf("ParseShard(%q) accepted", bad)
		}
	}
	if i, n, err := ParseShard("3/8"); err != nil || i != 3 || n != 8 {
		t.Errorf("ParseShard(3/8) = %d, %d, %v", i, n, err)
	}
}

// probe builds a synthetic n-sample record from flat field names (n, K, P,
// fitting_error, grad_norm, HS_<summary>, bound_<name>_<field>); a field not
// given is NaN, as it would be absent from a run.
func probe(step int, fields map[string]any) ProbeRecord {
	nan := math.NaN()
	r := ProbeRecord{Step: step, Report: structural.Report{Schema: structural.SchemaVersion, N: 5, K: 10, P: 1000,
		FittingError: nan, ResidualNorm: nan, GradNorm: nan, StructuralError: nan, Indicator: nan, MinProbability: nan}}
	num := func(v any) float64 {
		switch x := v.(type) {
		case float64:
			return x
		case bool:
			if x {
				return 1
			}
			return 0
		case string:
			switch x {
			case "+Inf":
				return math.Inf(1)
			case "-Inf":
				return math.Inf(-1)
			}
		}
		return nan
	}
	for k, v := range fields {
		switch {
		case k == "n":
			r.N = int(num(v))
		case k == "K":
			r.K = int(num(v))
		case k == "P":
			r.P = int(num(v))
		case k == "fitting_error":
			r.FittingError = num(v)
		case k == "grad_norm":
			r.GradNorm = num(v)
		case strings.HasPrefix(k, "HS_"):
			if r.HS == nil {
				r.HS = spectrumOrMissing(nil)
			}
			switch strings.TrimPrefix(k, "HS_") {
			case "norm_floor":
				r.HS.NormFloor = num(v)
			case "lambda_min":
				r.HS.Min = num(v)
			case "lambda_max":
				r.HS.Max = num(v)
			case "rank":
				r.HS.Rank = int(num(v))
			case "rank_tol":
				r.HS.RankTol = num(v)
			default:
				panic("probe: field " + k)
			}
		case strings.HasPrefix(k, "bound_"):
			name, field, _ := strings.Cut(strings.TrimPrefix(k, "bound_"), "_")
			b := r.bound(name)
			if b == nil {
				r.Bounds = append(r.Bounds, structural.Bound{Name: name, Lower: nan, Middle: nan, Value: nan, Upper: nan})
				b = &r.Bounds[len(r.Bounds)-1]
			}
			switch field {
			case "lower":
				b.Lower = num(v)
			case "middle":
				b.Middle = num(v)
			case "value":
				b.Value = num(v)
			case "upper":
				b.Upper = num(v)
			case "valid":
				b.Valid = v.(bool)
			case "holds":
				b.Holds = v.(bool)
			default:
				panic("probe: field " + k)
			}
		default:
			panic("probe: field " + k)
		}
	}
	return r
}

func widthRuns(fam string, widths []int, floor func(w int) float64, fit func(w int) float64) []*RunData {
	var out []*RunData
	for _, w := range widths {
		out = append(out, &RunData{Spec: RunSpec{Experiment: ExpWidth, Params: Params{Family: fam, Width: w, Seed: 1}},
			NSample: []ProbeRecord{probe(0, map[string]any{"HS_norm_floor": floor(w), "HS_lambda_min": 1.0, "fitting_error": 2.3}),
				probe(10, map[string]any{"HS_norm_floor": floor(w), "fitting_error": fit(w)})}})
	}
	return out
}

func TestClaimP2PassAndFail(t *testing.T) {
	ws := []int{8, 32, 128, 512, 1024, 2048}
	rising := func(w int) float64 { return math.Sqrt(float64(w)) }
	falling := func(w int) float64 { return 1 / float64(w) }
	pass := append(widthRuns("mlp1", ws, rising, falling), widthRuns("mlp2", ws, rising, falling)...)
	if c := ClaimP2(pass); c.Status != report.StatusPass {
		t.Errorf("monotone data: %s (%s)", c.Status, c.Measured)
	}
	// One swapped neighbour pair: ρ = 0.943 ≥ 0.9, still PASS.
	swapped := func(w int) float64 {
		if w == 32 {
			return rising(128)
		}
		if w == 128 {
			return rising(32)
		}
		return rising(w)
	}
	c := ClaimP2(append(widthRuns("mlp1", ws, swapped, falling), widthRuns("mlp2", ws, rising, falling)...))
	if c.Status != report.StatusPass || math.Abs(c.Numbers["mlp1_rho_init"]-(1-12.0/210)) > 1e-12 {
		t.Errorf("one swap: %s, ρ %v, want PASS with ρ = 1 − 12/210", c.Status, c.Numbers["mlp1_rho_init"])
	}
	// E_f rising with width in one family: FAIL.
	fail := append(widthRuns("mlp1", ws, rising, func(w int) float64 { return float64(w) }), widthRuns("mlp2", ws, rising, falling)...)
	if c := ClaimP2(fail); c.Status != report.StatusFail {
		t.Errorf("E_f rising: %s, want FAIL", c.Status)
	}
	// Fewer than 6 widths: FAIL even when monotone.
	if c := ClaimP2(widthRuns("mlp1", ws[:5], rising, falling)); c.Status != report.StatusFail {
		t.Errorf("5 widths: %s, want FAIL", c.Status)
	}
	if c := ClaimP2(nil); c.Status != report.StatusNotRun {
		t.Errorf("no runs: %s, want NOT RUN", c.Status)
	}
}

func TestClaimP5KnownSlope(t *testing.T) {
	// Two seeds at m(1 ± a(P)): relative spread = a√2, with a = 0.3·P^s.
	build := func(s float64) []*RunData {
		var out []*RunData
		for _, P := range []float64{1e3, 1e4, 1e5, 1e6} {
			a := 0.3 * math.Pow(P, s)
			for i, sign := range []float64{1, -1} {
				lmin := 0.01 * P * (1 + sign*a)
				out = append(out, &RunData{Spec: RunSpec{Params: Params{Family: "mlp1", Width: int(P), Seed: uint64(i)}},
					NSample: []ProbeRecord{probe(0, map[string]any{"P": P, "HS_lambda_min": lmin, "HS_norm_floor": 0.1, "fitting_error": 1.0})}})
			}
		}
		return out
	}
	c, _, _, slope, _ := ClaimP5(build(-0.5))
	if math.Abs(slope+0.5) > 1e-9 || c.Status != report.StatusPass {
		t.Errorf("slope %v (%s), want −0.5 and PASS", slope, c.Status)
	}
	c, _, _, slope, _ = ClaimP5(build(-0.1))
	if math.Abs(slope+0.1) > 1e-9 || c.Status != report.StatusFail {
		t.Errorf("slope %v (%s), want −0.1 and FAIL", slope, c.Status)
	}
}

func TestBoundViolations(t *testing.T) {
	ok := map[string]any{
		"bound_A_lower": 1.0, "bound_A_middle": "NaN", "bound_A_value": 2.0, "bound_A_upper": 3.0, "bound_A_valid": true, "bound_A_holds": true,
		"bound_B_lower": 0.1, "bound_B_middle": 0.5, "bound_B_value": 1.0, "bound_B_upper": "+Inf", "bound_B_valid": true, "bound_B_holds": true,
		"bound_C_lower": "-Inf", "bound_C_middle": 2.0, "bound_C_value": 1.0, "bound_C_upper": 4.0, "bound_C_valid": true, "bound_C_holds": true,
	}
	with := func(kv ...any) ProbeRecord {
		m := maps.Clone(ok)
		for i := 0; i < len(kv); i += 2 {
			m[kv[i].(string)] = kv[i+1]
		}
		return probe(0, m)
	}
	cases := []struct {
		name string
		r    ProbeRecord
		want int
	}{
		{"all hold", probe(0, ok), 0},
		{"engine says A fails", with("bound_A_holds", false), 1},
		{"B middle above value beyond 1e-6", with("bound_B_middle", 1.0+1e-5), 1},
		{"B middle above value within 1e-6", with("bound_B_middle", 1.0+1e-7), 0},
		{"C value above middle", with("bound_C_value", 2.1), 1},
		{"C middle above upper", with("bound_C_middle", 4.1), 1},
		{"invalid C ignored", with("bound_C_valid", false, "bound_C_value", 100.0, "bound_C_holds", false), 0},
	}
	for _, c := range cases {
		if got := BoundViolations(&c.r); got != c.want {
			t.Errorf("%s: %d violations, want %d", c.name, got, c.want)
		}
	}
	runs := []*RunData{{Spec: RunSpec{ID: "x/1"}, NSample: []ProbeRecord{probe(0, ok), with("bound_B_middle", 2.0)}}}
	if c := ClaimP1(runs); c.Status != report.StatusFail || c.Numbers["violations"] != 1 {
		t.Errorf("P1 on one violation: %s %v", c.Status, c.Numbers)
	}
	if c := ClaimP1(runs[:0]); c.Status != report.StatusNotRun {
		t.Errorf("P1 without runs: %s", c.Status)
	}
}

func TestClaimP4AndP6(t *testing.T) {
	mk := func(fam string, depth int, skip bool, floor, fit float64) *RunData {
		return &RunData{Spec: RunSpec{Params: Params{Family: fam, Depth: depth, Skip: skip}},
			NSample: []ProbeRecord{probe(0, map[string]any{"HS_norm_floor": floor, "fitting_error": 2.0}), probe(9, map[string]any{"fitting_error": fit})}}
	}
	runs := []*RunData{mk("c", 1, true, 0.1, 0.5), mk("c", 1, false, 0.2, 0.4), mk("c", 6, true, 0.1, 0.5), mk("c", 6, false, 0.01, 0.9)}
	if c := ClaimP4(runs); c.Status != report.StatusPass {
		t.Errorf("P4 at deepest k: %s (%s)", c.Status, c.Measured)
	}
	runs[3] = mk("c", 6, false, 0.01, 0.4) // no-skip fits better at k = 6
	if c := ClaimP4(runs); c.Status != report.StatusFail {
		t.Errorf("P4 with no-skip better: %s", c.Status)
	}
	var recs []ProbeRecord
	for s := 0; s <= 10; s++ {
		g := math.Pow(0.5, float64(s)) // ‖∇R‖ halves each probe: falls 1024×
		recs = append(recs, probe(s, map[string]any{"grad_norm": g, "fitting_error": 3 * g * g}))
	}
	if c := ClaimP6([]*RunData{{NSample: recs}}); c.Status != report.StatusPass || math.Abs(c.Numbers["rho_late"]-1) > 1e-12 {
		t.Errorf("P6: %s %v", c.Status, c.Numbers)
	}
	recs[10].GradNorm = 0.5 // ends where it was at probe 1: falls 2×
	if c := ClaimP6([]*RunData{{NSample: recs}}); c.Status != report.StatusFail {
		t.Errorf("P6 without fall: %s", c.Status)
	}
}

func fixture(t *testing.T) (*data.Dataset, *data.Dataset) {
	t.Helper()
	tr, te, err := data.LoadFixture(data.StandardMNIST)
	if err != nil {
		t.Fatal(err)
	}
	return tr, te
}

// metricsOf reads every run's metrics.jsonl below dir, keyed by run id.
func metricsOf(t *testing.T, dir string) map[string]string {
	t.Helper()
	runs, err := LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, r := range runs {
		b, err := os.ReadFile(filepath.Join(dir, r.Spec.ID, train.MetricsFile))
		if err != nil {
			t.Fatal(err)
		}
		out[r.Spec.ID] = string(b)
	}
	return out
}

func claimsOf(t *testing.T, dir string) []report.Claim {
	t.Helper()
	doc, err := Build(dir)
	if err != nil {
		t.Fatal(err)
	}
	return doc.Claims
}

func TestShardsEqualUnsharded(t *testing.T) {
	tr, te := fixture(t)
	whole, sharded := t.TempDir(), t.TempDir()
	ctx := context.Background()
	if _, err := Execute(ctx, Options{Mode: Tiny, Out: whole, Train: tr, Test: te}); err != nil {
		t.Fatal(err)
	}
	total := 0
	for i := 0; i < 2; i++ {
		res, err := Execute(ctx, Options{Mode: Tiny, Out: sharded, Shard: i, Shards: 2, Train: tr, Test: te})
		if err != nil {
			t.Fatal(err)
		}
		total += res.Done
	}
	all, _ := Plan(Tiny, nil)
	if total != len(all) {
		t.Errorf("shards ran %d runs, the plan has %d", total, len(all))
	}
	if a, b := metricsOf(t, whole), metricsOf(t, sharded); !reflect.DeepEqual(a, b) {
		t.Errorf("metrics differ between sharded and unsharded runs (%d vs %d runs)", len(a), len(b))
	}
	a, b := claimsOf(t, whole), claimsOf(t, sharded)
	if len(a) != 7 {
		t.Fatalf("%d claims, want 7", len(a))
	}
	for i := range a {
		if a[i].Status != b[i].Status || a[i].Measured != b[i].Measured || fmt.Sprint(a[i].Numbers) != fmt.Sprint(b[i].Numbers) {
			t.Errorf("claim %s: unsharded %s %q, sharded %s %q", a[i].ID, a[i].Status, a[i].Measured, b[i].Status, b[i].Measured)
		}
		if a[i].Status == report.StatusNotRun {
			t.Errorf("claim %s NOT RUN in tiny mode: %s", a[i].ID, a[i].Measured)
		}
	}
	// The report renders from the merged directory.
	doc, err := Build(sharded)
	if err != nil {
		t.Fatal(err)
	}
	if err := report.Write(sharded, doc); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(sharded, report.MarkdownFile)); err != nil {
		t.Error(err)
	}
}

// cancelAfter cancels a context once it has seen n run lines.
type cancelAfter struct {
	n      int
	cancel context.CancelFunc
}

func (c *cancelAfter) Write(p []byte) (int, error) {
	if bytes.Contains(p, []byte("calibration: symmetric constant")) {
		return len(p), nil // not a run line
	}
	c.n -= bytes.Count(p, []byte("\n"))
	if c.n <= 0 {
		c.cancel()
	}
	return len(p), nil
}

func TestKillAndResume(t *testing.T) {
	tr, te := fixture(t)
	ref, dir := t.TempDir(), t.TempDir()
	if _, err := Execute(context.Background(), Options{Mode: Tiny, Out: ref, Train: tr, Test: te}); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	const before = 3
	res, err := Execute(ctx, Options{Mode: Tiny, Out: dir, Train: tr, Test: te, Log: &cancelAfter{n: before, cancel: cancel}})
	if err == nil || !strings.Contains(err.Error(), "context canceled") {
		t.Fatalf("cancelled Execute: err = %v", err)
	}
	if res.Done != before {
		t.Fatalf("%d runs finished before the cancel, want %d", res.Done, before)
	}
	all, _ := Plan(Tiny, nil)
	// Cancelled between two runs: the next one does not start.
	if _, err := os.Stat(filepath.Join(dir, all[before].ID)); err == nil {
		t.Errorf("run %s started after the cancellation", all[before].ID)
	}
	res, err = Execute(context.Background(), Options{Mode: Tiny, Out: dir, Train: tr, Test: te, Log: io.Discard})
	if err != nil {
		t.Fatal(err)
	}
	if res.Skipped != before || res.Done != len(all)-before {
		t.Errorf("resume: %d skipped, %d done; want %d and %d", res.Skipped, res.Done, before, len(all)-before)
	}
	if a, b := metricsOf(t, ref), metricsOf(t, dir); !reflect.DeepEqual(a, b) {
		for id := range a {
			if a[id] != b[id] {
				t.Errorf("run %s: metrics differ after kill and resume", id)
			}
		}
	}
	a, b := claimsOf(t, ref), claimsOf(t, dir)
	for i := range a {
		if a[i].Measured != b[i].Measured || a[i].Status != b[i].Status {
			t.Errorf("claim %s differs after resume: %q vs %q", a[i].ID, a[i].Measured, b[i].Measured)
		}
	}
	// A third pass does nothing.
	res, err = Execute(context.Background(), Options{Mode: Tiny, Out: dir, Train: tr, Test: te})
	if err != nil || res.Done != 0 || res.Skipped != len(all) {
		t.Errorf("third pass: %+v, %v", res, err)
	}
	// Another mode in the same directory is refused.
	if _, err := Execute(context.Background(), Options{Mode: Quick, Out: dir, Experiments: []string{ExpDynamics}, Train: tr, Test: te}); err == nil {
		t.Error("a quick plan ran over tiny run directories")
	}
}

// The paper's step decay (×0.1 every 2 epochs of 60000 images) never fires
// within its 1-epoch protocol; on a subset it must not fire within the
// budget either, else the rate shrinks 1000× within a quick run.
func TestDecayAfterPaperSampleCount(t *testing.T) {
	for _, m := range []Mode{Quick, Tiny} {
		runs, _ := Plan(m, nil)
		for _, r := range runs {
			if r.Regime != RegimePaper {
				continue // the fit regime's step size is constant (TestFitRegimePlan)
			}
			c := r.Config
			stepsPerEpoch := (c.Data.NTrain + c.Batch - 1) / c.Batch
			if samples := c.LRDecayEvery * c.Data.NTrain; samples < 2*mnistTrainSize {
				t.Errorf("%s %s: decay after %d samples, want ≥ %d", m, r.ID, samples, 2*mnistTrainSize)
			}
			if c.MaxSteps >= c.LRDecayEvery*stepsPerEpoch {
				t.Errorf("%s %s: %d steps reach the decay at step %d", m, r.ID, c.MaxSteps, c.LRDecayEvery*stepsPerEpoch)
			}
		}
	}
	full, _ := Plan(Full, nil)
	if c := full[0].Config; c.LRDecayEvery != 2 || c.LRGamma != 0.1 || c.LR != 0.002 || c.Batch != 64 || c.Epochs != 1 {
		t.Errorf("full mode is not the paper's schedule: %+v", c)
	}
}

// TestLoadRunsRejectsOldProbeRecords: a metrics.jsonl written before the
// typed probe record (flat HS_lambda_min keys, no schema) makes the run
// damaged, with an error naming the file, the line and the schema this build
// reads; a current record loads.
func TestLoadRunsRejectsOldProbeRecords(t *testing.T) {
	dir := t.TempDir()
	run := filepath.Join(dir, "width", "x")
	if err := os.MkdirAll(run, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, body := range map[string]string{SpecFile: `{"id":"width/x"}`, train.SummaryFile: `{"steps":3}`} {
		if err := os.WriteFile(filepath.Join(run, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	metrics := filepath.Join(run, train.MetricsFile)
	current, err := json.Marshal(probe(3, map[string]any{"HS_norm_floor": 0.25, "fitting_error": 1.5}))
	if err != nil {
		t.Fatal(err)
	}
	lines := `{"kind":"train","step":1,"epoch":0,"loss":2,"acc":0.1,"lr":0.1}` + "\n" + string(current) + "\n"
	if err := os.WriteFile(metrics, []byte(lines), 0o644); err != nil {
		t.Fatal(err)
	}
	runs, err := LoadRuns(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(runs) != 1 || len(runs[0].NSample) != 1 || runs[0].Last().Step != 3 || runs[0].Last().hs().NormFloor != 0.25 ||
		runs[0].Last().FittingError != 1.5 || !math.IsNaN(runs[0].Last().GradNorm) {
		t.Fatalf("current record read back as %+v", runs)
	}
	old := lines + `{"kind":"nsample","step":5,"epoch":0,"HS_lambda_min":0.1,"fitting_error":1.2}` + "\n"
	if err := os.WriteFile(metrics, []byte(old), 0o644); err != nil {
		t.Fatal(err)
	}
	// The run is damaged: left out of LoadRuns, listed by LoadRunsChecked.
	runs, damaged, err := LoadRunsChecked(dir)
	if err != nil || len(runs) != 0 || len(damaged) != 1 {
		t.Fatalf("old record: %d runs, %d damaged, err %v; want 0, 1, nil", len(runs), len(damaged), err)
	}
	err = damaged[0].Err
	if err == nil || !strings.Contains(err.Error(), metrics+" line 3") || !strings.Contains(err.Error(), fmt.Sprintf("before schema %d", structural.SchemaVersion)) {
		t.Errorf("old record: error %v, want the file, line 3 and the schema", err)
	}
}
