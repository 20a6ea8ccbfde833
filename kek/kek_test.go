package kek_test

import (
	"bytes"
	"encoding/base64"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	"github.com/sessionkit/sessionkit/kek"
	"github.com/sessionkit/sessionkit/store"
)

// sealWith adds a key through a Wrap with k and returns the store.
func sealWith(t *testing.T, k *kek.KEK) *fakeKeys {
	t.Helper()
	st := newFakeKeys()
	if err := kek.Wrap(st, k).AddKey(t.Context(), "p", store.Key{ID: "k", Secret: secretFor("k")}); err != nil {
		t.Fatalf("AddKey: %v", err)
	}
	return st
}

// opens reports whether k opens the key sealWith stored in st.
func opens(t *testing.T, st *fakeKeys, k *kek.KEK) bool {
	t.Helper()
	got, err := kek.Wrap(st, k).Keys(t.Context(), "p")
	if err != nil {
		if !errors.Is(err, kek.ErrWrongKEK) {
			t.Fatalf("Keys: %v", err)
		}
		return false
	}
	return len(got) == 1 && bytes.Equal(got[0].Secret, secretFor("k"))
}

func TestCreateFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sessionkit.db.kek")
	if err := kek.CreateFile(path); err != nil {
		t.Fatalf("CreateFile: %v", err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if runtime.GOOS != "windows" && fi.Mode().Perm() != 0o600 {
		t.Errorf("CreateFile made mode %04o, want 0600", fi.Mode().Perm())
	}
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// The form a base64key:// URL takes: base64url with padding.
	key, err := base64.URLEncoding.Strict().DecodeString(strings.TrimSuffix(string(data), "\n"))
	if err != nil || len(key) != 32 || !strings.HasSuffix(string(data), "\n") || strings.Count(string(data), "\n") != 1 {
		t.Errorf("file holds %q; want one line of base64url of 32 bytes", data)
	}
	if entries, _ := os.ReadDir(filepath.Dir(path)); len(entries) != 1 {
		t.Errorf("CreateFile left %d files in the directory, want 1", len(entries))
	}

	if err := kek.CreateFile(path); !errors.Is(err, fs.ErrExist) {
		t.Errorf("CreateFile over an existing file = %v, want fs.ErrExist", err)
	}
	if again, _ := os.ReadFile(path); !bytes.Equal(again, data) {
		t.Error("CreateFile overwrote an existing key file")
	}

	for _, u := range []string{"file:" + path, "file://" + filepath.ToSlash(path)} {
		k, err := kek.Open(ctx, u)
		if err != nil {
			t.Fatalf("Open(%q): %v", u, err)
		}
		st := sealWith(t, k)
		same, err := kek.Open(ctx, "base64key://"+base64.URLEncoding.EncodeToString(key))
		if err != nil {
			t.Fatal(err)
		}
		if !opens(t, st, same) {
			t.Errorf("Open(%q) does not encrypt with the key in the file", u)
		}
		k.Close()
		same.Close()
	}

	if _, err := kek.Open(ctx, "file:"+filepath.Join(t.TempDir(), "missing")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("Open of a missing file = %v, want fs.ErrNotExist", err)
	}
}

func TestOpenFileRefusesBadFiles(t *testing.T) {
	good := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // has URL-only characters
	tests := []struct {
		name     string
		contents string
		mode     fs.FileMode
		wantErr  error
	}{
		{"good", good + "\n", 0o600, nil},
		{"good, no newline, owner read-only", good, 0o400, nil},
		{"readable by others", good + "\n", 0o644, kek.ErrInsecureFile},
		{"readable by group", good + "\n", 0o640, kek.ErrInsecureFile},
		{"empty", "", 0o600, kek.ErrMalformedFile},
		{"31 bytes", base64.URLEncoding.EncodeToString(make([]byte, 31)) + "\n", 0o600, kek.ErrMalformedFile},
		{"33 bytes", base64.URLEncoding.EncodeToString(make([]byte, 33)) + "\n", 0o600, kek.ErrMalformedFile},
		{"standard base64", base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) + "\n", 0o600, kek.ErrMalformedFile},
		{"not base64", strings.Repeat("!", 44) + "\n", 0o600, kek.ErrMalformedFile},
		{"two lines", good + "\n" + good + "\n", 0o600, kek.ErrMalformedFile},
		{"raw bytes", string(bytes.Repeat([]byte{7}, 32)), 0o600, kek.ErrMalformedFile},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if runtime.GOOS == "windows" && tt.wantErr == kek.ErrInsecureFile {
				t.Skip("no Unix permissions")
			}
			path := filepath.Join(t.TempDir(), "kek")
			if err := os.WriteFile(path, []byte(tt.contents), 0o600); err != nil {
				t.Fatal(err)
			}
			if err := os.Chmod(path, tt.mode); err != nil {
				t.Fatal(err)
			}
			k, err := kek.Open(t.Context(), "file:"+path)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (k != nil) {
				t.Fatalf("Open = %v, %v; want error %v", k, err, tt.wantErr)
			}
			if err == nil {
				k.Close()
				return
			}
			msg := err.Error()
			if !strings.Contains(msg, path) {
				t.Errorf("error %q does not name the file", msg)
			}
			if tt.wantErr == kek.ErrInsecureFile && !strings.Contains(msg, "chmod 600") {
				t.Errorf("error %q does not say to chmod 600", msg)
			}
			if strings.Contains(msg, good) {
				t.Errorf("error %q shows the key", msg)
			}
		})
	}
}

