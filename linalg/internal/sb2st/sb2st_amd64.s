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

// DIAGSUM adds to w[q+j] at off(R12) the dot product accumulated in acc and
// D(q+j,q+j)·v[q+j], with SI at D(q+j,q+j) and v[q+j] at off(R15) (SymvLower);
// clobbers Z0–Z2.
#define DIAGSUM(acc, off) \
	VMOVAPD acc, Z0 \
	REDUCE \
	VMOVSD (SI), X2 \
	VMULSD off(R15), X2, X2 \
	VADDSD X2, X0, X0 \
	VADDSD off(R12), X0, X0 \
	VMOVSD X0, off(R12)

// CHUNKMASK sets K to the mask of the rows of the 8-row chunk that starts
// off rows into a block of CX rows (min(max(CX−off, 0), 8) low bits);
// clobbers AX. R13 = 0, R14 = 8 and R15 = 0xff must be set.
#define CHUNKMASK(off, K) \
	MOVQ CX, AX \
	SUBQ $off, AX \
	CMOVQLT R13, AX \
	CMPQ AX, $8 \
	CMOVQGT R14, AX \
	BZHIQ AX, R15, AX \
	KMOVW AX, K

// BLOCKMASKS sets K1..K4 to the masks of the four chunks of a 32-row block.
#define BLOCKMASKS \
	CHUNKMASK(0, K1) \
	CHUNKMASK(8, K2) \
	CHUNKMASK(16, K3) \
	CHUNKMASK(24, K4)

// MASKCONSTS sets the constants CHUNKMASK reads.
#define MASKCONSTS \
	XORQ R13, R13 \
	MOVQ $8, R14 \
	MOVQ $0xff, R15

// LASTCHUNK sets K1 to the mask of the last 8-row chunk of a column of R13
// rows (full if R13 is a multiple of 8) and R14 to the full chunks before
// it; clobbers AX and CX.
#define LASTCHUNK \
	MOVQ R13, CX \
	ANDQ $7, CX \
	MOVQ $0xff, AX \
	TESTQ CX, CX \
	JZ lastMask \
	MOVQ $1, AX \
	SHLQ CX, AX \
	DECQ AX \
lastMask: \
	KMOVW AX, K1 \
	MOVQ R13, R14 \
	SUBQ $1, R14 \
	SHRQ $3, R14

// AXPYCOL sets b[p] −= s·v[p] for the column b at SI, v at DI and s in every
// lane of Z4, over R14 full chunks and the last under K1 (LASTCHUNK);
// clobbers R9–R11, Z2 and Z3.
#define AXPYCOL \
	MOVQ SI, R9 \
	MOVQ DI, R10 \
	MOVQ R14, R11 \
axpy: \
	TESTQ R11, R11 \
	JZ axpyLast \
	VMOVUPD (R9), Z2 \
	VMOVUPD (R10), Z3 \
	VFNMADD231PD Z4, Z3, Z2 \
	VMOVUPD Z2, (R9) \
	ADDQ $64, R9 \
	ADDQ $64, R10 \
	DECQ R11 \
	JMP axpy \
axpyLast: \
	VMOVUPD.Z (R9), K1, Z2 \
	VMOVUPD.Z (R10), K1, Z3 \
	VFNMADD231PD Z4, Z3, Z2 \
	VMOVUPD Z2, K1, (R9)

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
//
// Blocks of 32 rows held in eight accumulators (even and odd columns
// apart), each column's x[q] broadcast once per block.
TEXT ·Gemv(SB), NOSPLIT, $0-48
	MOVQ rows+0(FP), CX
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), DX
	MASKCONSTS
gvBlock:
	TESTQ CX, CX
	JLE gvDone
	BLOCKMASKS
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VPXORD Z2, Z2, Z2
	VPXORD Z3, Z3, Z3
	VPXORD Z4, Z4, Z4
	VPXORD Z5, Z5, Z5
	VPXORD Z6, Z6, Z6
	VPXORD Z7, Z7, Z7
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
gvCol2:
	CMPQ R11, $2
	JLT gvCol1
	VBROADCASTSD (R10), Z8
	VBROADCASTSD 8(R10), Z9
	VMOVUPD.Z (R9), K1, Z12
	VMOVUPD.Z 64(R9), K2, Z13
	VMOVUPD.Z 128(R9), K3, Z14
	VMOVUPD.Z 192(R9), K4, Z15
	VMOVUPD.Z (R9)(R8*1), K1, Z16
	VMOVUPD.Z 64(R9)(R8*1), K2, Z17
	VMOVUPD.Z 128(R9)(R8*1), K3, Z18
	VMOVUPD.Z 192(R9)(R8*1), K4, Z19
	VFMADD231PD Z12, Z8, Z0
	VFMADD231PD Z13, Z8, Z1
	VFMADD231PD Z14, Z8, Z2
	VFMADD231PD Z15, Z8, Z3
	VFMADD231PD Z16, Z9, Z4
	VFMADD231PD Z17, Z9, Z5
	VFMADD231PD Z18, Z9, Z6
	VFMADD231PD Z19, Z9, Z7
	LEAQ (R9)(R8*2), R9
	ADDQ $16, R10
	SUBQ $2, R11
	JMP gvCol2
