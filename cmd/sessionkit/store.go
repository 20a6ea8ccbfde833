package main

import (
	"context"
	"fmt"
	"io"
	"strings"

	"sessionkit/server"
	"sessionkit/store/memstore"
	"sessionkit/store/sqlitestore"
)

// backend is a server.Backend the command must close when done.
type backend interface {
	server.Backend
	io.Closer
}

// openStore opens the store named by spec: "sqlite:PATH" or "memory:".
func openStore(ctx context.Context, spec string) (backend, error) {
	kind, rest, ok := strings.Cut(spec, ":")
	if !ok {
		return nil, fmt.Errorf("%w: --store %q has no kind; use memory: or sqlite:PATH", errUsage, spec)
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
	default:
		return nil, fmt.Errorf("%w: --store %q: unknown kind %q (want sqlite or memory)", errUsage, spec, kind)
	}
}

// describeStore says where state lives, for the log.
func describeStore(spec string) string {
	if spec == "memory:" {
		return "memory (lost when the process ends)"
	}
	return spec
}
