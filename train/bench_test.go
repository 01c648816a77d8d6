package train

import (
	"os"
	"testing"
)

// BenchmarkTrainStep times one optimizer step of the default policy config
// (configs/policy.yaml) and reports tokens per second.
func BenchmarkTrainStep(b *testing.B) {
	data, err := os.ReadFile("../configs/policy.yaml")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := ParseConfig(data)
	if err != nil {
		b.Fatal(err)
	}
	cfg.Optim.Steps = 1 << 30
	tr, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	defer tr.Close()
	b.Logf("%d parameters, %d tokens per step", tr.Params(), cfg.Optim.BatchSize*cfg.Model.SeqLen)
	tokens := 0
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		st, err := tr.Step()
		if err != nil {
			b.Fatal(err)
		}
		tokens += st.Tokens
	}
	b.ReportMetric(float64(tokens)/b.Elapsed().Seconds(), "tokens/s")
}
