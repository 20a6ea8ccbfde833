package token_test

import (
	"bytes"
	"context"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/token"
)

const (
	testIdle     = time.Hour
	testLifetime = 3 * time.Hour
	testGrace    = 10 * time.Second
)

// newRefresher returns a Refresher on s with the test timeouts and clock.
func newRefresher(t testing.TB, s store.Sessions, clock *fakeclock.Clock, opts token.RefreshOptions) *token.Refresher {
	t.Helper()
	if opts.IdleTimeout == 0 {
		opts.IdleTimeout = testIdle
	}
	if opts.Lifetime == 0 {
		opts.Lifetime = testLifetime
	}
	if opts.Grace == 0 {
		opts.Grace = testGrace
	}
	opts.Now = clock.Now
	r, err := token.NewRefresher(s, opts)
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func start(t testing.TB, r *token.Refresher, user string) (token.Family, string) {
	t.Helper()
	f, tok, err := r.Start(context.Background(), token.Login{User: user, UserAgent: "Mozilla/5.0 (test)"})
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return f, tok
}

func rotate(t testing.TB, r *token.Refresher, tok string) (token.Family, string) {
	t.Helper()
	f, next, err := r.Rotate(context.Background(), tok)
	if err != nil {
		t.Fatalf("Rotate: %v", err)
	}
	return f, next
}

// wantEnded fails unless err says the family has ended (ErrRevoked and
// ErrInvalid), and, when reused, that the token was a reused one.
func wantEnded(t testing.TB, err error, reused bool) {
	t.Helper()
	if err == nil {
		t.Fatal("accepted; want the family ended")
	}
	for _, w := range []error{token.ErrInvalid, token.ErrRevoked} {
		if !errors.Is(err, w) {
			t.Errorf("error %q does not wrap %q", err, w)
		}
	}
	if errors.Is(err, token.ErrReused) != reused {
		t.Errorf("error %q: wraps ErrReused = %v, want %v", err, !reused, reused)
	}
}

func TestRefreshStartRotate(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	f0, tok0 := start(t, r, "alice")
	if f0.User != "alice" || f0.UserAgent != "Mozilla/5.0 (test)" || !f0.Created.Equal(t0) ||
		!f0.LastUsed.Equal(t0) || !f0.Expires.Equal(t0.Add(testIdle)) || f0.Data != nil {
		t.Errorf("Start gave %+v", f0)
	}
	if len(tok0) != 64 || strings.ContainsAny(tok0, "+/=") {
		t.Errorf("token %q is not 48 bytes in unpadded base64url", tok0)
	}
	if len(f0.ID) != 22 || strings.Contains(tok0, f0.ID) {
		t.Errorf("family id %q: want 16 bytes in base64url, not part of the token", f0.ID)
	}

	clock.Advance(time.Minute)
	f1, tok1 := rotate(t, r, tok0)
	if f1.ID != f0.ID || tok1 == tok0 || len(tok1) != 64 {
		t.Errorf("Rotate: family %s token %q; want family %s and a new token", f1.ID, tok1, f0.ID)
	}
	if !f1.Created.Equal(t0) || !f1.LastUsed.Equal(clock.Now()) || !f1.Expires.Equal(clock.Now().Add(testIdle)) {
		t.Errorf("after Rotate: %+v", f1)
	}
	got, err := r.Family(ctx, f0.ID)
	if err != nil || got.ID != f0.ID || got.User != "alice" || !got.LastUsed.Equal(f1.LastUsed) {
		t.Errorf("Family = %+v, %v", got, err)
	}
	// Two families of one user are distinct.
	g, tokG := start(t, r, "alice")
	if g.ID == f0.ID || tokG == tok1 {
		t.Errorf("second login shares family %s", g.ID)
	}
	_, tok2 := rotate(t, r, tok1)
	rotate(t, r, tok2)
	rotate(t, r, tokG)
}

func TestRefreshReuse(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})

	t.Run("after the grace window", func(t *testing.T) {
		f, tok0 := start(t, r, "alice")
		_, tok1 := rotate(t, r, tok0)
		clock.Advance(testGrace + time.Nanosecond)
		ended, next, err := r.Rotate(ctx, tok0)
		wantEnded(t, err, true)
		if next != "" {
			t.Errorf("reuse returned a token")
		}
		// The error comes with the login it ended, for the security log.
		if ended.ID != f.ID || ended.User != "alice" {
			t.Errorf("reuse returned the family %+v, want %s of alice", ended, f.ID)
		}
		// The thief's use ended the family for the owner too.
		_, _, err = r.Rotate(ctx, tok1)
		wantEnded(t, err, false)
		_, err = r.Family(ctx, f.ID)
		wantEnded(t, err, false)
	})

	t.Run("at the end of the grace window", func(t *testing.T) {
		_, tok0 := start(t, r, "alice")
		_, tok1 := rotate(t, r, tok0)
		clock.Advance(testGrace)
		rotate(t, r, tok0)
		rotate(t, r, tok1)
	})

	t.Run("spent two rotations ago", func(t *testing.T) {
		f, tok0 := start(t, r, "alice")
		_, tok1 := rotate(t, r, tok0)
		_, tok2 := rotate(t, r, tok1)
		_, _, err := r.Rotate(ctx, tok0) // within the window of the last rotation, but not its token
		wantEnded(t, err, true)
		_, _, err = r.Rotate(ctx, tok2)
		wantEnded(t, err, false)
		_, err = r.Family(ctx, f.ID)
		wantEnded(t, err, false)
	})

	t.Run("no grace", func(t *testing.T) {
		r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{Grace: -1})
		_, tok0 := start(t, r, "alice")
		_, tok1 := rotate(t, r, tok0)
		clock.Advance(time.Nanosecond)
		_, _, err := r.Rotate(ctx, tok0)
		wantEnded(t, err, true)
		_, _, err = r.Rotate(ctx, tok1)
		wantEnded(t, err, false)
	})
}

