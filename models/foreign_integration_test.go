//go:build integration

package models_test

import (
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/pareto-llm/pareto"
	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/gguf"
	"github.com/pareto-llm/pareto/internal/ollamatest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/synth"
)

// TestForeignQ8_0MatchesOllama has Ollama (llama.cpp's quantizer) write a
// Q8_0 version of the shipped policy, loads that file — written by another
// tool, with its own tensor order, metadata and type choices — in pareto's
// engine, and checks greedy solutions of 10 synth problems against
// Ollama's on the same file. Then it corrupts the file and checks that
// loading it fails saying what is wrong.
func TestForeignQ8_0MatchesOllama(t *testing.T) {
	srv := ollamatest.Shared(t)
	// Ollama v0.6.5 refuses to quantize a file whose general.file_type is
	// 0 (F32), so it is given the policy as F16 (written by pareto) and
	// quantizes that.
	const name = "policy-foreign-q8"
	blob := createF16(t, srv, name, "q8_0")
	types := tensorTypes(t, blob)
	if types[gguf.TypeQ8_0] == 0 {
		t.Fatalf("Ollama's file %s has no Q8_0 tensors: %v", blob, types)
	}
	t.Logf("Ollama wrote %s: tensors by type %v", filepath.Base(blob), types)

	t.Run("greedy parity", func(t *testing.T) {
		greedyParity(t, srv, name, blob)
	})
	t.Run("corrupt", func(t *testing.T) {
		data, err := os.ReadFile(blob)
		if err != nil {
			t.Fatal(err)
		}
		f, err := gguf.Parse(data)
		if err != nil {
			t.Fatal(err)
		}
		flipped := append([]byte(nil), data...)
		flipped[0] ^= 0xff
		cases := []struct {
			name string
			data []byte
			want []string // all must appear in the error
		}{
			{"flipped magic", flipped, []string{"not a GGUF file", "magic"}},
			{"three bytes", data[:3], []string{"truncated file", "header"}},
			{"cut in the metadata", data[:200], []string{"metadata count", "cannot fit in a 200-byte file"}},
			{"cut in the tensor descriptors", data[:f.DataOffset-64], []string{"truncated file", "info"}},
			{"cut in the tensor data", data[:len(data)-1000], []string{"out of bounds", "data section"}},
			{"empty", nil, []string{"truncated file"}},
		}
		for _, c := range cases {
			path := filepath.Join(t.TempDir(), "corrupt.gguf")
			if err := os.WriteFile(path, c.data, 0o644); err != nil {
				t.Fatal(err)
			}
			_, err := embedded.Load(path)
			if err == nil {
				t.Errorf("%s: loaded without error", c.name)
				continue
			}
			for _, w := range append(c.want, path) {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("%s: error %q does not mention %q", c.name, err, w)
				}
			}
			t.Logf("%s: %v", c.name, err)
		}
	})
}

// TestF16MatchesOllama is the parity check for F16 weights: Ollama v0.6.5
// cannot convert the F32 policy to F16 itself (it reads file type 0 as
// unknown), so pareto's writer makes the F16 file and Ollama runs it as is.
func TestF16MatchesOllama(t *testing.T) {
	srv := ollamatest.Shared(t)
	const name = "policy-f16"
	blob := createF16(t, srv, name, "")
	if types := tensorTypes(t, blob); types[gguf.TypeF16] == 0 {
		t.Fatalf("Ollama's file %s has no F16 tensors: %v", blob, types)
	}
	greedyParity(t, srv, name, blob)
}

// createF16 has Ollama load the shipped policy, written as F16 by writeF16,
// under name, quantized to quant unless that is empty, and returns the
// file Ollama stores for it.
func createF16(t *testing.T, srv *ollamatest.Server, name, quant string) string {
	t.Helper()
	f16 := filepath.Join(t.TempDir(), "policy-f16.gguf")
	writeF16(t, f16)
	ctx := context.Background()
	var err error
	if quant == "" {
		err = srv.Create(ctx, name, f16)
	} else {
		err = srv.CreateQuantized(ctx, name, f16, quant)
	}
	if err != nil {
		t.Fatalf("%v\n%s", err, srv.Log())
	}
	blob, err := srv.ModelBlob(name)
	if err != nil {
		t.Fatal(err)
	}
	return blob
}

// greedyParity compares greedy solutions of 10 synth test problems (two per
// level) by Ollama's model name and by pareto's engine on path.
func greedyParity(t *testing.T, srv *ollamatest.Server, name, path string) {
	t.Helper()
	ctx := context.Background()
	b, err := embedded.Load(path)
	if err != nil {
		t.Fatalf("pareto cannot load %s: %v", path, err)
	}
	// The same engine in plain float32, to show what the ggml rounding
	// (activations quantized to Q8_0 or rounded to f16) is worth.
	plain, err := embedded.Load(path, embedded.WithNumerics(false, false))
	if err != nil {
		t.Fatal(err)
	}
	test := synth.TestSet()
	same, plainSame := 0, 0
	for i := 0; i < 10; i++ {
		p := test[i*len(test)/10]
		prompt := synth.Prompt(p, true)
		want, _, _, err := srv.Generate(ctx, name, prompt, map[string]any{"temperature": 0, "num_predict": 160, "seed": 0, "repeat_penalty": 1})
		if err != nil {
			t.Fatalf("ollama: %v\n%s", err, srv.Log())
		}
		got, err := b.Generate(ctx, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 160, Temperature: 0}})
		if err != nil {
			t.Fatal(err)
		}
		if pl, err := plain.Generate(ctx, pareto.Request{Prompt: prompt, Params: pareto.Params{MaxTokens: 160, Temperature: 0}}); err != nil {
			t.Fatal(err)
		} else if pl[0].Text == want {
			plainSame++
		}
		if got[0].Text == want {
			same++
			continue
		}
		t.Errorf("problem %s: greedy solutions differ\nollama %q\npareto %q", p.ID, want, got[0].Text)
	}
	t.Logf("%s: %d of 10 greedy solutions identical (%d in plain float32 numerics)", name, same, plainSame)
}

// writeF16 writes the shipped policy to path with its matrices as F16 and
// general.file_type 1 (mostly F16), everything else unchanged.
func writeF16(t *testing.T, path string) {
	t.Helper()
	f, err := gguf.Open(modelstest.Path(t, models.Default))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	b := gguf.NewBuilder()
	for _, k := range f.Keys {
		b.Set(k, f.Metadata[k])
	}
	b.Set("general.file_type", uint32(1))
	for _, ti := range f.Tensors {
		v, err := f.Float32s(ti.Name)
		if err != nil {
			t.Fatal(err)
		}
		typ := gguf.TypeF32 // norms stay F32, as llama.cpp keeps them
		if len(ti.Dims) == 2 {
			typ = gguf.TypeF16
		}
		if err := b.AddTensor(ti.Name, ti.Dims, typ, v); err != nil {
			t.Fatal(err)
		}
	}
	if err := b.WriteFile(path); err != nil {
		t.Fatal(err)
	}
}

// tensorTypes counts a GGUF file's tensors by type.
func tensorTypes(t *testing.T, path string) map[gguf.Type]int {
	t.Helper()
	f, err := gguf.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	n := map[gguf.Type]int{}
	for _, ti := range f.Tensors {
		n[ti.Type]++
	}
	return n
}
