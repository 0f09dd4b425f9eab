package report

import (
	"encoding/json"
	"fmt"
	"math"
	"strconv"

	"github.com/fenchel-ml/fenchel/internal/jsonfloat"
)

// Quantity is one number behind a verdict, named in words so that a reader
// need not decode a key: "ρ(width, final E_f), MLP 784-w-w-10" = −0.83
// against "≤ −0.9".
type Quantity struct {
	Name  string  `json:"name"`
	Value float64 `json:"value"`
	// Unit is what Value counts ("steps", "×", "s"); empty for pure numbers.
	Unit string `json:"unit,omitempty"`
	// Threshold is the condition the claim puts on the quantity, e.g.
	// "≤ −0.9", or empty when it is shown for context only.
	Threshold string `json:"threshold,omitempty"`
	// Met says whether the quantity meets its Threshold (nil: no threshold).
	Met *bool `json:"met,omitempty"`
}

// Met returns a pointer to ok, for Quantity.Met.
func Met(ok bool) *bool { return &ok }

// formatQuantity writes the value with its unit: 6 significant digits,
// "+∞", "−∞" or "undefined" for the non-finite cases.
func formatQuantity(q Quantity) string {
	var v string
	switch {
	case math.IsNaN(q.Value):
		return "undefined"
	case math.IsInf(q.Value, 1):
		v = "+∞"
	case math.IsInf(q.Value, -1):
		v = "−∞"
	case q.Value == math.Trunc(q.Value) && math.Abs(q.Value) < 1e15:
		v = strconv.FormatFloat(q.Value, 'f', -1, 64)
	default:
		v = strconv.FormatFloat(q.Value, 'g', 4, 64)
	}
	if q.Unit != "" {
		v += " " + q.Unit
	}
	return v
}

// verdict is the mark shown beside a quantity with a threshold.
func (q Quantity) verdict() string {
	switch {
	case q.Met == nil:
		return ""
	case *q.Met:
		return "met"
	}
	return "not met"
}

// quantityPlain is Quantity without its JSON methods.
type quantityPlain Quantity

// quantityJSON shadows the float fields of Quantity by their JSON
// form, for both directions.
type quantityJSON struct {
	quantityPlain
	Value jsonfloat.Float `json:"value"`
}

// MarshalJSON writes a NaN or ±Inf value as a string.
func (q Quantity) MarshalJSON() ([]byte, error) {
	return json.Marshal(quantityJSON{quantityPlain(q), jsonfloat.Float(q.Value)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (q *Quantity) UnmarshalJSON(b []byte) error {
	var v quantityJSON
	if err := json.Unmarshal(b, &v); err != nil {
		return fmt.Errorf("quantity: %w", err)
	}
	*q = Quantity(v.quantityPlain)
	q.Value = float64(v.Value)
	return nil
}