// TestRefreshOnRetry: a change that loses a compare-and-swap to another
// one is tried again, and OnRetry hears of each retry, and of nothing else.
func TestRefreshOnRetry(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	var retries atomic.Int64
	st := newMemstore(t, clock)
	r := newRefresher(t, st, clock, token.RefreshOptions{OnRetry: func() { retries.Add(1) }})
	// Another instance on the same store: within one Refresher, changes of
	// a family are serialized and never conflict.
	other := newRefresher(t, st, clock, token.RefreshOptions{})
	f, tok := start(t, r, "alice")
	add := func(s string) func([]byte) ([]byte, error) {
		return func(data []byte) ([]byte, error) { return append(data, s...), nil }
	}
	if _, err := r.Update(ctx, f.ID, add("a")); err != nil {
		t.Fatal(err)
	}
	rotate(t, r, tok)
	if n := retries.Load(); n != 0 {
		t.Fatalf("OnRetry called %d times without a conflict", n)
	}
	// The first run of fn lets another change in between its read and its
	// save, so that its save conflicts once.
	first := true
	got, err := r.Update(ctx, f.ID, func(data []byte) ([]byte, error) {
		if first {
			first = false
			if _, err := other.Update(ctx, f.ID, add("b")); err != nil {
				return nil, err
			}
		}
		return add("c")(data)
	})
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != "abc" {
		t.Errorf("data %q after a retried update, want \"abc\"", got.Data)
	}
	if n := retries.Load(); n != 1 {
		t.Errorf("OnRetry called %d times for one conflict, want 1", n)
	}
}

// TestRefreshGraceTwoTabs: two tabs refresh with the same token a moment
// apart. Both get the same new token, and the second use writes nothing;
// that token is the family's only one: after the window it works, and the
// first token is reuse.
func TestRefreshGraceTwoTabs(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	cs := &countingSessions{Sessions: newMemstore(t, clock)}
	r := newRefresher(t, cs, clock, token.RefreshOptions{})
	f, tok0 := start(t, r, "alice")
	clock.Advance(time.Minute)
	fa, tabA := rotate(t, r, tok0)
	rotated := clock.Now()
	saves := cs.saves.Load()
	clock.Advance(testGrace / 2)
	fb, tabB := rotate(t, r, tok0) // the spent token, within the window
	if tabB != tabA || fb.ID != f.ID {
		t.Fatalf("tabs got %q and %q in family %s; want one token of %s", tabA, tabB, fb.ID, f.ID)
	}
	if n := cs.saves.Load() - saves; n != 0 {
		t.Errorf("the repeat within the window saved %d times; want none", n)
	}
	if !fb.LastUsed.Equal(rotated) || !fb.Expires.Equal(fa.Expires) {
		t.Errorf("the repeat gave LastUsed %v, Expires %v; want the rotation's %v, %v",
			fb.LastUsed, fb.Expires, rotated, fa.Expires)
	}
	clock.Advance(time.Hour - testGrace)
	_, tabA2 := rotate(t, r, tabA)
	_, _, err := r.Rotate(ctx, tok0)
	wantEnded(t, err, true)
	_, _, err = r.Rotate(ctx, tabA2)
	wantEnded(t, err, false)
}

// TestRefreshGraceChain: the grace window covers the last rotation only.
// The token it spent gets its successor; the token spent before is reuse,
// even within the window, as the token of a tab that fell two rotations
// behind.
func TestRefreshGraceChain(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	f, tok0 := start(t, r, "alice")
	_, tok1 := rotate(t, r, tok0)
	clock.Advance(time.Second)
	_, tok2 := rotate(t, r, tok1)
	clock.Advance(time.Second)
	if _, again := rotate(t, r, tok1); again != tok2 {
		t.Errorf("the last spent token within the window got %q, want its successor %q", again, tok2)
	}
	ended, next, err := r.Rotate(ctx, tok0)
	wantEnded(t, err, true)
	if next != "" || ended.ID != f.ID {
		t.Errorf("reuse gave %q and family %q", next, ended.ID)
	}
	for _, tok := range []string{tok1, tok2} {
		_, _, err := r.Rotate(ctx, tok)
		wantEnded(t, err, false)
	}
}

func TestRefreshConcurrentRotate(t *testing.T) {
	for _, row := range []struct {
		name      string
		open      func(t *testing.T, clock *fakeclock.Clock) store.Sessions
		instances int
	}{
		{"memstore", func(t *testing.T, c *fakeclock.Clock) store.Sessions { return newMemstore(t, c) }, 1},
		{"memstore, three instances", func(t *testing.T, c *fakeclock.Clock) store.Sessions { return newMemstore(t, c) }, 3},
		{"sqlitestore, three instances", func(t *testing.T, c *fakeclock.Clock) store.Sessions { return openSQLite(t, c) }, 3},
	} {
		t.Run(row.name, func(t *testing.T) {
			testConcurrentRotate(t, row.open, row.instances, 10)
		})
	}
}

// afterRace are checks of the family after a race of tabs that all got the
// successor next of tok: it is the family's only valid token.
var afterRace = []struct {
	name  string
	check func(t *testing.T, r *token.Refresher, clock *fakeclock.Clock, tok, next string)
}{
	{"the successor works once", func(t *testing.T, r *token.Refresher, clock *fakeclock.Clock, tok, next string) {
		clock.Advance(testGrace + time.Second)
		_, next2 := rotate(t, r, next)
		clock.Advance(testGrace + time.Second)
		_, _, err := r.Rotate(context.Background(), next)
		wantEnded(t, err, true)
		_, _, err = r.Rotate(context.Background(), next2)
		wantEnded(t, err, false)
	}},
	{"the spent token after the window", func(t *testing.T, r *token.Refresher, clock *fakeclock.Clock, tok, next string) {
		clock.Advance(testGrace + time.Second)
		_, _, err := r.Rotate(context.Background(), tok)
		wantEnded(t, err, true)
		_, _, err = r.Rotate(context.Background(), next)
		wantEnded(t, err, false)
	}},
	{"the spent token after the successor was spent", func(t *testing.T, r *token.Refresher, clock *fakeclock.Clock, tok, next string) {
		clock.Advance(time.Second)
		_, next2 := rotate(t, r, next)
		_, _, err := r.Rotate(context.Background(), tok)
		wantEnded(t, err, true)
		_, _, err = r.Rotate(context.Background(), next2)
		wantEnded(t, err, false)
	}},
}