func TestOpenOrCreateFile(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "sessionkit.db.kek")
	first, created, err := kek.OpenOrCreateFile(ctx, path)
	if err != nil || !created {
		t.Fatalf("OpenOrCreateFile of a missing file = %v, %v; want created", created, err)
	}
	defer first.Close()
	st := sealWith(t, first)

	second, created, err := kek.OpenOrCreateFile(ctx, path)
	if err != nil || created {
		t.Fatalf("OpenOrCreateFile of an existing file = %v, %v; want opened, not created", created, err)
	}
	defer second.Close()
	if !opens(t, st, second) {
		t.Error("the reopened KEK does not open what the created one sealed")
	}

	if err := os.Chmod(path, 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := kek.OpenOrCreateFile(ctx, path); runtime.GOOS != "windows" && !errors.Is(err, kek.ErrInsecureFile) {
		t.Errorf("OpenOrCreateFile of a 0644 file = %v, want kek.ErrInsecureFile", err)
	}
}

func TestOpenOrCreateFileConcurrently(t *testing.T) {
	ctx := t.Context()
	path := filepath.Join(t.TempDir(), "kek")
	const n = 8
	var (
		wg      sync.WaitGroup
		keks    [n]*kek.KEK
		errs    [n]error
		created [n]bool
	)
	for i := range n {
		wg.Go(func() { keks[i], created[i], errs[i] = kek.OpenOrCreateFile(ctx, path) })
	}
	wg.Wait()
	creators := 0
	for i := range n {
		if errs[i] != nil {
			t.Fatalf("OpenOrCreateFile #%d: %v", i, errs[i])
		}
		defer keks[i].Close()
		if created[i] {
			creators++
		}
	}
	if creators != 1 {
		t.Errorf("%d callers created the file, want 1", creators)
	}
	st := sealWith(t, keks[0])
	for i := 1; i < n; i++ {
		if !opens(t, st, keks[i]) {
			t.Errorf("KEK #%d differs from #0", i)
		}
	}
}

