package server

import (
	"bytes"
	"embed"
	"fmt"
	"html/template"
	"net/http"
	"strconv"
)

//go:embed templates/*.html
var templateFiles embed.FS

//go:embed static/style.css
var styleCSS []byte

// pages holds one parsed template per page, each with the shared layout.
type pages struct {
	byName map[string]*template.Template
}

func parsePages() (*pages, error) {
	// Every template under templates/ besides layout.html.
	pageNames := []string{"index", "register", "login", "profile", "sessions", "logout", "message", "account", "reauth"}
	p := &pages{byName: make(map[string]*template.Template, len(pageNames))}
	for _, name := range pageNames {
		t, err := template.ParseFS(templateFiles, "templates/layout.html", "templates/"+name+".html")
		if err != nil {
			return nil, fmt.Errorf("server: parsing page %s: %w", name, err)
		}
		p.byName[name] = t
	}
	return p, nil
}

// page is what every template receives.
type page struct {
	Title string
	// Data is the page's own data; each template documents what it expects.
	Data any
}

// render writes the named page with status. The page is rendered into a
// buffer first, so a template error answers 500 instead of half a page.
func (s *Server) render(w http.ResponseWriter, status int, name string, title string, data any) {
	t := s.pages.byName[name]
	var buf bytes.Buffer
	if err := t.ExecuteTemplate(&buf, "layout", page{Title: title, Data: data}); err != nil {
		s.log.Error("rendering page", "page", name, "err", err)
		http.Error(w, "internal error rendering the page", http.StatusInternalServerError)
		return
	}
	h := w.Header()
	h.Set("Content-Type", "text/html; charset=utf-8")
	h.Set("Content-Length", strconv.Itoa(buf.Len()))
	w.WriteHeader(status)
	w.Write(buf.Bytes())
}

// message renders a page that only says something, with a link onwards.
type message struct {
	Text     string
	LinkHref string
	LinkText string
}

func (s *Server) renderMessage(w http.ResponseWriter, status int, title, text string) {
	s.render(w, status, "message", title, message{Text: text, LinkHref: "/", LinkText: "Back to the start page"})
}

func serveStyle(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Type", "text/css; charset=utf-8")
	h.Set("Cache-Control", "public, max-age=3600")
	w.Write(styleCSS)
}
