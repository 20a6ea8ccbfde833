package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"sessionkit/store/sqlitestore"
	"sessionkit/token"
)

// TestKeysCommand lists and rotates the keys of a store the way an
// operator would, and checks what the store holds afterwards.
func TestKeysCommand(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	store := "sqlite:" + path
	keys := func(args ...string) string {
		t.Helper()
		var out, errOut strings.Builder
		env := func(string) string { return "" }
		if err := run(ctx, append([]string{"keys"}, args...), env, &out, &errOut); err != nil {
			t.Fatalf("keys %v: %v (%s)", args, err, errOut.String())
		}
		return out.String()
	}
	if out := keys("list", "--store", store); !strings.Contains(out, "no signing keys yet") {
		t.Errorf("list on a new store: %q", out)
	}
	out := keys("rotate", "--store", store)
	first := regexp.MustCompile(`first key (\S+) \(EdDSA\)`).FindStringSubmatch(out)
	if first == nil {
		t.Fatalf("rotate output: %q", out)
	}
	out = keys("rotate", "--store", store, "--algorithm", "ES256")
	second := regexp.MustCompile(`new key (\S+) \(ES256\): it verifies now and becomes the primary at`).FindStringSubmatch(out)
	if second == nil {
		t.Fatalf("rotate output: %q", out)
	}
	list := keys("list", "--store", store)
	lines := strings.Split(strings.TrimSpace(list), "\n")
	if len(lines) != 3 {
		t.Fatalf("list: %q, want a header and two keys", list)
	}
	if !strings.HasPrefix(lines[1], first[1]) || !strings.Contains(lines[1], "primary") {
		t.Errorf("the first key's line: %q, want it primary until the new key's time", lines[1])
	}
	if !strings.HasPrefix(lines[2], second[1]) || !strings.Contains(lines[2], "next: verifies, signs from") {
		t.Errorf("the new key's line: %q, want it next", lines[2])
	}

	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	ring, err := token.OpenRing(ctx, st, token.RingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	later := time.Now().Add(token.DefaultReloadInterval + time.Second)
	if p := ring.KeySet().Primary(later); p == nil || p.ID != second[1] || p.Algorithm != token.ES256 {
		t.Errorf("a minute on, the store's primary key is %+v, want %s (ES256)", p, second[1])
	}
	var old *token.Key
	for _, k := range ring.KeySet().Keys() {
		if k.ID == first[1] {
			old = k
		}
	}
	if old == nil || !old.Expires.After(later) {
		t.Errorf("the first key %+v must keep verifying after the new one starts signing", old)
	}
}
