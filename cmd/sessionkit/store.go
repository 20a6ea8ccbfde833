package main

import (
	"context"
	"fmt"
	"io"
	"net/url"
	"strings"

	"github.com/exaring/otelpgx"
	"github.com/redis/go-redis/extra/redisotel/v9"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/store/pgstore"
	"github.com/sessionkit/sessionkit/store/redisstore"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
)

// backend is a server.Backend the command must close when done.
type backend interface {
	server.Backend
	io.Closer
}

// storeKinds is what --store accepts, for messages.
const storeKinds = "sqlite:PATH, memory:, redis://… (or rediss://, redis+cluster://, redis+sentinel://) or postgres://…"

// openStore opens the store named by spec:
//
//   - sqlite:PATH — the embedded default, a file relative to the working
//     directory;
//   - memory: — in this process only, lost when it ends;
//   - redis://[user:password@]host:port/db[?prefix=P] (or rediss:// for
//     TLS) — keys start with P, "sessionkit:" by default;
//   - redis+cluster://host:port?addr=host:port&…[&prefix=P] — a Redis
//     Cluster by its seed nodes; redis+sentinel://host:port?addr=…&master=NAME[&prefix=P]
//     — the primary Sentinel names NAME (rediss+… for TLS; see
//     redisstore.Open);
//   - postgres://user@host:port/db[?schema=S] (or postgresql://) — tables
//     in schema S, "public" by default.
//
// Other query parameters of the URLs go to the driver.
func openStore(ctx context.Context, spec string) (backend, error) {
	return openTracedStore(ctx, spec, nil)
}

// openTracedStore is openStore whose Redis or PostgreSQL client, when tp
// is not nil, makes OpenTelemetry spans of its commands and queries, as
// children of the store calls' spans, and only under them (see tracing.go's
// childSpansOnly). Redis commands are
// recorded by name only (never their keys or values, which hold session
// ids, hashes and records); PostgreSQL queries by their SQL, whose values
// are all parameters, which are never recorded.
func openTracedStore(ctx context.Context, spec string, tp trace.TracerProvider) (backend, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return nil, fmt.Errorf("%w: --store %q has no kind; use %s", errUsage, spec, storeKinds)
	}
	switch kind {
	case "sqlite":
		if rest == "" {
			return nil, fmt.Errorf("%w: --store %q: sqlite: needs a file path", errUsage, spec)
		}
		s, err := sqlitestore.Open(ctx, rest, sqlitestore.Options{})
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		return s, nil
	case "memory":
		return memstore.New(memstore.Options{}), nil
	case "redis", "rediss", "redis+cluster", "rediss+cluster", "redis+sentinel", "rediss+sentinel":
		u, prefix, err := takeParam(spec, "prefix")
		if err != nil {
			return nil, err
		}
		s, err := redisstore.Open(ctx, u, redisstore.Options{Prefix: prefix})
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		if tp != nil {
			if err := redisotel.InstrumentTracing(s.Client(), redisotel.WithTracerProvider(childSpansOnly{tp}),
				redisotel.WithDBStatement(false), redisotel.WithCallerEnabled(false)); err != nil {
				s.Close()
				return nil, fmt.Errorf("tracing the store: %w", err)
			}
		}
		return s, nil
	case "postgres", "postgresql":
		u, schema, err := takeParam(spec, "schema")
		if err != nil {
			return nil, err
		}
		opts := pgstore.Options{Schema: schema}
		if tp != nil {
			opts.Tracer = otelpgx.NewTracer(otelpgx.WithTracerProvider(childSpansOnly{tp}),
				otelpgx.WithMeterProvider(metricnoop.NewMeterProvider()))
		}
		s, err := pgstore.Open(ctx, u, opts)
		if err != nil {
			return nil, fmt.Errorf("opening the store: %w", err)
		}
		return s, nil
	default:
		return nil, fmt.Errorf("%w: --store %q: unknown kind %q (want %s)", errUsage, spec, kind, storeKinds)
	}
}

// takeParam removes the query parameter name, which is sessionkit's, from
// the URL spec, and returns the URL without it and the parameter's value.
func takeParam(spec, name string) (string, string, error) {
	u, err := url.Parse(spec)
	if err != nil {
		return "", "", fmt.Errorf("%w: --store: %v", errUsage, err)
	}
	q := u.Query()
	value := q.Get(name)
	q.Del(name)
	u.RawQuery = q.Encode()
	return u.String(), value, nil
}

// describeStore says where state lives, for the log, without a password
// the URL may hold.
func describeStore(spec string) string {
	if spec == "memory:" {
		return "memory (lost when the process ends)"
	}
	if u, err := url.Parse(spec); err == nil && u.User != nil {
		if _, has := u.User.Password(); has {
			u.User = url.UserPassword(u.User.Username(), "xxxxx")
			return u.String()
		}
	}
	return spec
}
