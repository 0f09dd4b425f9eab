package main

import (
	"bufio"
	"encoding/json"
	"math"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/report"
)

// TestReportRun trains a tiny run with probes and the per-image indicator
// and draws its page: the figure's E_f and ‖∇R‖ are the values of
// metrics.jsonl, read here independently of the loader.
func TestReportRun(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "run")
	if code, _, errs := run(t, "train", "--data", "fixture", "--widths", "16", "--n-train", "20", "--batch", "20", "--opt", "sgd",
		"--lr", "0.1", "--dtype", "float64", "--max-steps", "6", "--epochs", "0", "--probe-every", "2", "--probe-n", "10",
		"--per-image-every", "3", "--quiet", "--out", dir); code != 0 {
		t.Fatalf("train: exit %d: %s", code, errs)
	}
	code, out, errs := run(t, "report", dir)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	if !strings.Contains(out, "last probe (step 6)") || !strings.Contains(out, "report.html") {
		t.Errorf("stdout %q", out)
	}
	for _, f := range []string{report.HTMLFile, report.MarkdownFile, report.DocumentFile, "figures/run.png", "figures/run.svg"} {
		if _, err := os.Stat(filepath.Join(dir, f)); err != nil {
			t.Error(err)
		}
	}
	var ef, grad []float64
	fh, err := os.Open(filepath.Join(dir, "metrics.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer fh.Close()
	sc := bufio.NewScanner(fh)
	sc.Buffer(nil, 1<<24)
	for sc.Scan() {
		var r map[string]any
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatal(err)
		}
		if r["kind"] == "nsample" {
			ef, grad = append(ef, r["fitting_error"].(float64)), append(grad, r["grad_norm"].(float64))
		}
	}
	doc, err := report.Read(dir)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Figures) != 1 || len(doc.Figures[0].Panels) != 4 {
		t.Fatalf("%d figures", len(doc.Figures))
	}
	p := doc.Figures[0].Panels
	same := func(a, b []float64) bool {
		if len(a) != len(b) {
			return false
		}
		for i := range a {
			if a[i] != b[i] {
				return false
			}
		}
		return true
	}
	if len(ef) != 4 || !same(p[0].Series[0].Y, ef) || !same(p[1].Series[0].Y, grad) {
		t.Errorf("E_f %v ‖∇R‖ %v drawn, metrics.jsonl has %v %v", p[0].Series[0].Y, p[1].Series[0].Y, ef, grad)
	}
	if !strings.Contains(p[3].Title, "indicator") || len(p[3].Series[0].Y) != 3 {
		t.Errorf("indicator panel %q with %d points, want 3 (steps 0, 3, 6)", p[3].Title, len(p[3].Series[0].Y))
	}
	if doc.Tables[0].Rows[0][0] != "diagnosis" || doc.Tables[0].Rows[0][1] == "" {
		t.Errorf("no diagnosis at the last probe: %v", doc.Tables[0].Rows[0])
	}
	// The uniform prediction's softmax loss is log K, K = 10.
	if h := p[0].HLines; len(h) != 1 || math.Abs(h[0].Y-math.Log(10)) > 1e-12 {
		t.Errorf("vacuity line %+v, want log 10", h)
	}
	for _, v := range p[0].Series[1].Y {
		if math.IsNaN(v) {
			t.Errorf("lower bound (B) has NaN: %v", p[0].Series[1].Y)
		}
	}

	// A damaged metrics line is an error naming the file and the line.
	bad := filepath.Join(t.TempDir(), "bad")
	os.MkdirAll(bad, 0o755)
	os.WriteFile(filepath.Join(bad, "metrics.jsonl"), []byte("{\"kind\":\"train\",\"step\":1}\n{not json\n"), 0o644)
	if code, _, errs := run(t, "report", bad); code == 0 || !strings.Contains(errs, "metrics.jsonl line 2") {
		t.Errorf("damaged metrics: exit %d, stderr %q", code, errs)
	}
}
