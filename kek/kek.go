// Package kek encrypts the secret keys sessionkit keeps in its store under a
// key-encryption key (KEK) that is never in the store, so that a copy of
// the store (a SQLite file, a Redis dump, a PostgreSQL backup) does not let
// its holder seal cookies or sign tokens.
//
// [Open] opens a KEK from a URL: a key file (file:PATH, see [CreateFile]),
// a key given inline (base64key://KEY, for tests), or a key held by a key
// management service through gocloud.dev/secrets (awskms://, gcpkms://,
// azurekeyvault://, hashivault://). This package links only the first two;
// a program that wants a key management service blank-imports its driver,
// such as gocloud.dev/secrets/awskms, as the sessionkit command does.
//
// [Wrap] turns a [store.Keys] into one that encrypts every secret it adds
// and decrypts every secret it returns (envelope encryption: each secret is
// sealed with its own random data key, and only that data key is sent to
// the KEK to be encrypted). [Keys.Migrate] encrypts the plaintext secrets of
// a store written before the KEK was introduced, and [Rewrap] moves every
// secret from one KEK to another.
//
// # Changing the KEK while servers run
//
//  1. Restart the servers with the new KEK as the current one and the old
//     one as a previous one (Wrap(keys, newKEK, oldKEK)): they open secrets
//     under either, and encrypt new secrets under the new one.
//  2. Run Rewrap(ctx, keys, oldKEK, newKEK, purposes...): it re-encrypts each
//     data key (one KEK call per key; the sealed secrets stay as they are).
//  3. Restart the servers with the new KEK alone, and retire the old one.
//
// # Stored format
//
// A stored secret is the ASCII text "skkek1." followed by the unpadded
// base64url encoding (RFC 4648 §5) of:
//
//	kek id       8 bytes   a hint naming the KEK that wrapped the data key
//	dek length   2 bytes   big-endian length of the wrapped data key
//	wrapped dek  n bytes   the 256-bit data key, encrypted by the KEK
//	sealed       rest      12-byte nonce, AES-256-GCM ciphertext and tag
//
// The GCM additional data, "sessionkit kek v1 secret" followed by the
// purpose and the key ID, each after its length as 4 big-endian bytes,
// binds the secret to its purpose and key ID, so that someone who can
// write the store cannot move a secret to another key or purpose. The kek id is only a hint (it is not authenticated): it picks
// which KEK to try first; every KEK is tried before a secret is reported as
// not opening.
package kek

import (
	"context"
	"crypto/hkdf"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"log/slog"
	"net/url"
	"os"
	"path/filepath"
	"runtime"
	"strings"

	"gocloud.dev/secrets"
	"gocloud.dev/secrets/localsecrets"
)

var (
	// ErrWrongKEK reports that no key-encryption key given opens a secret
	// in the store: the KEK is not the one the secrets were encrypted
	// under, or access to it was denied.
	ErrWrongKEK = errors.New("kek: the key-encryption key does not open the keys in the store (wrong --kek?)")

	// ErrPlaintext reports a secret stored unencrypted, as stores written
	// before the KEK was introduced keep them: encrypt them with
	// [Keys.Migrate].
	ErrPlaintext = errors.New("kek: key stored unencrypted (migrate the store's keys to the key-encryption key)")

	// ErrCorrupt reports a stored secret that is encrypted but does not
	// open although its data key does: it was damaged, or moved from
	// another key or purpose, or written by a newer version of this
	// package.
	ErrCorrupt = errors.New("kek: stored key is damaged or belongs to another key")

	// ErrUnsupportedURL reports a KEK URL that is malformed or whose scheme
	// no linked driver handles.
	ErrUnsupportedURL = errors.New("kek: unsupported key-encryption key URL")

	// ErrInsecureFile reports a KEK file that users other than its owner
	// may read.
	ErrInsecureFile = errors.New("kek: key-encryption key file is readable by group or others")

	// ErrMalformedFile reports a KEK file that does not hold one line of
	// base64url with padding encoding 32 bytes (the form of the key of a
	// base64key:// URL).
	ErrMalformedFile = errors.New("kek: malformed key-encryption key file")
)

