package httperr

import (
	"strings"
	"testing"
)

// TestMessage checks what a message is cut to and where none is found;
// backend/openai's TestServerMessage checks each shape of error body
// through its serverMessage, which is Message.
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
