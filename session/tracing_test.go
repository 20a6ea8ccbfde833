package session_test

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store"
)

// TestSpansOfLoadAndSave: under a recording span, a request's load and
// save are child spans; a save that loses its compare-and-swap to another
// writer records the conflict as an event and succeeds on the retry; no
// span holds the token or the session id.
func TestSpansOfLoadAndSave(t *testing.T) {
	f := newFixture(t, session.Options{})
	token := mustToken(t, f.serve(counter, ""))
	id := store.HashToken(token)

	exported := tracetest.NewInMemoryExporter()
	tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported))
	defer tp.Shutdown(context.Background())
	ctx, root := tp.Tracer("test").Start(context.Background(), "request")
	r := httptest.NewRequest("GET", "http://example.com/", nil).WithContext(ctx)
	r.AddCookie(&http.Cookie{Name: session.DefaultCookieName, Value: token})
	f.mgr.Handler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		session.From(r).Increment("n", 1)
		// Another instance saves the session meanwhile.
		rec, err := f.mem.Session(context.Background(), id)
		if err != nil {
			t.Fatal(err)
		}
		if _, err := f.mem.SaveSession(context.Background(), rec); err != nil {
			t.Fatal(err)
		}
	})).ServeHTTP(httptest.NewRecorder(), r)
	root.End()
	if n := f.count(token); n != 2 {
		t.Fatalf("count %d after the retried save, want 2", n)
	}

	spans := map[string]tracetest.SpanStub{}
	var text strings.Builder
	for _, s := range exported.GetSpans() {
		spans[s.Name] = s
		text.WriteString(s.Name + s.Status.Description)
		for _, kv := range s.Attributes {
			text.WriteString(kv.Value.String())
		}
		for _, e := range s.Events {
			text.WriteString(e.Name)
			for _, kv := range e.Attributes {
				text.WriteString(kv.Value.String())
			}
		}
	}
	load, save := spans["session.load"], spans["session.save"]
	if load.Parent.SpanID() != root.SpanContext().SpanID() || save.Parent.SpanID() != root.SpanContext().SpanID() {
		t.Fatalf("session.load and session.save are not children of the request's span: %v", spans)
	}
	if len(save.Events) != 1 || save.Events[0].Name != "conflict" {
		t.Errorf("session.save events %v, want one conflict", save.Events)
	}
	for _, secret := range []string{token, id.String(), id.String()[:16]} {
		if strings.Contains(text.String(), secret) {
			t.Errorf("a span holds the token or the session id")
		}
	}
}
