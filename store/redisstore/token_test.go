package redisstore

import (
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
)

// TestNoTokenInRedis saves, lists and deletes sessions made from a token and
// then reads back every key and value under the prefix: the token must
// appear nowhere, in any encoding, while the session id (its hash) and the
// session data do, which shows the scan sees what the store wrote.
func TestNoTokenInRedis(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	const token = "some-token-xyz"
	now := time.Now()
	r := store.Record{ID: store.HashToken(token), User: "alice", Data: []byte("marker-data-abc"),
		Created: now, LastSeen: now, Expires: now.Add(time.Hour), UserAgent: "curl"}
	v, err := s.SaveSession(ctx, r)
	if err != nil {
		t.Fatal(err)
	}
	r.Version = v
	if _, err := s.SaveSession(ctx, r); err != nil {
		t.Fatal(err)
	}
	if _, err := s.UserSessions(ctx, "alice"); err != nil {
		t.Fatal(err)
	}

	keys, err := keysUnder(ctx, c, s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	var dump strings.Builder
	for _, k := range keys {
		dump.WriteString(k)
		dump.WriteByte('\n')
		typ, err := c.Type(ctx, k).Result()
		if err != nil {
			t.Fatal(err)
		}
		var val any
		switch typ {
		case "string":
			val, err = c.Get(ctx, k).Result()
		case "hash":
			val, err = c.HGetAll(ctx, k).Result()
		case "list":
			val, err = c.LRange(ctx, k, 0, -1).Result()
		case "zset":
			val, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("key %s has type %s, which this test does not read", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		fmt.Fprintf(&dump, "%q\n", val)
	}
	all := dump.String()
	for _, present := range []string{r.ID.String(), "marker-data-abc"} {
		if !strings.Contains(all, present) {
			t.Errorf("%q is not in Redis: the scan does not see what the store wrote:\n%s", present, all)
		}
	}
	for _, form := range []string{
		token,
		hex.EncodeToString([]byte(token)),
		base64.StdEncoding.EncodeToString([]byte(token)),
		base64.RawURLEncoding.EncodeToString([]byte(token)),
	} {
		if strings.Contains(all, form) {
			t.Errorf("the token appears in Redis as %q", form)
		}
	}
}