func TestOpenURLs(t *testing.T) {
	key := base64.URLEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32)) // has URL-only characters
	stdKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{0xfb}, 32))
	tests := []struct {
		name    string
		url     string
		wantErr error
		wantIn  []string // in the error message
	}{
		{"base64key", "base64key://" + key, nil, nil},
		{"base64key, upper-case scheme", "BASE64KEY://" + key, nil, nil},
		{"unknown scheme", "vault2://mykey", kek.ErrUnsupportedURL, []string{`"vault2"`, "file:PATH", "base64key://"}},
		{"bare path", "/etc/sessionkit.kek", kek.ErrUnsupportedURL, []string{"file:PATH"}},
		{"bare key", stdKey, kek.ErrUnsupportedURL, []string{"file:PATH"}},
		{"empty", "", kek.ErrUnsupportedURL, []string{"file:PATH"}},
		{"base64key without key", "base64key://", kek.ErrUnsupportedURL, []string{"needs a key"}},
		{"base64key, short key", "base64key://" + base64.URLEncoding.EncodeToString(make([]byte, 16)), kek.ErrUnsupportedURL, []string{"32 bytes"}},
		{"base64key, std encoding", "base64key://" + stdKey, kek.ErrUnsupportedURL, nil},
		{"base64key, query", "base64key://" + key + "?x=1", kek.ErrUnsupportedURL, nil},
		{"base64key, malformed", "base64key://" + key + "%zz", kek.ErrUnsupportedURL, nil},
		{"file without path", "file:", kek.ErrUnsupportedURL, []string{"file:PATH"}},
		{"file on another host", "file://example.com/kek", kek.ErrUnsupportedURL, []string{"example.com"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			k, err := kek.Open(t.Context(), tt.url)
			if !errors.Is(err, tt.wantErr) || (tt.wantErr == nil) != (k != nil) {
				t.Fatalf("Open = %v, %v; want error %v", k, err, tt.wantErr)
			}
			if err == nil {
				k.Close()
				return
			}
			for _, want := range tt.wantIn {
				if !strings.Contains(err.Error(), want) {
					t.Errorf("error %q does not say %q", err, want)
				}
			}
			for _, leak := range []string{key, stdKey, strings.TrimRight(key, "=")} {
				if strings.Contains(err.Error(), leak) {
					t.Errorf("error %q shows the key", err)
				}
			}
		})
	}
}

func TestBase64KeyURLIsTheKey(t *testing.T) {
	ctx := t.Context()
	a, u := newKEK(t)
	st := sealWith(t, a)
	same, err := kek.Open(ctx, u)
	if err != nil {
		t.Fatal(err)
	}
	defer same.Close()
	other, _ := newKEK(t)
	if !opens(t, st, same) || opens(t, st, other) {
		t.Error("base64key:// KEKs with the same key do not open each other's secrets, or different keys do")
	}
}

func TestStringNeverShowsTheKey(t *testing.T) {
	ctx := t.Context()
	raw := bytes.Repeat([]byte{0xa5}, 32)
	path := filepath.Join(t.TempDir(), "kek")
	if err := os.WriteFile(path, []byte(base64.URLEncoding.EncodeToString(raw)+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		url  string
		want string
	}{
		{"file:" + path, "kek(file:" + path + ")"},
		{"base64key://" + base64.URLEncoding.EncodeToString(raw), "kek(base64key://REDACTED)"},
	}
	for _, tt := range tests {
		k, err := kek.Open(ctx, tt.url)
		if err != nil {
			t.Fatal(err)
		}
		defer k.Close()
		if got := k.String(); got != tt.want {
			t.Errorf("String() = %q, want %q", got, tt.want)
		}
		var logged bytes.Buffer
		slog.New(slog.NewTextHandler(&logged, nil)).Info("opened", "kek", k)
		shown := []string{
			fmt.Sprint(k), fmt.Sprintf("%+v", k), fmt.Sprintf("%#v", k), fmt.Sprintf("%s!", k),
			fmt.Sprintf("%q", k), fmt.Sprintf("%x", k), fmt.Sprintf("%v", *k), fmt.Sprintf("%+v", *k),
			logged.String(),
		}
		for _, s := range shown {
			for _, leak := range []string{
				string(raw), base64.StdEncoding.EncodeToString(raw), base64.URLEncoding.EncodeToString(raw),
				base64.RawURLEncoding.EncodeToString(raw), fmt.Sprintf("%x", raw), fmt.Sprint(raw),
			} {
				if strings.Contains(s, leak) {
					t.Errorf("a KEK printed as %q shows its key", s)
				}
			}
		}
		if !strings.Contains(logged.String(), tt.want) {
			t.Errorf("slog wrote %q, want it to name %s", logged.String(), tt.want)
		}
	}
}
