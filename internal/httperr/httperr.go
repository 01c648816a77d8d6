// Package httperr reads error answers of OpenAI-compatible servers
// (OpenAI, vLLM, SGLang, FastAPI-based ones) for the clients of pareto
// that talk to them: backend/openai and reward's pooling scorer.
package httperr

import (
	"encoding/json"
	"strings"
)

// snippetLen caps a server's text quoted in an error, so that an HTML
// error page does not flood the message.
const snippetLen = 200

// Message extracts the human message from an error body in the shapes
// servers use: {"error":{"message":..}}, {"error":".."}, {"message":..}
// (vLLM) or {"detail":..} (FastAPI; a detail that is not a string, as
// its JSON); else the body itself. What is not a message string is
// quoted as Snippet quotes it.
func Message(body []byte) string {
	var v struct {
		Error   json.RawMessage `json:"error"`
		Message string          `json:"message"`
		Detail  json.RawMessage `json:"detail"`
	}
	if json.Unmarshal(body, &v) == nil {
		var obj struct {
			Message string `json:"message"`
		}
		var str string
		switch {
		case json.Unmarshal(v.Error, &obj) == nil && obj.Message != "":
			return obj.Message
		case json.Unmarshal(v.Error, &str) == nil && str != "":
			return str
		case v.Message != "":
			return v.Message
		case json.Unmarshal(v.Detail, &str) == nil && str != "":
			return str
		case len(v.Detail) > 0:
			return Snippet(v.Detail)
		}
	}
	return Snippet(body)
}

// Snippet is a server's answer b as an error message quotes it: trimmed
// of white space and cut after 200 bytes, "..." marking the cut.
func Snippet(b []byte) string {
	s := strings.TrimSpace(string(b))
	if len(s) > snippetLen {
		return s[:snippetLen] + "..."
	}
	return s
}