gvCol1:
	TESTQ R11, R11
	JZ gvStore
	VBROADCASTSD (R10), Z8
	VMOVUPD.Z (R9), K1, Z12
	VMOVUPD.Z 64(R9), K2, Z13
	VMOVUPD.Z 128(R9), K3, Z14
	VMOVUPD.Z 192(R9), K4, Z15
	VFMADD231PD Z12, Z8, Z0
	VFMADD231PD Z13, Z8, Z1
	VFMADD231PD Z14, Z8, Z2
	VFMADD231PD Z15, Z8, Z3
gvStore:
	VADDPD Z4, Z0, Z0
	VADDPD Z5, Z1, Z1
	VADDPD Z6, Z2, Z2
	VADDPD Z7, Z3, Z3
	VMOVUPD Z0, K1, (DX)
	VMOVUPD Z1, K2, 64(DX)
	VMOVUPD Z2, K3, 128(DX)
	VMOVUPD Z3, K4, 192(DX)
	ADDQ $256, SI
	ADDQ $256, DX
	SUBQ $32, CX
	JMP gvBlock
gvDone:
	VZEROUPPER
	RET

// func Ger(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64)
// b[q·ldb+p] += alpha·x[q]·y[p] for p < rows, q < cols.
//
// Blocks of 32 rows with alpha·y held in registers.
TEXT ·Ger(SB), NOSPLIT, $0-56
	MOVQ rows+0(FP), CX
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), DI
	MOVQ y+40(FP), DX
	VBROADCASTSD alpha+48(FP), Z31
	MASKCONSTS
grBlock:
	TESTQ CX, CX
	JLE grDone
	BLOCKMASKS
	VMOVUPD.Z (DX), K1, Z0
	VMOVUPD.Z 64(DX), K2, Z1
	VMOVUPD.Z 128(DX), K3, Z2
	VMOVUPD.Z 192(DX), K4, Z3
	VMULPD Z31, Z0, Z0
	VMULPD Z31, Z1, Z1
	VMULPD Z31, Z2, Z2
	VMULPD Z31, Z3, Z3
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ BX, R11
grCol:
	TESTQ R11, R11
	JZ grNext
	VBROADCASTSD (R10), Z8
	VMOVUPD.Z (R9), K1, Z12
	VMOVUPD.Z 64(R9), K2, Z13
	VMOVUPD.Z 128(R9), K3, Z14
	VMOVUPD.Z 192(R9), K4, Z15
	VFMADD231PD Z0, Z8, Z12
	VFMADD231PD Z1, Z8, Z13
	VFMADD231PD Z2, Z8, Z14
	VFMADD231PD Z3, Z8, Z15
	VMOVUPD Z12, K1, (R9)
	VMOVUPD Z13, K2, 64(R9)
	VMOVUPD Z14, K3, 128(R9)
	VMOVUPD Z15, K4, 192(R9)
	ADDQ R8, R9
	ADDQ $8, R10
	DECQ R11
	JMP grCol
grNext:
	ADDQ $256, SI
	ADDQ $256, DX
	SUBQ $32, CX
	JMP grBlock
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
	LASTCHUNK
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
	AXPYCOL
	ADDQ R8, SI
	DECQ BX
	JMP dacCol
dacDone:
	VZEROUPPER
	RET

// func SymvLower(m int, d *float64, ldd int, v, w *float64)
// w[p] += Σ_q D(p,q)·v[q] for the symmetric m×m D whose lower triangle is
// column-major at d (D(p,q) = d[q·ldd+p], p ≥ q).
//
// Four columns q..q+3 per pass over w: each 8-row chunk of w and v is
// loaded once for the four, column j's dot product with v has its own
// accumulator, and column j's chunks are loaded under Kj+2: in the first
// chunk it masks the rows at and above column j's diagonal, in the others it
// is K1, the chunk's rows. The last m mod 4 columns go one by one.
TEXT ·SymvLower(SB), NOSPLIT, $0-40
	MOVQ m+0(FP), R13
	MOVQ d+8(FP), R14
	MOVQ ldd+16(FP), R8
	SHLQ $3, R8 // ldd·8: from one column to the next
	LEAQ (R8)(R8*2), R10 // 3·ldd·8
	MOVQ v+24(FP), R15
	MOVQ w+32(FP), R12
sv4Block:
	CMPQ R13, $4
	JLT sv1Start
	VBROADCASTSD (R15), Z24
	VBROADCASTSD 8(R15), Z25
	VBROADCASTSD 16(R15), Z26
	VBROADCASTSD 24(R15), Z27
	VPXORD Z20, Z20, Z20
	VPXORD Z21, Z21, Z21
	VPXORD Z22, Z22, Z22
	VPXORD Z23, Z23, Z23
	MOVQ R13, CX // rows of the block, the diagonal rows included
	MOVQ R14, SI
	MOVQ R15, DI
	MOVQ R12, DX
	// The first chunk: column j's rows below its diagonal.
	MOVQ $0xff, AX
	CMPQ CX, $8
	JGE sv4Mask
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
sv4Mask:
	KMOVW AX, K1
	MOVQ AX, BX
	ANDQ $0xfe, BX
	KMOVW BX, K2
	ANDQ $0xfc, BX
	KMOVW BX, K3
	ANDQ $0xf8, BX
	KMOVW BX, K4
	ANDQ $0xf0, BX
	KMOVW BX, K5
	JMP sv4Chunk
