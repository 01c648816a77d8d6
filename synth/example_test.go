package synth

import "fmt"

func ExampleGenerate() {
	p := Generate(TrainSeed(12), 3)
	fmt.Println(VerifySteps(p, p.Steps), CheckAnswer(p, p.Solution), len(p.Steps))
	// Output: [true true true] true 3
}
