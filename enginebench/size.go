package enginebench

import (
	"fmt"
	"math"

	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/randmodel"
)

// RandomConfig shapes a random llama of about params parameters the way
// small llamas are shaped: heads of 64 (an even number of them), grouped-
// query attention with half as many KV heads, a SwiGLU width of 8/3
// d_model, about one layer per 64 of d_model, and a 512-token vocabulary
// below 20M parameters (8,000 above). Very small targets get the smallest
// such shape.
func RandomConfig(params float64, t gguf.Type) (randmodel.Config, error) {
	if !(params >= 1e5 && params <= 2e9) {
		return randmodel.Config{}, fmt.Errorf("enginebench: random model of %g parameters: want 1e5 to 2e9", params)
	}
	vocab := 512
	if params > 2e7 {
		vocab = 8000
	}
	best, bestScore := randmodel.Config{}, math.Inf(1)
	for d := 128; d <= 4096; d += 128 {
		heads := d / 64
		kv := heads / 2
		ffn := (8*d/3 + 63) / 64 * 64
		nominal := max(2, d/64)
		for layers := max(1, nominal/2); layers <= 2*nominal; layers++ {
			c := randmodel.Config{Arch: "llama", Vocab: "llama", VocabSize: vocab, DModel: d, Layers: layers,
				Heads: heads, KVHeads: kv, FFN: ffn, Context: 2048, TensorType: t, Seed: 1}
			// Close to the target first; among near ties, the usual depth.
			score := math.Abs(math.Log(float64(ConfigParams(c))/params)) + 0.05*math.Abs(math.Log(float64(layers)/float64(nominal)))
			if score < bestScore {
				best, bestScore = c, score
			}
		}
	}
	return best, nil
}

// ConfigParams counts the weights of a randmodel configuration (its
// vocabulary taken at the size asked for).
func ConfigParams(c randmodel.Config) int {
	kv := c.DModel / c.Heads * c.KVHeads
	layer := 2*c.DModel*c.DModel + 2*c.DModel*kv + 3*c.DModel*c.FFN + 2*c.DModel
	n := c.Layers*layer + c.VocabSize*c.DModel + c.DModel
	if !c.TiedOutput {
		n += c.VocabSize * c.DModel
	}
	return n
}
