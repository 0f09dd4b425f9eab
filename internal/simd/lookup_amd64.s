//go:build !purego

#include "textflag.h"

// func lookup32AVX2(dst *float32, src *uint8, lut *float32, n int)
// n is a positive multiple of 32. dst[i] = lut[src[i]]: each group of 8
// bytes is zero-extended to 8 dword indices (VPMOVZXBD) and the 32-bit
// entries are fetched by VPGATHERDD, an integer gather, so the bits are
// copied as they are. The gather clears its mask, which is reset to all
// ones before each one.
TEXT ·lookup32AVX2(SB), NOSPLIT, $0-32
	MOVQ dst+0(FP), DI
	MOVQ src+8(FP), SI
	MOVQ lut+16(FP), DX
	MOVQ n+24(FP), CX
	VPCMPEQD Y15, Y15, Y15

loop:
	VPMOVZXBD (SI), Y0
	VPMOVZXBD 8(SI), Y1
	VPMOVZXBD 16(SI), Y2
	VPMOVZXBD 24(SI), Y3
	VMOVDQU Y15, Y8
	VMOVDQU Y15, Y9
	VMOVDQU Y15, Y10
	VMOVDQU Y15, Y11
	VPGATHERDD Y8, (DX)(Y0*4), Y4
	VPGATHERDD Y9, (DX)(Y1*4), Y5
	VPGATHERDD Y10, (DX)(Y2*4), Y6
	VPGATHERDD Y11, (DX)(Y3*4), Y7
	VMOVDQU Y4, (DI)
	VMOVDQU Y5, 32(DI)
	VMOVDQU Y6, 64(DI)
	VMOVDQU Y7, 96(DI)
	ADDQ $32, SI
	ADDQ $128, DI
	SUBQ $32, CX
	JNZ  loop
	VZEROUPPER
	RET

// func prefetchAsm(p *byte, n int)
// n ≥ 1. PREFETCHT0 on every 64-byte line that [p, p+n) touches; a
// prefetch never faults and changes no memory.
TEXT ·prefetchAsm(SB), NOSPLIT, $0-16
	MOVQ p+0(FP), SI
	MOVQ n+8(FP), CX
	LEAQ -1(SI)(CX*1), CX // the last byte
	ANDQ $-64, SI
	ANDQ $-64, CX

loopp:
	PREFETCHT0 (SI)
	ADDQ $64, SI
	CMPQ SI, CX
	JLE  loopp
	RET
