package server

import "net/http"

// mode is one way of recognising a returning browser, as the start page
// lists it.
type mode struct {
	Name  string
	Href  string
	About string
}

// modes returns the mechanisms this server offers, in the order the start
// page lists them.
func modes() []mode {
	return []mode{
		{Name: "Sealed cookie", Href: "/cookie/login",
			About: "your data lives in a cookie, encrypted and authenticated so that nobody can read or edit it"},
		{Name: "Server-side session", Href: "/session/login",
			About: "your cookie holds only a random token; your data lives on the server and survives a restart"},
		{Name: "JWT", Href: "/jwt/login",
			About: "a short-lived signed access token and a rotating refresh token, both revocable; the same tokens serve the JSON API"},
	}
}

// indexPage is the data of templates/index.html.
type indexPage struct {
	Modes      []mode
	Registered bool
}

func (s *Server) index(w http.ResponseWriter, r *http.Request) {
	s.render(w, http.StatusOK, "index", "Sessions, three ways", indexPage{
		Modes:      modes(),
		Registered: r.URL.Query().Get("registered") == "1",
	})
}
