package redisstore

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/store"
)

// keySlot returns the Redis Cluster hash slot of key: CRC16 (XMODEM) of its
// hash tag, modulo 16384. The tag is what lies between the first '{' and the
// first '}' after it, unless that is empty or missing; then it is the whole
// key.
func keySlot(key string) int {
	if i := strings.IndexByte(key, '{'); i >= 0 {
		if j := strings.IndexByte(key[i+1:], '}'); j > 0 {
			key = key[i+1 : i+1+j]
		}
	}
	var crc uint16
	for i := 0; i < len(key); i++ {
		crc ^= uint16(key[i]) << 8
		for range 8 {
			if crc&0x8000 != 0 {
				crc = crc<<1 ^ 0x1021
			} else {
				crc <<= 1
			}
		}
	}
	return int(crc) % 16384
}

// TestKeySlot checks keySlot against the Redis Cluster specification's
// examples and the slots a Cluster reports.
func TestKeySlot(t *testing.T) {
	for _, c := range []struct {
		key  string
		slot int
	}{
		{"123456789", 0x31C3 % 16384}, // the spec's CRC16 check value
		{"foo", 12182},
		{"somekey", 11058},
		{"foo{hash_tag}", 2515},
		{"hash_tag", 2515},
		{"{user1000}.following", keySlot("user1000")},
		{"foo{}{bar}", keySlot("foo{}{bar}")}, // empty tag: the whole key
		{"foo{{bar}}zap", keySlot("{bar")},
		{"foo{bar}{zap}", keySlot("bar")},
	} {
		if got := keySlot(c.key); got != c.slot {
			t.Errorf("keySlot(%q) = %d, want %d", c.key, got, c.slot)
		}
	}
	if keySlot("foo{}{bar}") == keySlot("bar") {
		t.Error("an empty tag must not be skipped for the next one")
	}
}

// commandKeys returns the keys a command the store sends touches, and false
// for a command this test does not know.
func commandKeys(cmd redis.Cmder) ([]string, bool) {
	args := cmd.Args()
	str := func(a any) string { s, _ := a.(string); return s }
	switch cmd.Name() {
	case "eval", "evalsha":
		n, err := strconv.Atoi(fmt.Sprint(args[2]))
		if err != nil {
			return nil, false
		}
		keys := make([]string, n)
		for i := range keys {
			keys[i] = str(args[3+i])
		}
		return keys, true
	case "get", "hget", "hgetall", "hmget", "hsetnx", "hdel", "hset", "del":
		return []string{str(args[1])}, true
	case "ping", "time":
		return nil, true
	}
	return nil, false
}

// TestClusterSlots runs every operation of the store and checks what it
// sends: only commands this test knows (no KEYS, no MULTI, no multi-key
// command), every key under the prefix, and the keys of each script in one
// hash slot, as Redis Cluster requires. It checks that the scripts with
// several keys were seen, with purposes and a user name whose text could
// upset hash tags.
func TestClusterSlots(t *testing.T) {
	ctx := context.Background()
	s, c := openTest(t, Options{})
	rec := &recorder{}
	c.AddHook(rec)

	now := time.Now()
	must := func(err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(s.Ping(ctx))
	must(s.CreateUser(ctx, store.User{ID: "id-alice", Name: "Alice", PasswordHash: "h", Created: now, Updated: now}))
	_, _ = s.User(ctx, "alice")
	must(s.SetPasswordHash(ctx, "alice", "h2", now))
	_, _ = s.ListUsers(ctx)
	must(s.DeleteUser(ctx, "alice"))
	// An account written before accounts had ids, given one when read.
	must(c.HSet(ctx, s.usersKey(), "{old}", encodeUser(store.User{Name: "{old}"})[len("@0:"):]).Err())
	_, _ = s.User(ctx, "{old}")
	must(s.SetPasswordHash(ctx, "{old}", "h", now))
	_, _ = s.ListUsers(ctx)
	for _, key := range []string{"plain", "{x}", "a}b{c", "\x00\xff"} {
		_, _, err := s.AddCount(ctx, key, 1, time.Hour)
		must(err)
		_, _, _ = s.Count(ctx, key)
		must(s.DeleteCount(ctx, key))
	}
	for _, purpose := range []string{"cookie", "", "}", "{", "a}b{c", "k:{}", "{}"} {
		must(s.AddKey(ctx, purpose, store.Key{ID: "k1", Secret: []byte("s"), Created: now}))
		if keys, err := s.Keys(ctx, purpose); err != nil || len(keys) != 1 {
			t.Fatalf("Keys(%q) = %v, %v; want the key added", purpose, keys, err)
		}
		must(s.DeleteKey(ctx, purpose, "k1"))
		must(s.AddFirstKey(ctx, purpose, store.Key{ID: "k2", Secret: []byte("s"), Created: now}))
		must(s.RotateKey(ctx, purpose, store.Key{ID: "k3", Secret: []byte("s"), Created: now}, now.Add(time.Hour)))
		must(s.ReplaceKeySecret(ctx, purpose, "k2", []byte("s"), []byte("t")))
		if keys, err := s.Keys(ctx, purpose); err != nil || len(keys) != 2 || string(keys[0].Secret) != "t" || keys[0].Retires.IsZero() {
			t.Fatalf("Keys(%q) = %v, %v; want k2, resealed and retiring, and k3", purpose, keys, err)
		}
	}
	_, err := s.StoreTime(ctx)
	must(err)
	must(s.Deny(ctx, "{jti}", now.Add(time.Hour)))
	_, _ = s.Denied(ctx, "{jti}")
	r := store.Record{ID: store.HashToken("t"), User: "Bob{x}", Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
	v, err := s.SaveSession(ctx, r)
	must(err)
	r.Version, r.User = v, "carol"
	_, err = s.SaveSession(ctx, r)
	must(err)
	_, _ = s.Session(ctx, r.ID)
	_, _ = s.UserSessions(ctx, "carol")
	_, _ = s.UserSessions(ctx, "Bob{x}")
	must(s.DeleteSession(ctx, r.ID))
	r.Version = 0
	_, err = s.SaveSession(ctx, r)
	must(err)
	_, err = s.DeleteUserSessions(ctx, "carol")
	must(err)

	multiKey := map[string]int{} // script SHA → calls with several keys
	for _, trip := range rec.take() {
		for _, cmd := range trip {
			keys, ok := commandKeys(cmd)
			if !ok {
				t.Errorf("the store sent %v, which this test does not know: teach commandKeys its keys", cmd.Args())
				continue
			}
			for _, k := range keys {
				if !strings.HasPrefix(k, s.prefix) {
					t.Errorf("%s touches %q, outside the prefix %q", cmd.Name(), k, s.prefix)
				}
			}
			if len(keys) < 2 {
				continue
			}
			multiKey[fmt.Sprint(cmd.Args()[1])]++
			for _, k := range keys[1:] {
				if keySlot(k) != keySlot(keys[0]) {
					t.Errorf("%s touches %q (slot %d) and %q (slot %d): a Cluster refuses it",
						cmd.Name(), keys[0], keySlot(keys[0]), k, keySlot(k))
				}
			}
		}
	}
	for _, sc := range []*redis.Script{addKeyScript, addFirstKeyScript, rotateKeyScript, deleteKeyScript, keysScript,
		indexScript, indexFixScript} {
		if multiKey[sc.Hash()] == 0 {
			t.Errorf("no call of the script %s with several keys was seen", sc.Hash())
		}
	}
}