// testConcurrentRotate has n goroutines rotate the same token at once,
// through instances Refreshers on one store opened by open: all get the
// same successor. With several instances, the first read of each waits
// for the others', so that they all find the token current and race to
// save. Then each of afterRace checks that the successor is the family's
// only valid token.
func testConcurrentRotate(t *testing.T, open func(*testing.T, *fakeclock.Clock) store.Sessions, instances, n int) {
	for _, after := range afterRace {
		t.Run(after.name, func(t *testing.T) {
			ctx := context.Background()
			clock := newClock()
			gate := &gatedSessions{Sessions: open(t, clock)}
			cs := &countingSessions{Sessions: gate}
			rs := make([]*token.Refresher, instances)
			for i := range rs {
				rs[i] = newRefresher(t, cs, clock, token.RefreshOptions{})
			}
			f, tok := start(t, rs[0], "alice")
			gate.hold(instances)
			toks := make([]string, n)
			errs := make([]error, n)
			var wg sync.WaitGroup
			for j := range n {
				wg.Go(func() {
					var fam token.Family
					fam, toks[j], errs[j] = rs[j%instances].Rotate(ctx, tok)
					if errs[j] == nil && fam.ID != f.ID {
						errs[j] = fmt.Errorf("family %s, want %s", fam.ID, f.ID)
					}
				})
			}
			wg.Wait()
			for j, err := range errs {
				if err != nil {
					t.Fatalf("goroutine %d: %v", j, err)
				}
				if toks[j] != toks[0] || toks[j] == tok {
					t.Fatalf("goroutine %d got %q, goroutine 0 %q; want one new token", j, toks[j], toks[0])
				}
			}
			// The control: with several instances, the race did happen:
			// all but one lost their first save.
			if c := cs.conflicts.Load(); c != int64(instances-1) {
				t.Fatalf("%d instances rotated with %d conflicts, want %d: the race was not run as meant", instances, c, instances-1)
			}
			after.check(t, rs[len(rs)-1], clock, tok, toks[0])
		})
	}
}

// gatedSessions is a store.Sessions whose reads, once hold(n) is called,
// wait with what they read until n of them have read (or a while has
// passed), and then go on together.
type gatedSessions struct {
	store.Sessions
	mu      sync.Mutex
	waiting int
	open    chan struct{}
}

// hold makes the next n reads wait for one another.
func (g *gatedSessions) hold(n int) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.waiting, g.open = n, make(chan struct{})
}

func (g *gatedSessions) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	rec, err := g.Sessions.Session(ctx, id)
	g.mu.Lock()
	var open chan struct{}
	if g.waiting > 0 {
		g.waiting--
		open = g.open
		if g.waiting == 0 {
			close(open)
		}
	}
	g.mu.Unlock()
	if open != nil {
		select {
		case <-open:
		case <-time.After(10 * time.Second):
		}
	}
	return rec, err
}

// TestRefreshUsesItsClock: every time decision follows RefreshOptions.Now,
// not the store's clock, which here stands still.
func TestRefreshUsesItsClock(t *testing.T) {
	ctx := context.Background()
	storeClock := newClock()
	ms := newMemstore(t, storeClock)
	clock := newClock()
	r := newRefresher(t, ms, clock, token.RefreshOptions{})

	t.Run("grace window", func(t *testing.T) {
		_, tok0 := start(t, r, "alice")
		_, tok1 := rotate(t, r, tok0)
		clock.Advance(testGrace + time.Nanosecond)
		_, _, err := r.Rotate(ctx, tok0)
		wantEnded(t, err, true)
		_, _, err = r.Rotate(ctx, tok1)
		wantEnded(t, err, false)
	})
	t.Run("times", func(t *testing.T) {
		clock.Advance(time.Minute)
		f, tok := start(t, r, "alice")
		if !f.Created.Equal(clock.Now()) || !f.Expires.Equal(clock.Now().Add(testIdle)) {
			t.Errorf("Start: created %v, expires %v; want %v and an idle timeout later", f.Created, f.Expires, clock.Now())
		}
		clock.Advance(time.Minute)
		f, _ = rotate(t, r, tok)
		if !f.LastUsed.Equal(clock.Now()) || !f.Expires.Equal(clock.Now().Add(testIdle)) {
			t.Errorf("Rotate: last used %v, expires %v; want %v and an idle timeout later", f.LastUsed, f.Expires, clock.Now())
		}
	})
	t.Run("expiry", func(t *testing.T) {
		f, tok := start(t, r, "alice")
		clock.Advance(testIdle)
		_, _, err := r.Rotate(ctx, tok)
		wantEnded(t, err, false)
		_, err = r.Family(ctx, f.ID)
		wantEnded(t, err, false)
		_, err = r.Update(ctx, f.ID, incrementData)
		wantEnded(t, err, false)
	})
}

// sibling returns a token of tok's family with a fresh secret: one that
// a version which issued several tokens at once could have issued.
func sibling(t testing.TB, tok string) string {
	t.Helper()
	raw := unb64(t, tok)
	_, _ = rand.Read(raw[16:])
	return b64(raw)
}

// tokenHash returns the SHA-256 of a refresh token's raw bytes, as the
// family record keeps it.
func tokenHash(t testing.TB, tok string) []byte {
	t.Helper()
	h := sha256.Sum256(unb64(t, tok))
	return h[:]
}

