package pgstore

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5"
	"github.com/jackc/pgx/v5/pgxpool"

	"github.com/sessionkit/sessionkit/internal/testenv"
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
	ended   bool  // its context has ended, unseen, when its batch starts
	want    error // nil, store.ErrConflict, context.Canceled or errAny
}

// TestBatch lines up saves while every connection of the pool is taken, so
// that they go in one batch in the order given, and checks what each
// caller hears and what the database holds afterwards. Every record named
// is created, with data "before", before the batch.
func TestBatch(t *testing.T) {
	tests := []struct {
		name  string
		setup string // SQL run before the batch, {schema} the store's
		saves []batchSave
		// transactions that committed, and the saves they held: the
		// batch's, or those of the saves that then ran on their own.
		transactions, saved int
		together            []string          // records the batch's one transaction wrote
		stored              map[string]string // data of each record afterwards
	}{{
		name: "different records",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "b1"},
			{token: "c", version: 1, data: "c1"},
			{token: "new", version: 0, data: "created"},
		},
		transactions: 1, saved: 4,
		together: []string{"a", "b", "c", "new"},
		stored:   map[string]string{"a": "a1", "b": "b1", "c": "c1", "new": "created"},
	}, {
		name: "same record and version",
		saves: []batchSave{
			{token: "a", version: 1, data: "first"},
			{token: "a", version: 1, data: "second", want: store.ErrConflict},
			{token: "new", version: 0, data: "first"},
			{token: "a", version: 1, data: "third", want: store.ErrConflict},
			{token: "new", version: 0, data: "second", want: store.ErrConflict},
		},
		transactions: 1, saved: 5,
		together: []string{"a", "new"},
		stored:   map[string]string{"a": "first", "new": "first"},
	}, {
		name: "one record, version after version",
		saves: []batchSave{
			{token: "a", version: 1, data: "v2"},
			{token: "b", version: 1, data: "b1"},
			{token: "a", version: 2, data: "v3"},
			{token: "a", version: 3, data: "v4"},
		},
		transactions: 1, saved: 4,
		together: []string{"a", "b"},
		stored:   map[string]string{"a": "v4", "b": "b1"},
	}, {
		// PostgreSQL aborts the whole transaction: the others run on
		// their own, and only the refused one fails.
		name:  "one statement fails",
		setup: `ALTER TABLE {schema}.sessionkit_sessions ADD CONSTRAINT refused CHECK (data <> 'refused'::bytea)`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "refused", want: errAny},
			{token: "c", version: 1, data: "c1"},
			{token: "new", version: 0, data: "refused", want: errAny},
		},
		transactions: 2, saved: 2,
		stored: map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		// A deferred constraint trigger fails the COMMIT.
		name: "the commit fails",
		setup: `CREATE FUNCTION {schema}.orphan() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.data = 'orphan'::bytea THEN RAISE EXCEPTION 'orphaned'; END IF;
				RETURN NULL;
			END $$;
			CREATE CONSTRAINT TRIGGER orphan AFTER UPDATE ON {schema}.sessionkit_sessions
				DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.orphan();`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "orphan", want: errAny},
			{token: "c", version: 1, data: "c1"},
		},
		transactions: 2, saved: 2,
		stored: map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		// As a save that races another under REPEATABLE READ or
		// SERIALIZABLE: the batch fails, the save is a conflict on its
		// own, and the others are made.
		name: "a serialization failure",
		setup: `CREATE FUNCTION {schema}.serialize() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				IF NEW.data = 'raced'::bytea THEN
					RAISE EXCEPTION 'could not serialize access' USING ERRCODE = 'serialization_failure';
				END IF;
				RETURN NEW;
			END $$;
			CREATE TRIGGER serialize BEFORE UPDATE ON {schema}.sessionkit_sessions
				FOR EACH ROW EXECUTE FUNCTION {schema}.serialize();`,
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "raced", want: store.ErrConflict},
			{token: "c", version: 1, data: "c1"},
		},
		transactions: 2, saved: 2,
		stored: map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		name: "a waiting save's context ends",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "b1", cancel: true, want: context.Canceled},
			{token: "c", version: 1, data: "c1"},
		},
		transactions: 1, saved: 2,
		together: []string{"a", "c"},
		stored:   map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		// The save is in line when its batch starts, though its context
		// has ended: as a save whose caller is not scheduled in time to
		// withdraw it.
		name: "a save's context has ended when its batch starts",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1"},
			{token: "b", version: 1, data: "b1", ended: true, want: context.Canceled},
			{token: "c", version: 1, data: "c1"},
		},
		transactions: 1, saved: 2,
		together: []string{"a", "c"},
		stored:   map[string]string{"a": "a1", "b": "before", "c": "c1"},
	}, {
		// The first save leads the batch, waiting for a connection: the
		// next one leads in its place.
		name: "the leader's context ends",
		saves: []batchSave{
			{token: "a", version: 1, data: "a1", cancel: true, want: context.Canceled},
			{token: "b", version: 1, data: "b1"},
			{token: "c", version: 1, data: "c1"},
		},
		transactions: 1, saved: 2,
		together: []string{"b", "c"},
		stored:   map[string]string{"a": "before", "b": "b1", "c": "c1"},
	}}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			s, trace := openBatching(t)
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
			if tt.setup != "" {
				if _, err := s.pool.Exec(ctx, inSchema(tt.setup, s.q.schema)); err != nil {
					t.Fatal(err)
				}
			}
			batches, batched := s.saves.Counts()
			trace.take()

			// Hold the pool, line the saves up in order, end the contexts
			// of those that must give up and see them do so, then let the
			// pool go.
			release := holdPool(t, s, 0)
			errs := make([]error, len(tt.saves))
			cancels := make([]context.CancelFunc, len(tt.saves))
			var wg, gaveUp sync.WaitGroup
			for i, sv := range tt.saves {
				ctx, cancel := context.WithCancel(ctx)
				cancels[i] = cancel
				if sv.ended {
					e := &unseenEnd{Context: ctx}
					ctx, cancels[i] = e, func() { e.ended.Store(true) }
				}
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
				if sv.cancel || sv.ended {
					cancels[i]()
				}
			}
			await(t, &gaveUp, "the saves whose contexts ended")
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
			if b, n := s.saves.Counts(); b-batches != tt.transactions || n-batched != tt.saved {
				t.Errorf("%d transactions committed %d saves, want %d committing %d", b-batches, n-batched, tt.transactions, tt.saved)
			}
			// The batch went as one pgx.Batch: BEGIN, a statement a save
			// (a withdrawn one has none), COMMIT, the statements in the
			// order of the sessions' ids.
			want := 2
			for _, sv := range tt.saves {
				if !sv.cancel && !sv.ended {
					want++
				}
			}
			sent := trace.take()
			if len(sent) != 1 || sent[0].statements != want {
				t.Errorf("batches %v sent, want one of %d statements", sent, want)
			}
			for _, b := range sent {
				if !slices.IsSortedFunc(b.ids, bytes.Compare) {
					t.Errorf("a batch named the sessions %x, out of order", b.ids)
				}
			}
			for token, want := range tt.stored {
				r, err := s.Session(ctx, store.HashToken(token))
				if err != nil || string(r.Data) != want {
					t.Errorf("record %s holds %q, %v; want %q", token, r.Data, err, want)
				}
			}
			if tt.together != nil {
				if n := transactionsOf(t, s, tt.together...); n != 1 {
					t.Errorf("records %q were last written by %d transactions, want 1", tt.together, n)
				}
			}
			// Whatever became of the batch, the next save goes.
			if _, err := s.SaveSession(ctx, record("after", 0, "after")); err != nil {
				t.Errorf("a save after the batch: %v", err)
			}
		})
	}
}

