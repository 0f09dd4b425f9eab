//go:build ignore

// gen_amd64 writes kern_amd64.s, the AVX-512F tiles of package conv:
// go run gen_amd64.go (see the go:generate line in kern_amd64.go). The
// bodies are unrolled register sequences that differ only in the tile width.
package main

import (
	"bytes"
	"fmt"
	"log"
	"os"
)

var out bytes.Buffer

func p(format string, args ...any) { fmt.Fprintf(&out, "\t"+format+"\n", args...) }

// gemm writes gemm8xNV: c[r·ldc + j] = Σ_q a[q·8 + r]·b[offs[q] + j] for
// r < 8, j < 16·nv, q < k: per q, nv vectors of b at offs[q] and 8
// broadcasts of a, into 8·nv zmm accumulators.
func gemm(nv int) {
	fmt.Fprintf(&out, "\n// func gemm8x%d(k int, a *float32, offs *int32, b, c *float32, ldc int)\n", nv*16)
	fmt.Fprintf(&out, "TEXT ·gemm8x%d(SB), NOSPLIT, $0-48\n", nv*16)
	p("MOVQ k+0(FP), CX")
	p("MOVQ a+8(FP), SI")
	p("MOVQ offs+16(FP), DX")
	p("MOVQ b+24(FP), BX")
	p("MOVQ c+32(FP), DI")
	p("MOVQ ldc+40(FP), R8")
	p("SHLQ $2, R8")
	for i := 0; i < 8*nv; i++ {
		p("VPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	fmt.Fprintf(&out, "loop:\n")
	p("MOVLQSX (DX), AX")
	p("LEAQ (BX)(AX*4), AX")
	for v := 0; v < nv; v++ {
		p("VMOVUPS %d(AX), Z%d", 64*v, 24+v)
	}
	for r := 0; r < 8; r++ {
		z := 28 + r%4
		p("VBROADCASTSS %d(SI), Z%d", 4*r, z)
		for v := 0; v < nv; v++ {
			p("VFMADD231PS Z%d, Z%d, Z%d", 24+v, z, r*nv+v)
		}
	}
	p("ADDQ $32, SI")
	p("ADDQ $4, DX")
	p("DECQ CX")
	p("JNZ loop")
	for r := 0; r < 8; r++ {
		for v := 0; v < nv; v++ {
			p("VMOVUPS Z%d, %d(DI)", r*nv+v, 64*v)
		}
		if r < 7 {
			p("ADDQ R8, DI")
		}
	}
	p("VZEROUPPER")
	p("RET")
}

// dot writes dot4x6: for samples s < ns and j < 16·n16, lane j mod 16 of
// accumulator i·6 + q gathers a[s·sa + i·lda + j]·b[s·sx + offs[q] + j]
// (i < 4, q < 6); acc[i·6 + q] receives the sum of its lanes at the end. aadj and badj are the byte steps
// from the end of one sample's span to the start of the next.
func dot() {
	fmt.Fprintf(&out, "\n// func dot4x6(n16, ns int, a *float32, lda, aadj int, b *float32, offs *int32, badj int, acc *float32)\n")
	fmt.Fprintf(&out, "TEXT ·dot4x6(SB), NOSPLIT, $0-72\n")
	p("MOVQ a+16(FP), AX")
	p("MOVQ lda+24(FP), BX")
	p("SHLQ $2, BX")
	p("LEAQ (BX)(BX*2), CX")
	p("MOVQ b+40(FP), DX")
	p("MOVQ offs+48(FP), R12")
	bs := []string{"SI", "DI", "R8", "R9", "R10", "R11"}
	for q, r := range bs {
		p("MOVLQSX %d(R12), %s", 4*q, r)
		p("LEAQ (DX)(%s*4), %s", r, r)
	}
	for i := 0; i < 24; i++ {
		p("VPXORD Z%d, Z%d, Z%d", i, i, i)
	}
	p("MOVQ ns+8(FP), R13")
	fmt.Fprintf(&out, "sample:\n")
	p("MOVQ n16+0(FP), R12")
	fmt.Fprintf(&out, "inner:\n")
	p("VMOVUPS (AX), Z24")
	p("VMOVUPS (AX)(BX*1), Z25")
	p("VMOVUPS (AX)(BX*2), Z26")
	p("VMOVUPS (AX)(CX*1), Z27")
	for q, r := range bs {
		z := 28 + q%4
		p("VMOVUPS (%s), Z%d", r, z)
		for i := 0; i < 4; i++ {
			p("VFMADD231PS Z%d, Z%d, Z%d", 24+i, z, i*6+q)
		}
	}
	p("ADDQ $64, AX")
	for _, r := range bs {
		p("ADDQ $64, %s", r)
	}
	p("DECQ R12")
	p("JNZ inner")
	p("ADDQ aadj+32(FP), AX")
	p("MOVQ badj+56(FP), DX")
	for _, r := range bs {
		p("ADDQ DX, %s", r)
	}
	p("DECQ R13")
	p("JNZ sample")
	// Each accumulator's 16 lanes summed by halves (sum16's tree).
	p("MOVQ acc+64(FP), DI")
	for i := 0; i < 24; i++ {
		p("VEXTRACTF64X4 $1, Z%d, Y24", i)
		p("VADDPS Y%d, Y24, Y24", i)
		p("VEXTRACTF32X4 $1, Y24, X25")
		p("VADDPS X25, X24, X24")
		p("VPERMILPS $0x4e, X24, X25")
		p("VADDPS X25, X24, X24")
		p("VPERMILPS $0xb1, X24, X25")
		p("VADDSS X25, X24, X24")
		p("VMOVSS X24, %d(DI)", 4*i)
	}
	p("VZEROUPPER")
	p("RET")
}

// copy2D writes copy2D and copy2DBias: rows of cols elements from src
// (stride lds) to dst (stride ldd), plus b in copy2DBias; full vectors and
// one masked tail per row (masked lanes are neither read nor written).
// The Wide variants load the tail's whole vector (the caller guarantees
// it lies in src) and mask only the store: a masked load that misses the
// cache is several times slower than a plain one.
func copy2D(bias, wide bool) {
	name, args := "copy2D", "$0-48"
	if bias {
		name, args = "copy2DBias", "$0-52"
	}
	if wide {
		name += "Wide"
	}
	fmt.Fprintf(&out, "\n// func %s(dst *float32, ldd int, src *float32, lds, rows, cols int", name)
	if bias {
		fmt.Fprintf(&out, ", b float32")
	}
	fmt.Fprintf(&out, ")\nTEXT ·%s(SB), NOSPLIT, %s\n", name, args)
	p("MOVQ dst+0(FP), DI")
	p("MOVQ ldd+8(FP), R8")
	p("SHLQ $2, R8")
	p("MOVQ src+16(FP), SI")
	p("MOVQ lds+24(FP), R9")
	p("SHLQ $2, R9")
	p("MOVQ rows+32(FP), DX")
	p("MOVQ cols+40(FP), R10")
	if bias {
		p("VBROADCASTSS b+48(FP), Z1")
	}
	p("MOVQ R10, CX")
	p("ANDQ $15, CX")
	p("MOVQ $1, AX")
	p("SHLQ CX, AX")
	p("DECQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $4, R10")
	fmt.Fprintf(&out, "row:\n")
	p("MOVQ R10, BX")
	p("XORQ AX, AX")
	p("TESTQ BX, BX")
	p("JZ tail")
	fmt.Fprintf(&out, "vec:\n")
	p("VMOVUPS (SI)(AX*1), Z0")
	if bias {
		p("VADDPS Z1, Z0, Z0")
	}
	p("VMOVUPS Z0, (DI)(AX*1)")
	p("ADDQ $64, AX")
	p("DECQ BX")
	p("JNZ vec")
	fmt.Fprintf(&out, "tail:\n")
	p("KORTESTW K1, K1")
	p("JZ next")
	p("LEAQ (SI)(AX*1), R11")
	if wide {
		p("VMOVUPS (R11), Z0")
	} else {
		p("VMOVUPS.Z (R11), K1, Z0")
	}
	if bias {
		p("VADDPS Z1, Z0, Z0")
	}
	p("LEAQ (DI)(AX*1), R11")
	p("VMOVUPS Z0, K1, (R11)")
	fmt.Fprintf(&out, "next:\n")
	p("ADDQ R9, SI")
	p("ADDQ R8, DI")
	p("DECQ DX")
	p("JNZ row")
	p("VZEROUPPER")
	p("RET")
}

// split2 writes split2: rows of cols source elements (stride lds) split
// into their even elements, to e, and their odd elements, to o (both row
// stride ldd), 32 source elements per step by two VPERMT2PS; the last step
// of a row is masked (masked lanes are neither read nor written);
// split2Wide, as copy2DWide, masks only the stores.
func split2(wide bool) {
	name := "split2"
	if wide {
		name = "split2Wide"
	}
	fmt.Fprintf(&out, "\n// func %s(e, o *float32, ldd int, src *float32, lds, rows, cols int)\n", name)
	fmt.Fprintf(&out, "TEXT ·%s(SB), NOSPLIT, $0-56\n", name)
	p("MOVQ e+0(FP), DI")
	p("MOVQ o+8(FP), R11")
	p("MOVQ ldd+16(FP), R8")
	p("SHLQ $2, R8")
	p("MOVQ src+24(FP), SI")
	p("MOVQ lds+32(FP), R9")
	p("SHLQ $2, R9")
	p("MOVQ rows+40(FP), DX")
	p("MOVQ cols+48(FP), R10")
	p("VMOVDQU32 evens32<>(SB), Z30")
	p("VMOVDQU32 odds32<>(SB), Z31")
	fmt.Fprintf(&out, "row:\n")
	p("MOVQ R10, R12")
	p("XORQ BX, BX")
	fmt.Fprintf(&out, "step:\n")
	p("CMPQ R12, $32")
	p("JLT tail")
	p("VMOVUPS (SI)(BX*2), Z0")
	p("VMOVUPS 64(SI)(BX*2), Z1")
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z2")
	p("VPERMT2PS Z1, Z31, Z0")
	p("VMOVUPS Z2, (DI)(BX*1)")
	p("VMOVUPS Z0, (R11)(BX*1)")
	p("ADDQ $64, BX")
	p("SUBQ $32, R12")
	p("JMP step")
	fmt.Fprintf(&out, "tail:\n")
	p("TESTQ R12, R12")
	p("JZ next")
	lowBits := func(k string) { // k = low CX bits of AX
		p("MOVQ $-1, AX")
		p("SHLQ CX, AX")
		p("NOTQ AX")
		p("KMOVW AX, %s", k)
	}
	p("MOVQ R12, CX")
	p("MOVQ $-1, AX")
	p("SHLQ CX, AX")
	p("NOTQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $16, AX")
	p("KMOVW AX, K2")
	p("LEAQ 1(R12), CX")
	p("SHRQ $1, CX")
	lowBits("K3")
	p("MOVQ R12, CX")
	p("SHRQ $1, CX")
	lowBits("K4")
	p("LEAQ (SI)(BX*2), AX")
	if wide {
		p("VMOVUPS (AX), Z0")
		p("VMOVUPS 64(AX), Z1")
	} else {
		p("VMOVUPS.Z (AX), K1, Z0")
		p("VMOVUPS.Z 64(AX), K2, Z1")
	}
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z2")
	p("VPERMT2PS Z1, Z31, Z0")
	p("LEAQ (DI)(BX*1), AX")
	p("VMOVUPS Z2, K3, (AX)")
	p("LEAQ (R11)(BX*1), AX")
	p("VMOVUPS Z0, K4, (AX)")
	fmt.Fprintf(&out, "next:\n")
	p("ADDQ R9, SI")
	p("ADDQ R8, DI")
	p("ADDQ R8, R11")
	p("DECQ DX")
	p("JNZ row")
	p("VZEROUPPER")
	p("RET")
}

// interleave2 writes interleave2, split2's inverse: rows of cols elements
// (stride ldd) whose even elements come from e and odd elements from o
// (both row stride lds), 32 elements per step by two VPERMT2PS; the last
// step of a row is masked.
func interleave2() {
	fmt.Fprintf(&out, "\n// func interleave2(dst *float32, ldd int, e, o *float32, lds, rows, cols int)\n")
	fmt.Fprintf(&out, "TEXT ·interleave2(SB), NOSPLIT, $0-56\n")
	p("MOVQ dst+0(FP), DI")
	p("MOVQ ldd+8(FP), R8")
	p("SHLQ $2, R8")
	p("MOVQ e+16(FP), SI")
	p("MOVQ o+24(FP), R11")
	p("MOVQ lds+32(FP), R9")
	p("SHLQ $2, R9")
	p("MOVQ rows+40(FP), DX")
	p("MOVQ cols+48(FP), R10")
	p("VMOVDQU32 zipLo32<>(SB), Z30")
	p("VMOVDQU32 zipHi32<>(SB), Z31")
	fmt.Fprintf(&out, "row:\n")
	p("MOVQ R10, R12")
	p("XORQ BX, BX")
	fmt.Fprintf(&out, "step:\n")
	p("CMPQ R12, $32")
	p("JLT tail")
	p("VMOVUPS (SI)(BX*1), Z0")
	p("VMOVUPS (R11)(BX*1), Z1")
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z2")
	p("VPERMT2PS Z1, Z31, Z0")
	p("VMOVUPS Z2, (DI)(BX*2)")
	p("VMOVUPS Z0, 64(DI)(BX*2)")
	p("ADDQ $64, BX")
	p("SUBQ $32, R12")
	p("JMP step")
	fmt.Fprintf(&out, "tail:\n")
	p("TESTQ R12, R12")
	p("JZ next")
	lowBits := func(k string) {
		p("MOVQ $-1, AX")
		p("SHLQ CX, AX")
		p("NOTQ AX")
		p("KMOVW AX, %s", k)
	}
	p("MOVQ R12, CX")
	p("MOVQ $-1, AX")
	p("SHLQ CX, AX")
	p("NOTQ AX")
	p("KMOVW AX, K1")
	p("SHRQ $16, AX")
	p("KMOVW AX, K2")
	p("LEAQ 1(R12), CX")
	p("SHRQ $1, CX")
	lowBits("K3")
	p("MOVQ R12, CX")
	p("SHRQ $1, CX")
	lowBits("K4")
	p("LEAQ (SI)(BX*1), AX")
	p("VMOVUPS.Z (AX), K3, Z0")
	p("LEAQ (R11)(BX*1), AX")
	p("VMOVUPS.Z (AX), K4, Z1")
	p("VMOVAPS Z0, Z2")
	p("VPERMT2PS Z1, Z30, Z2")
	p("VPERMT2PS Z1, Z31, Z0")
	p("LEAQ (DI)(BX*2), AX")
	p("VMOVUPS Z2, K1, (AX)")
	p("VMOVUPS Z0, K2, 64(AX)")
	fmt.Fprintf(&out, "next:\n")
	p("ADDQ R8, DI")
	p("ADDQ R9, SI")
	p("ADDQ R9, R11")
	p("DECQ DX")
	p("JNZ row")
	p("VZEROUPPER")
	p("RET")
}

// table writes a 16-lane int32 constant.
func table(name string, lane func(l int) int) {
	for l := 0; l < 16; l++ {
		fmt.Fprintf(&out, "DATA %s<>+%d(SB)/4, $%d\n", name, 4*l, lane(l))
	}
	fmt.Fprintf(&out, "GLOBL %s<>(SB), RODATA|NOPTR, $64\n", name)
}

func main() {
	out.WriteString("// Code generated by gen_amd64.go; DO NOT EDIT.\n\n//go:build !purego\n\n#include \"textflag.h\"\n")
	for nv := 1; nv <= 3; nv++ {
		gemm(nv)
	}
	dot()
	for _, wide := range []bool{false, true} {
		copy2D(false, wide)
		copy2D(true, wide)
	}
	out.WriteString("\n")
	table("evens32", func(l int) int { return 2 * l })
	table("odds32", func(l int) int { return 2*l + 1 })
	table("zipLo32", func(l int) int { return l/2 + 16*(l%2) })
	table("zipHi32", func(l int) int { return 8 + l/2 + 16*(l%2) })
	split2(false)
	split2(true)
	interleave2()
	if err := os.WriteFile("kern_amd64.s", out.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
