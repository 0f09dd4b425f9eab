package simd

// Sum8 is the sum of v in 8 interleaved partials: element i is added to
// partial i mod 8 in order, and the partials are added pairwise at the end,
// ((p0 + p1) + (p2 + p3)) + ((p4 + p5) + (p6 + p7)). It is a bias
// gradient's sum over an image without the latency chain of one running
// sum; the assembly keeps the 8 partials in the lanes of one vector.
func Sum8(v []float32) float32 {
	if !useAsm || len(v) < 8 {
		return sum8Go(v)
	}
	var p [8]float32
	n := len(v) &^ 7
	sum8AVX2(&v[0], n, &p)
	return sum8Tail(&p, v, n)
}

// sum8Go is Sum8's Go twin.
func sum8Go(v []float32) float32 {
	var p [8]float32
	i := 0
	for ; i+8 <= len(v); i += 8 {
		w := v[i : i+8 : i+8]
		for l := range p {
			p[l] += w[l]
		}
	}
	return sum8Tail(&p, v, i)
}

// sum8Tail adds v[n:] (fewer than 8 elements) into the partials p and
// returns their pairwise sum.
func sum8Tail(p *[8]float32, v []float32, n int) float32 {
	for j, x := range v[n:] {
		p[j] += x
	}
	return ((p[0] + p[1]) + (p[2] + p[3])) + ((p[4] + p[5]) + (p[6] + p[7]))
}