sv4Loop:
	MOVQ $0xff, AX
	CMPQ CX, $8
	JGE sv4Full
	MOVQ $1, AX
	SHLQ CX, AX
	DECQ AX
sv4Full:
	KMOVW AX, K1
	KMOVW AX, K2
	KMOVW AX, K3
	KMOVW AX, K4
	KMOVW AX, K5
sv4Chunk:
	VMOVUPD.Z (DI), K1, Z3
	VMOVUPD.Z (DX), K1, Z4
	VMOVUPD.Z (SI), K2, Z12
	VMOVUPD.Z (SI)(R8*1), K3, Z13
	VMOVUPD.Z (SI)(R8*2), K4, Z14
	VMOVUPD.Z (SI)(R10*1), K5, Z15
	VFMADD231PD Z3, Z12, Z20
	VFMADD231PD Z3, Z13, Z21
	VFMADD231PD Z3, Z14, Z22
	VFMADD231PD Z3, Z15, Z23
	VMULPD Z24, Z12, Z6
	VFMADD231PD Z25, Z13, Z6
	VMULPD Z26, Z14, Z7
	VFMADD231PD Z27, Z15, Z7
	VADDPD Z7, Z6, Z6
	VADDPD Z6, Z4, Z4
	VMOVUPD Z4, K1, (DX)
	ADDQ $64, SI
	ADDQ $64, DI
	ADDQ $64, DX
	SUBQ $8, CX
	JG sv4Loop
sv4Sum:
	// w[q+j] += (column j's dot product) + D(q+j,q+j)·v[q+j].
	MOVQ R14, SI
	DIAGSUM(Z20, 0)
	LEAQ 8(SI)(R8*1), SI
	DIAGSUM(Z21, 8)
	LEAQ 8(SI)(R8*1), SI
	DIAGSUM(Z22, 16)
	LEAQ 8(SI)(R8*1), SI
	DIAGSUM(Z23, 24)
	LEAQ 8(SI)(R8*1), R14 // D(q+4,q+4)
	ADDQ $32, R15
	ADDQ $32, R12
	SUBQ $4, R13
	JMP sv4Block
sv1Start:
	ADDQ $8, R8 // (ldd+1)·8: from one diagonal entry to the next
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

// func GerDotAxpyCols(rows, cols int, b *float64, ldb int, x, y *float64, alpha float64, v *float64, tau float64)
// For each column q < cols: b[q·ldb+p] += alpha·x[q]·y[p] (as Ger), then
// s = τ·Σ_p v[p]·b[q·ldb+p] and b[q·ldb+p] −= s·v[p] (as DotAxpyCols),
// the column read from memory once for both.
TEXT ·GerDotAxpyCols(SB), NOSPLIT, $0-72
	MOVQ rows+0(FP), R13
	MOVQ cols+8(FP), BX
	MOVQ b+16(FP), SI
	MOVQ ldb+24(FP), R8
	SHLQ $3, R8
	MOVQ x+32(FP), R15
	MOVQ y+40(FP), R12
	VBROADCASTSD alpha+48(FP), Z30
	MOVQ v+56(FP), DI
	VBROADCASTSD tau+64(FP), Z31
	LASTCHUNK
gdaCol:
	TESTQ BX, BX
	JZ gdaDone
	VPXORD Z0, Z0, Z0
	VPXORD Z1, Z1, Z1
	VBROADCASTSD (R15), Z5
	MOVQ SI, R9
	MOVQ DI, R10
	MOVQ R12, DX
	MOVQ R14, R11
gdaDot:
	TESTQ R11, R11
	JZ gdaDotLast
	VMOVUPD (DX), Z6
	VMULPD Z30, Z6, Z6
	VMOVUPD (R9), Z2
	VFMADD231PD Z6, Z5, Z2
	VMOVUPD Z2, (R9)
	VMOVUPD (R10), Z3
	VFMADD231PD Z3, Z2, Z0
	ADDQ $64, R9
	ADDQ $64, R10
	ADDQ $64, DX
	DECQ R11
	JMP gdaDot
gdaDotLast:
	VMOVUPD.Z (DX), K1, Z6
	VMULPD Z30, Z6, Z6
	VMOVUPD.Z (R9), K1, Z2
	VFMADD231PD Z6, Z5, Z2
	VMOVUPD Z2, K1, (R9)
	VMOVUPD.Z (R10), K1, Z3
	VFMADD231PD Z3, Z2, Z1
	VADDPD Z1, Z0, Z0
	REDUCE
	VMULSD X31, X0, X0
	VBROADCASTSD X0, Z4
	AXPYCOL
	ADDQ R8, SI
	ADDQ $8, R15
	DECQ BX
	JMP gdaCol
gdaDone:
	VZEROUPPER
	RET
