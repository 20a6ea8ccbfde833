package sqlitestore_test

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// BenchmarkSaveSessions measures what every request of a logged-in user
// costs the store: 200 users' sessions loaded and saved back by 2 to 200
// goroutines at once (storetest.BenchSaveSessions).
func BenchmarkSaveSessions(b *testing.B) {
	storetest.BenchSaveSessions(b, func(b *testing.B) store.Sessions {
		s, err := sqlitestore.Open(context.Background(), filepath.Join(b.TempDir(), "bench.db"), sqlitestore.Options{})
		if err != nil {
			b.Fatal(err)
		}
		b.Cleanup(func() { s.Close() })
		return s
	})
}