// formatV1 returns a family's data as the previous version wrote it
// (format 1): the tokens current, those spent at rotated, and the
// application's data.
func formatV1(t testing.TB, rotated time.Time, current, spent []string, data []byte) []byte {
	t.Helper()
	b := append([]byte("SKRF"), 1)
	b = binary.BigEndian.AppendUint64(b, uint64(rotated.UnixNano()))
	for _, toks := range [][]string{current, spent} {
		b = append(b, byte(len(toks)))
		for _, tok := range toks {
			b = append(b, tokenHash(t, tok)...)
		}
	}
	b = binary.AppendUvarint(b, uint64(len(data)))
	return append(b, data...)
}

// TestRefreshFormatV1: a family saved by the previous version, which gave
// each use of a spent token within the grace window a token of its own:
// token spent two seconds ago, then a and b issued for it. Its tokens work
// as Rotate says, and the family ends with one valid token.
func TestRefreshFormatV1(t *testing.T) {
	type legacy struct {
		r                  *token.Refresher
		clock              *fakeclock.Clock
		id                 string
		spent, a, b, other string // other: never issued
	}
	ctx := context.Background()
	for _, row := range []struct {
		name string
		do   func(t *testing.T, l legacy)
	}{
		{"a current token rotates, once", func(t *testing.T, l legacy) {
			f, s := rotate(t, l.r, l.a)
			if string(f.Data) != "app data" || s == l.a || s == l.b {
				t.Errorf("rotated to %q with data %q", s, f.Data)
			}
			if _, again := rotate(t, l.r, l.a); again != s {
				t.Errorf("a repeat within the window got %q, want %q", again, s)
			}
			l.clock.Advance(testGrace + time.Second)
			rotate(t, l.r, s)
			_, _, err := l.r.Rotate(ctx, l.a)
			wantEnded(t, err, true)
		}},
		{"the other current token rotates", func(t *testing.T, l legacy) {
			rotate(t, l.r, l.b)
		}},
		{"both current tokens within the window", func(t *testing.T, l legacy) {
			_, sa := rotate(t, l.r, l.a)
			_, sb := rotate(t, l.r, l.b) // spent by a's rotation: a fresh token replaces sa
			if sb == sa {
				t.Fatalf("b got a's successor")
			}
			l.clock.Advance(testGrace + time.Second)
			rotate(t, l.r, sb)
		}},
		{"a replaced successor after the window", func(t *testing.T, l legacy) {
			_, sa := rotate(t, l.r, l.a)
			rotate(t, l.r, l.b)
			l.clock.Advance(testGrace + time.Second)
			_, _, err := l.r.Rotate(ctx, sa)
			wantEnded(t, err, true)
		}},
		{"the spent token within the window", func(t *testing.T, l legacy) {
			_, s := rotate(t, l.r, l.spent)
			if s == l.a || s == l.b {
				t.Fatalf("the spent token got %q, a token the old version issued", s)
			}
			if _, again := rotate(t, l.r, l.spent); again != s {
				t.Errorf("a repeat got %q, want %q", again, s)
			}
			l.clock.Advance(testGrace + time.Second)
			rotate(t, l.r, s)
		}},
		{"a current token replaced by the spent token's", func(t *testing.T, l legacy) {
			rotate(t, l.r, l.spent)
			l.clock.Advance(testGrace + time.Second)
			_, _, err := l.r.Rotate(ctx, l.a)
			wantEnded(t, err, true)
		}},
		{"the spent token after the window", func(t *testing.T, l legacy) {
			l.clock.Advance(testGrace)
			_, _, err := l.r.Rotate(ctx, l.spent)
			wantEnded(t, err, true)
			_, _, err = l.r.Rotate(ctx, l.a)
			wantEnded(t, err, false)
		}},
		{"a token never issued", func(t *testing.T, l legacy) {
			_, _, err := l.r.Rotate(ctx, l.other)
			wantEnded(t, err, true)
		}},
		{"update keeps the tokens", func(t *testing.T, l legacy) {
			if _, err := l.r.Update(ctx, l.id, func(b []byte) ([]byte, error) { return append(b, '!'), nil }); err != nil {
				t.Fatal(err)
			}
			f, _ := rotate(t, l.r, l.b)
			if string(f.Data) != "app data!" {
				t.Errorf("data %q after Update and Rotate", f.Data)
			}
		}},
	} {
		t.Run(row.name, func(t *testing.T) {
			clock := newClock()
			ms := newMemstore(t, clock)
			r := newRefresher(t, ms, clock, token.RefreshOptions{})
			f, spent := start(t, r, "alice")
			recs, err := ms.UserSessions(ctx, "alice")
			if err != nil || len(recs) != 1 {
				t.Fatalf("UserSessions = %d records, %v", len(recs), err)
			}
			l := legacy{r: r, clock: clock, id: f.ID, spent: spent, a: sibling(t, spent), b: sibling(t, spent), other: sibling(t, spent)}
			clock.Advance(2 * time.Second)
			rec := recs[0]
			rec.Data = formatV1(t, t0, []string{l.a, l.b}, []string{l.spent}, []byte("app data"))
			if _, err := ms.SaveSession(ctx, rec); err != nil {
				t.Fatal(err)
			}
			row.do(t, l)
		})
	}
}

