package simd

// Lookup32 sets dst[i] = lut[src[i]] for i < len(src) (the bits of the
// table entry, copied); dst must be at least as long as src. It is the
// byte → feature map of a pixel batch.
func Lookup32(dst []float32, src []uint8, lut *[256]float32) {
	dst = dst[:len(src)]
	n := 0
	if useAsm && len(src) >= 32 {
		n = len(src) &^ 31
		lookup32AVX2(&dst[0], &src[0], &lut[0], n)
	}
	lookup32Go(dst[n:], src[n:], lut)
}

func lookup32Go(dst []float32, src []uint8, lut *[256]float32) {
	dst = dst[:len(src)]
	for i, v := range src {
		dst[i] = lut[v]
	}
}

// Prefetch asks the CPU to bring the cache lines of b towards the core, so
// that reading b soon after does not wait on memory: a batch gathered from
// random rows of a large dataset issues the next rows' fetches while it
// converts the current one. It changes no data; without assembly it does
// nothing.
func Prefetch(b []byte) {
	if useAsm && len(b) > 0 {
		prefetchAsm(&b[0], len(b))
	}
}
