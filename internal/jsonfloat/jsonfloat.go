package jsonfloat

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a float64 whose JSON form is a number or one of the strings
// "NaN", "+Inf", "-Inf" ("Inf" is read as +Inf too).
type Float float64

// MarshalJSON writes the shortest decimal that round-trips, or the string
// naming a non-finite value.
func (f Float) MarshalJSON() ([]byte, error) {
	return Append(nil, float64(f)), nil
}

// Append appends the JSON form of v to b.
func Append(b []byte, v float64) []byte {
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"+Inf"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Inf"`...)
	}
	// encoding/json's float format, so records keep their historical bytes.
	out, _ := json.Marshal(v)
	return append(b, out...)
}

// UnmarshalJSON reads what MarshalJSON writes.
func (f *Float) UnmarshalJSON(b []byte) error {
	if len(b) > 0 && b[0] == '"' {
		var s string
		if err := json.Unmarshal(b, &s); err != nil {
			return err
		}
		switch s {
		case "NaN":
			*f = Float(math.NaN())
		case "+Inf", "Inf":
			*f = Float(math.Inf(1))
		case "-Inf":
			*f = Float(math.Inf(-1))
		default:
			return fmt.Errorf("number %q: want a number, \"NaN\", \"+Inf\" or \"-Inf\"", s)
		}
		return nil
	}
	v, err := strconv.ParseFloat(string(b), 64)
	if err != nil {
		return fmt.Errorf("number %s: %w", b, err)
	}
	*f = Float(v)
	return nil
}

// Slice converts v to Floats (nil stays nil).
func Slice(v []float64) []Float {
	if v == nil {
		return nil
	}
	out := make([]Float, len(v))
	for i, x := range v {
		out[i] = Float(x)
	}
	return out
}

// Float64s converts v back to float64s (nil stays nil).
func Float64s(v []Float) []float64 {
	if v == nil {
		return nil
	}
	out := make([]float64, len(v))
	for i, x := range v {
		out[i] = float64(x)
	}
	return out
}

// Map converts the values of m to Floats (nil stays nil).
func Map(m map[string]float64) map[string]Float {
	if m == nil {
		return nil
	}
	out := make(map[string]Float, len(m))
	for k, v := range m {
		out[k] = Float(v)
	}
	return out
}

// Float64Map converts the values of m back to float64s (nil stays nil).
func Float64Map(m map[string]Float) map[string]float64 {
	if m == nil {
		return nil
	}
	out := make(map[string]float64, len(m))
	for k, v := range m {
		out[k] = float64(v)
	}
	return out
}

// Safe returns v with every float64 or []float64 replaced by its Float
// form, so that encoding/json can write it; other values pass unchanged.
// It serves records built as maps.
func Safe(v any) any {
	switch x := v.(type) {
	case float64:
		return Float(x)
	case float32:
		return Float(float64(x))
	case []float64:
		return Slice(x)
	}
	return v
}

// Concat joins JSON objects into one: {"a":1} and {"b":2} give
// {"a":1,"b":2}. Keys are not de-duplicated: the caller keeps them apart.
// An empty object contributes nothing.
func Concat(objs ...[]byte) ([]byte, error) {
	out := []byte{'{'}
	for i, o := range objs {
		o = bytes.TrimSpace(o)
		if len(o) < 2 || o[0] != '{' || o[len(o)-1] != '}' {
			return nil, fmt.Errorf("jsonfloat: concat: part %d is not a JSON object: %.40q", i, o)
		}
		body := bytes.TrimSpace(o[1 : len(o)-1])
		if len(body) == 0 {
			continue
		}
		if len(out) > 1 {
			out = append(out, ',')
		}
		out = append(out, body...)
	}
	return append(out, '}'), nil
}
