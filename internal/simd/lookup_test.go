package simd

import (
	"math"
	"math/rand/v2"
	"testing"
)

// TestLookup32 checks the vector table lookup bit for bit against its Go
// twin and the definition, with NaN payloads, signed zeros and infinities in
// the table, every byte value, every tail length and misaligned starts.
func TestLookup32(t *testing.T) {
	if !useAsm {
		t.Log("no AVX2: only the Go twin runs")
	}
	rng := rand.New(rand.NewPCG(3, 4))
	var lut [256]float32
	for i := range lut {
		lut[i] = math.Float32frombits(rng.Uint32())
	}
	for i, v := range specials32 {
		lut[3*i] = v
	}
	lut[255] = math.Float32frombits(0x7fc01234) // a NaN with a payload
	for _, n := range append(lengths(), 256, 784, 784*3+5) {
		for _, off := range []int{0, 1, 7} {
			src := make([]uint8, n+off)
			for i := range src {
				src[i] = uint8(rng.Uint32())
			}
			if n+off >= 256 {
				for i := range 256 {
					src[off+i%n] = uint8(i) // every entry of the table is read
				}
			}
			got, twin := make([]float32, n+off+3), make([]float32, n+off+3)
			got[n+off], got[n+off+1] = 42, 43 // past the end: untouched
			Lookup32(got[off:], src[off:], &lut)
			lookup32Go(twin[off:], src[off:], &lut)
			for i := off; i < n+off; i++ {
				want := math.Float32bits(lut[src[i]])
				if g := math.Float32bits(got[i]); g != want || math.Float32bits(twin[i]) != want {
					t.Fatalf("n=%d off=%d [%d]: byte %d: got %#08x, twin %#08x, want %#08x", n, off, i, src[i], g, math.Float32bits(twin[i]), want)
				}
			}
			if got[n+off] != 42 || got[n+off+1] != 43 {
				t.Fatalf("n=%d off=%d: wrote past the end", n, off)
			}
			for i := range off {
				if got[i] != 0 {
					t.Fatalf("n=%d off=%d: wrote before the start", n, off)
				}
			}
		}
	}
}

// BenchmarkLookup32 is one 128-image batch of MNIST pixels.
func BenchmarkLookup32(b *testing.B) {
	rng := rand.New(rand.NewPCG(5, 6))
	var lut [256]float32
	for i := range lut {
		lut[i] = float32(i) / 255
	}
	src := make([]uint8, 128*784)
	for i := range src {
		src[i] = uint8(rng.Uint32())
	}
	dst := make([]float32, len(src))
	b.SetBytes(int64(len(src)))
	b.Run("asm", func(b *testing.B) {
		for b.Loop() {
			Lookup32(dst, src, &lut)
		}
	})
	b.Run("go", func(b *testing.B) {
		for b.Loop() {
			lookup32Go(dst, src, &lut)
		}
	})
}

// TestPrefetch: prefetching any span, aligned or not, reads nothing into
// the program and changes no byte.
func TestPrefetch(t *testing.T) {
	b := make([]byte, 4096)
	for i := range b {
		b[i] = byte(i * 7)
	}
	want := append([]byte(nil), b...)
	for _, span := range [][2]int{{0, 1}, {63, 64}, {63, 65}, {1, 785}, {0, 4096}, {4095, 4096}, {100, 100}} {
		Prefetch(b[span[0]:span[1]])
	}
	Prefetch(nil)
	for i := range b {
		if b[i] != want[i] {
			t.Fatalf("byte %d changed", i)
		}
	}
}