// TestBatchesUnderLoad has many goroutines save records of their own, as
// the requests of many users do, on pools whose transactions default to
// each isolation level, and checks that every save is made and counted
// once, and that transactions held more than one save. The first saves all
// wait for a connection; the rest come as they may.
func TestBatchesUnderLoad(t *testing.T) {
	for _, isolation := range []string{"read committed", "repeatable read", "serializable"} {
		t.Run(isolation, func(t *testing.T) {
			url, schema := testenv.PostgresSchema(t)
			cfg, err := pgxpool.ParseConfig(url)
			if err != nil {
				t.Fatal(err)
			}
			cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = isolation
			pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(pool.Close)
			ctx := context.Background()
			s, err := New(ctx, pool, Options{Schema: schema})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(func() { s.Close() })
			storetest.BatchesUnderLoad(t, s, groupCommitOf(s))
		})
	}
}

// TestBatchIsolation checks, on a pool whose transactions default to
// SERIALIZABLE, that a batch's transaction is READ COMMITTED, so that it
// is not failed for the sake of other transactions that touched the same
// index pages, while a save on its own runs at the pool's level, as it
// always did.
func TestBatchIsolation(t *testing.T) {
	url, schema := testenv.PostgresSchema(t)
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		t.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["default_transaction_isolation"] = "serializable"
	pool, err := pgxpool.NewWithConfig(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(pool.Close)
	ctx := context.Background()
	s, err := New(ctx, pool, Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.saves.Leaders = 1
	if _, err := s.pool.Exec(ctx, inSchema(`CREATE TABLE {schema}.levels (id bytea, level text);
		CREATE FUNCTION {schema}.level() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				INSERT INTO {schema}.levels VALUES (NEW.id, current_setting('transaction_isolation'));
				RETURN NEW;
			END $$;
		CREATE TRIGGER level BEFORE INSERT ON {schema}.sessionkit_sessions
			FOR EACH ROW EXECUTE FUNCTION {schema}.level();`, s.q.schema)); err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	record := func(token string) store.Record {
		return store.Record{ID: store.HashToken(token), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	}
	release := holdPool(t, s, 0)
	var wg sync.WaitGroup
	for i, token := range []string{"a", "b", "c"} {
		wg.Go(func() {
			if _, err := s.SaveSession(ctx, record(token)); err != nil {
				t.Errorf("save of %s: %v", token, err)
			}
		})
		waitQueued(t, s, i+1)
	}
	release()
	wg.Wait()
	if _, err := s.SaveSession(ctx, record("alone")); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"a": "read committed", "b": "read committed", "c": "read committed", "alone": "serializable"}
	for token, level := range want {
		id := store.HashToken(token)
		var got string
		if err := s.pool.QueryRow(ctx, inSchema(`SELECT level FROM {schema}.levels WHERE id = $1`, s.q.schema), id[:]).Scan(&got); err != nil {
			t.Fatal(err)
		}
		if got != level {
			t.Errorf("the save of %s ran at %s, want %s", token, got, level)
		}
	}
}

// TestBatchAnsweredAfterCommit holds a batch's COMMIT and checks that no
// caller hears before it returns, and that the transaction does not end
// with the context of a caller, the leader's included: callers whose
// contexts are canceled once their saves are in the batch hear its
// outcome.
func TestBatchAnsweredAfterCommit(t *testing.T) {
	ctx := context.Background()
	s, _ := openBatching(t)
	now := time.Now()
	openGate := closeGate(t, s)
	release := holdPool(t, s, 1) // all but the gate's connection
	const saves = 3
	errs := make([]error, saves)
	cancels := make([]context.CancelFunc, saves)
	var wg sync.WaitGroup
	var returned atomic.Int32
	for i := range saves {
		ctx, cancel := context.WithCancel(ctx)
		cancels[i] = cancel
		wg.Go(func() {
			defer returned.Add(1)
			r := store.Record{ID: store.HashToken(fmt.Sprint("caller-", i)), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
			_, errs[i] = s.SaveSession(ctx, r)
		})
		waitQueued(t, s, i+1)
	}
	release()
	waitLocked(t, s)
	time.Sleep(20 * time.Millisecond) // time for a wrong SaveSession to return
	if n := returned.Load(); n != 0 {
		t.Errorf("%d saves returned before their COMMIT did", n)
	}
	for _, cancel := range cancels {
		cancel()
	}
	time.Sleep(20 * time.Millisecond)
	if n := returned.Load(); n != 0 {
		t.Errorf("%d saves returned, their contexts canceled, before their COMMIT did", n)
	}
	openGate()
	wg.Wait()
	for i, err := range errs {
		if err != nil {
			t.Errorf("save %d: %v", i, err)
		}
		if _, err := s.Session(ctx, store.HashToken(fmt.Sprint("caller-", i))); err != nil {
			t.Errorf("record %d: %v", i, err)
		}
	}
}

// await waits for wg, and fails the test if it does not end within ten
// seconds: the calls it stands for do not return.
func await(t *testing.T, wg *sync.WaitGroup, what string) {
	t.Helper()
	done := make(chan struct{})
	go func() {
		wg.Wait()
		close(done)
	}()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatalf("%s do not return", what)
	}
}

// unseenEnd is a context whose end its Done channel does not tell: its Err
// is context.Canceled once ended is set.
type unseenEnd struct {
	context.Context
	ended atomic.Bool
}

func (c *unseenEnd) Err() error {
	if c.ended.Load() {
		return context.Canceled
	}
	return c.Context.Err()
}

// TestBatchDeadline holds a batch's COMMIT and checks that the batch's
// transaction ends when the latest deadline of its saves passes, not the
// earliest: each caller then hears that its deadline passed.
func TestBatchDeadline(t *testing.T) {
	ctx := context.Background()
	s, _ := openBatching(t)
	now := time.Now()
	openGate := closeGate(t, s)
	defer openGate()
	release := holdPool(t, s, 1)
	start := time.Now()
	latest := start.Add(800 * time.Millisecond)
	deadlines := []time.Time{start.Add(400 * time.Millisecond), latest, start.Add(600 * time.Millisecond)}
	errs := make([]error, len(deadlines))
	var wg sync.WaitGroup
	for i, d := range deadlines {
		wg.Go(func() {
			ctx, cancel := context.WithDeadline(ctx, d)
			defer cancel()
			r := store.Record{ID: store.HashToken(fmt.Sprint("caller-", i)), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
			_, errs[i] = s.SaveSession(ctx, r)
		})
		waitQueued(t, s, i+1)
	}
	release()
	await(t, &wg, "the saves")
	if ended := time.Now(); ended.Before(latest) {
		t.Errorf("the batch ended %v after it started, before the latest deadline, %v", ended.Sub(start), latest.Sub(start))
	}
	for i, err := range errs {
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("save %d: err = %v, want context.DeadlineExceeded", i, err)
		}
	}
}

// closeGate makes the commit of a transaction that creates sessions in s
// wait, in a deferred trigger, for a lock that a transaction of its own
// holds, and returns the function that lets them go.
func closeGate(t *testing.T, s *Store) (open func()) {
	t.Helper()
	ctx := context.Background()
	if _, err := s.pool.Exec(ctx, inSchema(`CREATE TABLE {schema}.gate (id int);
		CREATE FUNCTION {schema}.gate() RETURNS trigger LANGUAGE plpgsql AS $$
			BEGIN
				LOCK TABLE {schema}.gate IN SHARE MODE;
				RETURN NULL;
			END $$;
		CREATE CONSTRAINT TRIGGER gate AFTER INSERT ON {schema}.sessionkit_sessions
			DEFERRABLE INITIALLY DEFERRED FOR EACH ROW EXECUTE FUNCTION {schema}.gate();`, s.q.schema)); err != nil {
		t.Fatal(err)
	}
	gate, err := s.pool.Begin(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := gate.Exec(ctx, inSchema(`LOCK TABLE {schema}.gate IN EXCLUSIVE MODE`, s.q.schema)); err != nil {
		gate.Rollback(ctx)
		t.Fatal(err)
	}
	open = sync.OnceFunc(func() {
		if err := gate.Rollback(ctx); err != nil {
			t.Error(err)
		}
	})
	t.Cleanup(open)
	return open
}

// openBatching opens a store in a fresh schema, on a pool whose
// connections report the batches they send to the returned tracer. It
// runs one batch at a time, so that the saves lined up all go in the
// next.
func openBatching(t *testing.T) (*Store, *batchTrace) {
	t.Helper()
	url, schema := testenv.PostgresSchema(t)
	trace := &batchTrace{}
	s, err := New(context.Background(), newPool(t, url, trace), Options{Schema: schema})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	s.saves.Leaders = 1
	return s, trace
}

// holdPool takes every connection of s's pool but spare, so that saves
// queue, and returns the function that gives them back (at the latest
// when the test ends, so that closing the pool does not wait for them).
func holdPool(t *testing.T, s *Store, spare int) (release func()) {
	t.Helper()
	conns := make([]*pgxpool.Conn, int(s.pool.Stat().MaxConns())-spare)
	for i := range conns {
		c, err := s.pool.Acquire(context.Background())
		if err != nil {
			t.Fatal(err)
		}
		conns[i] = c
	}
	release = sync.OnceFunc(func() {
		for _, c := range conns {
			c.Release()
		}
	})
	t.Cleanup(release)
	return release
}

// groupCommitOf lets storetest watch s's line of saves; holding it holds
// every connection of the pool.
func groupCommitOf(s *Store) storetest.GroupCommit {
	return storetest.GroupCommit{
		Hold:   func(t *testing.T) func() { return holdPool(t, s, 0) },
		Queued: s.saves.Len,
		Counts: s.saves.Counts,
	}
}

// waitQueued waits until n saves wait in s's line.
func waitQueued(t *testing.T, s *Store, n int) {
	t.Helper()
	groupCommitOf(s).WaitQueued(t, n)
}

// waitLocked waits until a transaction waits for a lock on the table
// gate of s's schema.
func waitLocked(t *testing.T, s *Store) {
	t.Helper()
	for {
		var n int
		if err := s.pool.QueryRow(context.Background(), inSchema(
			`SELECT count(*) FROM pg_locks WHERE NOT granted AND relation = '{schema}.gate'::regclass`,
			s.q.schema)).Scan(&n); err != nil {
			t.Fatal(err)
		}
		if n > 0 {
			return
		}
		time.Sleep(time.Millisecond)
	}
}

// transactionsOf returns how many transactions last wrote the records
// named by tokens.
func transactionsOf(t *testing.T, s *Store, tokens ...string) int {
	t.Helper()
	ids := make([][]byte, len(tokens))
	for i, token := range tokens {
		id := store.HashToken(token)
		ids[i] = id[:]
	}
	var n int
	if err := s.pool.QueryRow(context.Background(),
		`SELECT count(DISTINCT xmin::text) FROM `+s.q.schema+`.sessionkit_sessions WHERE id = ANY($1)`,
		ids).Scan(&n); err != nil {
		t.Fatal(err)
	}
	return n
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

// batchTrace is a pgx.QueryTracer and pgx.BatchTracer that records the
// batches sent.
type batchTrace struct {
	mu      sync.Mutex
	batches []sentBatch
}

// A sentBatch is what batchTrace records of a batch: how many statements
// it held, and the session ids they named, in order.
type sentBatch struct {
	statements int
	ids        [][]byte
}

func (*batchTrace) TraceQueryStart(ctx context.Context, _ *pgx.Conn, _ pgx.TraceQueryStartData) context.Context {
	return ctx
}

func (*batchTrace) TraceQueryEnd(context.Context, *pgx.Conn, pgx.TraceQueryEndData) {}

func (c *batchTrace) TraceBatchStart(ctx context.Context, _ *pgx.Conn, data pgx.TraceBatchStartData) context.Context {
	sent := sentBatch{statements: data.Batch.Len()}
	for _, q := range data.Batch.QueuedQueries {
		for _, arg := range q.Arguments {
			if id, ok := arg.([]byte); ok && len(id) == len(store.SessionID{}) {
				sent.ids = append(sent.ids, id)
				break
			}
		}
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.batches = append(c.batches, sent)
	return ctx
}

func (*batchTrace) TraceBatchQuery(context.Context, *pgx.Conn, pgx.TraceBatchQueryData) {}

func (*batchTrace) TraceBatchEnd(context.Context, *pgx.Conn, pgx.TraceBatchEndData) {}

// take returns the batches sent since the last take.
func (c *batchTrace) take() []sentBatch {
	c.mu.Lock()
	defer c.mu.Unlock()
	b := c.batches
	c.batches = nil
	return b
}
