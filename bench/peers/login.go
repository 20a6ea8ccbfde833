package peers

import (
	"crypto/rand"
	"crypto/subtle"
	"net/http"
	"sync"

	"golang.org/x/crypto/argon2"

	"github.com/sessionkit/sessionkit/auth"
)

// The account every peer has from the start, for the in-process benchmarks
// and the tests; the load script registers its own users (POST /register)
// with the same password.
const (
	TestUser     = "bench"
	TestPassword = "password-bench"
)

// maxNameLength bounds a registered name, as sessionkit bounds its
// usernames.
const maxNameLength = 64

// accounts is a hand-written app's user table: each name with an argon2id
// hash of its password, in a map behind a lock. It hashes with the
// parameters sessionkit uses by default (auth.DefaultParams), so that a
// login costs a peer what it costs sessionkit: the load script's login
// storm measures the same work everywhere.
type accounts struct {
	params auth.Params

	mu    sync.RWMutex
	users map[string]passwordHash
}

// passwordHash is one account's salt and argon2id key.
type passwordHash struct {
	salt, key []byte
}

// newAccounts returns the user table with the test account in it.
func newAccounts() *accounts {
	a := &accounts{params: auth.DefaultParams(), users: map[string]passwordHash{}}
	a.users[TestUser] = a.hash(TestPassword, nil)
	return a
}

// hash derives the key of password with salt, or with a new random salt
// when salt is nil.
func (a *accounts) hash(password string, salt []byte) passwordHash {
	if salt == nil {
		salt = make([]byte, a.params.SaltLength)
		rand.Read(salt)
	}
	p := a.params
	return passwordHash{salt: salt, key: argon2.IDKey([]byte(password), salt, p.Iterations, p.Memory, p.Parallelism, p.KeyLength)}
}

// register handles POST /register (form fields username and password):
// 303 to / when the account is made, 400 for an empty or overlong field,
// 409 when the name is taken.
func (a *accounts) register(w http.ResponseWriter, r *http.Request) {
	user, password, ok := readForm(w, r)
	if !ok {
		return
	}
	h := a.hash(password, nil) // outside the lock: it takes milliseconds
	a.mu.Lock()
	_, taken := a.users[user]
	if !taken {
		a.users[user] = h
	}
	a.mu.Unlock()
	if taken {
		http.Error(w, "that username is taken", http.StatusConflict)
		return
	}
	redirect(w, r, "/")
}

// checkLogin reads the login form and reports whether it names an account
// with its password, answering 401 (or 400 for a malformed form) and
// returning false when not. An unknown name costs a hash too, so that
// timing does not tell names apart.
func (a *accounts) checkLogin(w http.ResponseWriter, r *http.Request) (string, bool) {
	user, password, ok := readForm(w, r)
	if !ok {
		return "", false
	}
	a.mu.RLock()
	want, found := a.users[user]
	a.mu.RUnlock()
	if !found {
		want.salt = make([]byte, a.params.SaltLength)
	}
	got := a.hash(password, want.salt)
	if !found || subtle.ConstantTimeCompare(got.key, want.key) != 1 {
		http.Error(w, "invalid username or password", http.StatusUnauthorized)
		return "", false
	}
	return user, true
}

// readForm reads the username and password fields, answering 400 and
// returning false when the form is malformed or a field is empty or too
// long.
func readForm(w http.ResponseWriter, r *http.Request) (user, password string, ok bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return "", "", false
	}
	user, password = r.PostForm.Get("username"), r.PostForm.Get("password")
	if user == "" || password == "" || len(user) > maxNameLength || len(password) > 1024 {
		http.Error(w, "username and password are both required", http.StatusBadRequest)
		return "", "", false
	}
	return user, password, true
}

// redirect answers 303 to target with the headers sessionkit sets on every
// answer.
func redirect(w http.ResponseWriter, r *http.Request, target string) {
	setSecurityHeaders(w.Header())
	http.Redirect(w, r, target, http.StatusSeeOther)
}

// toLogin sends a browser without a valid login to the login page, as
// sessionkit does.
func toLogin(w http.ResponseWriter, r *http.Request) {
	redirect(w, r, "/login")
}
