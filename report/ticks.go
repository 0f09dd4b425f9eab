package report

import (
	"math"
	"strconv"
	"strings"

	"gonum.org/v1/plot"
)

// maxLogLabels is the most labelled powers on one log axis; beyond it every
// second, third, … power is labelled so that labels never overlap on a
// 250 pt panel.
const maxLogLabels = 8

// logTicks marks a log axis of the given base (10 or 2) at the powers of the
// base, with minor ticks at 2…9 times the powers of 10. Unlike plot.LogTicks
// it never panics (a range that is not positive gives no ticks), and a range
// too narrow to hold two labelled powers falls back to plot.DefaultTicks, so
// an axis always carries readable numbers.
type logTicks struct {
	Base float64
}

var _ plot.Ticker = logTicks{}

// Ticks returns the marks for the range [min, max].
func (t logTicks) Ticks(min, max float64) []plot.Tick {
	if !(min > 0) || !(max >= min) || math.IsInf(max, 0) {
		return nil
	}
	// logEps keeps exact powers such as 1000 from rounding to the next power.
	const logEps = 1e-9
	logb := func(x float64) float64 { return math.Log(x) / math.Log(t.Base) }
	lo := int(math.Floor(logb(min) + logEps))
	hi := int(math.Ceil(logb(max) - logEps))
	in := func(v float64) bool { return v >= min*(1-logEps) && v <= max*(1+logEps) }

	inRange := 0
	for k := lo; k <= hi; k++ {
		if in(t.power(k)) {
			inRange++
		}
	}
	stride := (inRange + maxLogLabels - 1) / maxLogLabels
	if stride < 1 {
		stride = 1
	}

	var ticks []plot.Tick
	labelled := 0
	for k := lo; k <= hi; k++ {
		v := t.power(k)
		if !(v > 0) || math.IsInf(v, 0) {
			continue // beyond float64: no data can lie there
		}
		tk := plot.Tick{Value: v}
		if ((k%stride)+stride)%stride == 0 {
			tk.Label = t.label(k)
			if in(v) {
				labelled++
			}
		}
		ticks = append(ticks, tk)
		if t.Base != 10 || hi-lo > 8 || k == hi {
			continue
		}
		for m := 2; m <= 9; m++ {
			mv := float64(m) * v
			if math.IsInf(mv, 0) {
				break
			}
			mt := plot.Tick{Value: mv}
			// A range of about one decade labels 2× and 5× the power.
			if inRange < 3 && (m == 2 || m == 5) {
				mt.Label = plainLabels([]float64{mv})[0]
				if in(mv) {
					labelled++
				}
			}
			ticks = append(ticks, mt)
		}
	}
	if labelled < 2 {
		return plot.DefaultTicks{}.Ticks(min, max)
	}
	// Ticks outside the range would still pad the plot for their labels
	// (gonum/plot makes room for every tick label), leaving a gap above
	// the data.
	inRangeTicks := ticks[:0]
	for _, tk := range ticks {
		if in(tk.Value) {
			inRangeTicks = append(inRangeTicks, tk)
		}
	}
	return inRangeTicks
}

// power returns Base^k exactly.
func (t logTicks) power(k int) float64 {
	if t.Base == 2 {
		return math.Ldexp(1, k)
	}
	return math.Pow10(k)
}

// label writes Base^k as a plain number when that is short ("0.001", "1024")
// and as an exponent otherwise ("1e-05", "2^20").
func (t logTicks) label(k int) string {
	if t.Base == 2 {
		if k >= -4 && k <= 14 {
			return strconv.FormatFloat(math.Ldexp(1, k), 'f', -1, 64)
		}
		return "2^" + strconv.Itoa(k)
	}
	if k >= -4 && k <= 4 {
		return strconv.FormatFloat(math.Pow10(k), 'f', -1, 64)
	}
	return "1e" + strconv.Itoa(k)
}

// plainTicks marks a linear axis where plot.DefaultTicks does, labelled as
// plain numbers with the fewest decimals that tell the ticks apart ("2000",
// "0.25"), not in DefaultTicks' exponent form ("2e+03"); only values of 10⁶
// and more, or below 10⁻⁴, keep an exponent, written short ("1.5e6").
type plainTicks struct{}

var _ plot.Ticker = plainTicks{}

// Ticks returns the marks for the range [min, max].
func (plainTicks) Ticks(min, max float64) []plot.Tick {
	ticks := plot.DefaultTicks{}.Ticks(min, max)
	var major []float64
	for _, t := range ticks {
		if t.Label != "" {
			major = append(major, t.Value)
		}
	}
	labels := plainLabels(major)
	j := 0
	for i := range ticks {
		if ticks[i].Label != "" {
			ticks[i].Label = labels[j]
			j++
		}
	}
	return ticks
}

// plainLabels formats evenly spaced tick values.
func plainLabels(v []float64) []string {
	out := make([]string, len(v))
	if len(v) == 0 {
		return out
	}
	step, big := math.Inf(1), 0.0
	for i, x := range v {
		big = math.Max(big, math.Abs(x))
		if i > 0 {
			step = math.Min(step, math.Abs(x-v[i-1]))
		}
	}
	if len(v) == 1 || step == 0 {
		step = math.Max(big, 1)
	}
	if big >= 1e6 || big < 1e-4 && big > 0 {
		for i, x := range v {
			out[i] = shortExp(x, step)
		}
		return out
	}
	// The fewest decimals that represent every tick to within 1e-6 of a step.
	dec := 0
	for ; dec < 12; dec++ {
		ok := true
		for _, x := range v {
			if r, _ := strconv.ParseFloat(strconv.FormatFloat(x, 'f', dec, 64), 64); math.Abs(r-x) > 1e-6*step {
				ok = false
				break
			}
		}
		if ok {
			break
		}
	}
	for i, x := range v {
		if math.Abs(x) < 1e-9*step {
			x = 0 // no "-0"
		}
		out[i] = strconv.FormatFloat(x, 'f', dec, 64)
	}
	return out
}

// shortExp writes x in exponent form with as many significant digits as
// the step needs, as "1.5e6" or "-2e-5".
func shortExp(x, step float64) string {
	if x == 0 {
		return "0"
	}
	digits := int(math.Floor(math.Log10(math.Abs(x)))-math.Floor(math.Log10(step))) + 1
	digits = min(max(digits, 1), 6)
	s := strconv.FormatFloat(x, 'e', digits-1, 64)
	mant, exp, _ := strings.Cut(s, "e")
	if strings.Contains(mant, ".") {
		mant = strings.TrimRight(strings.TrimRight(mant, "0"), ".")
	}
	e, _ := strconv.Atoi(exp)
	return mant + "e" + strconv.Itoa(e)
}