// TestRefreshSuccessorNotStored reads a family's record after a rotation
// and a repeat within the window: it holds the hashes of the tokens, but
// neither token, nor any part of them in any spelling.
func TestRefreshSuccessorNotStored(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := newRefresher(t, ms, clock, token.RefreshOptions{})
	_, tok0 := start(t, r, "alice")
	_, tok1 := rotate(t, r, tok0)
	rotate(t, r, tok0)
	recs, err := ms.UserSessions(ctx, "alice")
	if err != nil || len(recs) != 1 {
		t.Fatalf("UserSessions = %d records, %v", len(recs), err)
	}
	data := recs[0].Data
	// The control: the record does hold what identifies the tokens.
	for _, tok := range []string{tok0, tok1} {
		if !bytes.Contains(data, tokenHash(t, tok)) {
			t.Fatalf("the record lacks the hash of %q; the check reads the wrong bytes", tok)
		}
	}
	for name, tok := range map[string]string{"spent token": tok0, "successor": tok1} {
		raw := unb64(t, tok)
		secret := raw[16:]
		for what, needle := range map[string][]byte{
			"token":               []byte(tok),
			"raw bytes":           raw,
			"secret":              secret,
			"secret in base64url": []byte(base64.RawURLEncoding.EncodeToString(secret)),
			"secret in hex":       []byte(hex.EncodeToString(secret)),
			"secret's first half": secret[:16],
			"secret's last half":  secret[16:],
		} {
			if bytes.Contains(data, needle) {
				t.Errorf("the record holds the %s of the %s", what, name)
			}
		}
	}
}

// TestRefreshSealedSuccessorAltered: a store that altered the sealed
// successor of a family makes a repeat within the window fail, as a store
// error, not a rejected token; it gets no token, and the family's current
// token still works.
func TestRefreshSealedSuccessorAltered(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := newRefresher(t, ms, clock, token.RefreshOptions{})
	_, tok0 := start(t, r, "alice")
	_, tok1 := rotate(t, r, tok0)
	recs, err := ms.UserSessions(ctx, "alice")
	if err != nil || len(recs) != 1 {
		t.Fatalf("UserSessions = %d records, %v", len(recs), err)
	}
	rec := recs[0]
	// The sealed successor follows the two hashes: magic, format,
	// rotated, one current, one spent.
	at := 4 + 1 + 8 + 1 + 32 + 1 + 32 + 20
	if !bytes.Equal(rec.Data[at-20-32:at-20], tokenHash(t, tok0)) {
		t.Fatalf("the spent hash is not where the layout puts it")
	}
	rec.Data[at] ^= 1
	if _, err := ms.SaveSession(ctx, rec); err != nil {
		t.Fatal(err)
	}
	_, next, err := r.Rotate(ctx, tok0)
	if err == nil || token.IsUnauthenticated(err) || next != "" {
		t.Errorf("repeat with an altered successor = %q, %v; want a store error and no token", next, err)
	}
	rotate(t, r, tok1)
}

func TestRefreshTimeouts(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})

	t.Run("idle", func(t *testing.T) {
		clock.Set(t0)
		f, tok := start(t, r, "alice")
		clock.Advance(testIdle - time.Second)
		f1, tok := rotate(t, r, tok) // used just in time: the idle timeout restarts
		if !f1.Expires.Equal(clock.Now().Add(testIdle)) {
			t.Errorf("after use, expires %v; want %v", f1.Expires, clock.Now().Add(testIdle))
		}
		clock.Advance(testIdle)
		_, _, err := r.Rotate(ctx, tok)
		wantEnded(t, err, false)
		_, err = r.Family(ctx, f.ID)
		wantEnded(t, err, false)
	})

	t.Run("absolute", func(t *testing.T) {
		clock.Set(t0)
		f, tok := start(t, r, "alice")
		for clock.Now().Before(t0.Add(testLifetime - testIdle/2)) {
			clock.Advance(testIdle / 2)
			f, tok = rotate(t, r, tok)
		}
		// Used every half hour, the family still ends at its lifetime.
		if !f.Expires.Equal(t0.Add(testLifetime)) {
			t.Fatalf("expires %v; want login + lifetime %v", f.Expires, t0.Add(testLifetime))
		}
		clock.Set(t0.Add(testLifetime - time.Second))
		f, tok = rotate(t, r, tok)
		if !f.Expires.Equal(t0.Add(testLifetime)) {
			t.Errorf("expires %v; want %v", f.Expires, t0.Add(testLifetime))
		}
		clock.Set(t0.Add(testLifetime))
		_, _, err := r.Rotate(ctx, tok)
		wantEnded(t, err, false)
		_, err = r.Family(ctx, f.ID)
		wantEnded(t, err, false)
	})
}

// downSessions is a store.Sessions that cannot be reached.
type downSessions struct{}

func (downSessions) Session(context.Context, store.SessionID) (store.Record, error) {
	return store.Record{}, errDown
}
func (downSessions) SaveSession(context.Context, store.Record) (uint64, error) { return 0, errDown }
func (downSessions) DeleteSession(context.Context, store.SessionID) error      { return errDown }
func (downSessions) UserSessions(context.Context, string) ([]store.Record, error) {
	return nil, errDown
}
func (downSessions) DeleteUserSessions(context.Context, string) (int, error) { return 0, errDown }

