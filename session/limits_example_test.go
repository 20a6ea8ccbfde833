package session_test

import (
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

// A handler learns that a value does not fit from Put: nothing is stored
// and nothing is cut short, so it can answer as it sees fit.
func ExamplePut_tooLarge() {
	st := memstore.New(memstore.Options{})
	defer st.Close()
	mgr, err := session.New(st, session.Options{MaxDataBytes: 1 << 10, MaxSessionsPerUser: 5})
	if err != nil {
		fmt.Println(err)
		return
	}

	h := mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		s := session.From(r)
		if err := session.Put(s, "note", r.FormValue("note")); errors.Is(err, session.ErrTooLarge) {
			http.Error(w, "that note is too long to keep", http.StatusRequestEntityTooLarge)
			return
		}
		fmt.Fprintln(w, "kept")
	}))
	for _, note := range []string{"short", strings.Repeat("x", 2000)} {
		w := httptest.NewRecorder()
		h.ServeHTTP(w, httptest.NewRequest("GET", "/?note="+note, nil))
		fmt.Print(w.Code, " ", w.Body.String())
	}
	// Output:
	// 200 kept
	// 413 that note is too long to keep
}
