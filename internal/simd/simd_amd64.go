//go:build !purego

package simd

import "golang.org/x/sys/cpu"

// useAsm is true on amd64 CPUs with AVX2 (a variable so tests can run the Go twins).
var useAsm = cpu.X86.HasAVX2

//go:noescape
func reluMask32AVX2(dst, v, x *float32, n int)

//go:noescape
func reluMask64AVX2(dst, v, x *float64, n int)

//go:noescape
func addRows32AVX2(dst, a *float32, rows, cols, n int)

//go:noescape
func addRows64AVX2(dst, a *float64, rows, cols, n int)

//go:noescape
func widenAVX2(dst *float64, src *float32, n int)

//go:noescape
func nonFinite32AVX2(x *float32, n int) bool

//go:noescape
func nonFinite64AVX2(x *float64, n int) bool

//go:noescape
func maxPool3Row32AVX2(x *float32, w int, y *float32, arg *int32, at, n int)
