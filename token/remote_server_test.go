package token_test

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"

	"github.com/sessionkit/sessionkit/server"
	"github.com/sessionkit/sessionkit/store/memstore"
	"github.com/sessionkit/sessionkit/token"
)

// TestRemoteKeysAcrossRotation runs a sessionkit server and a second
// service that verifies its tokens through the JWKS alone: after a key
// rotation, the service verifies tokens of the new key without a restart,
// and the old key's tokens still.
func TestRemoteKeysAcrossRotation(t *testing.T) {
	ctx := context.Background()
	clock := newClock()
	st := memstore.New(memstore.Options{Now: clock.Now})
	t.Cleanup(func() { st.Close() })
	srv, err := server.New(ctx, st, server.Config{Now: clock.Now, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	if err != nil {
		t.Fatal(err)
	}
	auth := httptest.NewServer(srv)
	t.Cleanup(auth.Close)
	client := &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
	resp, err := client.PostForm(auth.URL+"/register", url.Values{"username": {"alice"}, "password": {"correct horse"}})
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	login := func() string {
		t.Helper()
		resp, err := http.Post(auth.URL+"/api/login", "application/json",
			strings.NewReader(`{"username":"alice","password":"correct horse"}`))
		if err != nil {
			t.Fatal(err)
		}
		defer resp.Body.Close()
		var pair struct {
			AccessToken string `json:"access_token"`
		}
		if err := json.NewDecoder(resp.Body).Decode(&pair); err != nil || resp.StatusCode != http.StatusOK {
			t.Fatalf("login: %d, %v", resp.StatusCode, err)
		}
		return pair.AccessToken
	}

	keys, err := token.NewRemoteKeys(ctx, auth.URL+"/.well-known/jwks.json", token.RemoteOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(keys.Close)
	verifier := mustVerifier(t, keys, token.VerifierOptions{
		Issuer: server.DefaultTokenIssuer, Audience: server.DefaultTokenAudience, Leeway: token.DefaultLeeway, Now: clock.Now,
	})
	before := login()
	mustVerify(t, verifier, before)

	// "sessionkit keys rotate", on the server's store.
	ring, err := token.OpenRing(ctx, st, token.RingOptions{Leeway: token.DefaultLeeway, Now: clock.Now})
	if err != nil {
		t.Fatal(err)
	}
	k, err := ring.Rotate(ctx, token.ES256)
	if err != nil {
		t.Fatal(err)
	}
	clock.Set(k.SignsFrom.Add(1))
	after := login()
	if c := mustVerify(t, verifier, after); c.KeyID != k.ID || c.Subject != "alice" {
		t.Errorf("the token signed after the rotation: kid %s, subject %s; want the new key %s, alice", c.KeyID, c.Subject, k.ID)
	}
	mustVerify(t, verifier, before)
}
