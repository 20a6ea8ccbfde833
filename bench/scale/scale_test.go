package scale_test

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	mrand "math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/jackc/pgx/v5/pgxpool"
	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// The settings' environment variables and defaults (see the package doc).
const (
	sizesEnv  = "SESSIONKIT_SCALE_SIZES"
	storesEnv = "SESSIONKIT_SCALE_STORES"
	loginsEnv = "SESSIONKIT_SCALE_LOGINS"

	defaultSizes  = "1k,100k"
	defaultStores = "sqlite,redis,postgres"
	defaultLogins = "10,1k,10k"
)

// perUser is how many sessions each user of a filled store has.
const perUser = 2

// dataSize is the size of a record's Data: a few values, as the store
// benchmarks use.
const dataSize = 300

// userAgent is every record's user agent.
const userAgent = "Mozilla/5.0 (X11; Linux x86_64; scale bench)"

// backend opens one store of a kind, empty, in a file, prefix or schema of
// its own that is removed when tb ends. It returns the store to measure and
// the store to fill it through (the same store, or one on the same data
// with settings for bulk writes), and how many goroutines fill it.
type backend struct {
	name string
	open func(tb testing.TB) (measured, filler store.Sessions, workers int)
}

var backends = []backend{
	{"sqlite", openSQLite},
	{"redis", openRedis},
	{"postgres", openPostgres},
}

func openSQLite(tb testing.TB) (store.Sessions, store.Sessions, int) {
	s, err := sqlitestore.Open(context.Background(), filepath.Join(tb.TempDir(), "scale.db"), sqlitestore.Options{})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	// One writer: more goroutines only queue for it.
	return s, s, 2
}

func openRedis(tb testing.TB) (store.Sessions, store.Sessions, int) {
	url := testenv.Redis(tb)
	prefix := "skscale:" + randomHex() + ":"
	// Registered first, so that it runs after the store is closed.
	tb.Cleanup(func() { deleteRedisPrefix(tb, url, prefix) })
	s, err := redisstore.Open(context.Background(), url, redisstore.Options{Prefix: prefix})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	return s, s, 16
}

func openPostgres(tb testing.TB) (store.Sessions, store.Sessions, int) {
	url, schema := testenv.PostgresSchema(tb)
	ctx := context.Background()
	s, err := pgstore.Open(ctx, url, pgstore.Options{Schema: schema})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { s.Close() })
	// The filler: the same schema, through a pool whose commits do not
	// wait for the WAL to reach the disk.
	cfg, err := pgxpool.ParseConfig(url)
	if err != nil {
		tb.Fatal(err)
	}
	cfg.ConnConfig.RuntimeParams["synchronous_commit"] = "off"
	cfg.MaxConns = 16
	pool, err := pgxpool.NewWithConfig(ctx, cfg)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(pool.Close)
	f, err := pgstore.New(ctx, pool, pgstore.Options{Schema: schema})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() { f.Close() })
	return s, f, 16
}

// deleteRedisPrefix deletes every key under prefix: SCAN, then UNLINK in
// pipelines. A million sessions are more keys than testenv's cleanup has
// time for.
func deleteRedisPrefix(tb testing.TB, url, prefix string) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	opts, err := redis.ParseURL(url)
	if err != nil {
		tb.Errorf("deleting the keys %s*: %v", prefix, err)
		return
	}
	c := redis.NewClient(opts)
	defer c.Close()
	iter := c.Scan(ctx, 0, prefix+"*", 10000).Iterator()
	var keys []string
	flush := func() error {
		p := c.Pipeline()
		for len(keys) > 0 {
			n := min(len(keys), 1000)
			p.Unlink(ctx, keys[:n]...)
			keys = keys[n:]
		}
		_, err := p.Exec(ctx)
		return err
	}
	for iter.Next(ctx) {
		if keys = append(keys, iter.Val()); len(keys) >= 50000 {
			if err := flush(); err != nil {
				tb.Errorf("deleting the keys %s*: %v", prefix, err)
				return
			}
		}
	}
	if err := errors.Join(iter.Err(), flush()); err != nil {
		tb.Errorf("deleting the keys %s*: %v", prefix, err)
	}
}

