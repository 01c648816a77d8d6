package httperr

import (
	"strings"
	"testing"
)

// TestMessageShapes reads the message from each shape of error body.
func TestMessageShapes(t *testing.T) {
	for body, want := range map[string]string{
		`{"error":{"message":"model not found","type":"x"}}`: "model not found",
		`{"error":"plain string"}`:                           "plain string",
		`{"object":"error","message":"vllm says"}`:           "vllm says",
		`{"detail":"fastapi says"}`:                          "fastapi says",
		`{"detail":[{"loc":["body"]}]}`:                      `[{"loc":["body"]}]`,
		"  not json at all \n":                               "not json at all",
	} {
		if got := Message([]byte(body)); got != want {
			t.Errorf("Message(%s) = %q, want %q", body, got, want)
		}
	}
}

// TestMessage checks what a message is cut to and where none is found.
func TestMessage(t *testing.T) {
	long := strings.Repeat("x", 250)
	for body, want := range map[string]string{
		`{"error":{"message":"` + long + `"}}`: long, // a message is whole
		`{"detail":["` + long + `"]}`:          `["` + long[:198] + "...",
		`{"error":{"code":3}}`:                 `{"error":{"code":3}}`,
		`{"message":""}`:                       `{"message":""}`,
		"<html>" + long:                        ("<html>" + long)[:200] + "...",
		" \n":                                  "",
	} {
		if got := Message([]byte(body)); got != want {
			t.Errorf("Message(%q) = %q, want %q", body, got, want)
		}
	}
}

func TestSnippet(t *testing.T) {
	if got := Snippet([]byte(" \n" + strings.Repeat("a", 200) + "\t")); got != strings.Repeat("a", 200) {
		t.Errorf("200 bytes: Snippet = %q, want them whole", got)
	}
	if got := Snippet([]byte(strings.Repeat("a", 201))); got != strings.Repeat("a", 200)+"..." {
		t.Errorf("201 bytes: Snippet = %q, want 200 and ...", got)
	}
}
