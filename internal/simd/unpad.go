package simd

// Unpad3Args32 converts one output row of MaxPool3Row32's arguments on a
// plane padded by one element on each side (row length w2 = W + 2) into
// indices of the unpadded plane: src[j] is the maximum's index in the
// padded plane of the window whose top-left corner is t0 + j there, at row
// d ∈ {0, 1, 2} of the window (d = ⌊(src[j] − t0 − j)/w2⌋), and
// dst[j] = src[j] + k − 2·d, k being the unpadded index of the corner of
// window 0 minus t0 (each padded row is two elements longer).
func Unpad3Args32(dst, src []int32, t0, k, w2 int32) {
	dst = dst[:len(src)]
	n := len(src)
	if !useAsm || n < 8 {
		unpad3Args32Go(dst, src, t0, k, w2)
		return
	}
	unpad3Args32AVX2(&dst[0], &src[0], n&^7, t0, k, w2)
	if n&7 != 0 {
		// The last 8 elements again: the ones before come out the same.
		unpad3Args32AVX2(&dst[n-8], &src[n-8], 8, t0+int32(n-8), k, w2)
	}
}

// unpad3Args32Go is Unpad3Args32's Go twin.
func unpad3Args32Go(dst, src []int32, t0, k, w2 int32) {
	dst = dst[:len(src)]
	for j, a := range src {
		rel, d := a-t0-int32(j), int32(0)
		if rel >= w2 {
			d++
		}
		if rel >= 2*w2 {
			d++
		}
		dst[j] = a + k - 2*d
	}
}
