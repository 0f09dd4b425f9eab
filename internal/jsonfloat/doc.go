// Package jsonfloat holds fenchel's one JSON convention for floating-point
// results: a finite value is a JSON number, NaN, +Inf and −Inf are the
// strings "NaN", "+Inf" and "-Inf" (encoding/json refuses to write them as
// numbers, and results legitimately contain them: a vacuous bound, a singular
// spectrum, a diverged loss). Every record fenchel writes (probe --json,
// metrics.jsonl, report.json) uses Float for its float fields.
//
//	type rec struct{ E jsonfloat.Float `json:"e"` }
//	json.Marshal(rec{jsonfloat.Float(math.Inf(1))}) // {"e":"+Inf"}
package jsonfloat
