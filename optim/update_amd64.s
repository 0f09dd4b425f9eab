//go:build !purego

#include "textflag.h"

// Vector kernels of the float32 update rules (update_amd64.go). Each lane
// does what applyGo does for one element: widen θ, g and the moments to
// float64 (VCVTPS2PD, exact), apply the rule with the scalar code's
// operations in its order (no FMA: each product is rounded before it is
// added, as the scalar code's float64(·) conversions demand), and narrow
// with VCVTPD2PS, which rounds to nearest even under Go's MXCSR like the
// scalar CVTSD2SS. VSQRTPD and VDIVPD are correctly rounded, as math.Sqrt
// and /. The …Z kernels do 8 elements per iteration in zmm registers
// (AVX-512F), the …Y kernels 4 in ymm registers (AVX2). In Go's operand
// order, VSUBPD b, a, d computes d = a − b.
//
// Registers: DI θ, SI g, R8/R9 moments, CX n, AX element index.

// func sgdZ(th, grad *float32, n int, lr float64) (finite bool)
//
// finite reports whether every new θ is finite: Y3 accumulates θ·0, which
// is ±0 for a finite θ and NaN for ±Inf or NaN.
TEXT ·sgdZ(SB), NOSPLIT, $0-33
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD lr+24(FP), Z16
	VXORPS       Y2, Y2, Y2
	VXORPS       Y3, Y3, Y3
	XORQ         AX, AX

sgdZloop:
	VCVTPS2PD (DI)(AX*4), Z0 // θ
	VCVTPS2PD (SI)(AX*4), Z1 // g
	VMULPD    Z1, Z16, Z1    // lr·g
	VSUBPD    Z1, Z0, Z0     // θ − lr·g
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	VMULPS    Y2, Y0, Y4     // θ·0
	VADDPS    Y4, Y3, Y3
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       sgdZloop
	VCMPPS    $3, Y3, Y3, Y5 // unordered: NaN lanes
	VMOVMSKPS Y5, AX
	TESTL     AX, AX
	SETEQ     finite+32(FP)
	VZEROUPPER
	RET

// func sgdY(th, grad *float32, n int, lr float64)
TEXT ·sgdY(SB), NOSPLIT, $0-32
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD lr+24(FP), Y8
	XORQ         AX, AX

sgdYloop:
	VCVTPS2PD  (DI)(AX*4), Y0
	VCVTPS2PD  (SI)(AX*4), Y1
	VMULPD     Y1, Y8, Y1
	VSUBPD     Y1, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)(AX*4)
	ADDQ       $4, AX
	CMPQ       AX, CX
	JLT        sgdYloop
	VZEROUPPER
	RET

// func sgdWDZ(th, grad *float32, n int, lr, wd float64)
TEXT ·sgdWDZ(SB), NOSPLIT, $0-40
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD lr+24(FP), Z16
	VBROADCASTSD wd+32(FP), Z17
	XORQ         AX, AX

sgdWDZloop:
	VCVTPS2PD (DI)(AX*4), Z0 // θ
	VCVTPS2PD (SI)(AX*4), Z1 // g
	VMULPD    Z0, Z17, Z2    // wd·θ
	VADDPD    Z2, Z1, Z1     // g + wd·θ
	VMULPD    Z1, Z16, Z1    // lr·(g + wd·θ)
	VSUBPD    Z1, Z0, Z0     // θ − lr·(g + wd·θ)
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       sgdWDZloop
	VZEROUPPER
	RET

// func sgdWDY(th, grad *float32, n int, lr, wd float64)
TEXT ·sgdWDY(SB), NOSPLIT, $0-40
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         n+16(FP), CX
	VBROADCASTSD lr+24(FP), Y8
	VBROADCASTSD wd+32(FP), Y9
	XORQ         AX, AX

sgdWDYloop:
	VCVTPS2PD  (DI)(AX*4), Y0
	VCVTPS2PD  (SI)(AX*4), Y1
	VMULPD     Y0, Y9, Y2
	VADDPD     Y2, Y1, Y1
	VMULPD     Y1, Y8, Y1
	VSUBPD     Y1, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)(AX*4)
	ADDQ       $4, AX
	CMPQ       AX, CX
	JLT        sgdWDYloop
	VZEROUPPER
	RET

// func momentumZ(th, grad, buf *float32, n int, lr, wd, mu float64)
TEXT ·momentumZ(SB), NOSPLIT, $0-56
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         buf+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSD lr+32(FP), Z16
	VBROADCASTSD wd+40(FP), Z17
	VBROADCASTSD mu+48(FP), Z18
	XORQ         AX, AX

momentumZloop:
	VCVTPS2PD (DI)(AX*4), Z0 // θ
	VCVTPS2PD (SI)(AX*4), Z1 // g
	VCVTPS2PD (R8)(AX*4), Z2 // buf
	VMULPD    Z2, Z18, Z2    // μ·buf
	VADDPD    Z1, Z2, Z2     // μ·buf + g
	VMULPD    Z0, Z17, Z3    // wd·θ
	VADDPD    Z3, Z2, Z2     // b = (μ·buf + g) + wd·θ
	VCVTPD2PS Z2, Y3
	VMOVUPS   Y3, (R8)(AX*4)
	VMULPD    Z2, Z16, Z2    // lr·b
	VSUBPD    Z2, Z0, Z0     // θ − lr·b
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       momentumZloop
	VZEROUPPER
	RET

// func momentumY(th, grad, buf *float32, n int, lr, wd, mu float64)
TEXT ·momentumY(SB), NOSPLIT, $0-56
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         buf+16(FP), R8
	MOVQ         n+24(FP), CX
	VBROADCASTSD lr+32(FP), Y8
	VBROADCASTSD wd+40(FP), Y9
	VBROADCASTSD mu+48(FP), Y10
	XORQ         AX, AX

