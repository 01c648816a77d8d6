package train

import (
	"bytes"
	"crypto/sha256"
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"os"
	"path/filepath"
)

// Checkpoint file layout (little endian):
//
//	magic "PARETOCK" | version u32 | config length u32 | config JSON
//	step u64 | data cursor u64 | rng u64 | n params u64
//	params, Adam m, Adam v: n float32 each
//	a quiet-star run's lagging sampling weights, if any (quietStar.checkpointed)
//	sha256 of everything above
const (
	ckptMagic   = "PARETOCK"
	ckptVersion = 1
)

// ErrNoCheckpoint is returned by LoadCheckpoint when the file does not exist.
var ErrNoCheckpoint = errors.New("train: no checkpoint")

// CheckpointPath is where the trainer keeps its checkpoint: one file per
// config identity, so a different config never picks up another's state.
func (t *Trainer) CheckpointPath() string {
	dir := t.cfg.Checkpoint.Dir
	if dir == "" {
		dir = "checkpoints"
	}
	return filepath.Join(dir, "train-"+t.cfg.ID()+".ckpt")
}

// SaveCheckpoint writes the full training state to path atomically: a temp
// file in the same directory, fsync, rename, fsync of the directory. A kill
// at any point leaves either the old or the new checkpoint, never a mix.
func (t *Trainer) SaveCheckpoint(path string) (err error) {
	var buf bytes.Buffer
	buf.WriteString(ckptMagic)
	cfg := t.cfg.identity()
	le := binary.LittleEndian
	buf.Write(le.AppendUint32(nil, ckptVersion))
	buf.Write(le.AppendUint32(nil, uint32(len(cfg))))
	buf.Write(cfg)
	for _, v := range []uint64{uint64(t.step), t.src.Cursor(), uint64(t.cfg.Seed), uint64(len(t.params))} {
		buf.Write(le.AppendUint64(nil, v))
	}
	for _, xs := range [][]float32{t.params, t.m, t.v, t.qs.checkpointed()} {
		raw := make([]byte, 4*len(xs))
		for i, x := range xs {
			le.PutUint32(raw[4*i:], math.Float32bits(x))
		}
		buf.Write(raw)
	}
	sum := sha256.Sum256(buf.Bytes())
	buf.Write(sum[:])

	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	f, err := os.CreateTemp(dir, filepath.Base(path)+".tmp*")
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	defer func() {
		if err != nil {
			f.Close()
			os.Remove(f.Name())
		}
	}()
	if _, err = f.Write(buf.Bytes()); err != nil {
		return fmt.Errorf("train: checkpoint %s: write: %w", path, err)
	}
	if err = f.Sync(); err != nil {
		return fmt.Errorf("train: checkpoint %s: sync: %w", path, err)
	}
	if err = f.Close(); err != nil {
		return fmt.Errorf("train: checkpoint %s: close: %w", path, err)
	}
	if err = os.Rename(f.Name(), path); err != nil {
		return fmt.Errorf("train: checkpoint %s: rename: %w", path, err)
	}
	if d, err := os.Open(dir); err == nil {
		d.Sync() // best effort: makes the rename itself durable
		d.Close()
	}
	return nil
}

// LoadCheckpoint restores the training state from path. The file is
// verified completely (magic, version, checksum, config, sizes) before any
// state changes, so a damaged or foreign checkpoint is refused whole.
func (t *Trainer) LoadCheckpoint(path string) error {
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return ErrNoCheckpoint
	}
	if err != nil {
		return fmt.Errorf("train: checkpoint %s: %w", path, err)
	}
	bad := func(format string, args ...any) error {
		return fmt.Errorf("train: checkpoint %s refused: %s", path, fmt.Sprintf(format, args...))
	}
	le := binary.LittleEndian
	const head = len(ckptMagic) + 8
	if len(data) < head+32 || string(data[:len(ckptMagic)]) != ckptMagic {
		return bad("not a pareto checkpoint (bad magic or too short: %d bytes)", len(data))
	}
	if v := le.Uint32(data[len(ckptMagic):]); v != ckptVersion {
		return bad("version %d, this build reads version %d", v, ckptVersion)
	}
	body, sum := data[:len(data)-32], data[len(data)-32:]
	if got := sha256.Sum256(body); !bytes.Equal(got[:], sum) {
		return bad("checksum mismatch: the file is damaged or truncated")
	}
	off := head
	cl := int(le.Uint32(data[len(ckptMagic)+4:]))
	if off+cl+32 > len(body) {
		return bad("config length %d runs past the end", cl)
	}
	cfg := body[off : off+cl]
	off += cl
	if !bytes.Equal(cfg, t.cfg.identity()) {
		return bad("it was written for a different config:\n  checkpoint: %s\n  current:    %s", cfg, t.cfg.identity())
	}
	step, cursor, n := le.Uint64(body[off:]), le.Uint64(body[off+8:]), le.Uint64(body[off+24:])
	off += 32
	extra := t.qs.checkpointed()
	if n != uint64(len(t.params)) || uint64(len(body)-off) != 12*n+4*uint64(len(extra)) {
		return bad("holds %d parameters in %d bytes, the model has %d", n, len(body)-off, len(t.params))
	}
	if step > uint64(t.cfg.Optim.Steps) {
		return bad("step %d is past optim.steps %d", step, t.cfg.Optim.Steps)
	}
	for _, xs := range [][]float32{t.params, t.m, t.v, extra} {
		for i := range xs {
			xs[i] = math.Float32frombits(le.Uint32(body[off+4*i:]))
		}
		off += 4 * len(xs)
	}
	t.step = int(step)
	t.src.Seek(cursor)
	return nil
}
