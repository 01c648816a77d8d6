package enginebench

import (
	"math"
	"testing"

	"github.com/pareto-llm/pareto/engine"
)

func TestRoofline(t *testing.T) {
	m, err := engine.Load(tinyModel(t))
	if err != nil {
		t.Fatal(err)
	}
	wb := weightBytes(m)
	if wb <= 0 || wb > 4*m.Params()+4*m.Config.DModel {
		t.Fatalf("weightBytes %d for %d parameters", wb, m.Params())
	}
	r := &Report{Model: ModelInfo{Params: 50e6},
		Workloads: []Workload{{Name: Decode, Pareto: Figure{Median: 100}}, {Name: Search, Pareto: Figure{Median: 300}}},
		Kernels:   []Kernel{{Name: "attn_q", Engine: 500}, {Name: "square", Engine: 120}}}
	// Each run's decode is set beside its own bandwidth: run 2's decode is
	// twice run 1's at twice the bandwidth, so both have one fraction,
	// where dividing the median decode by the median bandwidth would not.
	bws := []Bandwidth{{Read: 30, Copy: 40}, {Read: 60, Copy: 80}, {Read: 50, Copy: 45}}
	rf := roofline(r, m, bws, []float64{100, 200, 100}, 90)
	if want := 100 * float64(wb) / 40e9; math.Abs(rf.DecodeFraction-want) > 1e-12 {
		t.Errorf("decode fraction %g, want %g", rf.DecodeFraction, want)
	}
	if rf.Bandwidth != (Bandwidth{Read: 50, Copy: 45}) {
		t.Errorf("bandwidth %+v, want the medians read 50, copy 45", rf.Bandwidth)
	}
	if want := 300 * 2 * 50e6 / 1e9 / 120; math.Abs(rf.SearchFraction-want) > 1e-12 || rf.SquareGFLOPs != 120 {
		t.Errorf("search fraction %g (square %g), want %g", rf.SearchFraction, rf.SquareGFLOPs, want)
	}
	if rf.StreamFraction != 90.0/120 {
		t.Errorf("search's matmuls alone: fraction %g, want %g", rf.StreamFraction, 90.0/120)
	}
	r.Roofline = rf
	fs := floors(r)
	var names []string
	for _, f := range fs {
		names = append(names, f.What)
		if f.What == SearchRoofline && f.Pass != (rf.SearchFraction >= 0.6) {
			t.Errorf("search floor %+v", f)
		}
	}
	if len(fs) != 2 {
		t.Fatalf("floors %v, want the decode bandwidth and search roofline floors", names)
	}
	r.Model.Params = 2e6 // a model in cache: no roofline floors
	if fs := floors(r); len(fs) != 0 {
		t.Fatalf("small model got floors %+v", fs)
	}
}

func TestMeasureBandwidthIsPlausible(t *testing.T) {
	if testing.Short() {
		t.Skip("reads 512 MiB")
	}
	bw := measureBandwidth(1)
	for _, v := range []float64{bw.Read, bw.Copy} {
		if v < 0.5 || v > 2000 {
			t.Fatalf("bandwidth %+v GB/s is not a memory bandwidth", bw)
		}
	}
}
