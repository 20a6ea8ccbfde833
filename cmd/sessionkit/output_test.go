package main

import (
	"context"
	"encoding/hex"
	"encoding/json"
	"maps"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/sessionkit/sessionkit/store"
	"github.com/sessionkit/sessionkit/token"
)

// TestListJSON: users list, sessions list and keys list with --output json
// write a JSON array of objects with fixed lower_snake fields and RFC 3339
// times, and no secret: no password hash, no key material, no whole login
// id nor a login's data. Without --output they still write their tables.
func TestListJSON(t *testing.T) {
	ctx := context.Background()
	spec := sqliteStore(t)
	for _, u := range []string{"alice", "bob"} {
		if r := cli(t, nil, "password one\n", "users", "add", u, "--store", spec); r.code != 0 {
			t.Fatalf("users add %s: %+v", u, r)
		}
	}
	for _, alg := range []string{"HS256", "EdDSA"} {
		if r := cli(t, nil, "", "keys", "rotate", "--store", spec, "--algorithm", alg); r.code != 0 {
			t.Fatalf("keys rotate: %+v", r)
		}
	}
	st := openSpec(t, spec)
	now := time.Now()
	logins := []store.Record{
		{ID: store.HashToken("alice's session token"), Kind: store.KindSession, User: "alice", UserAgent: "Firefox/140.0",
			Data: []byte("session-data-secret"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)},
		{ID: store.HashToken("bob's refresh token"), Kind: store.KindRefreshFamily, User: "bob",
			Data: []byte("family-data-secret"), Created: now, LastSeen: now, Expires: now.Add(time.Hour)},
		{ID: store.HashToken("bob's cookie"), Kind: store.KindCookieLogin, User: "bob", UserAgent: "curl/8.5.0",
			Created: now, LastSeen: now, Expires: now.Add(time.Hour)},
	}
	for _, rec := range logins {
		if _, err := st.SaveSession(ctx, rec); err != nil {
			t.Fatal(err)
		}
	}

	// The secrets the store holds, which no list may show.
	var secrets []string
	for _, u := range []string{"alice", "bob"} {
		user, err := st.User(ctx, u)
		if err != nil {
			t.Fatal(err)
		}
		secrets = append(secrets, user.PasswordHash, user.ID)
	}
	for _, rec := range logins {
		secrets = append(secrets, rec.ID.String(), hex.EncodeToString(rec.ID[:16]), string(rec.Data))
	}
	keys, err := openSpecKeys(t, st, spec).Keys(ctx, token.DefaultKeyPurpose)
	if err != nil || len(keys) != 2 {
		t.Fatalf("the store's keys: %d, %v", len(keys), err)
	}
	for _, k := range keys {
		var jwk map[string]any
		if err := json.Unmarshal(k.Secret, &jwk); err != nil {
			t.Fatal(err)
		}
		found := 0
		for _, private := range []string{"d", "k", "p", "q", "dp", "dq", "qi"} {
			if v, ok := jwk[private].(string); ok && v != "" {
				secrets = append(secrets, v)
				found++
			}
		}
		if found == 0 {
			t.Fatalf("key %s: no private member in its JWK", k.ID)
		}
		secrets = append(secrets, string(k.Secret))
	}

	isTime := func(v any) bool {
		s, ok := v.(string)
		if !ok {
			return false
		}
		_, err := time.Parse(time.RFC3339, s)
		return err == nil
	}
	cases := []struct {
		name   string
		args   []string
		fields []string
		times  []string // fields that are RFC 3339 times
		n      int
		check  func(t *testing.T, list []map[string]any)
	}{
		{"users list", []string{"users", "list"}, []string{"name", "created", "password_changed"},
			[]string{"created", "password_changed"}, 2, func(t *testing.T, list []map[string]any) {
				if list[0]["name"] != "alice" || list[1]["name"] != "bob" {
					t.Errorf("names: %v, %v", list[0]["name"], list[1]["name"])
				}
			}},
		{"sessions list", []string{"sessions", "list"}, []string{"id", "user", "kind", "created", "last_seen", "expires", "user_agent"},
			[]string{"created", "last_seen", "expires"}, 3, func(t *testing.T, list []map[string]any) {
				kinds := map[string]string{}
				for _, l := range list {
					id, _ := l["id"].(string)
					if len(id) != listedID {
						t.Errorf("id %q: want the %d hex digits the table shows", id, listedID)
					}
					kinds[l["user"].(string)+" "+l["kind"].(string)] = l["user_agent"].(string)
				}
				want := map[string]string{"alice session": "Firefox/140.0", "bob jwt_login": "", "bob cookie_login": "curl/8.5.0"}
				if !maps.Equal(kinds, want) {
					t.Errorf("logins (user kind: user agent) %v, want %v", kinds, want)
				}
			}},
		{"sessions list --user", []string{"sessions", "list", "--user", "alice"}, []string{"id", "user", "kind", "created", "last_seen", "expires", "user_agent"},
			[]string{"created", "last_seen", "expires"}, 1, nil},
		{"keys list", []string{"keys", "list"}, []string{"kid", "algorithm", "created", "signs_from", "expires", "state"},
			[]string{"created"}, 2, func(t *testing.T, list []map[string]any) {
				states := map[string]string{}
				for _, l := range list {
					states[l["algorithm"].(string)] = l["state"].(string)
				}
				if want := map[string]string{"HS256": "primary", "EdDSA": "next"}; !maps.Equal(states, want) {
					t.Errorf("key states %v, want %v", states, want)
				}
				// The primary stops verifying once the next key has signed
				// for a token lifetime; the next key has no end yet.
				if !isTime(list[0]["expires"]) || list[0]["signs_from"] != nil || !isTime(list[1]["signs_from"]) || list[1]["expires"] != nil {
					t.Errorf("the primary signs from %v and expires %v (want null and a time), the next key %v and %v (want a time and null)",
						list[0]["signs_from"], list[0]["expires"], list[1]["signs_from"], list[1]["expires"])
				}
			}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, nil, "", append(c.args, "--store", spec, "--output", "json")...)
			if r.code != 0 {
				t.Fatalf("exit status %d: %s", r.code, r.stderr)
			}
			var list []map[string]any
			if err := json.Unmarshal([]byte(r.stdout), &list); err != nil {
				t.Fatalf("not a JSON array of objects: %v\n%s", err, r.stdout)
			}
			if len(list) != c.n {
				t.Fatalf("%d entries, want %d:\n%s", len(list), c.n, r.stdout)
			}
			for _, l := range list {
				if got := slices.Sorted(maps.Keys(l)); !slices.Equal(got, slices.Sorted(slices.Values(c.fields))) {
					t.Errorf("fields %v, want %v", got, c.fields)
				}
				for _, f := range c.times {
					if !isTime(l[f]) {
						t.Errorf("%s = %v, not an RFC 3339 time", f, l[f])
					}
				}
			}
			if c.check != nil {
				c.check(t, list)
			}
			for _, s := range secrets {
				if s != "" && strings.Contains(r.stdout, s) {
					t.Errorf("the output holds a secret (%q…):\n%s", s[:min(len(s), 12)], r.stdout)
				}
			}
			text := cli(t, nil, "", append(c.args, "--store", spec)...)
			if text.code != 0 || json.Valid([]byte(text.stdout)) || !strings.Contains(text.stdout, "CREATED") {
				t.Errorf("without --output: exit status %d, %q; want the table", text.code, text.stdout)
			}
		})
	}
}

