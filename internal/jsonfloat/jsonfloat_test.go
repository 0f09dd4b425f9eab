package jsonfloat

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
)

func TestFloatRoundTrip(t *testing.T) {
	for _, c := range []struct {
		v    float64
		want string
	}{
		{math.NaN(), `"NaN"`}, {math.Inf(1), `"+Inf"`}, {math.Inf(-1), `"-Inf"`},
		{0.1, `0.1`}, {-3, `-3`}, {1e-7, `1e-7`}, {1e21, `1e+21`}, {math.SmallestNonzeroFloat64, `5e-324`},
	} {
		b, err := json.Marshal(Float(c.v))
		if err != nil || string(b) != c.want {
			t.Errorf("%v: %s, %v; want %s", c.v, b, err, c.want)
			continue
		}
		plain, _ := json.Marshal(c.v) // encoding/json's bytes for finite values
		if !math.IsNaN(c.v) && !math.IsInf(c.v, 0) && string(plain) != string(b) {
			t.Errorf("%v: %s differs from encoding/json's %s", c.v, b, plain)
		}
		var got Float
		if err := json.Unmarshal(b, &got); err != nil {
			t.Fatal(err)
		}
		if g := float64(got); g != c.v && !(math.IsNaN(g) && math.IsNaN(c.v)) {
			t.Errorf("%s read back as %v, want %v", b, g, c.v)
		}
	}
	var f Float
	if err := json.Unmarshal([]byte(`"Inf"`), &f); err != nil || !math.IsInf(float64(f), 1) {
		t.Errorf(`"Inf": %v, %v`, f, err)
	}
	for _, bad := range []string{`"lots"`, `true`, `"1.5"`} {
		if err := json.Unmarshal([]byte(bad), &f); err == nil {
			t.Errorf("%s: no error", bad)
		}
	}
}

func TestConcat(t *testing.T) {
	got, err := Concat([]byte(`{"kind":"x","step":1}`), []byte(` {} `), []byte(`{"a":[1,2],"b":{"c":"NaN"}}`))
	if err != nil || string(got) != `{"kind":"x","step":1,"a":[1,2],"b":{"c":"NaN"}}` {
		t.Errorf("Concat: %s, %v", got, err)
	}
	if _, err := Concat([]byte(`{"a":1}`), []byte(`[1]`)); err == nil || !strings.Contains(err.Error(), "part 1 is not a JSON object") {
		t.Errorf("Concat of an array: %v", err)
	}
}

func TestSafeAndConversions(t *testing.T) {
	b, err := json.Marshal(map[string]any{"x": Safe(math.NaN()), "y": Safe([]float64{1, math.Inf(-1)}), "s": Safe("keep"), "f": Safe(float32(0.5))})
	if err != nil || string(b) != `{"f":0.5,"s":"keep","x":"NaN","y":[1,"-Inf"]}` {
		t.Errorf("Safe: %s, %v", b, err)
	}
	if Slice(nil) != nil || Float64s(nil) != nil || Map(nil) != nil || Float64Map(nil) != nil {
		t.Error("nil must stay nil")
	}
	m := Float64Map(Map(map[string]float64{"a": 2}))
	if m["a"] != 2 {
		t.Errorf("map round trip: %v", m)
	}
}
