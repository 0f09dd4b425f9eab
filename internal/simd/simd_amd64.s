//go:build !purego

#include "textflag.h"

// func reluMask32AVX2(dst, v, x *float32, n int)
// n is a positive multiple of 8. dst[i] = v[i] & (x[i] > 0 ? ~0 : 0).
// VCMPPS predicate 0x1E is GT_OQ: false for NaN, as Go's x > 0.
TEXT ·reluMask32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPS Y15, Y15, Y15
	CMPQ CX, $32
	JLT  tail8_32

loop32_32:
	VMOVUPS (DX), Y0
	VMOVUPS 32(DX), Y1
	VMOVUPS 64(DX), Y2
	VMOVUPS 96(DX), Y3
	VCMPPS  $0x1e, Y15, Y0, Y0
	VCMPPS  $0x1e, Y15, Y1, Y1
	VCMPPS  $0x1e, Y15, Y2, Y2
	VCMPPS  $0x1e, Y15, Y3, Y3
	VANDPS  (SI), Y0, Y0
	VANDPS  32(SI), Y1, Y1
	VANDPS  64(SI), Y2, Y2
	VANDPS  96(SI), Y3, Y3
	VMOVUPS Y0, (DI)
	VMOVUPS Y1, 32(DI)
	VMOVUPS Y2, 64(DI)
	VMOVUPS Y3, 96(DI)
	ADDQ $128, DX
	ADDQ $128, SI
	ADDQ $128, DI
	SUBQ $32, CX
	CMPQ CX, $32
	JGE  loop32_32

tail8_32:
	TESTQ CX, CX
	JZ    done32

loop8_32:
	VMOVUPS (DX), Y0
	VCMPPS  $0x1e, Y15, Y0, Y0
	VANDPS  (SI), Y0, Y0
	VMOVUPS Y0, (DI)
	ADDQ $32, DX
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop8_32

done32:
	VZEROUPPER
	RET

// func reluMask64AVX2(dst, v, x *float64, n int)
// n is a positive multiple of 4.
TEXT ·reluMask64AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ v+8(FP), SI
	MOVQ x+16(FP), DX
	MOVQ n+24(FP), CX
	VXORPD Y15, Y15, Y15

loop4_64:
	VMOVUPD (DX), Y0
	VCMPPD  $0x1e, Y15, Y0, Y0
	VANDPD  (SI), Y0, Y0
	VMOVUPD Y0, (DI)
	ADDQ $32, DX
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $4, CX
	JNZ  loop4_64
	VZEROUPPER
	RET

// func addRows32AVX2(dst, a *float32, rows, cols, n int)
// For each 8-column strip j < n (n a positive multiple of 8, rows ≥ 1;
// cols is the row stride of a):
// acc = dst[j:j+8]; acc += a[r·cols+j : +8] for r = 0…rows−1 in order; store.
TEXT ·addRows32AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $2, R9            // row stride in bytes

strip32:
	VMOVUPS (DI), Y0
	MOVQ SI, AX
	MOVQ R8, BX

rows32:
	VADDPS (AX), Y0, Y0
	ADDQ R9, AX
	DECQ BX
	JNZ  rows32
	VMOVUPS Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  strip32
	VZEROUPPER
	RET

// func addRows64AVX2(dst, a *float64, rows, cols, n int)
// As addRows32AVX2 with 4-column strips of float64 (n a positive multiple of 4).
TEXT ·addRows64AVX2(SB), NOSPLIT, $0-40
	MOVQ dst+0(FP), DI
	MOVQ a+8(FP), SI
	MOVQ rows+16(FP), R8
	MOVQ cols+24(FP), R9
	MOVQ n+32(FP), CX
	SHLQ $3, R9

strip64:
	VMOVUPD (DI), Y0
	MOVQ SI, AX
	MOVQ R8, BX

rows64:
	VADDPD (AX), Y0, Y0
	ADDQ R9, AX
	DECQ BX
	JNZ  rows64
	VMOVUPD Y0, (DI)
	ADDQ $32, DI
	ADDQ $32, SI
	SUBQ $4, CX
	JNZ  strip64
	VZEROUPPER
	RET

// func widenAVX2(dst *float64, src *float32, n int)
// n is a positive multiple of 8. float32 → float64 is exact (VCVTPS2PD).
TEXT ·widenAVX2(SB), NOSPLIT, $0-24
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX

loopw:
	VCVTPS2PD (SI), Y0
	VCVTPS2PD 16(SI), Y1
	VMOVUPD Y0, (DI)
	VMOVUPD Y1, 32(DI)
	ADDQ $32, SI
	ADDQ $64, DI
	SUBQ $8, CX
	JNZ  loopw
	VZEROUPPER
	RET

// func nonFinite32AVX2(x *float32, n int) bool
// n is a positive multiple of 32. True if some x[i] has an all-ones exponent.
TEXT ·nonFinite32AVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVL $0x7f800000, AX
	VMOVQ AX, X0
	VPBROADCASTD X0, Y0
	VPXOR Y1, Y1, Y1

