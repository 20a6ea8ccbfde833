package main

import (
	"bytes"
	"errors"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncWriter records what reaches it and reports each write on writes.
type syncWriter struct {
	mu     sync.Mutex
	buf    bytes.Buffer
	calls  int
	fail   error
	writes chan struct{}
}

func newSyncWriter() *syncWriter { return &syncWriter{writes: make(chan struct{}, 100)} }

func (w *syncWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	w.calls++
	if w.fail != nil {
		return 0, w.fail
	}
	w.buf.Write(p)
	select {
	case w.writes <- struct{}{}:
	default:
	}
	return len(p), nil
}

func (w *syncWriter) String() string {
	w.mu.Lock()
	defer w.mu.Unlock()
	return w.buf.String()
}

// TestLogBufferBatches: lines wait in the buffer until a tick, a warning,
// a full buffer or Close, and then go out in one write, in order.
func TestLogBufferBatches(t *testing.T) {
	out := newSyncWriter()
	tick := make(chan time.Time)
	buf := newLogBuffer(out, tick)
	defer buf.Close()
	log := slog.New(flushOnWarn{Handler: slog.NewTextHandler(buf, nil), buf: buf})

	log.Info("request", "n", 1)
	log.Info("request", "n", 2)
	if got := out.String(); got != "" {
		t.Fatalf("info lines were written before a flush: %q", got)
	}
	tick <- time.Now()
	<-out.writes
	if got := out.String(); strings.Count(got, "msg=request") != 2 || strings.Index(got, "n=1") > strings.Index(got, "n=2") {
		t.Errorf("after a tick the output is %q; want both lines in order", got)
	}
	if out.calls != 1 {
		t.Errorf("two lines took %d writes, want 1", out.calls)
	}

	log.Info("request", "n", 3)
	log.Warn("login failed", "user", "mallory")
	if got := out.String(); !strings.Contains(got, "n=3") || !strings.Contains(got, "login failed") {
		t.Errorf("a warning did not go out at once with what was waiting: %q", got)
	}

	log.With("mode", "session").Error("unavailable")
	if got := out.String(); !strings.Contains(got, "mode=session msg=unavailable") && !strings.Contains(got, "msg=unavailable mode=session") {
		t.Errorf("an error from a derived logger did not go out at once: %q", got)
	}
}

// TestLogBufferFull: once the lines waiting would pass the buffer's size,
// the buffer is written out without waiting for a tick; a line larger than
// the buffer goes out whole.
func TestLogBufferFull(t *testing.T) {
	out := newSyncWriter()
	buf := newLogBuffer(out, nil)
	defer buf.Close()
	line := strings.Repeat("x", 1000) + "\n"
	n := logBufferSize / len(line)
	for range n {
		buf.Write([]byte(line))
	}
	if out.String() != "" {
		t.Fatalf("%d bytes were written before the buffer was full", len(out.String()))
	}
	buf.Write([]byte(line))
	if got := len(out.String()); got != n*len(line) {
		t.Errorf("after the buffer filled, %d bytes were written, want %d", got, n*len(line))
	}
	big := strings.Repeat("y", 2*logBufferSize)
	buf.Write([]byte(big))
	if got := out.String(); !strings.HasSuffix(got, big) || strings.Count(got, "x") != (n+1)*1000 {
		t.Errorf("a line larger than the buffer was not written whole after the waiting ones")
	}
}

// TestLogBufferClose: Close writes out what waits; a failing writer makes
// later writes fail instead of piling up.
func TestLogBufferClose(t *testing.T) {
	out := newSyncWriter()
	buf := newLogBuffer(out, nil)
	buf.Write([]byte("stopped\n"))
	if err := buf.Close(); err != nil {
		t.Fatal(err)
	}
	if got := out.String(); got != "stopped\n" {
		t.Errorf("after Close the output is %q", got)
	}
	if err := buf.Close(); err != nil {
		t.Errorf("second Close: %v", err)
	}

	broken := newSyncWriter()
	broken.fail = errors.New("stderr closed")
	buf = newLogBuffer(broken, nil)
	defer buf.Close()
	buf.Write([]byte("a\n"))
	if err := buf.Flush(); err == nil {
		t.Error("Flush to a failing writer reported no error")
	}
	if _, err := buf.Write([]byte("b\n")); err == nil {
		t.Error("Write after a failed flush reported no error")
	}
}

// TestLogBufferConcurrent: lines written at once from many goroutines all
// come out whole.
func TestLogBufferConcurrent(t *testing.T) {
	out := newSyncWriter()
	buf := newLogBuffer(out, nil)
	var wg sync.WaitGroup
	for range 50 {
		wg.Go(func() {
			for range 100 {
				buf.Write([]byte("0123456789\n"))
			}
		})
	}
	wg.Wait()
	buf.Close()
	got := out.String()
	if n := strings.Count(got, "0123456789\n"); n != 5000 || len(got) != 5000*11 {
		t.Errorf("%d whole lines in %d bytes, want 5000", n, len(got))
	}
}
