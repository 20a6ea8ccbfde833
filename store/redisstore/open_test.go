package redisstore

import (
	"context"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/sessionkit/sessionkit/internal/testenv"
	"github.com/sessionkit/sessionkit/store"
)

// TestOpenAndClose checks that a Store from Open works, owns its client and
// closes it once, and that a Store from New leaves its client to the caller.
func TestOpenAndClose(t *testing.T) {
	ctx := context.Background()
	url, prefix := testenv.RedisPrefix(t)
	s, err := Open(ctx, url, Options{Prefix: prefix})
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	if err := s.Deny(ctx, "x", time.Now().Add(time.Minute)); err != nil {
		t.Fatalf("Deny: %v", err)
	}
	if c, ok := s.client.(*redis.Client); !ok || !c.Options().ContextTimeoutEnabled {
		t.Error("Open's client does not honour context deadlines")
	}
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := s.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}
	if err := s.Ping(ctx); err == nil {
		t.Error("Ping after Close succeeded: Close did not close the client Open made")
	}

	c := testClient(t)
	s = New(c, Options{Prefix: prefix})
	if err := s.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if err := c.Ping(ctx).Err(); err != nil {
		t.Errorf("the caller's client after Close: %v; New's Store must not close it", err)
	}
	if s := New(c, Options{}); s.prefix != DefaultPrefix {
		t.Errorf("default prefix = %q, want %q", s.prefix, DefaultPrefix)
	}
}

// TestOpenErrors checks that Open refuses what it cannot use, and that no
// error repeats the password of the URL.
func TestOpenErrors(t *testing.T) {
	const password = "s3cret-pw"
	cases := []struct {
		name string
		url  string
		opts Options
	}{
		{"unparseable URL", "redis://user:" + password + "@[::1", Options{}},
		{"wrong scheme", "http://user:" + password + "@127.0.0.1:6379", Options{}},
		{"nobody listening", "redis://user:" + password + "@127.0.0.1:1/0", Options{}},
		{"prefix with a brace", "redis://user:" + password + "@127.0.0.1:1/0", Options{Prefix: "app{1}:"}},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		s, err := Open(ctx, c.url, c.opts)
		cancel()
		if err == nil {
			s.Close()
			t.Errorf("%s: Open succeeded", c.name)
			continue
		}
		if strings.Contains(err.Error(), password) {
			t.Errorf("%s: the error shows the password: %v", c.name, err)
		}
		if !strings.HasPrefix(err.Error(), "redisstore: ") {
			t.Errorf("%s: error %q does not say where it comes from", c.name, err)
		}
	}
}

func TestNewRefusesBracePrefix(t *testing.T) {
	for _, prefix := range []string{"{app}:", "app}", "a{"} {
		func() {
			defer func() {
				if recover() == nil {
					t.Errorf("New with prefix %q did not panic", prefix)
				}
			}()
			New(nil, Options{Prefix: prefix})
		}()
	}
}

// TestHungServer checks that every call returns soon after its context's
// deadline when the server accepts connections and never answers: the
// server relies on it to answer 503 quickly. The client reads with a
// ReadTimeout of 2s and retries; only honouring the context ends a call
// within a second.
func TestHungServer(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { close(done); ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			go func() { // read and never answer
				defer conn.Close()
				go func() { <-done; conn.Close() }()
				buf := make([]byte, 4096)
				for {
					if _, err := conn.Read(buf); err != nil {
						return
					}
				}
			}()
		}
	}()

	c, _, err := newClient("redis://" + ln.Addr().String() + "/0")
	if err != nil {
		t.Fatal(err)
	}
	s := New(c, Options{})
	defer s.client.Close()
	now := time.Now()
	calls := []struct {
		name string
		call func(ctx context.Context) error
	}{
		{"Ping", s.Ping},
		{"Session", func(ctx context.Context) error { _, err := s.Session(ctx, store.HashToken("x")); return err }},
		{"SaveSession", func(ctx context.Context) error {
			_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("x"), User: "u",
				Created: now, LastSeen: now, Expires: now.Add(time.Hour)})
			return err
		}},
		{"Denied", func(ctx context.Context) error { _, err := s.Denied(ctx, "x"); return err }},
		{"RotateKey", func(ctx context.Context) error {
			return s.RotateKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now}, now)
		}},
		{"StoreTime", func(ctx context.Context) error { _, err := s.StoreTime(ctx); return err }},
	}
	const deadline, bound = 200 * time.Millisecond, 1500 * time.Millisecond
	for _, c := range calls {
		ctx, cancel := context.WithTimeout(context.Background(), deadline)
		start := time.Now()
		err := c.call(ctx)
		took := time.Since(start)
		cancel()
		if err == nil || errors.Is(err, store.ErrNotFound) {
			t.Errorf("%s on a hung server: err = %v, want a failure", c.name, err)
		}
		if took > bound {
			t.Errorf("%s on a hung server took %v with a %v deadline, want under %v", c.name, took, deadline, bound)
		}
	}
}

// TestCanceledContext checks that a canceled context fails calls with the
// context's error (the conformance suite checks that they fail and change
// nothing), including those that need not ask Redis.
func TestCanceledContext(t *testing.T) {
	s, _ := openTest(t, Options{})
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	now := time.Now()
	calls := map[string]func() error{
		"Session": func() error { _, err := s.Session(ctx, store.HashToken("x")); return err },
		"SaveSession": func() error {
			_, err := s.SaveSession(ctx, store.Record{ID: store.HashToken("x"), User: "u", Expires: now.Add(time.Hour)})
			return err
		},
		"UserSessions":         func() error { _, err := s.UserSessions(ctx, "u"); return err },
		"UserSessions of none": func() error { _, err := s.UserSessions(ctx, ""); return err },
		"DeleteUserSessions of none": func() error {
			_, err := s.DeleteUserSessions(ctx, "")
			return err
		},
		"Keys": func() error { _, err := s.Keys(ctx, "p"); return err },
		"AddFirstKey": func() error {
			return s.AddFirstKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now})
		},
		"RotateKey": func() error {
			return s.RotateKey(ctx, "p", store.Key{ID: "k", Secret: []byte("s"), Created: now}, now)
		},
		"ReplaceKeySecret": func() error { return s.ReplaceKeySecret(ctx, "p", "k", []byte("s"), []byte("t")) },
		"StoreTime":        func() error { _, err := s.StoreTime(ctx); return err },
		"Ping":             func() error { return s.Ping(ctx) },
	}
	for name, call := range calls {
		if err := call(); !errors.Is(err, context.Canceled) {
			t.Errorf("%s with a canceled context: err = %v, want context.Canceled", name, err)
		}
	}
}
