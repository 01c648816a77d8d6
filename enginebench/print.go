package enginebench

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// Print writes the report as tables: the workloads with pareto, Ollama,
// llama.cpp (when measured) and the ratios, the tokens each figure's runs
// generated or read, then the kernels, then the floors with pass or fail.
func (r *Report) Print(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	m := r.Model
	fmt.Fprintf(w, "model    %s (%s): %s, %s parameters, d_model %d, %d layers, FFN %d, vocab %d, %s, context %d\n",
		m.Name, m.Path, m.Arch, human(float64(m.Params)), m.DModel, m.Layers, m.FFN, m.Vocab, m.Weights, m.Context)
	if r.Against != "" {
		fmt.Fprintf(w, "against  ollama %s, model %s, runner CPU features: %s\n", r.Against, r.OllamaModel, r.OllamaCPU)
	}
	if lc := r.LlamaCpp; lc != nil {
		if lc.Bench != "" {
			fmt.Fprintf(w, "against  llama.cpp %s, build %s, %d threads\n", lc.Bench, lc.Build, lc.Threads)
		}
		if bb := lc.Batched; bb != nil {
			build := bb.Build
			if build == "" {
				build = "unknown"
			}
			fmt.Fprintf(w, "against  llama.cpp %s (search rows), build %s, %d threads\n", bb.Bench, build, bb.Threads)
		}
	}
	fmt.Fprintf(w, "machine  %s; medians of %d runs\n", r.Machine, r.Runs)
	if r.Load != "" {
		fmt.Fprintf(w, "load     %s (1, 5, 15 min averages)\n", r.Load)
	}
	for _, n := range r.Notes {
		fmt.Fprintf(w, "note     %s\n", n)
	}
	fmt.Fprintln(w)

	floorOf := map[string]Floor{}
	for _, f := range r.Floors {
		floorOf[f.What] = f
	}
	if err := r.printWorkloads(w, tw); err != nil {
		return err
	}

	if len(r.Kernels) > 0 {
		fmt.Fprintln(w)
		fmt.Fprintf(tw, "matmul kernel\tM x N x K\t%14s\t%16s\t%6s\tfloor\t\n", "engine GFLOP/s", "openblas GFLOP/s", "ratio")
		for _, k := range r.Kernels {
			bl, ratio, fl, pass := "-", "-", "", ""
			if k.OpenBLAS > 0 {
				bl, ratio = fmt.Sprintf("%.1f", k.OpenBLAS), fmt.Sprintf("%.2f", k.Ratio)
				if k.Name == "square" {
					f := floorOf["matmul 512x512x512 vs openblas"]
					fl, pass = fmt.Sprintf(">= %.2f (aim %.2f)", f.Min, f.Aim), passFail(f.Pass)
				}
			}
			fmt.Fprintf(tw, "%s\t%d x %d x %d\t%14.1f\t%16s\t%6s\t%s\t%s\n", k.Name, k.M, k.N, k.K, k.Engine, bl, ratio, fl, pass)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
		if r.OpenBLAS != "" {
			fmt.Fprintf(w, "openblas: %s\n", r.OpenBLAS)
		} else {
			fmt.Fprintln(w, "openblas: build with -tags openblas to compare")
		}
	}
	if rf := r.Roofline; rf != nil {
		fmt.Fprintln(w)
		bw := rf.Bandwidth
		fmt.Fprintf(w, "roofline  memory bandwidth %.1f GB/s: the larger of a copy (%.1f GB/s read+written) and a read (%.1f GB/s), all cores, 512 MiB, medians of runs each measured right after its decode; decode reads %s bytes of weights a token\n",
			bw.Max(), bw.Copy, bw.Read, human(float64(rf.DecodeBytes)))
		fmt.Fprintf(tw, "figure\tvalue\tof\tshare\tfloor\t\n")
		fl := func(what string) (string, string) {
			if f, ok := floorOf[what]; ok {
				return fmt.Sprintf(">= %.2f", f.Min), passFail(f.Pass)
			}
			return "", ""
		}
		f1, p1 := fl(DecodeBandwidth)
		fmt.Fprintf(tw, "decode batch 1\t%.1f GB/s\t%.1f GB/s bandwidth\t%.2f\t%s\t%s\n", rf.DecodeFraction*bw.Max(), bw.Max(), rf.DecodeFraction, f1, p1)
		f2, p2 := fl(SearchRoofline)
		fmt.Fprintf(tw, "search\t%.1f GFLOP/s\t%.1f GFLOP/s square matmul\t%.2f\t%s\t%s\n", rf.SearchGFLOPs, rf.SquareGFLOPs, rf.SearchFraction, f2, p2)
		if rf.StreamGFLOPs > 0 {
			fmt.Fprintf(tw, "search's matmuls alone\t%.1f GFLOP/s\t%.1f GFLOP/s square matmul\t%.2f\t(the most search can reach)\t\t\n", rf.StreamGFLOPs, rf.SquareGFLOPs, rf.StreamFraction)
		}
		if err := tw.Flush(); err != nil {
			return err
		}
	}
	if len(r.Floors) > 0 {
		fmt.Fprintln(w)
		if failed := r.Failed(); len(failed) > 0 {
			fmt.Fprintf(w, "FAIL: %s\n", strings.Join(failed, "; "))
		} else {
			fmt.Fprintf(w, "PASS: all %d floors met\n", len(r.Floors))
		}
	}
	return nil
}

// printWorkloads writes the workloads table, with llama.cpp's columns when
// it was measured, each ratio followed by its floor, and below it the
// tokens per run of every figure.
func (r *Report) printWorkloads(w io.Writer, tw *tabwriter.Writer) error {
	if len(r.Workloads) == 0 {
		return nil
	}
	llama := r.LlamaCpp != nil
	fig := func(f *Figure, ratio float64) (string, string) {
		if f == nil {
			return "-", "-"
		}
		return fmt.Sprintf("%.1f", f.Median), fmt.Sprintf("%.2fx", ratio)
	}
	// floor is the floor of row's ratio against side (ollama, llama.cpp)
	// and whether it is met, or "".
	floor := func(row, side string) string {
		for _, f := range r.Floors {
			if strings.HasPrefix(f.What, row+" vs "+side) {
				return fmt.Sprintf(">= %.1fx %s", f.Min, passFail(f.Pass))
			}
		}
		return ""
	}
	fmt.Fprintf(tw, "workload\tunit\t%10s\t%10s\t%8s\tfloor\t", "pareto", "ollama", "ratio")
	if llama {
		fmt.Fprintf(tw, "%10s\t%8s\tfloor\t", "llama.cpp", "ratio")
	}
	fmt.Fprintln(tw)
	for _, wl := range r.Workloads {
		ol, ratio := fig(wl.Ollama, wl.Ratio)
		fmt.Fprintf(tw, "%s\t%s\t%10.1f\t%10s\t%8s\t%s\t", wl.Name, wl.Unit, wl.Pareto.Median, ol, ratio, floor(wl.Name, "ollama"))
		if llama {
			lc, lratio := fig(wl.LlamaCpp, wl.LlamaRatio)
			fmt.Fprintf(tw, "%10s\t%8s\t%s\t", lc, lratio, floor(wl.Name, "llama.cpp"))
		}
		fmt.Fprintln(tw)
	}
	if err := tw.Flush(); err != nil {
		return err
	}

	// A rate from a run cut short is a rate of a different workload: the
	// tokens say which figures to trust.
	fmt.Fprintln(w)
	tokens := func(f *Figure) string {
		if f == nil {
			return "-"
		}
		return fmt.Sprintf("%.0f", f.Tokens)
	}
	row := func(cells ...string) { fmt.Fprintln(tw, strings.Join(cells, "\t")) }
	head := []string{"tokens per run (median)", fmt.Sprintf("%8s", "pareto"), fmt.Sprintf("%8s", "ollama")}
	if llama {
		head = append(head, fmt.Sprintf("%9s", "llama.cpp"))
	}
	row(head...)
	for _, wl := range r.Workloads {
		cells := []string{wl.Name, fmt.Sprintf("%8s", tokens(&wl.Pareto)), fmt.Sprintf("%8s", tokens(wl.Ollama))}
		if llama {
			cells = append(cells, fmt.Sprintf("%9s", tokens(wl.LlamaCpp)))
		}
		row(cells...)
	}
	return tw.Flush()
}

func passFail(ok bool) string {
	if ok {
		return "pass"
	}
	return "FAIL"
}

// human writes a count as 1.98M or 103M.
func human(v float64) string {
	switch {
	case v >= 1e9:
		return fmt.Sprintf("%.3gB", v/1e9)
	case v >= 1e6:
		return fmt.Sprintf("%.3gM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.3gk", v/1e3)
	}
	return fmt.Sprintf("%.0f", v)
}