func TestRefreshMalformed(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	live := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	down := newRefresher(t, downSessions{}, clock, token.RefreshOptions{})
	// A token whose standard-base64 spelling differs from its base64url
	// one (it has a '-' or '_'), or that row would be the token itself.
	var tok string
	for tok == "" || !strings.ContainsAny(tok, "-_") {
		_, tok = start(t, live, "alice")
	}
	raw, err := base64.RawURLEncoding.DecodeString(tok)
	if err != nil {
		t.Fatal(err)
	}
	mid := len(tok) / 2
	for _, row := range []struct{ name, tok string }{
		{"empty", ""},
		{"short", tok[:63]},
		{"long", tok + "A"},
		{"half", tok[:32]},
		{"bad base64", tok[:mid] + "!" + tok[mid+1:]},
		{"standard base64 +", tok[:mid] + "+" + tok[mid+1:]},
		{"standard base64 /", tok[:mid] + "/" + tok[mid+1:]},
		{"padding", tok[:63] + "="},
		{"padded", tok + "=="},
		{"newline", tok[:mid] + "\n" + tok[mid+1:]},
		{"space", " " + tok[1:]},
		{"standard encoding", base64.StdEncoding.EncodeToString(raw)},
		{"hex", hex.EncodeToString(raw)},
		{"an access token", "eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7"},
	} {
		t.Run(row.name, func(t *testing.T) {
			for name, r := range map[string]*token.Refresher{"live store": live, "store down": down} {
				f, next, err := r.Rotate(ctx, row.tok)
				if !errors.Is(err, token.ErrInvalid) || errors.Is(err, errDown) || next != "" || f.ID != "" {
					t.Errorf("%s: Rotate(%q) = %q, %v; want ErrInvalid and no store error", name, row.tok, next, err)
				}
			}
		})
	}
	// The control: the token itself is fine, and a well-formed token with
	// the store down is the store's error, not a bad token.
	if _, _, err := down.Rotate(ctx, tok); !errors.Is(err, errDown) || errors.Is(err, token.ErrInvalid) {
		t.Errorf("store down: %v; want the store's error", err)
	}
	rotate(t, live, tok)

	for _, id := range []string{"", "short", strings.Repeat("A", 21) + "!", strings.Repeat("A", 23), strings.Repeat("A", 21) + "=", tok} {
		if _, err := live.Family(ctx, id); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Family(%q): %v", id, err)
		}
		if err := live.Revoke(ctx, id); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Revoke(%q): %v", id, err)
		}
		if _, err := live.Update(ctx, id, func(b []byte) ([]byte, error) { return b, nil }); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Update(%q): %v", id, err)
		}
		if _, err := down.Family(ctx, id); !errors.Is(err, token.ErrInvalid) {
			t.Errorf("Family(%q) with the store down: %v", id, err)
		}
	}
	// An id of the right form that names nothing is a revoked family.
	_, err = live.Family(ctx, strings.Repeat("A", 22))
	wantEnded(t, err, false)
	if _, _, err := down.Start(ctx, token.Login{User: "alice"}); !errors.Is(err, errDown) {
		t.Errorf("Start with the store down: %v", err)
	}
}

// TestRefreshOtherFamilysSecret: a token made of one family's id and
// another token's secret was never issued; it is refused, and taken for
// reuse of family A (whoever made it held a token of A).
func TestRefreshOtherFamilysSecret(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	_, a := start(t, r, "alice")
	_, b := start(t, r, "bob")
	ra, rb := unb64(t, a), unb64(t, b)
	mixed := b64(append(append([]byte(nil), ra[:16]...), rb[16:]...))
	_, _, err := r.Rotate(ctx, mixed)
	if !errors.Is(err, token.ErrInvalid) {
		t.Fatalf("mixed token: %v; want ErrInvalid", err)
	}
	rotate(t, r, b) // b's family is not touched
}

// TestRefreshSIDCannotEndFamily: the family id is the "sid" of every access
// token, which anyone who sees an access token can read. It must not let
// them write a refresh token naming the family, which Rotate would take
// for a reused one and end the family: logging the user out at will.
func TestRefreshSIDCannotEndFamily(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	f, tok := start(t, r, "alice")
	sid := unb64(t, f.ID)
	if bytes.Contains(unb64(t, tok), sid) {
		t.Errorf("the refresh token contains the family id")
	}
	secret := make([]byte, 32)
	_, _ = rand.Read(secret)
	forged := b64(append(sid, secret...))
	_, _, err := r.Rotate(ctx, forged)
	if !errors.Is(err, token.ErrInvalid) || errors.Is(err, token.ErrReused) {
		t.Errorf("token forged from the sid: %v; want ErrInvalid, not reuse", err)
	}
	if _, err := r.Family(ctx, f.ID); err != nil {
		t.Fatalf("the family ended: %v", err)
	}
	rotate(t, r, tok)
}

