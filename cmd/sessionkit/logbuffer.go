package main

import (
	"context"
	"io"
	"log/slog"
	"sync"
	"time"
)

// Writing one line to stderr per request costs a write system call per
// request: under load, a tenth of the server's CPU. The server's log goes
// through a logBuffer instead, which writes it in batches.
const (
	// logFlushInterval is the longest a line waits in the buffer.
	logFlushInterval = 100 * time.Millisecond

	// logBufferSize is how much the buffer holds before it writes at once.
	logBufferSize = 32 << 10
)

// logBuffer collects log lines and writes them to w in batches: when it
// holds logBufferSize bytes, at every tick, on Flush and on Close. It is
// safe for concurrent use.
type logBuffer struct {
	mu  sync.Mutex
	w   io.Writer
	buf []byte
	err error // the first error writing to w; later lines are dropped

	stop chan struct{}
	done chan struct{}
	once sync.Once
}

// newLogBuffer returns a logBuffer writing to w, flushed whenever tick
// delivers (a time.Ticker's channel in the program, a test's own channel in
// tests).
func newLogBuffer(w io.Writer, tick <-chan time.Time) *logBuffer {
	b := &logBuffer{w: w, buf: make([]byte, 0, logBufferSize), stop: make(chan struct{}), done: make(chan struct{})}
	go b.flushOnTick(tick)
	return b
}

func (b *logBuffer) flushOnTick(tick <-chan time.Time) {
	defer close(b.done)
	for {
		select {
		case <-b.stop:
			return
		case <-tick:
			_ = b.Flush()
		}
	}
}

// Write adds p to the buffer, writing the buffer out first if p would not
// fit. It fails only once writing to w has failed.
func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	if b.err != nil {
		return 0, b.err
	}
	if len(b.buf)+len(p) > logBufferSize {
		if err := b.flushLocked(); err != nil {
			return 0, err
		}
	}
	if len(p) > logBufferSize {
		_, err := b.w.Write(p)
		b.err = err
		return len(p), err
	}
	b.buf = append(b.buf, p...)
	return len(p), nil
}

// Flush writes out what the buffer holds.
func (b *logBuffer) Flush() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.flushLocked()
}

func (b *logBuffer) flushLocked() error {
	if b.err != nil || len(b.buf) == 0 {
		return b.err
	}
	_, b.err = b.w.Write(b.buf)
	b.buf = b.buf[:0]
	return b.err
}

// Close stops the ticks and writes out what the buffer holds. Lines
// written afterwards go out at the next Flush, or are lost. Calling Close
// again only flushes.
func (b *logBuffer) Close() error {
	b.once.Do(func() {
		close(b.stop)
		<-b.done
	})
	return b.Flush()
}

// flushOnWarn is a slog.Handler that writes out the log buffer right after
// a record at level Warn or above (failed and throttled logins, reused
// refresh tokens, refused cross-origin requests, failures), so that those
// never wait for the next tick.
type flushOnWarn struct {
	slog.Handler
	buf *logBuffer
}

// Handle passes r on, then flushes the buffer if r is a warning or worse.
func (h flushOnWarn) Handle(ctx context.Context, r slog.Record) error {
	err := h.Handler.Handle(ctx, r)
	if r.Level >= slog.LevelWarn {
		if ferr := h.buf.Flush(); err == nil {
			err = ferr
		}
	}
	return err
}

// WithAttrs keeps the flushing in the derived handler.
func (h flushOnWarn) WithAttrs(attrs []slog.Attr) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithAttrs(attrs), buf: h.buf}
}

// WithGroup keeps the flushing in the derived handler.
func (h flushOnWarn) WithGroup(name string) slog.Handler {
	return flushOnWarn{Handler: h.Handler.WithGroup(name), buf: h.buf}
}
