//go:build !purego

#include "textflag.h"

// AVX-512F kernels of the bulge chasing (linalg/sb2st.go): loops over 8-element
// chunks of float64 vectors, the last chunk under a mask (K1).

// TAILMASK sets K1 to the low CX bits (CX < 8); clobbers AX.
#define TAILMASK \
	MOVQ $1, AX \
	SHLQ CX, AX \
	DECQ AX \
	KMOVW AX, K1

// REDUCE sums the lanes of Z0 into X0; clobbers Z1.
#define REDUCE \
	VEXTRACTF64X4 $1, Z0, Y1 \
	VADDPD Y1, Y0, Y0 \
	VEXTRACTF128 $1, Y0, X1 \
	VADDPD X1, X0, X0 \
	VPERMILPD $1, X0, X1 \
	VADDSD X1, X0, X0

// func Gemv(rows, cols int, b *float64, ldb int, x, y *float64)
// y[p] = Σ_q x[q]·b[q·ldb+p] for p < rows, q < cols.
TEXT ·Gemv(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), CX
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), DX
	LEAQ (R8)(R8*2), R12 // 3·ldb
gvChunk:
	TESTQ CX, CX
	JLE gvDone
	MOVQ $0xff, AX
	KMOVW AX, K1
	CMPQ CX, $8
	JGE gvFull
	TAILMASK
gvFull:
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
gvCol4:
	CMPQ R11, $4
	JLT gvCol1
	VBROADCASTSD (R10), Z8
	VBROADCASTSD 8(R10), Z9
	VBROADCASTSD 16(R10), Z10
	VBROADCASTSD 24(R10), Z11
	VMOVUPD.Z (R9), K1, Z12
	VMOVUPD.Z (R9)(R8*1), K1, Z13
	VMOVUPD.Z (R9)(R8*2), K1, Z14
	VMOVUPD.Z (R9)(R12*1), K1, Z15
	VFMADD231PD Z12, Z8, Z0
	VFMADD231PD Z13, Z9, Z1
	VFMADD231PD Z14, Z10, Z2
	VFMADD231PD Z15, Z11, Z3
	LEAQ (R9)(R8*4), R9
	ADDQ $32, R10
	SUBQ $4, R11
	JMP gvCol4
gvCol1:
	TESTQ R11, R11
	JZ gvStore
	VBROADCASTSD (R10), Z8
	VMOVUPD.Z (R9), K1, Z12
	VFMADD231PD Z12, Z8, Z0
	ADDQ R8, R9
	ADDQ $8, R10
	DECQ R11
	JMP gvCol1
gvStore:
	VADDPD Z1, Z0, Z0
	VADDPD Z3, Z2, Z2
	VADDPD Z2, Z0, Z0
	VMOVUPD Z0, K1, (DX)
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $8, CX
	JMP gvChunk
gvDone:
	VZEROUPPER
	RET

// func Ger(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64)
// b[q·ldb+p] += alpha·x[q]·y[p] for p < rows, q < cols.
TEXT ·Ger(SB), NOSPLIT, $0-56
	MOVQ rows+0(FP), CX
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), DX
	VBROADCASTSD alpha+48(FP), Z31
grChunk:
	TESTQ CX, CX
	JLE grDone
	MOVQ $0xff, AX
	KMOVW AX, K1
	CMPQ CX, $8
	JGE grFull
	TAILMASK
grFull:
	VMOVUPD.Z (DX), K1, Z0
	VMULPD Z31, Z0, Z0
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
grCol2:
	CMPQ R11, $2
	JLT grCol1
	VBROADCASTSD (R10), Z8
	VBROADCASTSD 8(R10), Z9
	VMOVUPD.Z (R9), K1, Z12
	VMOVUPD.Z (R9)(R8*1), K1, Z13
	VFMADD231PD Z0, Z8, Z12
	VFMADD231PD Z0, Z9, Z13
	VMOVUPD Z12, K1, (R9)
	VMOVUPD Z13, K1, (R9)(R8*1)
	LEAQ (R9)(R8*2), R9
	ADDQ $16, R10
	SUBQ $2, R11
	JMP grCol2
grCol1:
	TESTQ R11, R11
	JZ grNext
	VBROADCASTSD (R10), Z8
	VMOVUPD.Z (R9), K1, Z12
	VFMADD231PD Z0, Z8, Z12
	VMOVUPD Z12, K1, (R9)
grNext:
	ADDQ $64, SI
	ADDQ $64, DX
	SUBQ $8, CX
	JMP grChunk
grDone:
	VZEROUPPER
	RET

// func DotAxpyCols(rows, cols int, b *float64, ldb int, v *float64, tau float64)
// For each column q < cols: s = τ·Σ_p v[p]·b[q·ldb+p], then b[q·ldb+p] −= s·v[p].
TEXT ·DotAxpyCols(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), R13
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ v+32(FP), DI
	VBROADCASTSD tau+40(FP), Z31
	MOVQ R13, CX
	ANDQ $7, CX
	MOVQ $0xff, AX
	TESTQ CX, CX
	JZ dacMask
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
dacMask:
	KMOVW AX, K1 // the mask of the last chunk (full if rows%8 == 0)
	MOVQ R13, R14
	SUBQ $1, R14
	SHRQ $3, R14 // full chunks before the last
