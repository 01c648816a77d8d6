// Package store keeps runs, their per-question results and a cache of
// generations in SQLite (modernc.org/sqlite, pure Go, WAL mode).
//
// Every write is one transaction keyed by what it records, so a process
// killed at any moment leaves either the whole record or none of it, and a
// resumed run never records a question twice.
package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/pareto-llm/pareto"
	_ "modernc.org/sqlite" // registers the "sqlite" driver
)

// DB is an open pareto store.
type DB struct {
	db   *sql.DB
	path string
}

const schema = `
CREATE TABLE IF NOT EXISTS runs (
	id         TEXT PRIMARY KEY,
	created_at TEXT NOT NULL,
	model      TEXT NOT NULL,
	dataset    TEXT NOT NULL,
	strategy   TEXT NOT NULL,
	config     TEXT NOT NULL,
	questions  INTEGER NOT NULL,
	seeds      INTEGER NOT NULL,
	wall_ns    INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS results (
	run_id      TEXT NOT NULL REFERENCES runs(id),
	seed        INTEGER NOT NULL,
	question_id TEXT NOT NULL,
	position    INTEGER NOT NULL,
	level       INTEGER NOT NULL DEFAULT 0,
	correct     INTEGER NOT NULL,
	predicted   TEXT NOT NULL,
	gold        TEXT NOT NULL,
	detail      TEXT NOT NULL,
	usage       TEXT NOT NULL,
	wall_ns     INTEGER NOT NULL,
	created_at  TEXT NOT NULL,
	PRIMARY KEY (run_id, seed, question_id)
);
CREATE TABLE IF NOT EXISTS generations (
	key         TEXT PRIMARY KEY,
	model       TEXT NOT NULL,
	request     TEXT NOT NULL,
	completions TEXT NOT NULL,
	created_at  TEXT NOT NULL
);
`

// Open opens (creating if needed) the store at path.
func Open(ctx context.Context, path string) (*DB, error) {
	dsn := "file:" + path + "?_pragma=journal_mode(WAL)&_pragma=busy_timeout(10000)&_pragma=synchronous(NORMAL)&_pragma=foreign_keys(ON)"
	db, err := sql.Open("sqlite", dsn)
	if err != nil {
		return nil, fmt.Errorf("store %s: %w", path, err)
	}
	if _, err := db.ExecContext(ctx, schema); err != nil {
		db.Close()
		return nil, fmt.Errorf("store %s: create schema: %w", path, err)
	}
	return &DB{db: db, path: path}, nil
}

// Close closes the store.
func (s *DB) Close() error { return s.db.Close() }

// Run describes one run: a strategy with fixed options on a dataset slice
// and a model. Its ID is derived from all of that, so the same command
// finds the same run again and resumes it.
type Run struct {
	ID        string          `json:"run_id"`
	CreatedAt time.Time       `json:"created_at"`
	Model     string          `json:"model"`
	Dataset   string          `json:"dataset"`
	Strategy  string          `json:"strategy"`
	Config    json.RawMessage `json:"config"`
	Questions int             `json:"questions"`
	Seeds     int             `json:"seeds"`
	Wall      time.Duration   `json:"wall_ns"`
}

// EnsureRun records r unless a run with its ID exists, and returns the
// stored run either way.
func (s *DB) EnsureRun(ctx context.Context, r Run) (Run, error) {
	if r.CreatedAt.IsZero() {
		r.CreatedAt = time.Now().UTC()
	}
	_, err := s.db.ExecContext(ctx, `INSERT OR IGNORE INTO runs(id, created_at, model, dataset, strategy, config, questions, seeds)
		VALUES (?,?,?,?,?,?,?,?)`, r.ID, r.CreatedAt.Format(time.RFC3339Nano), r.Model, r.Dataset, r.Strategy, string(r.Config), r.Questions, r.Seeds)
	if err != nil {
		return Run{}, fmt.Errorf("store: record run %s: %w", r.ID, err)
	}
	got, ok, err := s.Run(ctx, r.ID)
	if err != nil {
		return Run{}, err
	}
	if !ok {
		return Run{}, fmt.Errorf("store: run %s vanished", r.ID)
	}
	return got, nil
}

// AddRunWall adds to the wall time spent on a run (summed over resumes).
func (s *DB) AddRunWall(ctx context.Context, id string, d time.Duration) error {
	_, err := s.db.ExecContext(ctx, `UPDATE runs SET wall_ns = wall_ns + ? WHERE id = ?`, int64(d), id)
	if err != nil {
		return fmt.Errorf("store: run %s wall time: %w", id, err)
	}
	return nil
}

const runColumns = `id, created_at, model, dataset, strategy, config, questions, seeds, wall_ns`

func scanRun(sc interface{ Scan(...any) error }) (Run, error) {
	var r Run
	var created, config string
	var wall int64
	if err := sc.Scan(&r.ID, &created, &r.Model, &r.Dataset, &r.Strategy, &config, &r.Questions, &r.Seeds, &wall); err != nil {
		return Run{}, err
	}
	r.CreatedAt, _ = time.Parse(time.RFC3339Nano, created)
	r.Config = json.RawMessage(config)
	r.Wall = time.Duration(wall)
	return r, nil
}

// Run returns the run with the given ID.
func (s *DB) Run(ctx context.Context, id string) (Run, bool, error) {
	r, err := scanRun(s.db.QueryRowContext(ctx, `SELECT `+runColumns+` FROM runs WHERE id = ?`, id))
	if errors.Is(err, sql.ErrNoRows) {
		return Run{}, false, nil
	}
	if err != nil {
		return Run{}, false, fmt.Errorf("store: run %s: %w", id, err)
	}
	return r, true, nil
}

