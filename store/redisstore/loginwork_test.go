package redisstore

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
)

// monitor is a connection to the test server in MONITOR mode: it sees
// every command the server runs, those that scripts run included.
type monitor struct {
	conn  net.Conn
	lines chan string
}

// startMonitor opens a MONITOR connection to the test server, closed when
// the test ends.
func startMonitor(t *testing.T) *monitor {
	t.Helper()
	opts, err := redis.ParseURL(testenv.Redis(t))
	if err != nil {
		t.Fatal(err)
	}
	d := &net.Dialer{Timeout: 3 * time.Second}
	var conn net.Conn
	if opts.TLSConfig != nil {
		conn, err = tls.DialWithDialer(d, "tcp", opts.Addr, opts.TLSConfig)
	} else {
		conn, err = d.Dial("tcp", opts.Addr)
	}
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	r := bufio.NewReader(conn)
	send := func(args ...string) string {
		t.Helper()
		var b strings.Builder
		fmt.Fprintf(&b, "*%d\r\n", len(args))
		for _, a := range args {
			fmt.Fprintf(&b, "$%d\r\n%s\r\n", len(a), a)
		}
		if _, err := conn.Write([]byte(b.String())); err != nil {
			t.Fatal(err)
		}
		line, err := r.ReadString('\n')
		if err != nil {
			t.Fatal(err)
		}
		return strings.TrimRight(line, "\r\n")
	}
	if opts.Password != "" {
		args := []string{"AUTH", opts.Password}
		if opts.Username != "" {
			args = []string{"AUTH", opts.Username, opts.Password}
		}
		if reply := send(args...); reply != "+OK" {
			t.Fatalf("AUTH for MONITOR: %s", reply)
		}
	}
	if reply := send("MONITOR"); reply != "+OK" {
		t.Fatalf("MONITOR: %s", reply)
	}
	m := &monitor{conn: conn, lines: make(chan string, 1<<16)}
	go func() {
		defer close(m.lines)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				return
			}
			m.lines <- strings.TrimRight(line, "\r\n")
		}
	}()
	return m
}

// upTo returns the commands (as MONITOR shows them) that touched a key
// under prefix, up to the command that reads mark, a key under prefix the
// caller then reads, and closes the connection: a server streams every
// command to its monitors, which slows it.
func (m *monitor) upTo(t *testing.T, prefix, mark string) []string {
	t.Helper()
	defer m.conn.Close()
	var out []string
	timeout := time.After(10 * time.Second)
	for {
		select {
		case line, ok := <-m.lines:
			if !ok {
				t.Fatal("the MONITOR connection closed")
			}
			if strings.Contains(line, mark) {
				return out
			}
			if strings.Contains(line, prefix) {
				out = append(out, line)
			}
		case <-timeout:
			t.Fatalf("MONITOR did not show the mark %s", mark)
		}
	}
}

// monitorCommand returns the name of the command of a MONITOR line, in
// lower case: `1700000000.000000 [0 lua] "HGET" "key" "field"`.
func monitorCommand(line string) string {
	_, rest, _ := strings.Cut(line, `] "`)
	name, _, _ := strings.Cut(rest, `"`)
	return strings.ToLower(name)
}

// boundedCommands are the commands a login may run on any key: each
// costs at most the log of the size of what it touches, or a bounded
// number of elements (ZRANGEBYSCORE, with LIMIT).
var boundedCommands = []string{
	"evalsha", "eval", "hget", "hmget", "hset", "hdel", "zadd", "zscore", "zrem",
	"zrangebyscore", "pttl", "pexpireat", "pexpire",
}