const (
	// fileScheme names KEKs kept in a file.
	fileScheme = "file"

	// keyFileSize is the size of the key a KEK file holds.
	keyFileSize = 32

	// maxKeyFile bounds how much of a KEK file is read.
	maxKeyFile = 1024

	// idInfo is the HKDF info (and hash prefix) that derives KEK ids.
	idInfo = "sessionkit kek id v1"
)

// A KEK is a key-encryption key: it encrypts and decrypts the data keys
// that seal the secrets in the store. It is safe for concurrent use. Its
// String, GoString and LogValue name where it comes from and never show
// the key.
type KEK struct {
	name   string          // where it comes from, secret-free: "file:/etc/sessionkit.kek"
	id     [idLen]byte     // the hint stored in envelopes
	keeper *secrets.Keeper // does the encryption
}

// Open opens the KEK that rawURL names:
//
//   - file:PATH (or file:///ABSOLUTE/PATH): a file holding a 32-byte key as
//     one line of base64url with padding, as [CreateFile] writes it (the
//     key of a base64key:// URL). Open refuses a file that group or others
//     may read (on systems with Unix permissions).
//   - base64key://KEY: the 32-byte key KEY, base64url-encoded with padding,
//     in the URL itself. Fit for tests; in production the key ends up in
//     process listings and shell histories.
//   - any other scheme a gocloud.dev/secrets driver linked into the program
//     registers, such as awskms://, gcpkms://, azurekeyvault:// and
//     hashivault:// (see the package documentation).
//
// It returns an error wrapping [ErrUnsupportedURL] for a malformed URL or a
// scheme no driver handles (the message lists those that are linked),
// [ErrInsecureFile] or [ErrMalformedFile] for a bad key file, and the
// driver's error when the key service cannot be reached. Errors never
// quote the key. Close the KEK when done.
func Open(ctx context.Context, rawURL string) (*KEK, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	scheme, rest, ok := strings.Cut(rawURL, ":")
	if !ok || !validScheme(scheme) {
		// Never quote rawURL: it may be a key pasted where a URL belongs.
		return nil, fmt.Errorf("%w: want a URL such as %s", ErrUnsupportedURL, supportedSchemes())
	}
	scheme = strings.ToLower(scheme)
	switch scheme {
	case fileScheme:
		path, err := filePath(rest)
		if err != nil {
			return nil, err
		}
		return openFile(path)
	case localsecrets.Scheme:
		return openBase64Key(rawURL)
	}
	mux := secrets.DefaultURLMux()
	if !mux.ValidKeeperScheme(scheme) {
		return nil, fmt.Errorf("%w: no driver for scheme %q is linked into this program (supported: %s)",
			ErrUnsupportedURL, scheme, supportedSchemes())
	}
	u, err := parseURL(rawURL, scheme)
	if err != nil {
		return nil, err
	}
	name := redactedURL(u)
	keeper, err := mux.OpenKeeperURL(ctx, u)
	if err != nil {
		return nil, fmt.Errorf("kek: opening %s: %w", name, err)
	}
	return &KEK{name: name, id: nameID(rawURL), keeper: keeper}, nil
}

// FromKeeper returns a KEK that encrypts with keeper, for programs that
// build their keeper themselves (say, a KMS keeper with their own client
// options). name identifies the KEK in messages and must not hold secrets;
// it also derives the hint stored beside each data key, so give the same
// name to the same key every time. Closing the KEK closes keeper.
func FromKeeper(name string, keeper *secrets.Keeper) *KEK {
	return &KEK{name: name, id: nameID(name), keeper: keeper}
}

// CreateFile writes a new random 32-byte KEK to a file at path, readable
// and writable by its owner only (mode 0600), as one line of base64url
// with padding: the form a base64key:// URL takes (gocloud.dev's
// localsecrets.Base64Key reads it). It never overwrites: when path exists it returns an error
// wrapping [fs.ErrExist]. The file is synced to disk before CreateFile
// returns: losing it loses every secret encrypted under it.
func CreateFile(path string) error {
	var key [keyFileSize]byte
	rand.Read(key[:]) // never returns an error: it crashes the program instead
	data := []byte(base64.URLEncoding.EncodeToString(key[:]) + "\n")
	if err := createExclusive(path, data); err != nil {
		return fmt.Errorf("kek: creating key-encryption key file: %w", err)
	}
	return nil
}

