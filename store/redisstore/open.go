package redisstore

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// DefaultClusterReload is how old a Redis Cluster client's map of slots
// to nodes may grow before the next command reloads it (go-redis's own
// default is a minute). After a primary fails and its replica is
// promoted, commands for its slots fail until the map is reloaded, so
// this bounds how long a failover is seen beyond the promotion itself;
// the cost is one CLUSTER SLOTS per second per client while commands
// flow. See docs/adr/020-redis-cluster-and-sentinel-urls.md.
const DefaultClusterReload = time.Second

// Open connects to the Redis deployment named by rawURL and checks that it
// answers PING before ctx ends:
//
//   - redis://[user:password@]host:port[/db] — one server; rediss:// for
//     TLS. Read by redis.ParseURL, so its query parameters
//     (dial_timeout=3s, pool_size=20, …) set the client.
//   - redis+cluster://[user:password@]host:port?addr=host:port&addr=… — a
//     Redis Cluster, found through the seed nodes given (the host and
//     each addr); rediss+cluster:// for TLS. Read by
//     redis.ParseClusterURL. The slot map is reloaded when it is older
//     than DefaultClusterReload, so a failover is seen within a second of
//     the promotion.
//   - redis+sentinel://[user:password@]host:port[/db]?addr=host:port&…&master=NAME
//     — the primary that the Sentinels given (the host and each addr)
//     name NAME, followed across failovers; rediss+sentinel:// for TLS to
//     the Sentinels and the servers. The user and password are sent to
//     both the Sentinels and the servers. Read by redis.ParseFailoverURL
//     (its master_name is spelled master here).
//
// Timeouts the URL does not set default to DefaultDialTimeout,
// DefaultReadTimeout, DefaultWriteTimeout and DefaultPoolTimeout. Context
// deadlines are always honoured, so a call on a hung server returns when
// its context ends. The Store owns the client: Close closes it.
//
// Open fails if the URL is malformed, opts.Prefix contains a brace, or the
// deployment cannot be reached or refuses the credentials. Its errors never
// contain the URL's password.
func Open(ctx context.Context, rawURL string, opts Options) (*Store, error) {
	if err := checkPrefix(opts.Prefix); err != nil {
		return nil, err
	}
	client, redacted, err := newClient(rawURL)
	if err != nil {
		return nil, err
	}
	if err := client.Ping(ctx).Err(); err != nil {
		client.Close()
		return nil, fmt.Errorf("redisstore: ping %s: %w", redacted, err)
	}
	s := newStore(client, opts)
	s.owned = true
	return s, nil
}

// newClient returns the client Open uses for rawURL, and the URL without
// its password, for messages.
func newClient(rawURL string) (redis.UniversalClient, string, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // url.Error repeats the URL, password included
		}
		return nil, "", fmt.Errorf("redisstore: parse URL: %w", err)
	}
	redacted := u.Redacted()
	base, topology, _ := strings.Cut(u.Scheme, "+")
	if base != "redis" && base != "rediss" {
		return nil, "", fmt.Errorf("redisstore: URL %s: scheme %q is not redis, rediss, redis+cluster or redis+sentinel", redacted, u.Scheme)
	}
	u.Scheme = base
	switch topology {
	case "":
		ro, err := redis.ParseURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: parse URL %s: %w", redacted, err)
		}
		ro.ContextTimeoutEnabled = true
		setTimeouts(&ro.DialTimeout, &ro.ReadTimeout, &ro.WriteTimeout, &ro.PoolTimeout)
		return redis.NewClient(ro), redacted, nil
	case "cluster":
		co, err := redis.ParseClusterURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: parse URL %s: %w", redacted, err)
		}
		co.ContextTimeoutEnabled = true
		setTimeouts(&co.DialTimeout, &co.ReadTimeout, &co.WriteTimeout, &co.PoolTimeout)
		if co.ClusterStateReloadInterval == 0 {
			co.ClusterStateReloadInterval = DefaultClusterReload
		}
		return redis.NewClusterClient(co), redacted, nil
	case "sentinel":
		q := u.Query()
		if q.Get("master") == "" {
			return nil, "", fmt.Errorf("redisstore: URL %s: redis+sentinel needs master=NAME, the name the Sentinels know the primary by", redacted)
		}
		q.Set("master_name", q.Get("master"))
		q.Del("master")
		u.RawQuery = q.Encode()
		fo, err := redis.ParseFailoverURL(u.String())
		if err != nil {
			return nil, "", fmt.Errorf("redisstore: parse URL %s: %w", redacted, err)
		}
		// The URL's credentials are the servers' as well as the
		// Sentinels'.
		if fo.Username == "" && fo.Password == "" {
			fo.Username, fo.Password = fo.SentinelUsername, fo.SentinelPassword
		}
		fo.ContextTimeoutEnabled = true
		setTimeouts(&fo.DialTimeout, &fo.ReadTimeout, &fo.WriteTimeout, &fo.PoolTimeout)
		return redis.NewFailoverClient(fo), redacted, nil
	default:
		return nil, "", fmt.Errorf("redisstore: URL %s: unknown topology %q (want redis+cluster or redis+sentinel)", redacted, topology)
	}
}

// setTimeouts gives each timeout the URL left zero its default.
func setTimeouts(dial, read, write, pool *time.Duration) {
	for _, t := range []struct {
		d   *time.Duration
		def time.Duration
	}{{dial, DefaultDialTimeout}, {read, DefaultReadTimeout}, {write, DefaultWriteTimeout}, {pool, DefaultPoolTimeout}} {
		if *t.d == 0 {
			*t.d = t.def
		}
	}
}