func TestRefreshUpdate(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r := newRefresher(t, newMemstore(t, clock), clock, token.RefreshOptions{})
	f, tok := start(t, r, "alice")

	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for range n {
		wg.Go(func() {
			_, err := r.Update(ctx, f.ID, func(data []byte) ([]byte, error) {
				c := 0
				if len(data) > 0 {
					var err error
					if c, err = strconv.Atoi(string(data)); err != nil {
						return nil, err
					}
				}
				return []byte(strconv.Itoa(c + 1)), nil
			})
			errs <- err
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Errorf("Update: %v", err)
		}
	}
	got, err := r.Family(ctx, f.ID)
	if err != nil {
		t.Fatal(err)
	}
	if string(got.Data) != strconv.Itoa(n) {
		t.Fatalf("count = %q after %d concurrent updates; want %d", got.Data, n, n)
	}
	// Update does not move the expiry; rotation keeps the data.
	if !got.Expires.Equal(f.Expires) || !got.LastUsed.Equal(f.LastUsed) {
		t.Errorf("Update moved the family's times: %+v, was %+v", got, f)
	}
	clock.Advance(time.Minute)
	f2, _ := rotate(t, r, tok)
	if string(f2.Data) != strconv.Itoa(n) {
		t.Errorf("after Rotate, data %q", f2.Data)
	}

	// fn's error is returned as is, and nothing changes.
	errNo := errors.New("no")
	if _, err := r.Update(ctx, f.ID, func([]byte) ([]byte, error) { return []byte("x"), errNo }); err != errNo {
		t.Errorf("Update returned %v, want fn's error", err)
	}
	if got, _ := r.Family(ctx, f.ID); string(got.Data) != strconv.Itoa(n) {
		t.Errorf("failed Update changed the data to %q", got.Data)
	}
	// An ended family cannot be updated.
	if err := r.Revoke(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err = r.Update(ctx, f.ID, func(b []byte) ([]byte, error) { return b, nil })
	wantEnded(t, err, false)
}

func TestRefreshRevoke(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := newRefresher(t, ms, clock, token.RefreshOptions{})
	f, tok := start(t, r, "alice")
	g, tokG := start(t, r, "alice")
	if err := r.Revoke(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, _, err := r.Rotate(ctx, tok)
	wantEnded(t, err, false)
	_, err = r.Family(ctx, f.ID)
	wantEnded(t, err, false)
	if err := r.Revoke(ctx, f.ID); err != nil {
		t.Errorf("revoking again: %v", err)
	}
	if _, err := r.Family(ctx, g.ID); err != nil {
		t.Errorf("the user's other family ended: %v", err)
	}
	rotate(t, r, tokG)
}

func TestRefreshRevokeUser(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	r := newRefresher(t, ms, clock, token.RefreshOptions{})
	var alice []string
	for range 3 {
		_, tok := start(t, r, "alice")
		alice = append(alice, tok)
	}
	_, bob := start(t, r, "bob")
	recs, err := ms.UserSessions(ctx, "alice")
	if err != nil || len(recs) != 3 {
		t.Fatalf("alice has %d records, %v; want 3", len(recs), err)
	}
	familyData := recs[0].Data
	// Other logins of alice's in the same store: a server-side session
	// (one of them holding bytes that read as a family's, so that only
	// its kind tells it apart) and a cookie login.
	others := map[string]store.Record{
		"session":          {ID: store.HashToken("a session token"), Kind: store.KindSession, Data: []byte("session data")},
		"family-like data": {ID: store.HashToken("another session"), Kind: store.KindSession, Data: familyData},
		"cookie login":     {ID: store.HashToken("a cookie login"), Kind: store.KindCookieLogin, Data: []byte("cookie login")},
	}
	for name, rec := range others {
		rec.User, rec.AccountID, rec.AuthTime = "alice", "acct-A", t0
		rec.Created, rec.LastSeen, rec.Expires = t0, t0, t0.Add(time.Hour)
		if _, err := ms.SaveSession(ctx, rec); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		others[name] = rec
	}

	n, err := r.RevokeUser(ctx, "Alice") // users compare case-insensitively
	if err != nil || n != 3 {
		t.Fatalf("RevokeUser = %d, %v; want 3", n, err)
	}
	for _, tok := range alice {
		_, _, err := r.Rotate(ctx, tok)
		wantEnded(t, err, false)
	}
	for name, want := range others {
		rec, err := ms.Session(ctx, want.ID)
		if err != nil || rec.Kind != want.Kind || string(rec.Data) != string(want.Data) {
			t.Errorf("alice's %s: %+v, %v; want it untouched", name, rec, err)
		}
	}
	rotate(t, r, bob)
	if n, err := r.RevokeUser(ctx, "alice"); err != nil || n != 0 {
		t.Errorf("RevokeUser again = %d, %v; want 0", n, err)
	}
	if _, err := (newRefresher(t, downSessions{}, clock, token.RefreshOptions{})).RevokeUser(ctx, "alice"); !errors.Is(err, errDown) {
		t.Errorf("RevokeUser with the store down: %v", err)
	}
}

func openSQLite(t testing.TB, clock *fakeclock.Clock) *sqlitestore.Store {
	t.Helper()
	s, err := sqlitestore.Open(context.Background(), filepath.Join(t.TempDir(), "x.db"), sqlitestore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

// TestRefreshTokensNotStored reads the SQLite files after a login, a
// rotation and a repeat within the window: no refresh token, nor its
// secret, is in them, the successor (kept sealed) included.
func TestRefreshTokensNotStored(t *testing.T) {
	clock := newClock()
	dir := t.TempDir()
	path := filepath.Join(dir, "x.db")
	s, err := sqlitestore.Open(context.Background(), path, sqlitestore.Options{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	const agent = "Agent/1.0 (canary 7d3f)"
	r := newRefresher(t, s, clock, token.RefreshOptions{})
	f, tok0, err := r.Start(context.Background(), token.Login{User: "alice", UserAgent: agent})
	if err != nil {
		t.Fatal(err)
	}
	_, tok1 := rotate(t, r, tok0)
	if _, again := rotate(t, r, tok0); again != tok1 { // the successor, opened from its sealed copy
		t.Fatalf("a repeat within the window got %q, want %q", again, tok1)
	}

	files := func() []byte {
		var all []byte
		for _, name := range []string{path, path + "-wal"} {
			b, err := os.ReadFile(name)
			if err != nil && !errors.Is(err, os.ErrNotExist) {
				t.Fatal(err)
			}
			all = append(all, b...)
		}
		return all
	}
	check := func(when string, all []byte) {
		// The control: what the store does keep is in these bytes.
		if !bytes.Contains(all, []byte(agent)) {
			t.Fatalf("%s: the user agent is not in the files; the check reads the wrong bytes", when)
		}
		for _, tok := range []string{tok0, tok1} {
			raw := unb64(t, tok)
			secret := raw[16:]
			for what, needle := range map[string][]byte{
				"token":                  []byte(tok),
				"token bytes":            raw,
				"secret":                 secret,
				"secret in base64url":    []byte(base64.RawURLEncoding.EncodeToString(secret)),
				"secret in base64":       []byte(base64.StdEncoding.EncodeToString(secret)),
				"secret in hex":          []byte(hex.EncodeToString(secret)),
				"family part in base64":  []byte(tok[:21]),
				"secret part in base64":  []byte(tok[22:]),
				"family id part (bytes)": raw[:16],
			} {
				if bytes.Contains(all, needle) {
					t.Errorf("%s: the database holds the %s of a refresh token", when, what)
				}
			}
		}
	}
	check("open", files())
	if _, err := r.Family(context.Background(), f.ID); err != nil {
		t.Fatal(err)
	}
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	check("closed", files())
}

func TestNewRefresher(t *testing.T) {
	if _, err := token.NewRefresher(nil, token.RefreshOptions{}); err == nil {
		t.Errorf("NewRefresher(nil) succeeded")
	}
	// Defaults: a day idle, a week in all.
	clock := newClock()
	r, err := token.NewRefresher(newMemstore(t, clock), token.RefreshOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f, tok := start(t, r, "alice")
	if !f.Expires.Equal(t0.Add(token.DefaultRefreshIdle)) {
		t.Errorf("default expiry %v", f.Expires)
	}
	rotate(t, r, tok)
	clock.Advance(token.DefaultRefreshGrace)
	rotate(t, r, tok) // the default grace window
	clock.Advance(time.Nanosecond)
	_, _, err = r.Rotate(context.Background(), tok)
	wantEnded(t, err, true)
}

// countingSessions is a store.Sessions that counts the calls reaching it.
type countingSessions struct {
	store.Sessions
	reads, saves, conflicts atomic.Int64
}

func (c *countingSessions) Session(ctx context.Context, id store.SessionID) (store.Record, error) {
	c.reads.Add(1)
	return c.Sessions.Session(ctx, id)
}

func (c *countingSessions) SaveSession(ctx context.Context, r store.Record) (uint64, error) {
	c.saves.Add(1)
	v, err := c.Sessions.SaveSession(ctx, r)
	if errors.Is(err, store.ErrConflict) {
		c.conflicts.Add(1)
	}
	return v, err
}

// incrementData is an Update function counting in the family's data.
func incrementData(data []byte) ([]byte, error) {
	n, _ := strconv.Atoi(string(data))
	return []byte(strconv.Itoa(n + 1)), nil
}

// TestRefreshUpdateBurst: concurrent updates of one family in one process
// each cost one compare-and-swap that succeeds, and no read: the process
// starts from the record it saved last.
func TestRefreshUpdateBurst(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	cs := &countingSessions{Sessions: newMemstore(t, clock)}
	r := newRefresher(t, cs, clock, token.RefreshOptions{})
	f, _ := start(t, r, "alice")
	reads, saves := cs.reads.Load(), cs.saves.Load()
	const n = 50
	var wg sync.WaitGroup
	for range n {
		wg.Go(func() {
			if _, err := r.Update(ctx, f.ID, incrementData); err != nil {
				t.Errorf("Update: %v", err)
			}
		})
	}
	wg.Wait()
	if got := cs.saves.Load() - saves; got != n || cs.conflicts.Load() != 0 {
		t.Errorf("%d concurrent updates took %d saves (%d conflicts), want %d and none", n, got, cs.conflicts.Load(), n)
	}
	if got := cs.reads.Load() - reads; got != 0 {
		t.Errorf("%d concurrent updates read the store %d times, want 0", n, got)
	}
	if got, err := r.Family(ctx, f.ID); err != nil || string(got.Data) != strconv.Itoa(n) {
		t.Fatalf("after %d updates: data %q, %v", n, got.Data, err)
	}
}

// TestRefreshUpdateAfterAnotherInstance: another instance on the same
// store rotates, updates or ends the family between two updates of this
// one. This instance's memory of the family is then outdated: its update
// must not undo the rotation, lose the other update, or revive the family.
func TestRefreshUpdateAfterAnotherInstance(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	ms := newMemstore(t, clock)
	here := newRefresher(t, ms, clock, token.RefreshOptions{})
	there := newRefresher(t, ms, clock, token.RefreshOptions{})
	f, tok := start(t, here, "alice")
	if _, err := here.Update(ctx, f.ID, incrementData); err != nil {
		t.Fatal(err)
	}

	if _, err := there.Update(ctx, f.ID, incrementData); err != nil {
		t.Fatal(err)
	}
	clock.Advance(time.Minute)
	_, next := rotate(t, there, tok)
	got, err := here.Update(ctx, f.ID, incrementData)
	if err != nil || string(got.Data) != "3" {
		t.Fatalf("update after the other instance's: data %q, %v; want 3", got.Data, err)
	}
	clock.Advance(time.Minute)
	rotate(t, here, next) // the token the other instance issued is current

	if err := there.Revoke(ctx, f.ID); err != nil {
		t.Fatal(err)
	}
	_, err = here.Update(ctx, f.ID, incrementData)
	wantEnded(t, err, false)
	_, err = there.Family(ctx, f.ID)
	wantEnded(t, err, false)
}

// TestFamilyOf checks that a refresh token names its family without being
// spent, and that a token the family never issued, or spent long ago,
// names nothing and revokes nothing.
func TestFamilyOf(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	r, err := token.NewRefresher(newMemstore(t, clock), token.RefreshOptions{Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	f, first, err := r.Start(ctx, token.Login{User: "alice", AccountID: "a1"})
	if err != nil {
		t.Fatal(err)
	}
	got, err := r.FamilyOf(ctx, first)
	if err != nil || got.ID != f.ID || got.User != "alice" {
		t.Fatalf("FamilyOf(current) = %+v, %v; want alice's family %s", got, err, f.ID)
	}
	_, second, err := r.Rotate(ctx, first) // FamilyOf did not spend it
	if err != nil {
		t.Fatalf("Rotate after FamilyOf: %v", err)
	}
	if got, err := r.FamilyOf(ctx, first); err != nil || got.ID != f.ID {
		t.Errorf("FamilyOf(just spent) = %+v, %v; want the family", got, err)
	}
	if _, _, err := r.Rotate(ctx, second); err != nil {
		t.Fatal(err)
	}
	if _, err := r.FamilyOf(ctx, first); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("FamilyOf(spent earlier) = %v; want ErrInvalid", err)
	}
	if _, err := r.FamilyOf(ctx, "garbage"); !errors.Is(err, token.ErrInvalid) {
		t.Errorf("FamilyOf(garbage) = %v; want ErrInvalid", err)
	}
	if _, err := r.Family(ctx, f.ID); err != nil {
		t.Errorf("the family after FamilyOf of old tokens: %v; want it alive", err)
	}
}