// createExclusive writes data to a new file at path with mode 0600. It
// writes a temporary file beside path and links it into place, so that a
// reader never sees a partial key; where links are not supported it
// creates path exclusively and writes it.
func createExclusive(path string, data []byte) error {
	dir := filepath.Dir(path)
	tmp, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp*")
	if err != nil {
		return err
	}
	tmpName := tmp.Name()
	defer os.Remove(tmpName)
	err = tmp.Chmod(0o600) // CreateTemp's default, made explicit
	if err == nil {
		_, err = tmp.Write(data)
	}
	if err == nil {
		err = tmp.Sync()
	}
	if cerr := tmp.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return err
	}
	err = os.Link(tmpName, path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		err = writeExclusive(path, data)
	}
	if err != nil {
		return err
	}
	syncDir(dir)
	return nil
}

// writeExclusive creates path (failing when it exists) with mode 0600 and
// writes data to it, removing it again if the write fails.
func writeExclusive(path string, data []byte) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	_, err = f.Write(data)
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		os.Remove(path)
	}
	return err
}

// syncDir makes a new directory entry durable where the system allows it;
// it is best effort.
func syncDir(dir string) {
	if runtime.GOOS == "windows" {
		return
	}
	d, err := os.Open(dir)
	if err != nil {
		return
	}
	d.Sync()
	d.Close()
}

// OpenOrCreateFile opens the KEK file at path, or creates it with
// [CreateFile] first when there is none, and reports whether it created
// it: what an embedded store keeps beside its database file. Of processes
// that start at once, exactly one creates the file and all use the same
// key. A KEK created here cannot open secrets encrypted under a KEK file
// that was lost: Keys then fails with [ErrWrongKEK]. Errors are those of
// [Open] and [CreateFile].
func OpenOrCreateFile(ctx context.Context, path string) (k *KEK, created bool, err error) {
	if err := ctx.Err(); err != nil {
		return nil, false, err
	}
	k, err = openFile(path)
	if err == nil || !errors.Is(err, fs.ErrNotExist) {
		return k, false, err
	}
	err = CreateFile(path)
	if err != nil && !errors.Is(err, fs.ErrExist) {
		return nil, false, err
	}
	created = err == nil
	k, err = openFile(path)
	if err != nil {
		return nil, false, err
	}
	return k, created, nil
}

// Close releases the KEK's keeper (a key service client). Using the KEK
// after Close fails, and so does a second Close.
func (k *KEK) Close() error {
	return k.keeper.Close()
}

// String returns "kek(" followed by where the key comes from and ")", as
// "kek(file:/etc/sessionkit.kek)", never the key itself.
func (k *KEK) String() string {
	if k == nil {
		return "kek(<nil>)"
	}
	return "kek(" + k.name + ")"
}

// GoString returns the same as String, so that %#v does not print the key
// either.
func (k *KEK) GoString() string { return k.String() }

// LogValue returns the same as String, for log/slog.
func (k *KEK) LogValue() slog.Value { return slog.StringValue(k.String()) }

// filePath returns the path of a file: URL from what follows "file:".
func filePath(rest string) (string, error) {
	path := rest
	if strings.HasPrefix(rest, "//") {
		u, err := url.Parse(fileScheme + ":" + rest)
		if err != nil {
			return "", fmt.Errorf("%w: malformed file URL: want file:PATH or file:///ABSOLUTE/PATH", ErrUnsupportedURL)
		}
		if u.Host != "" && u.Host != "localhost" {
			return "", fmt.Errorf("%w: file URL names host %q: want file:PATH or file:///ABSOLUTE/PATH", ErrUnsupportedURL, u.Host)
		}
		path = u.Path
	}
	if path == "" {
		return "", fmt.Errorf("%w: file URL without a path: want file:PATH", ErrUnsupportedURL)
	}
	return path, nil
}