momentumYloop:
	VCVTPS2PD  (DI)(AX*4), Y0
	VCVTPS2PD  (SI)(AX*4), Y1
	VCVTPS2PD  (R8)(AX*4), Y2
	VMULPD     Y2, Y10, Y2
	VADDPD     Y1, Y2, Y2
	VMULPD     Y0, Y9, Y3
	VADDPD     Y3, Y2, Y2
	VCVTPD2PSY Y2, X3
	VMOVUPS    X3, (R8)(AX*4)
	VMULPD     Y2, Y8, Y2
	VSUBPD     Y2, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)(AX*4)
	ADDQ       $4, AX
	CMPQ       AX, CX
	JLT        momentumYloop
	VZEROUPPER
	RET

// func adamZ(th, grad, m, v *float32, n int, c *adamCoef)
TEXT ·adamZ(SB), NOSPLIT, $0-48
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), DX
	VBROADCASTSD 0(DX), Z16      // wd
	VBROADCASTSD 8(DX), Z17      // β1
	VBROADCASTSD 16(DX), Z18     // 1 − β1
	VBROADCASTSD 24(DX), Z19     // β2
	VBROADCASTSD 32(DX), Z20     // 1 − β2
	VBROADCASTSD 40(DX), Z21     // step size
	VBROADCASTSD 48(DX), Z22     // √(1 − β2^t)
	VBROADCASTSD 56(DX), Z23     // eps
	XORQ         AX, AX

adamZloop:
	VCVTPS2PD (DI)(AX*4), Z0 // θ
	VCVTPS2PD (SI)(AX*4), Z1 // g
	VMULPD    Z0, Z16, Z2    // wd·θ
	VADDPD    Z2, Z1, Z1     // gk = g + wd·θ
	VCVTPS2PD (R8)(AX*4), Z2 // m
	VMULPD    Z2, Z17, Z2    // β1·m
	VMULPD    Z1, Z18, Z3    // (1−β1)·gk
	VADDPD    Z3, Z2, Z2     // mk
	VCVTPS2PD (R9)(AX*4), Z3 // v
	VMULPD    Z3, Z19, Z3    // β2·v
	VMULPD    Z1, Z20, Z4    // (1−β2)·gk
	VMULPD    Z1, Z4, Z4     // ((1−β2)·gk)·gk
	VADDPD    Z4, Z3, Z3     // vk
	VCVTPD2PS Z2, Y4
	VMOVUPS   Y4, (R8)(AX*4)
	VCVTPD2PS Z3, Y4
	VMOVUPS   Y4, (R9)(AX*4)
	VSQRTPD   Z3, Z3         // √vk
	VDIVPD    Z22, Z3, Z3    // √vk / √(1−β2^t)
	VADDPD    Z23, Z3, Z3    // … + eps
	VMULPD    Z2, Z21, Z2    // step·mk
	VDIVPD    Z3, Z2, Z2     // step·mk / (…)
	VSUBPD    Z2, Z0, Z0     // θ − …
	VCVTPD2PS Z0, Y0
	VMOVUPS   Y0, (DI)(AX*4)
	ADDQ      $8, AX
	CMPQ      AX, CX
	JLT       adamZloop
	VZEROUPPER
	RET

// func adamY(th, grad, m, v *float32, n int, c *adamCoef)
TEXT ·adamY(SB), NOSPLIT, $0-48
	MOVQ         th+0(FP), DI
	MOVQ         grad+8(FP), SI
	MOVQ         m+16(FP), R8
	MOVQ         v+24(FP), R9
	MOVQ         n+32(FP), CX
	MOVQ         c+40(FP), DX
	VBROADCASTSD 0(DX), Y5
	VBROADCASTSD 8(DX), Y6
	VBROADCASTSD 16(DX), Y7
	VBROADCASTSD 24(DX), Y8
	VBROADCASTSD 32(DX), Y9
	VBROADCASTSD 40(DX), Y10
	VBROADCASTSD 48(DX), Y11
	VBROADCASTSD 56(DX), Y12
	XORQ         AX, AX

adamYloop:
	VCVTPS2PD  (DI)(AX*4), Y0
	VCVTPS2PD  (SI)(AX*4), Y1
	VMULPD     Y0, Y5, Y2
	VADDPD     Y2, Y1, Y1
	VCVTPS2PD  (R8)(AX*4), Y2
	VMULPD     Y2, Y6, Y2
	VMULPD     Y1, Y7, Y3
	VADDPD     Y3, Y2, Y2
	VCVTPS2PD  (R9)(AX*4), Y3
	VMULPD     Y3, Y8, Y3
	VMULPD     Y1, Y9, Y4
	VMULPD     Y1, Y4, Y4
	VADDPD     Y4, Y3, Y3
	VCVTPD2PSY Y2, X4
	VMOVUPS    X4, (R8)(AX*4)
	VCVTPD2PSY Y3, X4
	VMOVUPS    X4, (R9)(AX*4)
	VSQRTPD    Y3, Y3
	VDIVPD     Y11, Y3, Y3
	VADDPD     Y12, Y3, Y3
	VMULPD     Y2, Y10, Y2
	VDIVPD     Y3, Y2, Y2
	VSUBPD     Y2, Y0, Y0
	VCVTPD2PSY Y0, X0
	VMOVUPS    X0, (DI)(AX*4)
	ADDQ       $4, AX
	CMPQ       AX, CX
	JLT        adamYloop
	VZEROUPPER
	RET
