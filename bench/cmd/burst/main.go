// Command burst is the lost-update check of load.sh: it sends n GET
// requests of one page with one Cookie header all at once (each on its own
// connection, released together), then GETs the page once more and reads
// the count it shows ("with the count: N").
//
//	burst -url http://127.0.0.1:9001/profile -cookie 'session=…' -n 200
//
// It prints three lines: how the n requests were answered ("200×200", or
// e.g. "200×150 503×50"), how many were answered 200, and the final count
// (-1 when the final page has none). Redirects are not followed: a 303 to the login page is an answer.
package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

var countPattern = regexp.MustCompile(`with the count: (\d+)`)

func main() {
	if err := run(); err != nil {
		fmt.Fprintln(os.Stderr, "burst:", err)
		os.Exit(1)
	}
}

func run() error {
	url := flag.String("url", "", "the page to request")
	cookie := flag.String("cookie", "", "the Cookie header to send")
	n := flag.Int("n", 200, "how many requests to send at once")
	timeout := flag.Duration("timeout", 30*time.Second, "how long the whole check may take")
	flag.Parse()
	if *url == "" || *n < 1 {
		return fmt.Errorf("need -url and a positive -n")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *n, DisableCompression: true},
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	get := func() (int, string, error) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
		if err != nil {
			return 0, "", err
		}
		if *cookie != "" {
			req.Header.Set("Cookie", *cookie)
		}
		resp, err := client.Do(req)
		if err != nil {
			return 0, "", err
		}
		defer resp.Body.Close()
		body, err := io.ReadAll(resp.Body)
		return resp.StatusCode, string(body), err
	}

	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		statuses = map[string]int{}
		start    = make(chan struct{})
	)
	for range *n {
		wg.Go(func() {
			<-start
			code, _, err := get()
			key := strconv.Itoa(code)
			if err != nil {
				key = "error"
			}
			mu.Lock()
			statuses[key]++
			mu.Unlock()
		})
	}
	close(start)
	wg.Wait()

	keys := make([]string, 0, len(statuses))
	for k := range statuses {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s×%d", k, statuses[k])
	}
	fmt.Println(strings.Join(parts, " "))
	fmt.Println(statuses["200"])

	count := int64(-1)
	if code, body, err := get(); err == nil && code == http.StatusOK {
		if m := countPattern.FindStringSubmatch(body); m != nil {
			count, _ = strconv.ParseInt(m[1], 10, 64)
		}
	}
	fmt.Println(count)
	return nil
}