loopnf32:
	VPAND (SI), Y0, Y2
	VPAND 32(SI), Y0, Y3
	VPAND 64(SI), Y0, Y4
	VPAND 96(SI), Y0, Y5
	VPCMPEQD Y0, Y2, Y2
	VPCMPEQD Y0, Y3, Y3
	VPCMPEQD Y0, Y4, Y4
	VPCMPEQD Y0, Y5, Y5
	VPOR Y2, Y3, Y2
	VPOR Y4, Y5, Y4
	VPOR Y2, Y1, Y1
	VPOR Y4, Y1, Y1
	ADDQ $128, SI
	SUBQ $32, CX
	JNZ  loopnf32
	VPTEST Y1, Y1
	SETNE ret+16(FP)
	VZEROUPPER
	RET

// func nonFinite64AVX2(x *float64, n int) bool
// n is a positive multiple of 16.
TEXT ·nonFinite64AVX2(SB), NOSPLIT, $0-17
	MOVQ x+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ $0x7ff0000000000000, AX
	VMOVQ AX, X0
	VPBROADCASTQ X0, Y0
	VPXOR Y1, Y1, Y1

loopnf64:
	VPAND (SI), Y0, Y2
	VPAND 32(SI), Y0, Y3
	VPAND 64(SI), Y0, Y4
	VPAND 96(SI), Y0, Y5
	VPCMPEQQ Y0, Y2, Y2
	VPCMPEQQ Y0, Y3, Y3
	VPCMPEQQ Y0, Y4, Y4
	VPCMPEQQ Y0, Y5, Y5
	VPOR Y2, Y3, Y2
	VPOR Y4, Y5, Y4
	VPOR Y2, Y1, Y1
	VPOR Y4, Y1, Y1
	ADDQ $128, SI
	SUBQ $16, CX
	JNZ  loopnf64
	VPTEST Y1, Y1
	SETNE ret+16(FP)
	VZEROUPPER
	RET

DATA lanes32<>+0(SB)/4, $0
DATA lanes32<>+4(SB)/4, $1
DATA lanes32<>+8(SB)/4, $2
DATA lanes32<>+12(SB)/4, $3
DATA lanes32<>+16(SB)/4, $4
DATA lanes32<>+20(SB)/4, $5
DATA lanes32<>+24(SB)/4, $6
DATA lanes32<>+28(SB)/4, $7
GLOBL lanes32<>(SB), RODATA, $32

// STEP3 compares the 8 windows' tap at byte offset off from row pointer R
// with the running maximum Y0 and, where strictly greater (VCMPPS GT_OQ:
// false for NaN on either side, as Go's >), takes it and its offset OFF.
#define STEP3(off, R, OFF) \
	VMOVUPS   off(R), Y2 \
	VCMPPS    $0x1e, Y0, Y2, Y3 \
	VBLENDVPS Y3, Y2, Y0, Y0 \
	VBLENDVPS Y3, OFF, Y1, Y1

// func maxPool3Row32AVX2(x *float32, w int, y *float32, arg *int32, at, n int)
// GPR→XMM moves are VEX-encoded (VMOVQ): a legacy-SSE MOVQ after a 256-bit
// VEX instruction pays the AVX–SSE transition penalty, several times the
// cost of the whole row.
// x points at the first window's top-left element; n is a positive multiple
// of 8. The scan order of maxPool3Row32Go, 8 windows per iteration.
TEXT ·maxPool3Row32AVX2(SB), NOSPLIT, $0-48
	MOVQ x+0(FP), SI
	MOVQ w+8(FP), BX
	MOVQ y+16(FP), DI
	MOVQ arg+24(FP), DX
	MOVQ at+32(FP), AX
	MOVQ n+40(FP), CX
	MOVQ $1, R8
	VMOVQ R8, X4
	VPBROADCASTD X4, Y4
	MOVQ $2, R8
	VMOVQ R8, X5
	VPBROADCASTD X5, Y5
	VMOVQ BX, X6
	VPBROADCASTD X6, Y6
	LEAQ 1(BX), R8
	VMOVQ R8, X7
	VPBROADCASTD X7, Y7
	LEAQ 2(BX), R8
	VMOVQ R8, X8
	VPBROADCASTD X8, Y8
	LEAQ (BX)(BX*1), R9
	VMOVQ R9, X9
	VPBROADCASTD X9, Y9
	LEAQ 1(R9), R8
	VMOVQ R8, X10
	VPBROADCASTD X10, Y10
	LEAQ 2(R9), R8
	VMOVQ R8, X11
	VPBROADCASTD X11, Y11
	VMOVQ AX, X12
	VPBROADCASTD X12, Y12
	VPADDD lanes32<>(SB), Y12, Y12
	MOVQ $8, R8
	VMOVQ R8, X13
	VPBROADCASTD X13, Y13
	LEAQ (SI)(BX*4), R10
	LEAQ (R10)(BX*4), R11

loopmp3:
	VMOVUPS (SI), Y0
	VPXOR   Y1, Y1, Y1
	STEP3(4, SI, Y4)
	STEP3(8, SI, Y5)
	STEP3(0, R10, Y6)
	STEP3(4, R10, Y7)
	STEP3(8, R10, Y8)
	STEP3(0, R11, Y9)
	STEP3(4, R11, Y10)
	STEP3(8, R11, Y11)
	VPADDD  Y12, Y1, Y1
	VMOVUPS Y0, (DI)
	VMOVDQU Y1, (DX)
	VPADDD  Y13, Y12, Y12
	ADDQ $32, SI
	ADDQ $32, R10
	ADDQ $32, R11
	ADDQ $32, DI
	ADDQ $32, DX
	SUBQ $8, CX
	JNZ  loopmp3
	VZEROUPPER
	RET
