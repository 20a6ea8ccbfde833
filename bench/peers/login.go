package peers

import (
	"crypto/subtle"
	"net/http"
)

// The one account every peer accepts. Peers compare the password directly
// (in constant time) instead of hashing it: logging in happens once per
// run, outside the measured load, so how it is checked does not show in
// the numbers. The load script registers the same name and password with
// sessionkit, which hashes it with argon2id.
const (
	TestUser     = "bench"
	TestPassword = "password-bench"
)

// checkLogin reads the login form and reports whether it holds the test
// account. A wrong or missing field answers 401 and returns false.
func checkLogin(w http.ResponseWriter, r *http.Request) (string, bool) {
	r.Body = http.MaxBytesReader(w, r.Body, 64<<10)
	if err := r.ParseForm(); err != nil {
		http.Error(w, "bad form", http.StatusBadRequest)
		return "", false
	}
	user, password := r.PostForm.Get("username"), r.PostForm.Get("password")
	userOK := subtle.ConstantTimeCompare([]byte(user), []byte(TestUser))
	passwordOK := subtle.ConstantTimeCompare([]byte(password), []byte(TestPassword))
	if userOK&passwordOK != 1 {
		http.Error(w, "invalid username or password", http.StatusUnauthorized)
		return "", false
	}
	return user, true
}

// toLogin sends a browser without a valid login to the login page, as
// sessionkit does.
func toLogin(w http.ResponseWriter, r *http.Request) {
	http.Redirect(w, r, "/login", http.StatusSeeOther)
}
