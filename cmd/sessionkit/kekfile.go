package main

import (
	"context"
	"crypto/rand"
	"encoding/base64"
	"flag"
	"fmt"
	"log/slog"
	"strings"

	"github.com/sessionkit/sessionkit/kek"
)

// kekConfig says where the key-encryption keys are: the one that encrypts
// the store's keys (--kek) and, during a change of KEK, older ones that
// still open keys (--old-kek).
type kekConfig struct {
	URL  string
	Olds []string
}

// kekUsage explains --kek, for flag help and errors.
const kekUsage = "the key-encryption key every key in the store is encrypted under, as a `URL`: file:PATH (a 0600 file holding 32 random bytes in base64url, as a base64key:// URL does), base64key://KEY, awskms://…, gcpkms://…, azurekeyvault://… or hashivault://… (default: for sqlite:PATH the file PATH.kek, created on first start; for memory: a key of the process; Redis and PostgreSQL need one)"

func (c *kekConfig) flags(fs *flag.FlagSet) {
	fs.StringVar(&c.URL, "kek", "", kekUsage)
	fs.Func("old-kek", "comma-separated `URLs` of earlier key-encryption keys that still open keys while a change of KEK rolls out (see sessionkit keys rewrap); they never encrypt", func(s string) error {
		c.Olds = nil
		for _, u := range strings.Split(s, ",") {
			if u = strings.TrimSpace(u); u != "" {
				c.Olds = append(c.Olds, u)
			}
		}
		return nil
	})
}

// openKEKs opens the key-encryption keys for the store named by spec. When
// --kek is not given, an embedded SQLite store keeps its KEK in a file
// beside the database (created, mode 0600, on first start) and a memory
// store gets a random one for the life of the process; Redis and
// PostgreSQL refuse to go on without one, since their keys are shared
// with every instance and must not be readable from a copy of the store.
func openKEKs(ctx context.Context, spec string, c kekConfig, log *slog.Logger) (current *kek.KEK, olds []*kek.KEK, err error) {
	current, err = openKEK(ctx, spec, c.URL, log)
	if err != nil {
		return nil, nil, err
	}
	for _, u := range c.Olds {
		old, err := kek.Open(ctx, u)
		if err != nil {
			current.Close()
			for _, o := range olds {
				o.Close()
			}
			return nil, nil, fmt.Errorf("--old-kek: %w", err)
		}
		olds = append(olds, old)
	}
	return current, olds, nil
}

// openKEK opens the KEK at url, or the store's default one.
func openKEK(ctx context.Context, spec, url string, log *slog.Logger) (*kek.KEK, error) {
	if url != "" {
		k, err := kek.Open(ctx, url)
		if err != nil {
			return nil, fmt.Errorf("--kek: %w", err)
		}
		return k, nil
	}
	kind, rest, _ := strings.Cut(spec, ":")
	switch kind {
	case "sqlite":
		path := rest + ".kek"
		k, created, err := kek.OpenOrCreateFile(ctx, path)
		if err != nil {
			return nil, fmt.Errorf("the key-encryption key beside the database: %w", err)
		}
		if created {
			log.Info("created a key-encryption key; keep it apart from copies of the database, which cannot be used without it", "file", path)
		}
		return k, nil
	case "memory":
		var b [32]byte
		_, _ = rand.Read(b[:])
		return kek.Open(ctx, "base64key://"+base64.URLEncoding.EncodeToString(b[:]))
	default:
		return nil, fmt.Errorf("%w: --store %s is shared by every instance, so its keys must be encrypted under a key-encryption key kept elsewhere: give --kek (or SESSIONKIT_KEK), such as file:/etc/sessionkit/kek or a KMS key (awskms://…, gcpkms://…, azurekeyvault://…, hashivault://…); make a file KEK with: sessionkit keys new-kek PATH", errUsage, describeStore(spec))
	}
}

// closeKEKs closes current and olds.
func closeKEKs(current *kek.KEK, olds []*kek.KEK) {
	current.Close()
	for _, o := range olds {
		o.Close()
	}
}
