package reproduce

import (
	"github.com/fenchel-ml/fenchel/structural"
)

// annotateTrends fills d.Trends: the trend diagnosis (THEORY §7) of every
// n-sample record, each read from the probes up to it. It is computed from
// the records, not by the probe hook, so a resumed run reads the same
// history as an uninterrupted one.
func annotateTrends(d *RunData) {
	d.Trends = make([]structural.Trend, len(d.NSample))
	hist := make([]structural.ProbePoint, 0, len(d.NSample))
	for i := range d.NSample {
		r := &d.NSample[i]
		pt := structural.PointOf(r.Step, &r.Report)
		if n := len(hist); n > 0 && hist[n-1].Step >= pt.Step {
			d.Trends[i] = d.Trends[i-1] // a probe repeated at the same step adds nothing
			continue
		}
		hist = append(hist, pt)
		t, err := structural.DiagnoseTrend(hist, structural.TrendOptions{})
		if err != nil {
			t = structural.Trend{State: "error", Text: err.Error()}
		}
		d.Trends[i] = t
	}
}

// lastTrend is the trend diagnosis at the last probe (zero when none).
func (d *RunData) lastTrend() structural.Trend {
	if len(d.Trends) == 0 {
		return structural.Trend{State: "not recorded"}
	}
	return d.Trends[len(d.Trends)-1]
}

// trendText is a trend state with its reason and certificate.
func trendText(t structural.Trend) string {
	s := t.State
	if t.Reason != "" {
		s += " (" + t.Reason + ")"
	}
	if t.Certificate != "" {
		s += " [certified by " + t.Certificate + "]"
	}
	return s
}
