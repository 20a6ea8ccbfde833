package server

import (
	"encoding/binary"
	"net/http"
)

// profilePage is the data of templates/profile.html.
type profilePage struct {
	Username   string
	Count      int64
	LogoutHref string

	// SessionsHref links to the list of the user's sessions (session mode
	// only; empty in the other modes).
	SessionsHref string
}

// sessionsPage is the data of templates/sessions.html.
type sessionsPage struct {
	Username        string
	Sessions        []sessionRow
	LogoutAllAction string
	ProfileHref     string
}

// logoutPage is the data of templates/logout.html.
type logoutPage struct {
	Action string
}

// profileData is what cookie mode keeps in its sealed cookie: who logged in
// and how many times the profile was seen since.
type profileData struct {
	Username string
	Count    int64
}

// profileFormat is the first byte of an encoded profileData; a value with
// another first byte is not ours.
const profileFormat = 1

// marshal encodes p compactly: the format byte, the count as a varint, then
// the name. (Reflection-based encodings cost more than the cookie's crypto.)
func (p profileData) marshal() []byte {
	b := make([]byte, 0, 1+binary.MaxVarintLen64+len(p.Username))
	b = append(b, profileFormat)
	b = binary.AppendVarint(b, p.Count)
	return append(b, p.Username...)
}

// unmarshalProfile decodes what marshal encoded, reporting false for
// anything else.
func unmarshalProfile(b []byte) (profileData, bool) {
	if len(b) < 2 || b[0] != profileFormat {
		return profileData{}, false
	}
	count, n := binary.Varint(b[1:])
	if n <= 0 || count < 0 {
		return profileData{}, false
	}
	name := b[1+n:]
	if len(name) == 0 {
		return profileData{}, false
	}
	return profileData{Username: string(name), Count: count}, true
}

// noStore marks a response as private to this moment: pages that show a
// user's data must not be kept by any cache.
func noStore(w http.ResponseWriter) {
	w.Header().Set("Cache-Control", "no-store")
}