dacCol:
	TESTQ BX, BX
	JZ dacDone
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ R14, R11
dacDot:
	TESTQ R11, R11
	JZ dacDotLast
	VMOVUPD (R9), Z2
	VMOVUPD (R10), Z3
	VFMADD231PD Z3, Z2, Z0
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ R11
	JMP dacDot
dacDotLast:
	VMOVUPD.Z (R9), K1, Z2
	VMOVUPD.Z (R10), K1, Z3
	VFMADD231PD Z3, Z2, Z1
	VADDPD Z1, Z0, Z0
	REDUCE
	VMULSD X31, X0, X0
	VBROADCASTSD X0, Z4
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ R14, R11
dacAxpy:
	TESTQ R11, R11
	JZ dacAxpyLast
	VMOVUPD (R9), Z2
	VMOVUPD (R10), Z3
	VFNMADD231PD Z4, Z3, Z2
	VMOVUPD Z2, (R9)
	ADDQ $64, R9
	ADDQ $64, R10
	DECQ R11
	JMP dacAxpy
dacAxpyLast:
	VMOVUPD.Z (R9), K1, Z2
	VMOVUPD.Z (R10), K1, Z3
	VFNMADD231PD Z4, Z3, Z2
	VMOVUPD Z2, K1, (R9)
	ADDQ R8, SI
	DECQ BX
	JMP dacCol
dacDone:
	VZEROUPPER
	RET

// func SymvLower(m int, d *float64, ldd int, v, w *float64)
// w[p] += Σ_q D(p,q)·v[q] for the symmetric m×m D whose lower triangle is
// column-major at d (D(p,q) = d[q·ldd+p], p ≥ q).
TEXT ·SymvLower(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), R13
	MOVQ d+8(FP), R14
	MOVQ ldd+16(FP), R8
	INCQ R8
	SHLQ $3, R8 // (ldd+1)·8: from one diagonal entry to the next
	MOVQ v+24(FP), R15
	MOVQ w+32(FP), R12
svCol:
	TESTQ R13, R13
	JZ svDone
	MOVQ R13, CX
	DECQ CX // entries below the diagonal
	LEAQ 8(R14), SI
	LEAQ 8(R15), DI
	LEAQ 8(R12), DX
	VBROADCASTSD (R15), Z31
	VPXORD Z0, Z0, Z0
	VPXORD Z5, Z5, Z5
svLoop:
	CMPQ CX, $8
	JLT svTail
	VMOVUPD (SI), Z2
	VMOVUPD (DI), Z3
	VMOVUPD (DX), Z4
	VFMADD231PD Z3, Z2, Z0
	VFMADD231PD Z31, Z2, Z4
	VMOVUPD Z4, (DX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JMP svLoop
svTail:
	TESTQ CX, CX
	JZ svSum
	TAILMASK
	VMOVUPD.Z (SI), K1, Z2
	VMOVUPD.Z (DI), K1, Z3
	VMOVUPD.Z (DX), K1, Z4
	VFMADD231PD Z3, Z2, Z5
	VFMADD231PD Z31, Z2, Z4
	VMOVUPD Z4, K1, (DX)
svSum:
	VADDPD Z5, Z0, Z0
	REDUCE
	VMOVSD (R14), X2
	VMULSD (R15), X2, X2
	VADDSD X2, X0, X0
	VADDSD (R12), X0, X0
	VMOVSD X0, (R12)
	ADDQ R8, R14
	ADDQ $8, R15
	ADDQ $8, R12
	DECQ R13
	JMP svCol
svDone:
	VZEROUPPER
	RET

// func Syr2Lower(m int, d *float64, ldd int, v, w *float64)
// D(p,q) −= v[p]·w[q] + w[p]·v[q] for p ≥ q, D's lower triangle
// column-major at d as in SymvLower.
TEXT ·Syr2Lower(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), R13
	MOVQ d+8(FP), R14
	MOVQ ldd+16(FP), R8
	INCQ R8
	SHLQ $3, R8
	MOVQ v+24(FP), R15
	MOVQ w+32(FP), R12
s2Col:
	TESTQ R13, R13
	JZ s2Done
	MOVQ R13, CX
	MOVQ R15, SI
	MOVQ R12, DI
	MOVQ R14, DX
	VBROADCASTSD (R12), Z30
	VBROADCASTSD (R15), Z31
s2Loop:
	CMPQ CX, $8
	JLT s2Tail
	VMOVUPD (SI), Z2
	VMOVUPD (DI), Z3
	VMOVUPD (DX), Z4
	VFNMADD231PD Z30, Z2, Z4
	VFNMADD231PD Z31, Z3, Z4
	VMOVUPD Z4, (DX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JMP s2Loop
s2Tail:
	TESTQ CX, CX
	JZ s2Next
	TAILMASK
	VMOVUPD.Z (SI), K1, Z2
	VMOVUPD.Z (DI), K1, Z3
	VMOVUPD.Z (DX), K1, Z4
	VFNMADD231PD Z30, Z2, Z4
	VFNMADD231PD Z31, Z3, Z4
	VMOVUPD Z4, K1, (DX)
s2Next:
	ADDQ R8, R14
	ADDQ $8, R15
	ADDQ $8, R12
	DECQ R13
	JMP s2Col
s2Done:
	VZEROUPPER
	RET
