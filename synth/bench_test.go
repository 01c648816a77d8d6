package synth

import "testing"

func BenchmarkNext(b *testing.B) {
	g := Generator(1)
	for i := 0; i < b.N; i++ {
		g.Next(0)
	}
}
