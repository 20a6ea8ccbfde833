package server

import (
	"bytes"
	"html/template"
	"net/http"
	"strconv"
	"strings"
	"sync"
)

// The profile page is the page every logged-in view renders. Executing its
// template costs more than the session work behind it (html/template walks
// the page and reads every field by reflection), yet only the username and
// the count change from one view to the next. So the page of each mode is
// rendered once with marks in their place and kept as a skeleton, and a
// view appends the three pieces, the escaped name and the count.
//
// A skeleton is used only if it gives, for a probe name full of characters
// that need escaping, exactly the bytes the template gives. If the template
// ever puts the name or the count where this cannot hold (twice, in an
// attribute or a script, the count before the name), the page is rendered
// by the template as before.

// Marks put in place of the username and the count to find where they go.
const (
	usernameMark = "skUsernameMark7f3q"
	countMark    = int64(7_316_492_850_137_264_159)
)

// probeUsername has every character html/template escapes in text.
const probeUsername = "a<b>&\"'+\x00c"

// profileVariant is what, besides the username and the count, a profile
// page shows: constant for each mode.
type profileVariant struct {
	title        string
	logoutHref   string
	sessionsHref string
}

// profileSkeleton is a rendered profile page cut where the username and
// the count go.
type profileSkeleton struct {
	head, middle, tail []byte
}

// fill appends the page for user and count to dst.
func (sk *profileSkeleton) fill(dst []byte, user string, count int64) []byte {
	dst = append(dst, sk.head...)
	dst = appendEscapedText(dst, user)
	dst = append(dst, sk.middle...)
	dst = strconv.AppendInt(dst, count, 10)
	return append(dst, sk.tail...)
}

// textEscaper escapes text as html/template does in HTML text and quoted
// attributes.
var textEscaper = strings.NewReplacer(
	"\x00", "\uFFFD", `"`, "&#34;", "&", "&amp;", "'", "&#39;", "+", "&#43;", "<", "&lt;", ">", "&gt;",
)

// appendEscapedText appends s to dst, escaped by textEscaper.
func appendEscapedText(dst []byte, s string) []byte {
	if !strings.ContainsAny(s, "\x00\"&'+<>") {
		return append(dst, s...)
	}
	return append(dst, textEscaper.Replace(s)...)
}

// profileSkeletons builds and keeps the skeleton of each variant.
type profileSkeletons struct {
	t    *template.Template
	mu   sync.RWMutex
	byV  map[profileVariant]*profileSkeleton // nil: render with the template
	bufs sync.Pool                           // *[]byte
}

func newProfileSkeletons(t *template.Template) *profileSkeletons {
	return &profileSkeletons{t: t, byV: map[profileVariant]*profileSkeleton{}}
}

// get returns the skeleton of v, or nil when v must be rendered by the
// template.
func (ps *profileSkeletons) get(v profileVariant) *profileSkeleton {
	ps.mu.RLock()
	sk, ok := ps.byV[v]
	ps.mu.RUnlock()
	if ok {
		return sk
	}
	sk = ps.build(v)
	ps.mu.Lock()
	ps.byV[v] = sk
	ps.mu.Unlock()
	return sk
}

// build renders v with the marks and cuts it, or returns nil when the
// result would not be the template's.
func (ps *profileSkeletons) build(v profileVariant) *profileSkeleton {
	marked, err := ps.execute(v, usernameMark, countMark)
	if err != nil {
		return nil
	}
	countText := []byte(strconv.FormatInt(countMark, 10))
	if bytes.Count(marked, []byte(usernameMark)) != 1 || bytes.Count(marked, countText) != 1 {
		return nil
	}
	i := bytes.Index(marked, []byte(usernameMark))
	j := bytes.Index(marked, countText)
	if j < i {
		return nil
	}
	sk := &profileSkeleton{
		head:   marked[:i],
		middle: marked[i+len(usernameMark) : j],
		tail:   marked[j+len(countText):],
	}
	want, err := ps.execute(v, probeUsername, 42)
	if err != nil || !bytes.Equal(sk.fill(nil, probeUsername, 42), want) {
		return nil
	}
	return sk
}

func (ps *profileSkeletons) execute(v profileVariant, user string, count int64) ([]byte, error) {
	var buf bytes.Buffer
	err := ps.t.ExecuteTemplate(&buf, "layout", page{Title: v.title, Data: profilePage{
		Username: user, Count: count, LogoutHref: v.logoutHref, SessionsHref: v.sessionsHref,
	}})
	return buf.Bytes(), err
}

// renderProfile writes the profile page of title with p's data, with status
// 200, from its skeleton when it has one.
func (s *Server) renderProfile(w http.ResponseWriter, title string, p profilePage) {
	sk := s.profiles.get(profileVariant{title: title, logoutHref: p.LogoutHref, sessionsHref: p.SessionsHref})
	if sk == nil {
		s.render(w, http.StatusOK, "profile", title, p)
		return
	}
	bp, _ := s.profiles.bufs.Get().(*[]byte)
	if bp == nil {
		bp = new([]byte)
	}
	b := sk.fill((*bp)[:0], p.Username, p.Count)
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(http.StatusOK)
	w.Write(b)
	if cap(b) <= 16<<10 {
		*bp = b
		s.profiles.bufs.Put(bp)
	}
}
