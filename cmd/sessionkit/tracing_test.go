package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.opentelemetry.io/otel/trace"

	"github.com/sessionkit/sessionkit/store"
)

// TestTracingOffWithoutEnvironment: with no OTEL_* variable, or ones that
// say none, startTracing builds and installs nothing: OpenTelemetry's
// global provider stays the API's no-op one. (No test of this package
// turns tracing on in process: the global provider cannot be put back.
// The e2e test runs the binary with OTEL_TRACES_EXPORTER=console.)
func TestTracingOffWithoutEnvironment(t *testing.T) {
	for _, env := range []map[string]string{
		{},
		{"OTEL_TRACES_EXPORTER": ""},
		{"OTEL_TRACES_EXPORTER": "none"},
		{"OTEL_TRACES_EXPORTER": "console", "OTEL_SDK_DISABLED": "true"},
		{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SERVICE_NAME": "x"},
	} {
		tp, err := startTracing(context.Background(), func(k string) string { return env[k] }, slog.New(slog.DiscardHandler))
		if tp != nil || err != nil {
			t.Errorf("%v: startTracing = %v, %v; want nothing", env, tp, err)
		}
		if p := providerOf(tp); p != nil {
			t.Errorf("%v: providerOf(nil) = %v, want nil", env, p)
		}
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Fatal("a TracerProvider was installed")
	}
	_, span := otel.Tracer("test").Start(context.Background(), "probe")
	defer span.End()
	if span.IsRecording() || span.SpanContext().IsValid() {
		t.Error("the global tracer records spans")
	}
}

// TestServeUntracedByDefault runs serve without OTEL_* variables (whatever
// the test's own environment holds: serve reads the getenv it is given):
// its request log line has no trace_id, so no request had a span, and no
// provider was installed.
func TestServeUntracedByDefault(t *testing.T) {
	log := &syncLog{}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	env := func(string) string { return "" }
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--store", "memory:", "--log-level", "info"},
			env, strings.NewReader(""), io.Discard, log)
	}()
	listening := regexp.MustCompile(`msg=listening addr=(http://\S+)`)
	var base string
	for deadline := time.Now().Add(30 * time.Second); base == ""; {
		if m := listening.FindStringSubmatch(log.String()); m != nil {
			base = m[1]
			break
		}
		select {
		case err := <-done:
			t.Fatalf("serve ended: %v\n%s", err, log.String())
		case <-time.After(10 * time.Millisecond):
		}
		if time.Now().After(deadline) {
			t.Fatalf("serve did not listen within 30s:\n%s", log.String())
		}
	}
	resp, err := http.Get(base + "/register")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("serve: %v", err)
	}
	out := log.String()
	if !strings.Contains(out, "msg=request ") {
		t.Fatalf("no request line in the log:\n%s", out)
	}
	if strings.Contains(out, "trace_id") {
		t.Errorf("the log has trace ids, though nothing asked for tracing:\n%s", out)
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Error("serve installed a TracerProvider")
	}
}

// syncLog is a log the server writes while the test reads it.
type syncLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *syncLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *syncLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// TestTracingRefusesAnUnknownExporter: a misspelt exporter stops the
// server at start, before anything is installed.
func TestTracingRefusesAnUnknownExporter(t *testing.T) {
	t.Setenv("OTEL_TRACES_EXPORTER", "jaegerr")
	_, err := startTracing(context.Background(), os.Getenv, slog.New(slog.DiscardHandler))
	if err == nil || !strings.Contains(err.Error(), "OTEL_TRACES_EXPORTER") {
		t.Errorf("startTracing: %v, want an error naming OTEL_TRACES_EXPORTER", err)
	}
	if _, sdk := otel.GetTracerProvider().(*sdktrace.TracerProvider); sdk {
		t.Error("a TracerProvider was installed")
	}
}

// TestLogCarriesTraceIDs: a line logged with a span's context carries its
// trace and span ids, in text and JSON, through WithAttrs too; one without
// carries neither.
func TestLogCarriesTraceIDs(t *testing.T) {
	sc := trace.NewSpanContext(trace.SpanContextConfig{
		TraceID:    trace.TraceID{0x4b, 0xf9, 0x2f, 0x35, 0x77, 0xb3, 0x4d, 0xa6, 0xa3, 0xce, 0x92, 0x9d, 0x0e, 0x0e, 0x47, 0x36},
		SpanID:     trace.SpanID{0x00, 0xf0, 0x67, 0xaa, 0x0b, 0xa9, 0x02, 0xb7},
		TraceFlags: trace.FlagsSampled,
	})
	traced := trace.ContextWithSpanContext(context.Background(), sc)
	for _, format := range []string{"text", "json"} {
		var buf bytes.Buffer
		log := newLogger(serveConfig{LogFormat: format, LogLevel: slog.LevelInfo}, &buf).With("k", "v")
		log.InfoContext(traced, "with")
		log.InfoContext(context.Background(), "without")
		lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
		if len(lines) != 2 {
			t.Fatalf("%s: %d lines: %q", format, len(lines), buf.String())
		}
		for _, want := range []string{"4bf92f3577b34da6a3ce929d0e0e4736", "00f067aa0ba902b7", "trace_id", "span_id", "k"} {
			if !strings.Contains(lines[0], want) {
				t.Errorf("%s: %q lacks %s", format, lines[0], want)
			}
		}
		if strings.Contains(lines[1], "trace_id") || strings.Contains(lines[1], "span_id") {
			t.Errorf("%s: %q has trace ids without a span", format, lines[1])
		}
	}
}

