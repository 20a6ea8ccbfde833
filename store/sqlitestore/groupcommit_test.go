package sqlitestore

import (
	"context"
	"database/sql"
	"errors"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// errAny stands, in a test's expectations, for any error that is neither
// store.ErrConflict nor a context's.
var errAny = errors.New("any other error")

// A batchSave is one save of a batch that TestBatch arranges.
type batchSave struct {
	token   string // names the record
	version uint64 // that the save names
	data    string
	cancel  bool  // its context ends while it waits
	want    error // nil, store.ErrConflict, context.Canceled or errAny
}

// TestBatch lines up saves while the writer is busy, so that they go in
// one batch in the order given, and checks what each caller hears and
// what the database holds afterwards. Every record named is created, with
// data "before", before the batch.
func TestBatch(t *testing.T) {
	tests := []struct {
		name    string
		setup   string // SQL run before the batch
		saves   []batchSave
		batched int               // saves in the batch's transaction, 0 if it fails
		stored  map[string]string // data of each record afterwards
		audited []string          // rows of the table audit afterwards, if setup creates it
	}{{
		name: "different records",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "b1"},
			{token: "c", version: 1, data: "c1"},
			{token: "new", version: 0, data: "created"},
		},
		batched: 4,
		stored:  map[string]string{"a": "a1", "b": "b1", "c": "c1", "new": "created"},
	}, {
		name: "same record and version",
		saves: []batchSave{
			{token: "a", version: 1, data: "first"},
			{token: "a", version: 1, data: "second", want: store.ErrConflict},
			{token: "a", version: 1, data: "third", want: store.ErrConflict},
			{token: "new", version: 0, data: "first"},
			{token: "new", version: 0, data: "second", want: store.ErrConflict},
		},
		batched: 5,
		stored:  map[string]string{"a": "first", "new": "first"},
	}, {
		name: "one record, version after version",
		saves: []batchSave{
			{token: "a", version: 1, data: "v2"},
			{token: "a", version: 2, data: "v3"},
			{token: "a", version: 3, data: "v4"},
		},
		batched: 3,
		stored:  map[string]string{"a": "v4"},
	}, {
		// The trigger writes to audit before it fails the statement: the
		// save's savepoint must undo that too.
		name: "one statement fails",
		setup: `CREATE TABLE audit (data BLOB NOT NULL);
			CREATE TRIGGER audit AFTER UPDATE ON sessions BEGIN
				INSERT INTO audit VALUES (NEW.data);
				SELECT RAISE(FAIL, 'refused') WHERE NEW.data = CAST('refused' AS BLOB);
			END;`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "refused", want: errAny},
			{token: "c", version: 1, data: "c1"},
		},
		batched: 3,
		stored:  map[string]string{"a": "a1", "b": "before", "c": "c1"},
		audited: []string{"a1", "c1"},
	}, {
		// SQLite rolls back the whole transaction: the saves before the
		// failure are lost, and those after must not be made on their own.
		name: "one statement ends the transaction",
		setup: `CREATE TRIGGER refuse BEFORE UPDATE ON sessions WHEN NEW.data = CAST('rollback' AS BLOB) BEGIN
				SELECT RAISE(ROLLBACK, 'rolled back');
			END;`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1", want: errAny},
			{token: "b", version: 1, data: "rollback", want: errAny},
			{token: "c", version: 1, data: "c1", want: errAny},
		},
		stored: map[string]string{"a": "before", "b": "before", "c": "before"},
	}, {
		// A deferred foreign key is checked at the commit, which fails.
		name: "the commit fails",
		setup: `CREATE TABLE parent (id INTEGER PRIMARY KEY);
			CREATE TABLE child (parent INTEGER REFERENCES parent (id) DEFERRABLE INITIALLY DEFERRED);
			CREATE TRIGGER orphan AFTER UPDATE ON sessions WHEN NEW.data = CAST('orphan' AS BLOB) BEGIN
				INSERT INTO child VALUES (1);
			END;`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1", want: errAny},
			{token: "b", version: 1, data: "orphan", want: errAny},
			{token: "c", version: 1, data: "c1", want: errAny},
		},
		stored: map[string]string{"a": "before", "b": "before", "c": "before"},
	}, {
		name: "a waiting save's context ends",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "b1", cancel: true, want: context.Canceled},
			{token: "c", version: 1, data: "c1"},
		},
		batched: 2,
		stored:  map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		// The first save leads the batch: the next one leads in its place.
		name: "the leader's context ends",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1", cancel: true, want: context.Canceled},
			{token: "b", version: 1, data: "b1"},
			{token: "c", version: 1, data: "c1"},
		},
		batched: 2,
		stored:  map[string]string{"a": "before", "b": "b1", "c": "c1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s := openInternal(t)
			now := time.Now()
			record := func(token string, version uint64, data string) store.Record {
				return store.Record{ID: store.HashToken(token), User: "alice", Data: []byte(data), Version: version,
					Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "test"}
			}
			for token := range tt.stored {
				if token != "new" {
					if _, err := s.SaveSession(ctx, record(token, 0, "before")); err != nil {
						t.Fatal(err)
					}
				}
			}
			if _, err := s.w.ExecContext(ctx, tt.setup); err != nil {
				t.Fatal(err)
			}
			batches, batched := s.saves.Counts()

			// Hold the writer, line the saves up in order, end the
			// contexts of those that must give up and see them do so,
			// then let the writer go.
			release := holdWriter(t, s)
			errs := make([]error, len(tt.saves))
			cancels := make([]context.CancelFunc, len(tt.saves))
			var wg, gaveUp sync.WaitGroup
			for i, sv := range tt.saves {
				ctx, cancel := context.WithCancel(ctx)
				cancels[i] = cancel
				wg.Add(1)
				if sv.cancel {
					gaveUp.Add(1)
				}
				go func() {
					defer wg.Done()
					_, errs[i] = s.SaveSession(ctx, record(sv.token, sv.version, sv.data))
					if sv.cancel {
						gaveUp.Done()
					}
				}()
				waitQueued(t, s, i+1)
			}
			for i, sv := range tt.saves {
				if sv.cancel {
					cancels[i]()
				}
			}
			gaveUp.Wait()
			release()
			wg.Wait()
			for _, cancel := range cancels {
				cancel()
			}

			for i, sv := range tt.saves {
				if !matches(errs[i], sv.want) {
					t.Errorf("save %d (%s at version %d, %q): err = %v, want %v", i, sv.token, sv.version, sv.data, errs[i], sv.want)
				}
			}
			wantBatches := 1
			if tt.batched == 0 {
				wantBatches = 0
			}
			if b, n := s.saves.Counts(); b-batches != wantBatches || n-batched != tt.batched {
				t.Errorf("%d transactions committed %d saves, want %d committing %d", b-batches, n-batched, wantBatches, tt.batched)
			}
			for token, want := range tt.stored {
				r, err := s.Session(ctx, store.HashToken(token))
				if err != nil || string(r.Data) != want {
					t.Errorf("record %s holds %q, %v; want %q", token, r.Data, err, want)
				}
			}
			if tt.audited != nil {
				if got := audited(t, s); !slices.Equal(got, tt.audited) {
					t.Errorf("audit holds %q, want %q", got, tt.audited)
				}
			}
			// Whatever became of the batch, the writer takes the next.
			if _, err := s.SaveSession(ctx, record("after", 0, "after")); err != nil {
				t.Errorf("a save after the batch: %v", err)
			}
		})
	}
}

