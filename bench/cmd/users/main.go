// Command users makes and checks the logged-in users of load.sh's
// scenarios with many users.
//
//	users login -base http://127.0.0.1:9001 -register /register -login /session/login \
//	    -page /session/profile -prefix bench -n 200 -o cookies.tsv
//	users check -base http://127.0.0.1:9001 -page /session/profile -read /session/sessions \
//	    -cookies cookies.tsv -baseline counts.tsv wrk-warm.txt wrk.txt
//
// login registers (unless -register is empty) and logs in (unless -login
// is empty) the users PREFIX1 … PREFIXn, a few at a time, each with a
// cookie jar of its own, and writes one line per user: the name, a tab,
// and the Cookie header a browser would send to -page (empty when there
// was no login). Registrations are spread over loopback source addresses
// (127.1.x.y, -per-address users on each), since sessionkit counts
// registrations per client address and refuses more than its throttle
// allows within a window; no flag of `sessionkit serve` lifts that.
// Answers 429 and 503 are tried again, after a pause.
//
// check reads the files the views script (lua/views.lua) printed to
// wrk's output — how many counting views it sent to each user, how many
// requests went unanswered when wrk stopped, how many were answered other
// than 2xx/3xx — then GETs -read (when given) and -page once for every
// user and reads the count each page shows. It prints one line:
//
//	expected counted over bad bytes
//
// expected is the counting views that were answered 2xx/3xx (sent, less
// the unanswered and refused ones, which need not count); counted is the
// views each user's count shows since the baseline, at most as many as
// were sent to that user; over is the views counted beyond those sent
// (never right); bad is the users whose page did not answer 200 with
// their name; bytes is the size of the first user's read-only page (its
// counting page without -read). expected − counted is a lower bound of the views lost: an
// unanswered request the server did count hides one lost elsewhere. With
// -sealed (the count lives in the cookie, which the script does not send
// back) expected, counted and over are "-". -baseline is the file of counts
// the previous check left (every user's count is zero after the login);
// check rewrites it with the counts it read, its own view included.
package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/netip"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: users login|check [flags]")
		os.Exit(2)
	}
	var err error
	switch os.Args[1] {
	case "login":
		err = login(os.Args[2:])
	case "check":
		err = check(os.Args[2:])
	default:
		err = fmt.Errorf("unknown command %q (want login or check)", os.Args[1])
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "users:", err)
		os.Exit(1)
	}
}

// password is every user's password, the one load.sh gives the test
// account.
const password = "password-bench"

// --- login ------------------------------------------------------------------

func login(args []string) error {
	fs := flag.NewFlagSet("users login", flag.ExitOnError)
	base := fs.String("base", "", "the server's `URL`")
	register := fs.String("register", "", "the registration `path`; empty: no registration")
	loginPath := fs.String("login", "", "the login `path`; empty: register only")
	page := fs.String("page", "/", "the `path` whose cookies are written")
	prefix := fs.String("prefix", "bench", "the users' names are `prefix`1, prefix2, …")
	n := fs.Int("n", 200, "how many users")
	parallel := fs.Int("parallel", 8, "how many users are made at once")
	perAddress := fs.Int("per-address", 40, "users registered from one loopback source address")
	firstAddress := fs.Int("first-address", 0, "the `index` of the first source address (127.1.0.1 is 0): give each set of users made on one server addresses of its own")
	out := fs.String("o", "", "the `file` to write (standard output if empty)")
	timeout := fs.Duration("timeout", 10*time.Minute, "how long it may take in all")
	fs.Parse(args)
	if *base == "" || *n < 1 || *parallel < 1 || *perAddress < 1 || *firstAddress < 0 {
		return errors.New("login needs -base and positive -n, -parallel and -per-address")
	}
	if lastAddress := *firstAddress + (*n-1)/(*perAddress); lastAddress >= 254*256 {
		return errors.New("too many users for the loopback source addresses: raise -per-address")
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()

	pageURL, err := url.Parse(*base + *page)
	if err != nil {
		return err
	}
	m := &maker{base: *base, register: *register, login: *loginPath, page: pageURL,
		perAddress: *perAddress, firstAddress: *firstAddress, transports: map[int]*http.Transport{}}
	cookies := make([]string, *n)
	names := make([]string, *n)
	var (
		wg    sync.WaitGroup
		next  atomic.Int64
		mu    sync.Mutex
		first error
	)
	for range min(*parallel, *n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= *n || ctx.Err() != nil {
					return
				}
				names[i] = *prefix + strconv.Itoa(i+1)
				c, err := m.make(ctx, i, names[i])
				if err != nil {
					mu.Lock()
					if first == nil {
						first = err
						cancel()
					}
					mu.Unlock()
					return
				}
				cookies[i] = c
			}
		})
	}
	wg.Wait()
	if first != nil {
		return first
	}

	var b strings.Builder
	for i := range names {
		fmt.Fprintf(&b, "%s\t%s\n", names[i], cookies[i])
	}
	if *out == "" {
		_, err = io.WriteString(os.Stdout, b.String())
		return err
	}
	return os.WriteFile(*out, []byte(b.String()), 0o600)
}