// TestListJSONEmpty: an empty list is [], not null or a sentence.
func TestListJSONEmpty(t *testing.T) {
	spec := sqliteStore(t)
	for _, args := range [][]string{{"users", "list"}, {"sessions", "list"}, {"keys", "list"}} {
		r := cli(t, nil, "", append(args, "--store", spec, "--output", "json")...)
		if r.code != 0 || strings.TrimSpace(r.stdout) != "[]" {
			t.Errorf("%v on an empty store: exit status %d, %q; want []", args, r.code, r.stdout)
		}
	}
}

// TestOutputFlagErrors: --output takes text or json, on the lists only.
func TestOutputFlagErrors(t *testing.T) {
	spec := sqliteStore(t)
	cases := []struct {
		name string
		args []string
		env  map[string]string
		say  string
	}{
		{"users list --output xml", []string{"users", "list", "--output", "xml"}, nil, `--output must be text or json, not "xml"`},
		{"sessions list --output yaml", []string{"sessions", "list", "--output", "yaml"}, nil, `--output must be text or json, not "yaml"`},
		{"keys list --output csv", []string{"keys", "list", "--output", "csv"}, nil, `--output must be text or json, not "csv"`},
		{"SESSIONKIT_OUTPUT=xml", []string{"users", "list"}, map[string]string{"SESSIONKIT_OUTPUT": "xml"}, `--output must be text or json`},
		{"keys rotate --output", []string{"keys", "rotate", "--output", "json"}, nil, "flag provided but not defined: -output"},
		{"users add --output", []string{"users", "add", "alice", "--output", "json"}, nil, "flag provided but not defined: -output"},
		{"sessions revoke --output", []string{"sessions", "revoke", "--user", "alice", "--output", "json"}, nil, "flag provided but not defined: -output"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := cli(t, c.env, "", append(c.args, "--store", spec)...)
			if r.code != 2 || !strings.Contains(lastLine(r.stderr), c.say) || r.stdout != "" {
				t.Errorf("exit status %d, stderr %q, stdout %q; want 2, saying %q, and nothing on stdout", r.code, lastLine(r.stderr), r.stdout, c.say)
			}
		})
	}
}
