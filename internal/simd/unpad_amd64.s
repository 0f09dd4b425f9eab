//go:build !purego

#include "textflag.h"

DATA lanes8<>+0(SB)/4, $0
DATA lanes8<>+4(SB)/4, $1
DATA lanes8<>+8(SB)/4, $2
DATA lanes8<>+12(SB)/4, $3
DATA lanes8<>+16(SB)/4, $4
DATA lanes8<>+20(SB)/4, $5
DATA lanes8<>+24(SB)/4, $6
DATA lanes8<>+28(SB)/4, $7
GLOBL lanes8<>(SB), RODATA|NOPTR, $32

// func unpad3Args32AVX2(dst, src *int32, n int, t0, k, w2 int32)
// Per lane j: rel = src − (t0 + j); dst = src + k + 2·([rel > w2 − 1] +
// [rel > 2·w2 − 1]), the comparisons giving −1 where true.
TEXT ·unpad3Args32AVX2(SB), NOSPLIT, $0-36
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ n+16(FP), CX
	MOVL t0+24(FP), AX
	VMOVD AX, X0
	VPBROADCASTD X0, Y0          // t0 + j, lane by lane
	VPADDD lanes8<>(SB), Y0, Y0
	MOVL k+28(FP), AX
	VMOVD AX, X1
	VPBROADCASTD X1, Y1          // k
	MOVL w2+32(FP), AX
	DECL AX
	VMOVD AX, X2
	VPBROADCASTD X2, Y2          // w2 − 1
	MOVL w2+32(FP), AX
	ADDL AX, AX
	DECL AX
	VMOVD AX, X3
	VPBROADCASTD X3, Y3          // 2·w2 − 1
	MOVL $8, AX
	VMOVD AX, X4
	VPBROADCASTD X4, Y4          // 8

loop:
	VMOVDQU (SI), Y5
	VPSUBD Y0, Y5, Y6            // rel
	VPCMPGTD Y2, Y6, Y7          // rel > w2 − 1
	VPCMPGTD Y3, Y6, Y8          // rel > 2·w2 − 1
	VPADDD Y8, Y7, Y7
	VPADDD Y7, Y7, Y7
	VPADDD Y1, Y5, Y5
	VPADDD Y7, Y5, Y5
	VMOVDQU Y5, (DI)
	VPADDD Y4, Y0, Y0
	ADDQ $32, SI
	ADDQ $32, DI
	SUBQ $8, CX
	JNZ  loop
	VZEROUPPER
	RET
