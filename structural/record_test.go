package structural

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"reflect"
	"strings"
	"testing"

	"github.com/fenchel-ml/fenchel/loss"
	"github.com/fenchel-ml/fenchel/nn"
)

// sameValue compares two values field by field, NaN equal to NaN (a record
// legitimately holds NaN: bound (A) has no middle term).
func sameValue(a, b reflect.Value) bool {
	switch a.Kind() {
	case reflect.Float64:
		x, y := a.Float(), b.Float()
		return x == y || (math.IsNaN(x) && math.IsNaN(y))
	case reflect.Pointer:
		if a.IsNil() || b.IsNil() {
			return a.IsNil() == b.IsNil()
		}
		return sameValue(a.Elem(), b.Elem())
	case reflect.Slice:
		if a.Len() != b.Len() || a.IsNil() != b.IsNil() {
			return false
		}
		for i := 0; i < a.Len(); i++ {
			if !sameValue(a.Index(i), b.Index(i)) {
				return false
			}
		}
		return true
	case reflect.Struct:
		for i := 0; i < a.NumField(); i++ {
			if !sameValue(a.Field(i), b.Field(i)) {
				return false
			}
		}
		return true
	}
	return reflect.DeepEqual(a.Interface(), b.Interface())
}

// TestReportJSONRoundTrip encodes the reports of every loss (including a
// softmax fit whose probabilities underflow, so that E_s and (C) are +Inf)
// and reads them back with ReadReport into the same values.
func TestReportJSONRoundTrip(t *testing.T) {
	rng := rand.New(rand.NewPCG(7, 7))
	model := mlp(rng, "relu", 3, 10, 4)
	probe := Probe{X: randomX(rng, 5, 3), Labels: randomLabels(rng, 5, 4)}
	peaked := mlp(rand.New(rand.NewPCG(4, 4)), "relu", 3, 10, 4)
	last := peaked.Layers[len(peaked.Layers)-1].(*nn.Dense[float64])
	for i := range last.W.Value {
		last.W.Value[i] *= 2000
	}
	var reps []*Report
	for _, l := range allLosses(t) {
		rep, err := Analyze(model, probe, l, Options{FullSpectrum: true})
		if err != nil {
			t.Fatal(err)
		}
		reps = append(reps, rep)
	}
	softmax, _ := loss.New("softmax")
	rep, err := Analyze(peaked, probe, softmax, Options{Method: "lanczos"})
	if err != nil {
		t.Fatal(err)
	}
	if !math.IsInf(rep.StructuralError, 1) {
		t.Fatal("test setup: the peaked model should give E_s = +Inf")
	}
	reps = append(reps, rep)
	for _, rep := range reps {
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("%s: %v", rep.Loss, err)
		}
		got, err := ReadReport(b, "test record")
		if err != nil {
			t.Fatalf("%s: %v", rep.Loss, err)
		}
		want := *rep
		want.Timings = nil // wall-clock: not part of the record
		if !sameValue(reflect.ValueOf(*got), reflect.ValueOf(want)) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", rep.Loss, *got, want)
		}
	}
}

// fillFloats sets every float64 reachable in v (struct fields, pointers,
// slices) to x, and every int, bool and string to a non-zero value,
// allocating nil pointers and empty slices.
func fillFloats(v reflect.Value, x float64) {
	switch v.Kind() {
	case reflect.Float64:
		v.SetFloat(x)
	case reflect.Int:
		v.SetInt(3)
	case reflect.Bool:
		v.SetBool(true)
	case reflect.String:
		v.SetString("s")
	case reflect.Pointer:
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		fillFloats(v.Elem(), x)
	case reflect.Slice:
		if v.Len() == 0 {
			v.Set(reflect.MakeSlice(v.Type(), 2, 2))
		}
		for i := 0; i < v.Len(); i++ {
			fillFloats(v.Index(i), x)
		}
	case reflect.Struct:
		for i := 0; i < v.NumField(); i++ {
			if v.Type().Field(i).IsExported() {
				fillFloats(v.Field(i), x)
			}
		}
	}
}

// TestReportJSONCoversEveryField sets every float of a Report (its spectra
// and bounds too) to NaN, ±Inf and a finite value, every other field to a
// non-zero value, and checks the record round-trips: a field added to
// Report, Spectrum or Bound without its JSON form in record.go fails here
// (encoding/json refuses NaN, or the value comes back zero).
func TestReportJSONCoversEveryField(t *testing.T) {
	for _, x := range []float64{math.NaN(), math.Inf(1), math.Inf(-1), 0.125} {
		var rep Report
		fillFloats(reflect.ValueOf(&rep), x)
		rep.Schema, rep.Timings = SchemaVersion, nil
		b, err := json.Marshal(rep)
		if err != nil {
			t.Fatalf("%v: %v", x, err)
		}
		got, err := ReadReport(b, "test record")
		if err != nil {
			t.Fatalf("%v: %v", x, err)
		}
		if !sameValue(reflect.ValueOf(*got), reflect.ValueOf(rep)) {
			t.Errorf("%v: round trip\n got %+v\nwant %+v\n%s", x, *got, rep, b)
		}
	}
}

func TestReadReportRejectsOtherSchemas(t *testing.T) {
	for _, c := range []struct {
		name, record, want string
	}{
		{"flat layout", `{"kind":"nsample","step":0,"HS_lambda_min":1}`, "runs/x/metrics.jsonl line 3: probe record without a schema field"},
		{"future", `{"schema":99,"n":1}`, "runs/x/metrics.jsonl line 3: probe record of schema 99, this build reads schema 2"},
		{"not JSON", `{"schema":`, "runs/x/metrics.jsonl line 3: "},
		{"bad number", `{"schema":2,"fitting_error":"lots"}`, `number "lots"`},
	} {
		_, err := ReadReport([]byte(c.record), "runs/x/metrics.jsonl line 3")
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want it to contain %q", c.name, err, c.want)
		}
	}
}
