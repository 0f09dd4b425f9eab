//go:build !purego

package conv

import "golang.org/x/sys/cpu"

//go:generate go run gen_amd64.go

// useAsm reports whether the AVX-512F tiles can run (x/sys/cpu sets
// HasAVX512F only when the OS saves the zmm state); a variable so tests can
// run the Go twins.
var useAsm = cpu.X86.HasAVX512F

// gemm8x16, gemm8x32 and gemm8x48 are gemmTile for 8 rows and 16, 32 or 48
// columns; a is packed k×8 and ldc counts elements.
//
//go:noescape
func gemm8x16(k int, a *float32, offs *int32, b, c *float32, ldc int)

//go:noescape
func gemm8x32(k int, a *float32, offs *int32, b, c *float32, ldc int)

//go:noescape
func gemm8x48(k int, a *float32, offs *int32, b, c *float32, ldc int)

// dot4x6 is dotTile for 4 rows of a and 6 offsets, over ns samples of n16·16
// elements; aadj and badj are the byte steps between the end of a sample and
// the start of the next, and acc receives the 24 sums, each over 16 lane
// partials added as sum16 does.
//
//go:noescape
func dot4x6(n16, ns int, a *float32, lda, aadj int, b *float32, offs *int32, badj int, acc *float32)

// copy2D copies rows ≥ 1 rows of cols ≥ 1 elements from src (row stride
// lds) to dst (row stride ldd); copy2DBias adds b to each.
//
//go:noescape
func copy2D(dst *float32, ldd int, src *float32, lds, rows, cols int)

//go:noescape
func copy2DBias(dst *float32, ldd int, src *float32, lds, rows, cols int, b float32)

// copy2DWide and copy2DBiasWide are copy2D and copy2DBias loading each
// row's last vector whole (it must lie inside src).
//
//go:noescape
func copy2DWide(dst *float32, ldd int, src *float32, lds, rows, cols int)

//go:noescape
func copy2DBiasWide(dst *float32, ldd int, src *float32, lds, rows, cols int, b float32)

// split2 and interleave2 are Split2 and Interleave2 for rows ≥ 1 rows of
// cols ≥ 1 elements.
//
//go:noescape
func split2(e, o *float32, ldd int, src *float32, lds, rows, cols int)

// split2Wide is split2 loading each row's last 32 elements whole (they
// must lie inside src).
//
//go:noescape
func split2Wide(e, o *float32, ldd int, src *float32, lds, rows, cols int)

//go:noescape
func interleave2(dst *float32, ldd int, e, o *float32, lds, rows, cols int)
