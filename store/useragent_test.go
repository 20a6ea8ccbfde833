package store_test

import (
	"strings"
	"testing"
	"unicode/utf8"

	"github.com/sessionkit/sessionkit/store"
)

func TestListedUserAgent(t *testing.T) {
	long := strings.Repeat("a", store.MaxUserAgent-1) + "é" // é straddles the cut
	cases := []struct{ name, in, want string }{
		{"short", "curl/8.0", "curl/8.0"},
		{"empty", "", ""},
		{"invalid UTF-8 dropped", "a\xffb", "ab"},
		{"cut at the bound", strings.Repeat("x", 300), strings.Repeat("x", store.MaxUserAgent)},
		{"a rune cut in half is dropped", long, strings.Repeat("a", store.MaxUserAgent-1)},
	}
	for _, c := range cases {
		got := store.ListedUserAgent(c.in)
		if got != c.want || !utf8.ValidString(got) || len(got) > store.MaxUserAgent {
			t.Errorf("%s: ListedUserAgent(%.20q…) = %.20q… (%d bytes), want %.20q… (%d bytes)", c.name, c.in, got, len(got), c.want, len(c.want))
		}
	}
}