// maker registers and logs in users.
type maker struct {
	base, register, login string
	page                  *url.URL
	perAddress            int
	firstAddress          int

	mu         sync.Mutex
	transports map[int]*http.Transport // by source address
}

// transport returns the transport whose connections leave from the
// source address of user i.
func (m *maker) transport(i int) *http.Transport {
	k := m.firstAddress + i/m.perAddress
	m.mu.Lock()
	defer m.mu.Unlock()
	if t, ok := m.transports[k]; ok {
		return t
	}
	// 127.1.0.1, 127.1.0.2, …: the whole of 127/8 is the loopback
	// interface, so any of them reaches the server.
	src := netip.AddrFrom4([4]byte{127, 1, byte(k / 254), byte(k%254 + 1)})
	d := &net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: src.AsSlice()}}
	t := &http.Transport{DialContext: d.DialContext, MaxIdleConnsPerHost: 4, DisableCompression: true}
	m.transports[k] = t
	return t
}

// make registers and logs in user i, named name, and returns the Cookie
// header its browser would send to the page.
func (m *maker) make(ctx context.Context, i int, name string) (string, error) {
	jar, _ := cookiejar.New(nil)
	c := &http.Client{
		Transport: m.transport(i),
		Jar:       jar,
		Timeout:   time.Minute,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	form := url.Values{"username": {name}, "password": {password}}.Encode()
	if m.register != "" {
		// 409: the name exists, from an earlier try; its password is ours.
		if err := post(ctx, c, m.base+m.register, form, http.StatusSeeOther, http.StatusConflict); err != nil {
			return "", fmt.Errorf("registering %s: %w", name, err)
		}
	}
	if m.login == "" {
		return "", nil
	}
	if err := post(ctx, c, m.base+m.login, form, http.StatusSeeOther); err != nil {
		return "", fmt.Errorf("logging in %s: %w", name, err)
	}
	var pairs []string
	for _, ck := range jar.Cookies(m.page) {
		pairs = append(pairs, ck.Name+"="+ck.Value)
	}
	if len(pairs) == 0 {
		return "", fmt.Errorf("logging in %s: the login set no cookie for %s", name, m.page.Path)
	}
	return strings.Join(pairs, "; "), nil
}

// post posts form to u until it is answered with one of want, trying
// again after 429 and 503.
func post(ctx context.Context, c *http.Client, u, form string, want ...int) error {
	for try := 1; ; try++ {
		req, err := http.NewRequestWithContext(ctx, http.MethodPost, u, strings.NewReader(form))
		if err != nil {
			return err
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		resp, err := c.Do(req)
		if err != nil {
			return err
		}
		io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		for _, w := range want {
			if resp.StatusCode == w {
				return nil
			}
		}
		retry := resp.StatusCode == http.StatusTooManyRequests || resp.StatusCode == http.StatusServiceUnavailable
		if !retry || try == 20 {
			return fmt.Errorf("answered %s", resp.Status)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(time.Duration(try) * 100 * time.Millisecond):
		}
	}
}

// --- check ------------------------------------------------------------------

var countPattern = regexp.MustCompile(`with the count: (\d+)`)

func check(args []string) error {
	fs := flag.NewFlagSet("users check", flag.ExitOnError)
	base := fs.String("base", "", "the server's `URL`")
	page := fs.String("page", "", "the counting page's `path`")
	read := fs.String("read", "", "the read-only page's `path`, checked too when given")
	cookiesFile := fs.String("cookies", "", "the `file` users login wrote")
	baselineFile := fs.String("baseline", "", "the `file` of counts before the load, rewritten with the counts after")
	sealed := fs.Bool("sealed", false, "the count lives in the cookie: check only that the pages answer")
	parallel := fs.Int("parallel", 16, "how many users are checked at once")
	fs.Parse(args)
	if *base == "" || *page == "" || *cookiesFile == "" {
		return errors.New("check needs -base, -page and -cookies")
	}
	names, cookies, err := readCookies(*cookiesFile)
	if err != nil {
		return err
	}
	n := len(names)
	load, err := readLoad(fs.Args(), n)
	if err != nil {
		return err
	}
	baseline := make([]int64, n)
	if *baselineFile != "" {
		if baseline, err = readBaseline(*baselineFile, n); err != nil {
			return err
		}
	}

	client := &http.Client{
		Transport: &http.Transport{MaxIdleConnsPerHost: *parallel, DisableCompression: true},
		Timeout:   30 * time.Second,
		CheckRedirect: func(*http.Request, []*http.Request) error {
			return http.ErrUseLastResponse
		},
	}
	counts := make([]int64, n)
	var bad, bytes atomic.Int64
	var wg sync.WaitGroup
	var next atomic.Int64
	for range min(*parallel, n) {
		wg.Go(func() {
			for {
				i := int(next.Add(1)) - 1
				if i >= n {
					return
				}
				counts[i] = -1
				if *read != "" {
					body, ok := view(client, *base+*read, cookies[i], names[i])
					if !ok {
						bad.Add(1)
						continue
					}
					if i == 0 {
						bytes.Store(int64(len(body)))
					}
				}
				body, ok := view(client, *base+*page, cookies[i], names[i])
				if !ok {
					bad.Add(1)
					continue
				}
				if i == 0 && *read == "" {
					bytes.Store(int64(len(body)))
				}
				if m := countPattern.FindStringSubmatch(body); m != nil {
					counts[i], _ = strconv.ParseInt(m[1], 10, 64)
				}
			}
		})
	}
	wg.Wait()

	var expected, counted, over int64
	for i := range n {
		expected += load.sent[i]
		if counts[i] < 0 {
			continue
		}
		views := counts[i] - baseline[i] - 1 // less the view that read it
		counted += min(views, load.sent[i])
		over += max(0, views-load.sent[i])
	}
	expected -= load.unanswered + load.refused
	if *baselineFile != "" {
		var b strings.Builder
		for _, c := range counts {
			fmt.Fprintln(&b, c)
		}
		if err := os.WriteFile(*baselineFile, []byte(b.String()), 0o600); err != nil {
			return err
		}
	}
	if *sealed {
		fmt.Printf("- - - %d %d\n", bad.Load(), bytes.Load())
		return nil
	}
	fmt.Printf("%d %d %d %d %d\n", expected, counted, over, bad.Load(), bytes.Load())
	return nil
}

// view GETs u with cookie and returns the body, reporting whether it
// answered 200 with name on the page.
func view(c *http.Client, u, cookie, name string) (string, bool) {
	req, err := http.NewRequest(http.MethodGet, u, nil)
	if err != nil {
		return "", false
	}
	if cookie != "" {
		req.Header.Set("Cookie", cookie)
	}
	resp, err := c.Do(req)
	if err != nil {
		return "", false
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil || resp.StatusCode != http.StatusOK {
		return "", false
	}
	return string(body), strings.Contains(string(body), " "+name+" ") || strings.Contains(string(body), " "+name+".")
}

// readCookies reads the file users login wrote.
func readCookies(path string) (names, cookies []string, err error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		name, cookie, ok := strings.Cut(sc.Text(), "\t")
		if !ok || name == "" {
			return nil, nil, fmt.Errorf("%s: line %d is not name<TAB>cookie", path, len(names)+1)
		}
		names, cookies = append(names, name), append(cookies, cookie)
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if len(names) == 0 {
		return nil, nil, fmt.Errorf("%s: no users", path)
	}
	return names, cookies, nil
}

// loadCounts is what the views script printed over one or more wrk runs.
type loadCounts struct {
	sent       []int64 // counting views sent, by user
	unanswered int64   // requests sent whose answer wrk did not read
	refused    int64   // answers other than 2xx/3xx
}

// readLoad adds up the views script's lines in wrk's output files:
// "sent USER N" (USER counts from 1, in the cookie file's order),
// "unanswered N" and "non2xx N".
func readLoad(paths []string, n int) (loadCounts, error) {
	lc := loadCounts{sent: make([]int64, n)}
	for _, path := range paths {
		data, err := os.ReadFile(path)
		if err != nil {
			return lc, err
		}
		found := false
		for line := range strings.Lines(string(data)) {
			f := strings.Fields(line)
			switch {
			case len(f) == 3 && f[0] == "sent":
				u, err1 := strconv.Atoi(f[1])
				v, err2 := strconv.ParseInt(f[2], 10, 64)
				if err1 != nil || err2 != nil || u < 1 || u > n {
					return lc, fmt.Errorf("%s: bad line %q", path, line)
				}
				lc.sent[u-1] += v
			case len(f) == 2 && (f[0] == "unanswered" || f[0] == "non2xx"):
				v, err := strconv.ParseInt(f[1], 10, 64)
				if err != nil {
					return lc, fmt.Errorf("%s: bad line %q", path, line)
				}
				if f[0] == "unanswered" {
					lc.unanswered += v
					found = true
				} else {
					lc.refused += v
				}
			}
		}
		if !found {
			return lc, fmt.Errorf("%s: no counts from the views script", path)
		}
	}
	return lc, nil
}

// readBaseline reads n counts, one a line; a missing file is all zeros.
func readBaseline(path string, n int) ([]int64, error) {
	counts := make([]int64, n)
	data, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return counts, nil
	}
	if err != nil {
		return nil, err
	}
	i := 0
	for line := range strings.Lines(string(data)) {
		if i >= n {
			return nil, fmt.Errorf("%s: more than %d counts", path, n)
		}
		counts[i], err = strconv.ParseInt(strings.TrimSpace(line), 10, 64)
		if err != nil {
			return nil, fmt.Errorf("%s: line %d: %w", path, i+1, err)
		}
		i++
	}
	return counts, nil
}
