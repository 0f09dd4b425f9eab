package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/report"
)

func TestReproduceTinyShardsThenReport(t *testing.T) {
	dir := t.TempDir()
	for _, shard := range []string{"0/2", "1/2"} {
		code, out, errs := run(t, "reproduce", "--tiny", "-q", "--shard", shard, "--out", dir)
		if code != 0 {
			t.Fatalf("shard %s: exit %d: %s", shard, code, errs)
		}
		if !strings.Contains(out, "fenchel report") {
			t.Errorf("shard %s: output does not say how to build the report:\n%s", shard, out)
		}
		if _, err := os.Stat(filepath.Join(dir, report.MarkdownFile)); err == nil {
			t.Errorf("shard %s wrote the shared report", shard)
		}
	}
	code, out, errs := run(t, "report", dir)
	if code != 0 {
		t.Fatalf("report: exit %d: %s", code, errs)
	}
	for _, id := range []string{"P1", "P2", "P3", "P4", "P5", "P6", "IND"} {
		if !strings.Contains(out, id+" ") {
			t.Errorf("report output lacks claim %s:\n%s", id, out)
		}
	}
	b, err := os.ReadFile(filepath.Join(dir, report.DocumentFile))
	if err != nil {
		t.Fatal(err)
	}
	var doc report.Document
	if err := json.Unmarshal(b, &doc); err != nil {
		t.Fatal(err)
	}
	if len(doc.Claims) != 7 || len(doc.Figures) == 0 {
		t.Errorf("document has %d claims, %d figures", len(doc.Claims), len(doc.Figures))
	}
	for _, f := range doc.Figures {
		if _, err := os.Stat(filepath.Join(dir, report.FiguresDir, f.Name+".png")); err != nil {
			t.Error(err)
		}
	}
	// Running the whole (finished) plan again skips every run and writes the report.
	code, out, errs = run(t, "reproduce", "--tiny", "-q", "--out", dir)
	if code != 0 || !strings.Contains(out, "0 done now") {
		t.Errorf("re-run: exit %d, out %q, err %q", code, out, errs)
	}
}

func TestReproduceBadInput(t *testing.T) {
	for _, args := range [][]string{
		{"reproduce", "--tiny", "--shard", "2/2", "--out", t.TempDir()},
		{"reproduce", "--tiny", "--quick", "--out", t.TempDir()},
		{"reproduce", "--tiny", "nosuch", "--out", t.TempDir()},
		{"report", filepath.Join(t.TempDir(), "missing")},
	} {
		if code, _, errs := run(t, args...); code == 0 || errs == "" {
			t.Errorf("%v: exit %d, stderr %q", args, code, errs)
		}
	}
}

func TestReportOfEmptyDirIsNotRun(t *testing.T) {
	dir := t.TempDir()
	code, out, errs := run(t, "report", dir)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errs)
	}
	if strings.Count(out, string(report.StatusNotRun)) != 7 {
		t.Errorf("empty dir: want 7 NOT RUN claims:\n%s", out)
	}
}