// openFile opens the KEK file at path.
func openFile(path string) (*KEK, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("kek: opening key-encryption key file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("kek: opening key-encryption key file: %w", err)
	}
	if !fi.Mode().IsRegular() {
		return nil, fmt.Errorf("%w: %s is not a regular file", ErrMalformedFile, path)
	}
	if perm := fi.Mode().Perm(); runtime.GOOS != "windows" && perm&0o077 != 0 {
		return nil, fmt.Errorf("%w: %s has mode %04o; run chmod 600 %s", ErrInsecureFile, path, perm, path)
	}
	data, err := io.ReadAll(io.LimitReader(f, maxKeyFile+1))
	if err != nil {
		return nil, fmt.Errorf("kek: reading key-encryption key file %s: %w", path, err)
	}
	key, ok := parseKeyFile(data)
	if !ok {
		return nil, fmt.Errorf("%w: %s must hold one line of base64url with padding encoding %d bytes, as a base64key:// URL holds it (sessionkit keys new-kek writes one)",
			ErrMalformedFile, path, keyFileSize)
	}
	return localKEK(fileScheme+":"+path, key), nil
}

// parseKeyFile decodes the contents of a KEK file.
func parseKeyFile(data []byte) (key [keyFileSize]byte, ok bool) {
	if len(data) > maxKeyFile {
		return key, false
	}
	line := strings.TrimSpace(string(data))
	if strings.ContainsAny(line, " \t\r\n") {
		return key, false
	}
	key, err := localsecrets.Base64Key(line)
	if err != nil {
		return key, false
	}
	return key, true
}

// openBase64Key opens a base64key:// URL itself rather than through the
// gocloud URL opener, which makes up a random key when the URL has none:
// secrets encrypted under a key that dies with the process would be lost.
func openBase64Key(rawURL string) (*KEK, error) {
	u, err := parseURL(rawURL, localsecrets.Scheme)
	if err != nil {
		return nil, err
	}
	if u.RawQuery != "" || u.User != nil || (u.Path != "" && u.Path != "/") {
		return nil, fmt.Errorf("%w: want base64key://KEY with nothing after the key", ErrUnsupportedURL)
	}
	if u.Host == "" {
		return nil, fmt.Errorf("%w: base64key:// needs a key: base64key://KEY", ErrUnsupportedURL)
	}
	key, err := localsecrets.Base64Key(u.Host)
	if err != nil {
		return nil, fmt.Errorf("%w: the key of a base64key:// URL must be 32 bytes in base64url with padding", ErrUnsupportedURL)
	}
	return localKEK(localsecrets.Scheme+"://REDACTED", key), nil
}

// localKEK returns a KEK that encrypts with key in this process.
func localKEK(name string, key [keyFileSize]byte) *KEK {
	k := &KEK{name: name, keeper: localsecrets.NewKeeper(key)}
	id, err := hkdf.Key(sha256.New, key[:], nil, idInfo, idLen)
	if err != nil {
		panic("kek: deriving a KEK id: " + err.Error()) // cannot happen: idLen is far below HKDF's limit
	}
	copy(k.id[:], id)
	return k
}

// nameID derives the hint stored in envelopes from the name of a KEK that
// is not held in this process.
func nameID(name string) [idLen]byte {
	sum := sha256.Sum256([]byte(idInfo + "\x00" + name))
	var id [idLen]byte
	copy(id[:], sum[:])
	return id
}

// parseURL parses a KEK URL without letting the key it may hold into an
// error message.
func parseURL(rawURL, scheme string) (*url.URL, error) {
	u, err := url.Parse(rawURL)
	if err != nil {
		return nil, fmt.Errorf("%w: malformed %s URL", ErrUnsupportedURL, scheme)
	}
	return u, nil
}

// redactedURL returns u without its user information and query, which may
// hold credentials.
func redactedURL(u *url.URL) string {
	r := url.URL{Scheme: u.Scheme, Host: u.Host, Path: u.Path, Opaque: u.Opaque}
	return r.String()
}

// validScheme reports whether s is a URL scheme (RFC 3986 §3.1) of a
// sensible length.
func validScheme(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i, c := range s {
		switch {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z':
		case i > 0 && ('0' <= c && c <= '9' || c == '+' || c == '-' || c == '.'):
		default:
			return false
		}
	}
	return true
}

// supportedSchemes lists the KEK URLs this program can open.
func supportedSchemes() string {
	list := []string{"file:PATH"}
	for _, s := range secrets.DefaultURLMux().KeeperSchemes() {
		if s == localsecrets.Scheme {
			list = append(list, s+"://KEY")
		} else {
			list = append(list, s+"://...")
		}
	}
	return strings.Join(list, ", ")
}
