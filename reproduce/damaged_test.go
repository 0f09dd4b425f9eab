package reproduce

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/train"
)

// TestBuildLeavesOutDamagedRuns: finished runs whose metrics.jsonl is
// missing, emptied, cut short or holds a non-numeric value are named as
// damaged in the report's notes and left out of the claims, which come out
// exactly as if those runs had never been there; the rest of the report is
// still built.
func TestBuildLeavesOutDamagedRuns(t *testing.T) {
	tr, te := fixture(t)
	dir := t.TempDir()
	if _, err := Execute(context.Background(), Options{Mode: Tiny, Out: dir, Train: tr, Test: te}); err != nil {
		t.Fatal(err)
	}
	all, _ := Plan(Tiny, nil)
	metrics := func(i int) string { return filepath.Join(dir, all[i].ID, train.MetricsFile) }
	read := func(i int) string {
		b, err := os.ReadFile(metrics(i))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	damage := []struct {
		run  int
		how  func(path, content string) error
		want string
	}{
		{0, func(p, _ string) error { return os.Remove(p) }, "metrics.jsonl"},
		{1, func(p, _ string) error { return os.WriteFile(p, nil, 0o644) }, "empty"},
		{2, func(p, c string) error { return os.WriteFile(p, []byte(c[:strings.Index(c, "\n")+1]), 0o644) }, "summary.json records"},
		{3, func(p, c string) error {
			return os.WriteFile(p, []byte(strings.Replace(c, `"fitting_error":`, `"fitting_error":"abc","x":`, 1)), 0o644)
		}, `"abc": want a number`},
	}
	// The reference: the same results without the damaged runs at all.
	clean := t.TempDir()
	if err := os.CopyFS(clean, os.DirFS(dir)); err != nil {
		t.Fatal(err)
	}
	for _, d := range damage {
		if err := os.RemoveAll(filepath.Join(clean, all[d.run].ID)); err != nil {
			t.Fatal(err)
		}
		if !strings.Contains(read(d.run), `"fitting_error":`) && d.run == 3 {
			t.Fatalf("run %s has no n-sample record to damage", all[d.run].ID)
		}
		if err := d.how(metrics(d.run), read(d.run)); err != nil {
			t.Fatal(err)
		}
	}
	doc, err := Build(dir)
	if err != nil {
		t.Fatalf("Build with damaged runs: %v", err)
	}
	notes := strings.Join(doc.Notes, "\n")
	for _, d := range damage {
		id := all[d.run].ID
		found := false
		for _, n := range doc.Notes {
			if strings.Contains(n, "damaged") && strings.Contains(n, id) && strings.Contains(n, d.want) && strings.Contains(n, "left out of the claims") {
				found = true
			}
		}
		if !found {
			t.Errorf("no note names damaged run %s with %q; notes:\n%s", id, d.want, notes)
		}
	}
	ref, err := Build(clean)
	if err != nil {
		t.Fatal(err)
	}
	if len(doc.Claims) != len(ref.Claims) {
		t.Fatalf("%d claims, %d without the damaged runs", len(doc.Claims), len(ref.Claims))
	}
	for i := range doc.Claims {
		if a, b := doc.Claims[i], ref.Claims[i]; a.Status != b.Status || a.Measured != b.Measured {
			t.Errorf("claim %s: %s %q with the damaged runs, %s %q without them", a.ID, a.Status, a.Measured, b.Status, b.Measured)
		}
	}
}
