//go:build !amd64 || purego

package sy2sb

// Built reports that this build has no assembly kernels; the functions
// below are never called.
const Built = false

func MulA12x16(k int, a *float64, lda int, b, c *float64, ldc int) {
	panic("sy2sb: no assembly in this build")
}

func SetAt12x16(k int, a *float64, lda int, b, c *float64, ldc int) {
	panic("sy2sb: no assembly in this build")
}

func SetA12x16(k int, a *float64, lda int, b, c *float64, ldc int) {
	panic("sy2sb: no assembly in this build")
}
