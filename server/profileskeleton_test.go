package server

import (
	"html/template"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"testing"
)

// TestProfileSkeletonMatchesTemplate: the profile page written from its
// skeleton is byte for byte the page the template writes, for every mode
// and for names that need escaping.
func TestProfileSkeletonMatchesTemplate(t *testing.T) {
	pg, err := parsePages()
	if err != nil {
		t.Fatal(err)
	}
	s := &Server{pages: pg, profiles: newProfileSkeletons(pg.byName["profile"]), log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	variants := []struct {
		title string
		page  profilePage
	}{
		{"Profile: server-side session", profilePage{LogoutHref: "/session/logout", SessionsHref: "/session/sessions"}},
		{"Profile: sealed cookie", profilePage{LogoutHref: "/cookie/logout"}},
		{"Profile: JWT", profilePage{LogoutHref: "/jwt/logout"}},
	}
	for _, v := range variants {
		if s.profiles.get(profileVariant{v.title, v.page.LogoutHref, v.page.SessionsHref}) == nil {
			t.Errorf("%s: no skeleton; every view would execute the template", v.title)
		}
		for _, user := range []string{"alice", "Bob.o-k_1", "", `<script>"x"&'y'+z</script>`, "nul\x00byte", "émile ☃"} {
			for _, count := range []int64{0, 1, 42, 1 << 62} {
				p := v.page
				p.Username, p.Count = user, count
				fast := httptest.NewRecorder()
				s.renderProfile(fast, v.title, p)
				slow := httptest.NewRecorder()
				s.render(slow, http.StatusOK, "profile", v.title, p)
				if fast.Code != slow.Code || fast.Body.String() != slow.Body.String() {
					t.Errorf("%s, %q, %d: skeleton wrote %d\n%s\ntemplate wrote %d\n%s", v.title, user, count, fast.Code, fast.Body, slow.Code, slow.Body)
				}
				for _, h := range []string{"Content-Type", "Content-Length"} {
					if f, s := fast.Header().Get(h), slow.Header().Get(h); f != s {
						t.Errorf("%s, %q, %d: %s %q, template's %q", v.title, user, count, h, f, s)
					}
				}
			}
		}
	}
}

// TestProfileSkeletonRefusesTemplatesItCannotFill: a profile template that
// shows the name twice, in a script or an attribute URL, or the count
// before the name, gets no skeleton, and the page still comes out as the
// template writes it.
func TestProfileSkeletonRefusesTemplatesItCannotFill(t *testing.T) {
	for _, tc := range []struct{ name, content string }{
		{"name twice", `{{.Username}} and {{.Username}}: {{.Count}}`},
		{"name in a script", `<script>var u = "{{.Username}}";</script>{{.Count}}`},
		{"name in a URL", `<a href="/u?n={{.Username}}">x</a>{{.Count}}`},
		{"count first", `{{.Count}} views by {{.Username}}`},
		{"no count", `hello {{.Username}}`},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tpl := template.Must(template.New("layout").Parse(`{{define "layout"}}<p>{{.Title}}</p>{{template "content" .Data}}{{end}}{{define "content"}}` + tc.content + `{{end}}`))
			ps := newProfileSkeletons(tpl)
			if ps.get(profileVariant{title: "T"}) != nil {
				t.Fatalf("a skeleton was made of %q", tc.content)
			}
			s := &Server{pages: &pages{byName: map[string]*template.Template{"profile": tpl}}, profiles: ps,
				log: slog.New(slog.NewTextHandler(io.Discard, nil))}
			p := profilePage{Username: probeUsername, Count: 7}
			fast, slow := httptest.NewRecorder(), httptest.NewRecorder()
			s.renderProfile(fast, "T", p)
			s.render(slow, http.StatusOK, "profile", "T", p)
			if fast.Body.String() != slow.Body.String() {
				t.Errorf("wrote %q, template writes %q", fast.Body, slow.Body)
			}
		})
	}
}
