package engine

import "fmt"

// SetContext sets the most positions a sequence of m may hold. A model
// loaded from GGUF starts at its trained context_length; a caller may ask
// for more (rope extends to any position, though quality past the trained
// length is the model's business) or less (to bound memory). Each
// sequence's KV cache still grows only as it fills, a block at a time,
// so a longer context costs nothing until used.
//
// Call it before decoding: it must not run while other goroutines use m.
// Sequences already longer than n keep their positions but cannot grow.
func (m *Model) SetContext(n int) error {
	if n <= 0 {
		return fmt.Errorf("engine: set context: length %d is not positive", n)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	m.Config.Context = n
	// Idle run states hold attention-score buffers of the old length.
	m.states = nil
	return nil
}
