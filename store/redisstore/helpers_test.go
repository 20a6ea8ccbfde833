package redisstore

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/fakeclock"
	"github.com/sessionkit/sessionkit/internal/testenv"
)

// testClient returns a client of the test server, configured as Open
// configures its own, closed when the test ends.
func testClient(t testing.TB) *redis.Client {
	t.Helper()
	c, _, err := newClient(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return c.(*redis.Client)
}

// openTest returns a Store on its own client and prefix, and the client.
// When the test ends, every key under the prefix is deleted.
func openTest(t testing.TB, opts Options) (*Store, *redis.Client) {
	t.Helper()
	c := testClient(t)
	_, opts.Prefix = testenv.RedisPrefix(t)
	return New(c, opts), c
}

// keysUnder lists the keys under prefix, by SCAN.
func keysUnder(ctx context.Context, c redis.UniversalClient, prefix string) ([]string, error) {
	var keys []string
	iter := c.Scan(ctx, 0, prefix+"*", 1000).Iterator()
	for iter.Next(ctx) {
		keys = append(keys, iter.Val())
	}
	return keys, iter.Err()
}

func newFakeClock() *fakeclock.Clock { return fakeclock.New(time.Now()) }

// recorder is a go-redis hook that records what a client sends: each
// command on its own, or each pipeline as one round trip. It leaves out the
// handshake of a new connection (HELLO, CLIENT SETINFO, ...), which goes
// through hooks too but is paid once per pooled connection, not per call.
type recorder struct {
	mu    sync.Mutex
	trips [][]redis.Cmder // one element per round trip
}

func (r *recorder) DialHook(next redis.DialHook) redis.DialHook { return next }

func (r *recorder) ProcessHook(next redis.ProcessHook) redis.ProcessHook {
	return func(ctx context.Context, cmd redis.Cmder) error {
		r.add([]redis.Cmder{cmd})
		return next(ctx, cmd)
	}
}

func (r *recorder) ProcessPipelineHook(next redis.ProcessPipelineHook) redis.ProcessPipelineHook {
	return func(ctx context.Context, cmds []redis.Cmder) error {
		r.add(cmds)
		return next(ctx, cmds)
	}
}

func (r *recorder) add(cmds []redis.Cmder) {
	handshake := true
	for _, c := range cmds {
		switch c.Name() {
		case "hello", "client", "auth", "select":
		default:
			handshake = false
		}
	}
	if handshake {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	r.trips = append(r.trips, cmds)
}

// take returns the round trips recorded since the last take, and forgets
// them.
func (r *recorder) take() [][]redis.Cmder {
	r.mu.Lock()
	defer r.mu.Unlock()
	t := r.trips
	r.trips = nil
	return t
}
