package report

import (
	"math"
	"testing"
)

func TestUndrawnNote(t *testing.T) {
	inf, nan := math.Inf(1), math.NaN()
	for _, c := range []struct {
		name       string
		x, y       []float64
		logX, logY bool
		want       string
	}{
		{"all drawn", []float64{1, 2}, []float64{3, 4}, false, true, ""},
		{"gaps are not counted", []float64{1, 2, 3}, []float64{3, inf, nan}, false, true, ""},
		{"no finite point", []float64{1, 2}, []float64{inf, nan}, false, true, "no data"},
		{"empty", nil, nil, false, true, "no data"},
		{"all off the log axis", []float64{1, 2}, []float64{-2.5e-14, 0}, false, true, "all ≤ 0: off the log axis"},
		{"one off", []float64{1, 2}, []float64{-1, 4}, false, true, "1 value ≤ 0 not drawn"},
		{"two off on x", []float64{0, -1, 2}, []float64{1, 1, 1}, true, false, "2 values ≤ 0 not drawn"},
		{"linear axes draw negatives", []float64{1, 2}, []float64{-1, -2}, false, false, ""},
	} {
		drawn := 0
		for _, seg := range pieces(c.x, c.y, c.logX, c.logY) {
			drawn += len(seg)
		}
		if got := undrawnNote(c.x, c.y, c.logX, c.logY, drawn); got != c.want {
			t.Errorf("%s: %q, want %q", c.name, got, c.want)
		}
	}
}