// TestLoginWorkBounded checks that the work of a login (a save that
// creates an owned record) does not grow with the user's number of
// logins: for users with 10 and 2,000 logins, all live or with as many
// expired ones besides, a login sends the same commands, and Redis runs
// the same number of commands for it (scripts' included), none of which
// reads a whole key.
func TestLoginWorkBounded(t *testing.T) {
	testenv.Redis(t)
	for _, expired := range []bool{false, true} {
		type work struct{ trips, cmds, server int }
		var seen []work
		for _, n := range []int{10, 2000} {
			x := newIndexTest(t)
			seed := func(token string, life time.Duration) {
				r := x.record(token, "alice")
				r.Expires = x.clock.Now().Add(life)
				x.save(r)
			}
			for i := range n {
				seed(fmt.Sprintf("live-%d", i), 2*time.Hour)
				if expired {
					seed(fmt.Sprintf("expired-%d", i), time.Minute)
				}
			}
			x.clock.Advance(2 * time.Minute)
			rec := &recorder{}
			x.c.AddHook(rec)
			mon := startMonitor(t)
			mark := x.s.prefix + "mark"

			x.save(x.record("the-login", "alice"))
			trips := rec.take()
			if err := x.c.Get(x.ctx, mark).Err(); err != redis.Nil {
				t.Fatal(err)
			}
			server := mon.upTo(t, x.s.prefix, mark)

			w := work{trips: len(trips), server: len(server)}
			for _, trip := range trips {
				for _, cmd := range trip {
					w.cmds++
					if !slices.Contains([]string{"evalsha", "eval", "hmget"}, cmd.Name()) {
						t.Errorf("expired=%v, %d logins: a login sent %v", expired, n, cmd.Args())
					}
				}
			}
			for _, line := range server {
				name := monitorCommand(line)
				if !slices.Contains(boundedCommands, name) || name == "zrangebyscore" && !strings.Contains(line, `"LIMIT"`) {
					t.Errorf("expired=%v, %d logins: a login ran %s, which may read a whole key", expired, n, line)
				}
			}
			if w.server == 0 {
				t.Errorf("expired=%v, %d logins: MONITOR saw nothing of the login", expired, n)
			}
			if expired {
				if left := len(x.indexed("alice")); left != 2*n+1-loginPruneLimit {
					t.Errorf("%d logins: %d index entries left, want %d: a login removes %d expired ones",
						n, left, 2*n+1-loginPruneLimit, loginPruneLimit)
				}
			}
			t.Logf("expired=%v, %d logins: %d round trips, %d commands sent, %d run by Redis", expired, n, w.trips, w.cmds, w.server)
			seen = append(seen, w)
		}
		if seen[0] != seen[1] {
			t.Errorf("expired=%v: a login's work grows with the user's logins: %+v with 10, %+v with 2000", expired, seen[0], seen[1])
		}
	}
}

// TestLoginLeavesLegacyIndex checks that a login does not touch the index
// of the earlier layout, however large: listings drain it.
func TestLoginLeavesLegacyIndex(t *testing.T) {
	x := newIndexTest(t)
	for i := range 50 {
		x.writeLegacy(x.record(fmt.Sprintf("old-%d", i), "alice"), fmt.Sprintf("%016x", i))
	}
	rec := &recorder{}
	x.c.AddHook(rec)
	x.save(x.record("login", "alice"))
	for _, trip := range rec.take() {
		for _, cmd := range trip {
			keys, _ := commandKeys(cmd)
			if slices.Contains(keys, x.s.legacyIndexKey("alice")) {
				t.Errorf("a login sent %v", cmd.Args())
			}
		}
	}
	if got := x.listed("alice"); len(got) != 51 {
		t.Errorf("listed %d records, want 51", len(got))
	}
}

// writeLegacy stores r as a version of the store that kept a user's index
// in one hash did: the record, and its entry in that hash, written with the
// save's nonce tag.
func (x *indexTest) writeLegacy(r store.Record, tag string) {
	x.t.Helper()
	now := x.clock.Now()
	sv := x.s.newSave(r, now, tag)
	if _, err := x.s.run(x.ctx, sv.record(true)); err != nil {
		x.t.Fatal(err)
	}
	key := x.s.legacyIndexKey(store.FoldName(r.User))
	expMs := ceilMillis(expiryNanos(r.Expires))
	entry := fmt.Sprintf("%d:%d:%s", expMs, now.UnixMilli(), tag)
	if err := x.c.HSet(x.ctx, key, r.ID.String(), entry).Err(); err != nil {
		x.t.Fatal(err)
	}
	if err := x.c.PExpireAt(x.ctx, key, time.UnixMilli(expMs)).Err(); err != nil {
		x.t.Fatal(err)
	}
}
