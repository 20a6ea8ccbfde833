package sqlitestore

import (
	"context"
	"fmt"
	"path/filepath"
	"testing"
	"time"
)

// TestRemoveExpired checks that cleanup deletes every expired row, in more
// than one batch, and keeps the rest.
func TestRemoveExpired(t *testing.T) {
	ctx := context.Background()
	s, err := Open(ctx, filepath.Join(t.TempDir(), "c.db"), Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	now := time.Now()
	expired := cleanupBatch*2 + 7
	for i := range expired {
		if err := s.Deny(ctx, fmt.Sprintf("old-%d", i), now.Add(-time.Minute)); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Deny(ctx, "live", now.Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	n, err := s.removeExpired(ctx, now)
	if err != nil {
		t.Fatal(err)
	}
	if n != int64(expired) {
		t.Errorf("removeExpired deleted %d rows, want %d", n, expired)
	}
	var left int
	if err := s.db.QueryRowContext(ctx, "SELECT COUNT(*) FROM deny_list").Scan(&left); err != nil {
		t.Fatal(err)
	}
	if left != 1 {
		t.Errorf("%d rows left, want the 1 live one", left)
	}
}
