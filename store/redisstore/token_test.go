package redisstore

import (
	"bytes"
	"context"
	"fmt"
	"testing"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/store/storetest"
)

// TestTokensAreNeverStored runs a session.Manager on the store as browsers
// would use it (a visitor's session, a login that renews its session, a
// login in a new browser, a logout), then reads every key under the
// store's prefix with its value: no session token a browser was given
// appears there in any spelling, while each live session's id (the SHA-256
// of its token, in hex) and the values put in the sessions do, which shows
// the dump holds what the store wrote.
func TestTokensAreNeverStored(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	m, err := session.New(s, session.Options{})
	if err != nil {
		t.Fatal(err)
	}
	const marker = "marker-value-7f3a"
	given, live := storetest.BrowseSessions(t, m, marker)
	if recs, err := m.Sessions(ctx, "alice"); err != nil || len(recs) != 2 {
		t.Fatalf("alice's sessions: %d, %v; want the 2 she logged in with", len(recs), err)
	}

	keys, err := keysUnder(ctx, c, s.prefix)
	if err != nil {
		t.Fatal(err)
	}
	var dump bytes.Buffer
	for _, k := range keys {
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
		case "set":
			val, err = c.SMembers(ctx, k).Result()
		case "zset":
			val, err = c.ZRangeWithScores(ctx, k, 0, -1).Result()
		default:
			t.Fatalf("key %s has type %s, which this test does not read", k, typ)
		}
		if err != nil {
			t.Fatal(err)
		}
		// %v writes strings as their bytes, so a token kept as raw bytes
		// would be found too.
		fmt.Fprintf(&dump, "%s %s: %v\n", k, typ, val)
	}
	storetest.CheckDump(t, dump.String(), given, live, store.SessionID.String, marker)
}
