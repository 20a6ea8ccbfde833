// Command peer serves one of sessionkit's peers (see package peers) on an
// address until it is interrupted, for the load script:
//
//	peer -kind scs-mem -addr 127.0.0.1:9001
//
// Each peer answers POST /register and POST /login (form fields username
// and password; bench / password-bench exists from the start), GET
// /profile (counts the view) and GET /profile/read (changes nothing).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/sessionkit/sessionkit/bench/peers"
)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "peer:", err)
		os.Exit(1)
	}
}

func run() error {
	kind := flag.String("kind", "", fmt.Sprintf("the peer to serve: one of %v", peers.Kinds()))
	addr := flag.String("addr", "127.0.0.1:8081", "`host:port` to listen on")
	redisAddr := flag.String("redis", "127.0.0.1:6379", "`host:port` of Redis, for scs-redis")
	redisDB := flag.Int("redis-db", 0, "Redis database `number`, for scs-redis")
	redisPrefix := flag.String("redis-prefix", "", "`prefix` of scs-redis's keys (scs's default if empty)")
	flag.Parse()

	p, err := peers.New(*kind, peers.Options{RedisAddr: *redisAddr, RedisDB: *redisDB, RedisPrefix: *redisPrefix})
	if err != nil {
		return err
	}
	defer p.Close()

	ln, err := net.Listen("tcp", *addr)
	if err != nil {
		return err
	}
	srv := &http.Server{Handler: p, ReadHeaderTimeout: 5 * time.Second, IdleTimeout: 2 * time.Minute}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	fmt.Fprintf(os.Stderr, "peer %s listening on %s\n", *kind, ln.Addr())
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	shutdown, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdown); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