func randomHex() string {
	var b [6]byte
	_, _ = rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// fixture is a store filled with n sessions: session i is record(i), a
// login of user i/perUser.
type fixture struct {
	s        store.Sessions
	n        int
	base     time.Time // the first record's creation
	ids      []store.SessionID
	versions []uint64 // of each record, as last saved
	rng      *mrand.Rand
	created  atomic.Int64 // records made by Create, for their names
}

// userName names user u of a fixture.
func userName(u int) string { return "user-" + strconv.Itoa(u) }

// record returns session i of f as it was first saved.
func (f *fixture) record(i int) store.Record {
	created := f.base.Add(time.Duration(i) * time.Microsecond)
	user := userName(i / perUser)
	data := make([]byte, dataSize)
	copy(data, user)
	return store.Record{ID: f.ids[i], Kind: store.KindSession, User: user, AccountID: "acct-" + user,
		AuthTime: created, Data: data, Created: created, LastSeen: created,
		Expires: f.base.Add(24 * time.Hour), UserAgent: userAgent}
}

// newFixture opens a store of kind be and fills it with n sessions.
func newFixture(tb testing.TB, be backend, n int) *fixture {
	tb.Helper()
	measured, filler, workers := be.open(tb)
	f := &fixture{s: measured, n: n, base: time.Now(), ids: make([]store.SessionID, n),
		versions: make([]uint64, n), rng: mrand.New(mrand.NewPCG(1, uint64(n)))}
	for i := range n {
		f.ids[i] = store.HashToken(fmt.Sprintf("scale-%d-%d", n, i))
	}
	start := time.Now()
	fill(tb, filler, workers, n, func(i int) store.Record { return f.record(i) })
	for i := range f.versions {
		f.versions[i] = 1
	}
	d := time.Since(start)
	tb.Logf("%s: filled %d sessions in %v (%.0f/s, %d goroutines)", be.name, n, d.Round(time.Millisecond),
		float64(n)/d.Seconds(), workers)
	return f
}

// fill creates the n records rec returns, from workers goroutines, through
// SaveSession.
func fill(tb testing.TB, s store.Sessions, workers, n int, rec func(i int) store.Record) {
	tb.Helper()
	ctx := context.Background()
	var next atomic.Int64
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for range workers {
		wg.Go(func() {
			for {
				i := int(next.Add(1) - 1)
				if i >= n {
					return
				}
				if _, err := s.SaveSession(ctx, rec(i)); err != nil {
					errs <- fmt.Errorf("saving record %d: %w", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		tb.Fatal(err)
	}
}

// The operations measured on a filled store. Each does one call on a
// record chosen at random.

func (f *fixture) session(ctx context.Context) error {
	i := f.rng.IntN(f.n)
	r, err := f.s.Session(ctx, f.ids[i])
	if err == nil && r.Version != f.versions[i] {
		err = fmt.Errorf("record %d at version %d, want %d", i, r.Version, f.versions[i])
	}
	return err
}

func (f *fixture) save(ctx context.Context) error {
	i := f.rng.IntN(f.n)
	r := f.record(i)
	r.Version = f.versions[i]
	r.LastSeen = time.Now()
	r.Data[dataSize-1] = byte(r.Version)
	v, err := f.s.SaveSession(ctx, r)
	if err != nil {
		return fmt.Errorf("saving record %d at version %d: %w", i, r.Version, err)
	}
	f.versions[i] = v
	return nil
}

func (f *fixture) userSessions(ctx context.Context) error {
	u := f.rng.IntN(f.n / perUser)
	recs, err := f.s.UserSessions(ctx, userName(u))
	if err == nil && len(recs) != perUser {
		err = fmt.Errorf("%s has %d sessions, want %d", userName(u), len(recs), perUser)
	}
	return err
}

// newLogin returns a new login of user, named by a counter of f.
func (f *fixture) newLogin(user string) store.Record {
	k := f.created.Add(1)
	now := time.Now()
	if user == "" {
		user = "new-user-" + strconv.FormatInt(k, 10)
	}
	data := make([]byte, dataSize)
	copy(data, user)
	return store.Record{ID: store.HashToken(fmt.Sprintf("scale-new-%d-%d", f.n, k)), Kind: store.KindSession,
		User: user, AccountID: "acct-" + user, AuthTime: now, Data: data,
		Created: now, LastSeen: now, Expires: now.Add(24 * time.Hour), UserAgent: userAgent}
}

// benchCreate measures creating a record of user (a new user each time
// when empty) in f. Each record is deleted again with the timer stopped,
// so that the store keeps its size.
func benchCreate(b *testing.B, f *fixture, user string) {
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		r := f.newLogin(user)
		if _, err := f.s.SaveSession(ctx, r); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		if err := f.s.DeleteSession(ctx, r.ID); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
	}
}

// benchOp measures op, called b.N times.
func benchOp(b *testing.B, op func(context.Context) error) {
	ctx := context.Background()
	b.ResetTimer()
	for range b.N {
		if err := op(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkScale measures Session, Save, Create and UserSessions on each
// store filled with each size of SESSIONKIT_SCALE_SIZES.
func BenchmarkScale(b *testing.B) {
	sizes := sizesFromEnv(b, sizesEnv, defaultSizes)
	for _, be := range backendsFromEnv(b) {
		b.Run(be.name, func(b *testing.B) {
			for _, n := range sizes {
				b.Run(sizeName(n), func(b *testing.B) {
					f := newFixture(b, be, n)
					b.Run("Session", func(b *testing.B) { benchOp(b, f.session) })
					b.Run("Save", func(b *testing.B) { benchOp(b, f.save) })
					b.Run("Create", func(b *testing.B) { benchCreate(b, f, "") })
					b.Run("UserSessions", func(b *testing.B) { benchOp(b, f.userSessions) })
				})
			}
		})
	}
}

// BenchmarkScaleLogins measures a login (creating a record) of one user who
// already has each number of SESSIONKIT_SCALE_LOGINS live logins, alone in
// the store.
func BenchmarkScaleLogins(b *testing.B) {
	counts := sizesFromEnv(b, loginsEnv, defaultLogins)
	for _, be := range backendsFromEnv(b) {
		b.Run(be.name, func(b *testing.B) {
			total := slices.Max(counts)
			for _, n := range counts {
				b.Run(sizeName(n), func(b *testing.B) {
					// Filled once: a leaf benchmark's function runs once
					// per round.
					f := newLoginsFixture(b, be, n, total)
					b.Run("Login", func(b *testing.B) { benchCreate(b, f, "many") })
				})
			}
		})
	}
}

// newLoginsFixture opens a store of kind be holding total live logins,
// n of them the user "many"'s and the rest two each of other users, so
// that a login of "many" costs what the store's size costs in every row
// alike and only the user's own logins differ between rows.
func newLoginsFixture(tb testing.TB, be backend, n, total int) *fixture {
	tb.Helper()
	measured, filler, workers := be.open(tb)
	f := &fixture{s: measured, n: n}
	start := time.Now()
	fill(tb, filler, workers, max(n, total), func(i int) store.Record {
		if i < n {
			return f.newLogin("many")
		}
		return f.newLogin(fmt.Sprintf("other%d", i/2))
	})
	tb.Logf("%s: %d logins of one user among %d in %v", be.name, n, max(n, total), time.Since(start).Round(time.Millisecond))
	return f
}

// TestScaleFixture checks the harness on a few hundred records of each
// store, quickly, so that CI (which runs no benchmarks) keeps it working:
// the fill, every operation, and a login of a user with many.
func TestScaleFixture(t *testing.T) {
	ctx := context.Background()
	for _, be := range backends {
		t.Run(be.name, func(t *testing.T) {
			f := newFixture(t, be, 200)
			for range 20 {
				for _, op := range []func(context.Context) error{f.session, f.save, f.userSessions} {
					if err := op(ctx); err != nil {
						t.Fatal(err)
					}
				}
			}
			r := f.newLogin("")
			if _, err := f.s.SaveSession(ctx, r); err != nil {
				t.Fatal(err)
			}
			if err := f.s.DeleteSession(ctx, r.ID); err != nil {
				t.Fatal(err)
			}
			many := newLoginsFixture(t, be, 30, 60)
			if recs, err := many.s.UserSessions(ctx, "many"); err != nil || len(recs) != 30 {
				t.Fatalf("the user has %d logins, %v; want 30", len(recs), err)
			}
		})
	}
	for _, c := range []struct {
		in   string
		want []int
	}{{"1k,100k,1M", []int{1000, 100_000, 1_000_000}}, {" 10 , 2500", []int{10, 2500}}} {
		if got, err := parseSizes(c.in); err != nil || fmt.Sprint(got) != fmt.Sprint(c.want) {
			t.Errorf("parseSizes(%q) = %v, %v; want %v", c.in, got, err, c.want)
		}
	}
	for n, want := range map[int]string{1000: "1k", 100_000: "100k", 1_000_000: "1M", 2500: "2500"} {
		if got := sizeName(n); got != want {
			t.Errorf("sizeName(%d) = %q, want %q", n, got, want)
		}
	}
}

// sizesFromEnv reads the sizes in the environment variable name, or def.
func sizesFromEnv(tb testing.TB, name, def string) []int {
	v := os.Getenv(name)
	if v == "" {
		v = def
	}
	sizes, err := parseSizes(v)
	if err != nil {
		tb.Fatalf("%s=%q: %v", name, v, err)
	}
	return sizes
}

// parseSizes reads comma-separated counts: 1000, 1k or 1M.
func parseSizes(s string) ([]int, error) {
	var out []int
	for f := range strings.SplitSeq(s, ",") {
		f = strings.TrimSpace(f)
		mult := 1
		switch {
		case strings.HasSuffix(f, "k"), strings.HasSuffix(f, "K"):
			mult, f = 1000, f[:len(f)-1]
		case strings.HasSuffix(f, "M"), strings.HasSuffix(f, "m"):
			mult, f = 1_000_000, f[:len(f)-1]
		}
		n, err := strconv.Atoi(f)
		if err != nil || n*mult < perUser {
			return nil, fmt.Errorf("size %q: want a count of at least %d, as 1000, 1k or 1M", f, perUser)
		}
		out = append(out, n*mult)
	}
	return out, nil
}

// sizeName names a size in benchmark names: 1k, 100k, 1M, or the number.
func sizeName(n int) string {
	switch {
	case n%1_000_000 == 0:
		return strconv.Itoa(n/1_000_000) + "M"
	case n%1000 == 0:
		return strconv.Itoa(n/1000) + "k"
	}
	return strconv.Itoa(n)
}

// backendsFromEnv returns the backends SESSIONKIT_SCALE_STORES names.
func backendsFromEnv(tb testing.TB) []backend {
	v := os.Getenv(storesEnv)
	if v == "" {
		v = defaultStores
	}
	var out []backend
	for name := range strings.SplitSeq(v, ",") {
		name = strings.TrimSpace(name)
		found := false
		for _, be := range backends {
			if be.name == name {
				out, found = append(out, be), true
			}
		}
		if !found {
			tb.Fatalf("%s=%q: no store %q (want some of %s)", storesEnv, v, name, defaultStores)
		}
	}
	return out
}
