package embedded_test

import (
	"testing"

	"github.com/pareto-llm/pareto/backend/embedded"
	"github.com/pareto-llm/pareto/generatortest"
	"github.com/pareto-llm/pareto/models"
	"github.com/pareto-llm/pareto/models/modelstest"
	"github.com/pareto-llm/pareto/randmodel"
	"github.com/pareto-llm/pareto/randmodel/randmodeltest"
)

// TestShippedPolicyConformance runs the conformance suite on the shipped
// policy, which writes a short solution and stops at end-of-sequence.
func TestShippedPolicyConformance(t *testing.T) {
	generatortest.Run(t, modelstest.Load(t, models.Default), generatortest.Options{
		Prompt:        "Question: Zoe has 10 cards. Zoe shares them equally among 2 friends. How many cards does each friend get?\nAnswer (step by step):\n",
		Deterministic: true,
		Seeded:        true,
	})
}

// TestRandomModelConformance runs it on a random-weight model, whose
// generations go on to the token limit, so that one is canceled in flight.
func TestRandomModelConformance(t *testing.T) {
	cfg := randmodel.Small()
	cfg.Layers, cfg.Context = 2, 1024
	b, err := embedded.Load(randmodeltest.Write(t, "m.gguf", cfg))
	if err != nil {
		t.Fatal(err)
	}
	generatortest.Run(t, b, generatortest.Options{Deterministic: true, Seeded: true, LongMaxTokens: 1000})
}
