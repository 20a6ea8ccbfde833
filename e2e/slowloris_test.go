package e2e

import (
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"
)

// TestSlowloris opens 100 connections to the real binary that send their
// request a few bytes at a time, half of them dribbling header lines and
// half a JSON body, and keeps them dribbling while an ordinary client
// registers, logs in through every mode and the API, and reads its
// profiles: every one of its requests must succeed. Afterwards the server
// must have hung up on every slow connection by itself (its header and
// read timeouts), within a minute.
func TestSlowloris(t *testing.T) {
	addr := freeAddr(t)
	srv := startProcess(t, addr, "--store", "memory:")
	base := "http://" + addr

	const slow = 100
	stop := make(chan struct{})
	var wg sync.WaitGroup
	closedByServer := make(chan int, slow)
	for i := range slow {
		conn, err := net.Dial("tcp", addr)
		if err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		t.Cleanup(func() { conn.Close() })
		var start string
		if i%2 == 0 {
			start = fmt.Sprintf("GET /session/profile HTTP/1.1\r\nHost: %s\r\n", addr)
		} else {
			start = fmt.Sprintf("POST /api/refresh HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n{", addr)
		}
		if _, err := io.WriteString(conn, start); err != nil {
			t.Fatalf("slow connection %d: %v", i, err)
		}
		wg.Go(func() {
			// Dribble a byte every 200ms until the server hangs up or
			// the test ends; a header line, or a body, that never ends.
			defer func() { closedByServer <- i }()
			drip := "X-Slow: a\r\n"
			if i%2 == 1 {
				drip = `"aaaaaaaaaa`
			}
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				case <-time.After(200 * time.Millisecond):
				}
				conn.SetWriteDeadline(time.Now().Add(5 * time.Second))
				if _, err := conn.Write([]byte{drip[n%len(drip)]}); err != nil {
					return // the server hung up
				}
			}
		})
	}

	// The ordinary client, while all of them are dribbling.
	b := newAgent(t, srv.log.String)
	const user, pass = "patient_user", "patient password"
	b.register(base, user, pass)
	for _, mode := range []string{"cookie", "session", "jwt"} {
		b.login(base, mode, user, pass)
		for want := 1; want <= 3; want++ {
			b.profile(base, mode, user, want)
		}
	}
	p := b.decodePair("API login", b.api(http.MethodPost, base+"/api/login", map[string]string{"username": user, "password": pass}, ""))
	b.me(base, p.AccessToken, user)
	if r := b.get(base + "/livez"); r.StatusCode != http.StatusOK {
		t.Errorf("livez during the slow connections: %v", r)
	}

	// The server hangs up on the slow connections on its own: none of
	// them is held open forever. (Its timeouts are 5s for headers and 15s
	// for a whole request; a minute is the bound of this test, not a
	// measurement.)
	deadline := time.After(time.Minute)
	for hungUp := 0; hungUp < slow; hungUp++ {
		select {
		case <-closedByServer:
		case <-deadline:
			close(stop)
			wg.Wait()
			t.Fatalf("after a minute, %d of %d slow connections were still open", slow-hungUp, slow)
		}
	}
	close(stop)
	wg.Wait()
	// And it still serves.
	b.profile(base, "cookie", user, 4)
}
