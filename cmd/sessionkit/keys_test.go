package main

import (
	"context"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store/sqlitestore"
	"github.com/sessionkit/sessionkit/token"
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
		if err := run(ctx, append([]string{"keys"}, args...), env, strings.NewReader(""), &out, &errOut); err != nil {
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
	ring, err := token.OpenRing(ctx, openSpecKeys(t, st, store), token.RingOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// The new key signs once every server and JWKS cache has it: the
	// reload interval, the JWKS max-age and the servers' leeway on.
	later := time.Now().Add(ring.PublishDelay() + token.DefaultLeeway + time.Second)
	if p := ring.KeySet().Primary(later); p == nil || p.ID != second[1] || p.Algorithm != token.ES256 {
		t.Errorf("%v on, the store's primary key is %+v, want %s (ES256)", time.Until(later).Round(time.Minute), p, second[1])
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

// TestKeysRetire puts three keys in a store as rotations an hour apart
// leave them: the oldest retired, the middle one the primary, the newest
// waiting to sign. retire deletes only the retired one unless told which
// to delete, never the primary, and deletes a key that still verifies
// only with --force.
func TestKeysRetire(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "keys.db")
	spec := "sqlite:" + path
	st, err := sqlitestore.Open(ctx, path, sqlitestore.Options{})
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()

	if r := cli(t, nil, "", "keys", "retire", "--store", spec); r.code != 0 || !strings.Contains(r.stdout, "no signing keys yet") {
		t.Errorf("retire on a new store: %+v", r)
	}
	now := time.Now()
	var ids []string
	for _, age := range []time.Duration{2 * time.Hour, time.Hour, 0} {
		k, err := token.GenerateKey(token.EdDSA, now.Add(-age))
		if err != nil {
			t.Fatal(err)
		}
		if err := st.AddKey(ctx, token.DefaultKeyPurpose, k); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, k.ID)
	}
	retired, primary, next := ids[0], ids[1], ids[2]

	steps := []struct {
		name string
		args []string
		code int
		say  string
		left []string // the keys in the store afterwards
	}{
		{"retire", nil, 0, "deleted key " + retired + " (EdDSA)", []string{primary, next}},
		{"retire again", nil, 0, "no retired keys: every key still verifies", []string{primary, next}},
		{"retire the primary", []string{"--id", primary}, 1, "key " + primary + " is the primary (it signs): rotate first", []string{primary, next}},
		{"force the primary", []string{"--id", primary, "--force"}, 1, "is the primary", []string{primary, next}},
		{"retire the next key", []string{"--id", next}, 1, "key " + next + " still verifies (next: verifies, signs from", []string{primary, next}},
		{"an unknown key", []string{"--id", "nope"}, 1, `no key "nope"`, []string{primary, next}},
		{"force the next key", []string{"--id", next, "--force"}, 0, "deleted key " + next, []string{primary}},
	}
	for _, s := range steps {
		r := cli(t, nil, "", append([]string{"keys", "retire", "--store", spec}, s.args...)...)
		where := r.stdout
		if s.code != 0 {
			where = lastLine(r.stderr)
		}
		if r.code != s.code || !strings.Contains(where, s.say) {
			t.Errorf("%s: exit status %d, %q; want %d, saying %q", s.name, r.code, where, s.code, s.say)
		}
		keys, err := st.Keys(ctx, token.DefaultKeyPurpose)
		if err != nil {
			t.Fatal(err)
		}
		var left []string
		for _, k := range keys {
			left = append(left, k.ID)
		}
		if strings.Join(left, " ") != strings.Join(s.left, " ") {
			t.Errorf("%s: the store holds keys %v, want %v", s.name, left, s.left)
		}
	}
	// A single key, however old, is the primary: it stays.
	if r := cli(t, nil, "", "keys", "retire", "--store", spec); r.code != 0 || !strings.Contains(r.stdout, "no retired keys") {
		t.Errorf("retire with only the primary left: %+v", r)
	}
}
