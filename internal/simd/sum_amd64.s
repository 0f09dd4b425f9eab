//go:build !purego

#include "textflag.h"

// func sum8AVX2(v *float32, n int, p *[8]float32)
// One accumulator: lane l adds v[l], v[l+8], v[l+16], … in order.
TEXT ·sum8AVX2(SB), NOSPLIT, $0-24
	MOVQ v+0(FP), SI
	MOVQ n+8(FP), CX
	MOVQ p+16(FP), DI
	VXORPS Y0, Y0, Y0

loop:
	VADDPS (SI), Y0, Y0
	ADDQ $32, SI
	SUBQ $8, CX
	JNZ  loop
	VMOVUPS Y0, (DI)
	VZEROUPPER
	RET
