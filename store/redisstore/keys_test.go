package redisstore

import (
	"context"
	"errors"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestKeysEarlierLayout checks keys written by versions from before keys
// had SignsFrom and Retires ("created:secret"): they read back as they
// were, with neither time; ReplaceKeySecret keeps their layout, RotateKey
// rewrites them in the new one with their retirement time, and a key the
// store cannot read fails a rotation before it changes anything.
func TestKeysEarlierLayout(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	ids, hash := s.purposeKeys("cookie")
	created := time.Date(2025, 6, 7, 8, 9, 10, 123456789, time.UTC)
	old := func(offset time.Duration, secret string) string {
		return strconv.FormatInt(created.Add(offset).UnixNano(), 10) + ":" + secret
	}
	// Secrets that look like the new layout's fields.
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(c.HSet(ctx, hash, "k2", old(time.Hour, "@1:2:3:x"), "k1", old(0, ":secret:of:k1")).Err())
	must(c.RPush(ctx, ids, "k2", "k1").Err())

	if err := s.ReplaceKeySecret(ctx, "cookie", "k1", []byte(":secret"), []byte("x")); !errors.Is(err, store.ErrConflict) {
		t.Errorf("ReplaceKeySecret with part of the secret: err = %v, want ErrConflict", err)
	}
	storetest.EarlierKeys(t, s, "cookie", []store.Key{
		{ID: "k2", Secret: []byte("@1:2:3:x"), Created: created.Add(time.Hour)},
		{ID: "k1", Secret: []byte(":secret:of:k1"), Created: created},
	}, func() {
		if v := c.HGet(ctx, hash, "k1").Val(); v != old(0, "resealed:k1") {
			t.Errorf("after ReplaceKeySecret the key is stored as %q, want %q: the layout it had", v, old(0, "resealed:k1"))
		}
	})
	for _, id := range []string{"k1", "k2", "earlier-next"} {
		if v := c.HGet(ctx, hash, id).Val(); !strings.HasPrefix(v, "@") {
			t.Errorf("after RotateKey, %s is stored as %q, want the new layout", id, v)
		}
	}

	// A key the store cannot read fails a rotation, which changes nothing.
	must(c.HSet(ctx, hash, "bad", "@no fields").Err())
	must(c.RPush(ctx, ids, "bad").Err())
	before, err := c.HGetAll(ctx, hash).Result()
	must(err)
	if err := s.RotateKey(ctx, "cookie", store.Key{ID: "k4", Secret: []byte("s4"), Created: created}, created.Add(100*time.Hour)); err == nil ||
		errors.Is(err, store.ErrExists) {
		t.Errorf("RotateKey with a malformed key in the purpose: err = %v, want an error other than ErrExists", err)
	}
	after, err := c.HGetAll(ctx, hash).Result()
	must(err)
	if len(after) != len(before) {
		t.Fatalf("a failed RotateKey changed the keys: %d before, %d after", len(before), len(after))
	}
	for id, v := range before {
		if after[id] != v {
			t.Errorf("a failed RotateKey changed %s from %q to %q", id, v, after[id])
		}
	}
	if _, err := s.Keys(ctx, "cookie"); err == nil || !strings.Contains(err.Error(), "malformed key") {
		t.Errorf("Keys with a malformed key: err = %v, want one that says so", err)
	}
	if err := s.ReplaceKeySecret(ctx, "cookie", "bad", nil, []byte("x")); err == nil ||
		errors.Is(err, store.ErrConflict) || errors.Is(err, store.ErrNotFound) {
		t.Errorf("ReplaceKeySecret of a malformed key: err = %v, want an error other than the sentinels", err)
	}
}

// TestDecodeKey checks the layouts of a key that decodeKey reads and
// those it refuses.
func TestDecodeKey(t *testing.T) {
	at := time.Unix(0, 1_700_000_000_123_456_789)
	for _, c := range []struct {
		v       string
		want    store.Key
		wantErr bool
	}{
		{v: "1700000000123456789:secret", want: store.Key{Secret: []byte("secret"), Created: at}},
		{v: "1700000000123456789:", want: store.Key{Secret: []byte{}, Created: at}},
		{v: "1700000000123456789:a:b:c", want: store.Key{Secret: []byte("a:b:c"), Created: at}},
		{v: "@1700000000123456789:::@x:y", want: store.Key{Secret: []byte("@x:y"), Created: at}},
		{v: "@1700000000123456789:1700000000123456790::s",
			want: store.Key{Secret: []byte("s"), Created: at, SignsFrom: at.Add(1)}},
		{v: "@1700000000123456789::1700000000123456791:s",
			want: store.Key{Secret: []byte("s"), Created: at, Retires: at.Add(2)}},
		{v: encodeKey(store.Key{Secret: []byte("\x00\xff:"), Created: at, SignsFrom: at.Add(1), Retires: at.Add(2)}),
			want: store.Key{Secret: []byte("\x00\xff:"), Created: at, SignsFrom: at.Add(1), Retires: at.Add(2)}},
		{v: "secret", wantErr: true},
		{v: "x:secret", wantErr: true},
		{v: "@1700000000123456789:s", wantErr: true},
		{v: "@1700000000123456789::s", wantErr: true},
		{v: "@1700000000123456789:x::s", wantErr: true},
		{v: "@:::s", wantErr: true},
	} {
		got, err := decodeKey("id", c.v)
		if c.wantErr {
			if err == nil {
				t.Errorf("decodeKey(%q) = %+v, want an error", c.v, got)
			}
			continue
		}
		c.want.ID = "id"
		if err != nil || got.ID != c.want.ID || string(got.Secret) != string(c.want.Secret) || !got.Created.Equal(c.want.Created) ||
			!got.SignsFrom.Equal(c.want.SignsFrom) || !got.Retires.Equal(c.want.Retires) {
			t.Errorf("decodeKey(%q) = %+v, %v; want %+v", c.v, got, err, c.want)
		}
	}
}
