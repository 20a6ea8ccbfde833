package redistest

import (
	"context"
	"fmt"
	"net"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// SentinelOptions adjust StartSentinel; the zero value gives the defaults.
type SentinelOptions struct {
	// DownAfter is the Sentinels' down-after-milliseconds: how long the
	// primary may not answer before a Sentinel thinks it down. Zero means
	// 1 s.
	DownAfter time.Duration
	// FailoverTimeout is the Sentinels' failover-timeout, which also
	// spaces out attempts when one fails. Zero means 2 s.
	FailoverTimeout time.Duration
}

// MasterName is the name the Sentinels know the primary by.
const MasterName = "sessionkit"

// Sentinel is a Sentinel set of local processes: a primary, a replica of
// it, and three Sentinels (quorum 2) watching it as MasterName.
type Sentinel struct {
	// Primary and Replica are the servers as started. After a failover
	// the replica is the primary: Failover says which is which.
	Primary, Replica *Server
	// Sentinels are the three Sentinels.
	Sentinels []*Server

	sentinelClients []*redis.SentinelClient
}

// StartSentinel starts a primary, a replica and three Sentinels on free
// loopback ports and waits until the replica is in sync, every Sentinel
// names the primary and sees the replica and the two other Sentinels,
// and the quorum is reachable (SENTINEL CKQUORUM). The servers keep
// nothing on disk. Every process is killed when the test ends.
//
// Without redis-server 7.0 the test is skipped, or fails under CI=true.
func StartSentinel(t testing.TB, opts SentinelOptions) *Sentinel {
	t.Helper()
	bins := lookBinaries(t)
	downAfter, failoverTimeout := opts.DownAfter, opts.FailoverTimeout
	if downAfter == 0 {
		downAfter = time.Second
	}
	if failoverTimeout == 0 {
		failoverTimeout = 2 * time.Second
	}
	began := time.Now()
	s := &Sentinel{}
	data := func(extra ...string) func(dir string, port, _ int) []string {
		return func(dir string, port, _ int) []string {
			return append([]string{
				"--port", strconv.Itoa(port), "--bind", "127.0.0.1",
				"--repl-diskless-sync-delay", "0",
				"--save", "", "--appendonly", "no", "--dir", dir,
			}, extra...)
		}
	}
	s.Primary = startServer(t, "primary", []string{bins.server}, data())
	host, port, _ := net.SplitHostPort(s.Primary.Addr)
	s.Replica = startServer(t, "replica", []string{bins.server}, data("--replicaof", host, port))
	waitFor(t, "the replica to be in sync with the primary", readyTimeout, func(ctx context.Context) error {
		if err := replicaInSync(ctx, s.Replica); err != nil {
			return err
		}
		return replicasOnline(ctx, s.Primary, 1)
	})

	for i := range 3 {
		sn := startServer(t, fmt.Sprintf("sentinel %d", i+1), []string{bins.server},
			func(dir string, sport, _ int) []string {
				// A Sentinel rewrites its configuration file, so it must
				// have one of its own.
				conf := filepath.Join(dir, "sentinel.conf")
				text := fmt.Sprintf("port %d\nbind 127.0.0.1\ndir %s\n", sport, dir) +
					fmt.Sprintf("sentinel monitor %s %s %s 2\n", MasterName, host, port) +
					fmt.Sprintf("sentinel down-after-milliseconds %s %d\n", MasterName, downAfter.Milliseconds()) +
					fmt.Sprintf("sentinel failover-timeout %s %d\n", MasterName, failoverTimeout.Milliseconds()) +
					fmt.Sprintf("sentinel parallel-syncs %s 1\n", MasterName)
				if err := os.WriteFile(conf, []byte(text), 0o600); err != nil {
					t.Fatal(err)
				}
				return []string{conf, "--sentinel"}
			})
		s.Sentinels = append(s.Sentinels, sn)
		sc := redis.NewSentinelClient(&redis.Options{
			Addr: sn.Addr, DialTimeout: time.Second, ReadTimeout: queryTimeout, WriteTimeout: queryTimeout,
			MaxRetries: -1, PoolSize: 2, DisableIdentity: true,
		})
		t.Cleanup(func() { sc.Close() })
		s.sentinelClients = append(s.sentinelClients, sc)
	}
	waitFor(t, "the Sentinels to agree on the primary, the replica and each other", readyTimeout, func(ctx context.Context) error {
		return s.agreed(ctx, s.Primary, s.Replica)
	})
	t.Logf("Sentinel set ready in %v: primary %s (PID %d), replica %s (PID %d), sentinels %s",
		time.Since(began).Round(time.Millisecond), s.Primary.Addr, s.Primary.PID(), s.Replica.Addr, s.Replica.PID(), strings.Join(s.sentinelAddrs(), ", "))
	return s
}

// agreed returns nil when every Sentinel names primary, sees replica
// linked and not down, and sees the two other Sentinels, and the quorum
// can be reached. A nil replica is not looked for.
func (s *Sentinel) agreed(ctx context.Context, primary, replica *Server) error {
	for i, sc := range s.sentinelClients {
		sn := s.Sentinels[i]
		if !sn.Alive() {
			return fmt.Errorf("%s has exited", sn)
		}
		addr, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
		if err != nil {
			return fmt.Errorf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME: %w", sn, err)
		}
		if got := net.JoinHostPort(addr[0], addr[1]); got != primary.Addr {
			return fmt.Errorf("%s names %s the primary, want %s", sn, got, primary.Addr)
		}
		if replica != nil {
			reps, err := sc.Replicas(ctx, MasterName).Result()
			if err != nil {
				return fmt.Errorf("%s: SENTINEL REPLICAS: %w", sn, err)
			}
			found := false
			for _, r := range reps {
				if net.JoinHostPort(r["ip"], r["port"]) == replica.Addr {
					if r["flags"] != "slave" || r["master-link-status"] != "ok" {
						return fmt.Errorf("%s sees the replica %s with flags %q, link %q", sn, replica.Addr, r["flags"], r["master-link-status"])
					}
					found = true
				}
			}
			if !found {
				return fmt.Errorf("%s does not see the replica %s yet", sn, replica.Addr)
			}
		}
		others, err := sc.Sentinels(ctx, MasterName).Result()
		if err != nil {
			return fmt.Errorf("%s: SENTINEL SENTINELS: %w", sn, err)
		}
		up := 0
		for _, o := range others {
			if !strings.Contains(o["flags"], "down") {
				up++
			}
		}
		if up != len(s.Sentinels)-1 {
			return fmt.Errorf("%s sees %d other Sentinels up, want %d", sn, up, len(s.Sentinels)-1)
		}
		if err := sc.CkQuorum(ctx, MasterName).Err(); err != nil {
			return fmt.Errorf("%s: SENTINEL CKQUORUM: %w", sn, err)
		}
	}
	return nil
}

func (s *Sentinel) sentinelAddrs() []string {
	addrs := make([]string, len(s.Sentinels))
	for i, sn := range s.Sentinels {
		addrs[i] = sn.Addr
	}
	return addrs
}

// URL returns the redis+sentinel:// URL of the set that redisstore.Open
// and sessionkit serve --store take, with every Sentinel and
// master=MasterName, and the query parameters given ("prefix", "P", ...)
// added.
func (s *Sentinel) URL(params ...string) string {
	q := url.Values{}
	for _, a := range s.sentinelAddrs()[1:] {
		q.Add("addr", a)
	}
	q.Set("master", MasterName)
	for i := 0; i+1 < len(params); i += 2 {
		q.Add(params[i], params[i+1])
	}
	return "redis+sentinel://" + s.Sentinels[0].Addr + "?" + q.Encode()
}

// KillPrimary kills the primary with SIGKILL, by its PID.
func (s *Sentinel) KillPrimary(t testing.TB) *SentinelFailover {
	t.Helper()
	f := &SentinelFailover{s: s}
	f.Killed = s.Primary
	f.KilledAt = s.Primary.Kill(t)
	return f
}

// SentinelFailover is the primary of a Sentinel set killed, and what
// followed.
type SentinelFailover struct {
	Failover
	s *Sentinel
}

// WaitPromotion waits, within timeout of the kill, until the replica says
// it is the primary (INFO's role, polled every 10 ms), and then until
// every Sentinel names it. It fails the test if that does not happen in
// time, and returns the failover with its times.
func (f *SentinelFailover) WaitPromotion(t testing.TB, timeout time.Duration) *Failover {
	t.Helper()
	deadline := f.KilledAt.Add(timeout)
	r := f.s.Replica
	for {
		ctx, cancel := context.WithTimeout(context.Background(), queryTimeout)
		primary, err := isPrimary(ctx, r)
		cancel()
		if err == nil && primary {
			f.Promoted, f.PromotedAt = r, time.Now()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the replica %s was not promoted within %v of the kill (last error %v); sentinels' logs:\n%s", r, timeout, err, f.s.sentinelLogs())
		}
		time.Sleep(pollInterval)
	}
	waitFor(t, "every Sentinel to name "+r.String()+" the primary", max(time.Until(deadline), time.Second), func(ctx context.Context) error {
		for i, sc := range f.s.sentinelClients {
			addr, err := sc.GetMasterAddrByName(ctx, MasterName).Result()
			if err != nil {
				return fmt.Errorf("%s: SENTINEL GET-MASTER-ADDR-BY-NAME: %w", f.s.Sentinels[i], err)
			}
			if got := net.JoinHostPort(addr[0], addr[1]); got != r.Addr {
				return fmt.Errorf("%s names %s the primary", f.s.Sentinels[i], got)
			}
		}
		return nil
	})
	f.AgreedAt = time.Now()
	return &f.Failover
}

func (s *Sentinel) sentinelLogs() string {
	var b strings.Builder
	for _, sn := range s.Sentinels {
		fmt.Fprintf(&b, "--- %s (PID %d):\n%s\n", sn, sn.PID(), lastLines(sn.Log(), 40))
	}
	return b.String()
}
