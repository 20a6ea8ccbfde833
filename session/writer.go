package session

import (
	"io"
	"net/http"
	"time"
)

// writer saves the session and sets its cookie just before the status line
// goes out, without buffering the response.
type writer struct {
	http.ResponseWriter
	s      *Session
	wrote  bool // the status line has been written (or replaced)
	failed bool // saving failed; ErrorHandler answered instead of the handler
}

// handlerHeaders are dropped when a failed save replaces the handler's
// response, so that the error does not carry the handler's redirect,
// cookies or content description.
var handlerHeaders = []string{
	"Location", "Set-Cookie", "Content-Type", "Content-Length", "Content-Encoding",
	"Content-Disposition", "Etag", "Last-Modified",
}

// commit saves the session and sets its cookie, once. It reports whether the
// handler's response may go ahead.
func (w *writer) commit() bool {
	if w.wrote {
		return !w.failed
	}
	w.wrote = true
	s := w.s
	s.mu.Lock()
	err := s.save(s.ctx)
	if err == nil {
		s.setCookie(w.Header())
	}
	s.headerWritten = true
	s.mu.Unlock()
	if err != nil {
		w.failed = true
		for _, h := range handlerHeaders {
			w.Header().Del(h)
		}
		s.m.opts.ErrorHandler(w.ResponseWriter, s.r, err)
		return false
	}
	return true
}

// WriteHeader saves the session before the status line goes out.
// Informational (1xx) responses pass through: more headers follow them.
func (w *writer) WriteHeader(code int) {
	if code >= 100 && code < 200 && code != http.StatusSwitchingProtocols {
		w.ResponseWriter.WriteHeader(code)
		return
	}
	if w.wrote {
		if !w.failed {
			w.ResponseWriter.WriteHeader(code) // let net/http report the superfluous call
		}
		return
	}
	if w.commit() {
		w.ResponseWriter.WriteHeader(code)
	}
}

// Write saves the session before the first byte of the body goes out. After
// a failed save it discards b.
func (w *writer) Write(b []byte) (int, error) {
	if !w.commit() {
		return len(b), nil
	}
	return w.ResponseWriter.Write(b)
}

// ReadFrom keeps io.Copy's fast path (sendfile) of the writer beneath.
func (w *writer) ReadFrom(r io.Reader) (int64, error) {
	if !w.commit() {
		return io.Copy(io.Discard, r)
	}
	return io.Copy(w.ResponseWriter, r)
}

// Flush sends what has been written so far, saving the session first.
func (w *writer) Flush() {
	if w.commit() {
		_ = http.NewResponseController(w.ResponseWriter).Flush()
	}
}

// Unwrap gives http.ResponseController the writer beneath.
func (w *writer) Unwrap() http.ResponseWriter { return w.ResponseWriter }

// finish runs after the handler: it saves a session whose handler wrote
// nothing, or saves the changes made after the status line went out. A
// failure then can no longer become a 503, so the response is aborted: the
// client sees a broken response rather than one claiming a change that was
// not kept.
func (w *writer) finish() {
	if !w.wrote {
		w.commit()
		return
	}
	if w.failed {
		return
	}
	s := w.s
	s.mu.Lock()
	err := s.save(s.ctx)
	s.mu.Unlock()
	if err != nil {
		s.m.opts.Logger.ErrorContext(s.r.Context(), "saving a session after the response started failed; aborting the response", "err", err)
		panic(http.ErrAbortHandler)
	}
}

// setCookie adds the session cookie to h when the session has a new token
// (or a new persistence), or removes the browser's cookie when it names no
// stored session.
func (s *Session) setCookie(h http.Header) {
	m := s.m
	c := m.opts.Policy.Cookie(m.opts.CookieName, s.r)
	switch {
	case s.rec.Version > 0 && (s.issued || s.reissue):
		c.Value = s.token
		if s.persistent() {
			c.MaxAge = int(s.rec.Created.Add(m.opts.Lifetime).Sub(m.opts.Now()) / time.Second)
			if c.MaxAge <= 0 {
				c.MaxAge = 1
			}
		}
	case s.rec.Version == 0 && s.hadCookie:
		c.MaxAge = -1
	default:
		return
	}
	h.Add("Set-Cookie", c.String())
}

// persistent reports whether the session's cookie gets a Max-Age: as
// SetRememberMe chose, or else unless Options.BrowserSession.
func (s *Session) persistent() bool {
	if s.flags&flagPersistChosen != 0 {
		return s.flags&flagPersist != 0
	}
	return !s.m.opts.BrowserSession
}