// TestTracedStores opens the real Redis and PostgreSQL with tracing and
// saves and reads a session record and an account under a span: the
// client's commands and queries are child spans of it, and no span holds
// the record's id, its data, the account's password hash, nor the URL's
// password. A call outside any span makes none; opened without a
// provider, the clients make no span at all.
func TestTracedStores(t *testing.T) {
	ctx := context.Background()
	for name, spec := range sharedStoreSpecs(t) {
		t.Run(name, func(t *testing.T) {
			for _, traced := range []bool{true, false} {
				exported := tracetest.NewInMemoryExporter()
				tp := sdktrace.NewTracerProvider(sdktrace.WithSyncer(exported))
				defer tp.Shutdown(ctx)
				var st backend
				var err error
				if traced {
					st, err = openTracedStore(ctx, spec, tp)
				} else {
					st, err = openStore(ctx, spec)
				}
				if err != nil {
					t.Fatal(err)
				}
				defer st.Close()

				secrets := map[string]string{}
				id := store.HashToken(randomHex(t))
				secrets[id.String()] = "the session id"
				data := "data-" + randomHex(t)
				secrets[data] = "the session data"
				hash := "$argon2id$v=19$m=64,t=1,p=1$" + randomHex(t)
				secrets[hash[len(hash)-32:]] = "the password hash"
				user := "u" + randomHex(t)[:12]

				// Outside a traced request the clients make no span (no
				// trace of their own either).
				if _, err := st.Session(ctx, store.HashToken(randomHex(t))); !errors.Is(err, store.ErrNotFound) {
					t.Fatalf("Session of no record: %v", err)
				}
				if n := len(exported.GetSpans()); n != 0 {
					t.Errorf("%d spans from a call outside any span", n)
				}
				rctx, root := tp.Tracer("test").Start(ctx, "root")
				now := time.Now()
				rec := store.Record{ID: id, Kind: store.KindSession, Data: []byte(data), Created: now, LastSeen: now, Expires: now.Add(time.Hour)}
				if _, err := st.SaveSession(rctx, rec); err != nil {
					t.Fatal(err)
				}
				if _, err := st.Session(rctx, id); err != nil {
					t.Fatal(err)
				}
				if err := st.CreateUser(rctx, store.User{ID: "id-" + user, Name: user, PasswordHash: hash, Created: now, Updated: now}); err != nil {
					t.Fatal(err)
				}
				if _, err := st.User(rctx, user); err != nil {
					t.Fatal(err)
				}
				root.End()

				var children int
				var text strings.Builder
				for _, s := range exported.GetSpans() {
					if s.Parent.SpanID() == root.SpanContext().SpanID() {
						children++
					}
					text.WriteString(s.Name + "\n" + s.Status.Description + "\n")
					for _, kv := range s.Attributes {
						text.WriteString(string(kv.Key) + "=" + kv.Value.String() + "\n")
						if traced && name == "redis" && (kv.Key == "db.statement" || kv.Key == "db.query.text") {
							t.Errorf("a Redis span records the command: %s", kv.Value.String())
						}
					}
					for _, e := range s.Events {
						text.WriteString(e.Name + "\n")
						for _, kv := range e.Attributes {
							text.WriteString(kv.Value.String() + "\n")
						}
					}
				}
				switch {
				case traced && children < 4:
					t.Errorf("traced: %d child spans of the store calls' span, want one per call at least", children)
				case !traced && children != 0:
					t.Errorf("untraced: %d child spans", children)
				}
				for form, what := range secrets {
					if strings.Contains(text.String(), form) {
						t.Errorf("a span holds %s", what)
					}
				}
				if traced {
					t.Logf("%d child spans:\n%s", children, attrsOf(exported.GetSpans()))
				}
			}
		})
	}
}

func attrsOf(stubs tracetest.SpanStubs) string {
	var b strings.Builder
	for _, s := range stubs {
		b.WriteString(s.Name)
		for _, kv := range s.Attributes {
			if kv.Key == attribute.Key("db.query.text") || kv.Key == "db.system.name" || kv.Key == "db.system" {
				b.WriteString(" " + string(kv.Key) + "=" + kv.Value.String())
			}
		}
		b.WriteString("\n")
	}
	return b.String()
}

func randomHex(t *testing.T) string {
	t.Helper()
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	return hex.EncodeToString(b[:])
}