// TestBatchesUnderLoad has many goroutines save records of their own,
// as the requests of many users do, and checks that every save is made and
// counted once, and that transactions held more than one save. The first
// saves all wait for a busy writer, as they would behind a slow write;
// the rest come as they may.
func TestBatchesUnderLoad(t *testing.T) {
	s := openInternal(t)
	storetest.BatchesUnderLoad(t, s, groupCommitOf(s))
}

// TestDurabilityMode checks that the connections run as the package
// documentation says: WAL mode, synchronous=NORMAL.
func TestDurabilityMode(t *testing.T) {
	ctx := context.Background()
	s := openInternal(t)
	for name, db := range map[string]*sql.DB{"writer": s.w, "reader": s.db} {
		var mode string
		var synchronous int
		if err := db.QueryRowContext(ctx, "PRAGMA journal_mode").Scan(&mode); err != nil {
			t.Fatal(err)
		}
		if err := db.QueryRowContext(ctx, "PRAGMA synchronous").Scan(&synchronous); err != nil {
			t.Fatal(err)
		}
		if mode != "wal" || synchronous != 1 {
			t.Errorf("%s: journal_mode %s, synchronous %d; want wal, 1 (NORMAL)", name, mode, synchronous)
		}
	}
}

func openInternal(t *testing.T) *Store {
	t.Helper()
	s, err := Open(context.Background(), filepath.Join(t.TempDir(), "batch.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// holdWriter takes the writer's only connection, so that saves queue, and
// returns the function that gives it back.
func holdWriter(t *testing.T, s *Store) (release func()) {
	t.Helper()
	conn, err := s.w.Conn(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	return func() { conn.Close() }
}

// groupCommitOf lets storetest watch s's line of saves; holding it holds
// the writer's connection.
func groupCommitOf(s *Store) storetest.GroupCommit {
	return storetest.GroupCommit{
		Hold:   func(t *testing.T) func() { return holdWriter(t, s) },
		Queued: s.saves.Len,
		Counts: s.saves.Counts,
	}
}

// waitQueued waits until n saves wait in s's line.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	groupCommitOf(s).WaitQueued(t, n)
}

// audited returns the rows of the table audit, in order.
func audited(t *testing.T, s *Store) []string {
	t.Helper()
	rows, err := s.db.Query(`SELECT data FROM audit ORDER BY rowid`)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var data []byte
		if err := rows.Scan(&data); err != nil {
			t.Fatal(err)
		}
		out = append(out, string(data))
	}
	if err := rows.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// matches reports whether err is what want stands for (see batchSave).
func matches(err, want error) bool {
	switch want {
	case nil:
		return err == nil
	case errAny:
		return err != nil && !errors.Is(err, store.ErrConflict) && !errors.Is(err, context.Canceled)
	}
	return errors.Is(err, want)
}
