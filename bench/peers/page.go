// Package peers serves the tutorial's login and profile page with each of
// sessionkit's peers — scs, gorilla/sessions, golang-jwt — and with no
// session at all, so that the load script and the in-process benchmarks
// compare the middleware and nothing else: every peer writes the same page
// as sessionkit's /session/profile, rendered from profile.html with
// html/template the way sessionkit renders its own.
package peers

import (
	"bytes"
	"crypto/rand"
	_ "embed"
	"encoding/hex"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
)

//go:embed profile.html
var profileTemplate string

// ProfileTitle is the title of sessionkit's /session/profile page, which
// every peer's page carries too.
const ProfileTitle = "Profile: server-side session"

// Page renders the profile page. It is safe for concurrent use.
type Page struct {
	t *template.Template
}

// NewPage parses profile.html. It fails only if the embedded template is
// broken.
func NewPage() (*Page, error) {
	t, err := template.New("profile").Parse(profileTemplate)
	if err != nil {
		return nil, fmt.Errorf("peers: parsing profile.html: %w", err)
	}
	return &Page{t: t}, nil
}

// pageData is what the layout receives, as in sessionkit's server.
type pageData struct {
	Title string
	Data  profileData
}

// profileData is what the profile template receives, as in sessionkit's
// server for session mode.
type profileData struct {
	Username   string
	Count      int64
	LogoutHref string
}

// Write renders the page for user and count and writes it with status 200
// and the headers sessionkit's server sends with its profile page: the
// page's own (Content-Type, Content-Length, Cache-Control: no-store), the
// security headers its middleware sets on every answer, and an
// X-Request-Id made as its request log makes one. A template error
// answers 500.
func (p *Page) Write(w http.ResponseWriter, r *http.Request, user string, count int64) {
	data := pageData{Title: ProfileTitle, Data: profileData{
		Username:   user,
		Count:      count,
		LogoutHref: "/session/logout",
	}}
	var buf bytes.Buffer
	if err := p.t.ExecuteTemplate(&buf, "layout", data); err != nil {
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	setSecurityHeaders(h)
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(http.StatusOK)
	w.Write(buf.Bytes())
}

// setSecurityHeaders sets the headers sessionkit's server puts on every
// answer (its securityHeaders and logRequests middleware), so that each
// peer's page is as long on the wire as sessionkit's.
func setSecurityHeaders(h http.Header) {
	var id [8]byte
	rand.Read(id[:])
	h.Set("X-Request-Id", hex.EncodeToString(id[:]))
	h.Set("Cache-Control", "no-store")
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("X-Frame-Options", "DENY")
	h.Set("Referrer-Policy", "same-origin")
	h.Set("Content-Security-Policy", "default-src 'self'; frame-ancestors 'none'; form-action 'self'; base-uri 'none'")
}