// Runs lists all runs, oldest first.
func (s *DB) Runs(ctx context.Context) ([]Run, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT `+runColumns+` FROM runs ORDER BY created_at, id`)
	if err != nil {
		return nil, fmt.Errorf("store: list runs: %w", err)
	}
	defer rows.Close()
	var out []Run
	for rows.Next() {
		r, err := scanRun(rows)
		if err != nil {
			return nil, fmt.Errorf("store: list runs: %w", err)
		}
		out = append(out, r)
	}
	return out, rows.Err()
}

// Result is one question answered under one seed.
type Result struct {
	RunID      string          `json:"run_id"`
	Seed       int64           `json:"seed"`
	QuestionID string          `json:"question_id"`
	Position   int             `json:"position"` // index in the dataset slice
	Level      int             `json:"level,omitempty"`
	Correct    bool            `json:"correct"`
	Predicted  string          `json:"predicted"`
	Gold       string          `json:"gold"`
	Detail     json.RawMessage `json:"detail"` // the strategy's full result: candidates, votes, scores
	Usage      pareto.Usage    `json:"usage"`
	Wall       time.Duration   `json:"wall_ns"`
}

// PutResult records a result. Recording the same (run, seed, question)
// twice keeps the first: a resumed run never counts a question twice.
func (s *DB) PutResult(ctx context.Context, r Result) error {
	usage, err := json.Marshal(r.Usage)
	if err != nil {
		return fmt.Errorf("store: result usage: %w", err)
	}
	detail := r.Detail
	if detail == nil {
		detail = json.RawMessage("null")
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR IGNORE INTO results(run_id, seed, question_id, position, level, correct, predicted, gold, detail, usage, wall_ns, created_at)
		VALUES (?,?,?,?,?,?,?,?,?,?,?,?)`, r.RunID, r.Seed, r.QuestionID, r.Position, r.Level, r.Correct, r.Predicted, r.Gold, string(detail), string(usage), int64(r.Wall), time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("store: record result %s seed %d question %s: %w", r.RunID, r.Seed, r.QuestionID, err)
	}
	return nil
}

// Results returns a run's results ordered by seed and position.
func (s *DB) Results(ctx context.Context, runID string) ([]Result, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT run_id, seed, question_id, position, level, correct, predicted, gold, detail, usage, wall_ns
		FROM results WHERE run_id = ? ORDER BY seed, position`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: results of %s: %w", runID, err)
	}
	defer rows.Close()
	var out []Result
	for rows.Next() {
		var r Result
		var detail, usage string
		var wall int64
		if err := rows.Scan(&r.RunID, &r.Seed, &r.QuestionID, &r.Position, &r.Level, &r.Correct, &r.Predicted, &r.Gold, &detail, &usage, &wall); err != nil {
			return nil, fmt.Errorf("store: results of %s: %w", runID, err)
		}
		r.Detail = json.RawMessage(detail)
		if err := json.Unmarshal([]byte(usage), &r.Usage); err != nil {
			return nil, fmt.Errorf("store: results of %s: question %s usage: %w", runID, r.QuestionID, err)
		}
		r.Wall = time.Duration(wall)
		out = append(out, r)
	}
	return out, rows.Err()
}

// Done returns the set of (seed, question) pairs a run has recorded.
func (s *DB) Done(ctx context.Context, runID string) (map[DoneKey]bool, error) {
	rows, err := s.db.QueryContext(ctx, `SELECT seed, question_id FROM results WHERE run_id = ?`, runID)
	if err != nil {
		return nil, fmt.Errorf("store: progress of %s: %w", runID, err)
	}
	defer rows.Close()
	done := map[DoneKey]bool{}
	for rows.Next() {
		var k DoneKey
		if err := rows.Scan(&k.Seed, &k.QuestionID); err != nil {
			return nil, err
		}
		done[k] = true
	}
	return done, rows.Err()
}

// DoneKey names one (seed, question) cell of a run.
type DoneKey struct {
	Seed       int64
	QuestionID string
}

// Generation returns the cached completions stored under key.
func (s *DB) Generation(ctx context.Context, key string) ([]pareto.Completion, bool, error) {
	var data string
	err := s.db.QueryRowContext(ctx, `SELECT completions FROM generations WHERE key = ?`, key).Scan(&data)
	if errors.Is(err, sql.ErrNoRows) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("store: generation cache: %w", err)
	}
	var comps []pareto.Completion
	if err := json.Unmarshal([]byte(data), &comps); err != nil {
		return nil, false, fmt.Errorf("store: generation cache entry %s: %w", key, err)
	}
	return comps, true, nil
}

// PutGeneration caches completions under key.
func (s *DB) PutGeneration(ctx context.Context, key, model string, req pareto.Request, comps []pareto.Completion) error {
	rj, err := json.Marshal(req)
	if err != nil {
		return err
	}
	cj, err := json.Marshal(comps)
	if err != nil {
		return err
	}
	_, err = s.db.ExecContext(ctx, `INSERT OR REPLACE INTO generations(key, model, request, completions, created_at) VALUES (?,?,?,?,?)`,
		key, model, string(rj), string(cj), time.Now().UTC().Format(time.RFC3339Nano))
	if err != nil {
		return fmt.Errorf("store: cache generation: %w", err)
	}
	return nil
}
