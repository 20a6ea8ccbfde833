package e2e

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// The tests of deploy/: the systemd unit and the nginx site that
// docs/DEPLOY.md describes, each checked as committed.

// Values of the committed files that the tests replace.
const (
	unitBinary     = "/usr/local/bin/sessionkit"
	unitStateDir   = "/var/lib/sessionkit"
	unitAddr       = "127.0.0.1:8080"
	unitProxies    = "127.0.0.1/32"
	siteServerName = "auth.example.com"
)

// deployTool returns the path of a program a deploy test needs. It skips
// the test when the program is missing, unless CI=true, where that fails
// the test. Debian puts nginx in /usr/sbin, which is not on a normal
// user's PATH, so that is looked in too.
func deployTool(t *testing.T, name, pkg string) string {
	t.Helper()
	if p, err := exec.LookPath(name); err == nil {
		return p
	}
	for _, dir := range []string{"/usr/sbin", "/sbin"} {
		p := filepath.Join(dir, name)
		if fi, err := os.Stat(p); err == nil && fi.Mode().IsRegular() && fi.Mode()&0o111 != 0 {
			return p
		}
	}
	if os.Getenv("CI") == "true" {
		t.Fatalf("no %s found; .ci/run installs Debian's %s package", name, pkg)
	}
	t.Skipf("skipping: no %s on PATH or in /usr/sbin (apt-get install %s)", name, pkg)
	return ""
}

// readDeployFile returns a file of deploy/.
func readDeployFile(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("..", "deploy", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// replaceOnce replaces old by new in s, failing the test unless old occurs
// exactly once: a test that quietly replaced nothing would test a file
// other than the committed one.
func replaceOnce(t *testing.T, file, s, old, new string) string {
	t.Helper()
	if n := strings.Count(s, old); n != 1 {
		t.Fatalf("deploy/%s holds %q %d times, want once (the test replaces it)", file, old, n)
	}
	return strings.Replace(s, old, new, 1)
}

// unitServeFlags returns the flags of the ExecStart= of
// deploy/sessionkit.service, after "serve", without --addr (startProcess
// gives its own) and with the store moved from the state directory into
// dir. It checks the command line is the one docs/DEPLOY.md describes.
func unitServeFlags(t *testing.T, unit, dir string) []string {
	t.Helper()
	var execStart []string
	for _, line := range strings.Split(unit, "\n") {
		if v, ok := strings.CutPrefix(strings.TrimSpace(line), "ExecStart="); ok {
			if execStart != nil {
				t.Fatalf("deploy/sessionkit.service has more than one ExecStart=")
			}
			execStart = strings.Fields(v)
		}
	}
	if len(execStart) < 2 || execStart[0] != unitBinary || execStart[1] != "serve" {
		t.Fatalf("deploy/sessionkit.service: ExecStart=%s, want %s serve …", strings.Join(execStart, " "), unitBinary)
	}
	args := execStart[2:]
	var flags []string
	seen := map[string]string{}
	for i := 0; i < len(args); i++ {
		name, value, ok := strings.Cut(args[i], "=")
		if !ok {
			if i+1 == len(args) {
				t.Fatalf("deploy/sessionkit.service: ExecStart= ends with %s and no value", name)
			}
			i++
			value = args[i]
		}
		seen[name] = value
		switch name {
		case "--addr":
			continue
		case "--store":
			v, ok := strings.CutPrefix(value, "sqlite:"+unitStateDir+"/")
			if !ok {
				t.Fatalf("deploy/sessionkit.service: --store %s, want a SQLite file in %s", value, unitStateDir)
			}
			value = "sqlite:" + filepath.Join(dir, v)
		}
		flags = append(flags, name, value)
	}
	for name, want := range map[string]string{"--addr": unitAddr, "--trusted-proxies": unitProxies} {
		if seen[name] != want {
			t.Fatalf("deploy/sessionkit.service: ExecStart= has %s %q, want %q (deploy/nginx.conf and docs/DEPLOY.md count on it)", name, seen[name], want)
		}
	}
	if seen["--store"] == "" {
		t.Fatalf("deploy/sessionkit.service: ExecStart= has no --store")
	}
	return flags
}

// TestSystemdUnitVerifies checks deploy/sessionkit.service:
//   - it has the hardening docs/DEPLOY.md promises;
//   - "systemd-analyze verify" accepts it without a word, its ExecStart=
//     pointed at a freshly built binary (verify needs the binary to
//     exist); a copy with a misspelt setting shows that a warning would
//     be caught;
//   - "systemd-analyze security --offline=true" rates its exposure at
//     most 2.0 ("OK" is below 5);
//   - the binary accepts ExecStart='s command line: run with it (the
//     store moved to a temporary directory, another port), it answers
//     /livez, and stops cleanly on SIGTERM, as systemd stops it.
//
// The sandbox itself is not exercised: that needs systemd as PID 1.
func TestSystemdUnitVerifies(t *testing.T) {
	analyze := deployTool(t, "systemd-analyze", "systemd")
	unit := readDeployFile(t, "sessionkit.service")
	for _, want := range []string{
		"DynamicUser=yes", "StateDirectory=sessionkit", "WorkingDirectory=" + unitStateDir,
		"ProtectSystem=strict", "ProtectHome=yes", "PrivateTmp=yes", "NoNewPrivileges=yes",
		"CapabilityBoundingSet=\n", "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
		"SystemCallFilter=@system-service", "Restart=on-failure",
	} {
		if !strings.Contains(unit, "\n"+want) {
			t.Errorf("deploy/sessionkit.service has no line %q", strings.TrimSpace(want))
		}
	}

	dir := t.TempDir()
	bin := binary(t)
	path := filepath.Join(dir, "sessionkit.service")
	verified := replaceOnce(t, "sessionkit.service", unit, "ExecStart="+unitBinary+" ", "ExecStart="+bin+" ")
	if err := os.WriteFile(path, []byte(verified), 0o644); err != nil {
		t.Fatal(err)
	}
	verify := func(path string) (string, error) {
		out, err := exec.Command(analyze, "verify", "--man=no", path).CombinedOutput()
		return strings.TrimSpace(string(out)), err
	}
	if out, err := verify(path); err != nil || out != "" {
		t.Errorf("systemd-analyze verify: %v, output:\n%s", err, out)
	}
	// A control: a misspelt setting makes verify print a warning (and
	// still exit 0), which the check above would have caught.
	bad := filepath.Join(t.TempDir(), "sessionkit.service")
	if err := os.WriteFile(bad, []byte(strings.Replace(verified, "ProtectHome=yes", "ProtectHome=yess", 1)), 0o644); err != nil {
		t.Fatal(err)
	}
	if out, _ := verify(bad); !strings.Contains(out, "yess") {
		t.Errorf("systemd-analyze verify said nothing of a misspelt setting (%q): the check above proves nothing", out)
	}

	out, err := exec.Command(analyze, "security", "--offline=true", "--no-pager", path).CombinedOutput()
	if m := regexp.MustCompile(`Overall exposure level for sessionkit\.service: (\d+\.\d+)`).FindSubmatch(out); m == nil {
		if strings.Contains(string(out), "--offline") {
			t.Logf("this systemd-analyze cannot assess a unit file offline (systemd 250 or later can): %s", strings.TrimSpace(string(out)))
		} else {
			t.Errorf("systemd-analyze security: %v, no exposure level in:\n%s", err, out)
		}
	} else if level, _ := strconv.ParseFloat(string(m[1]), 64); level > 2.0 {
		t.Errorf("systemd-analyze security rates the unit's exposure %.1f, want at most 2.0:\n%s", level, out)
	} else {
		t.Logf("systemd-analyze security: exposure %.1f", level)
	}

	// The unit sets no log level: the default, info, is what it logs at.
	// (startProcess's environment asks for warn; a flag wins.)
	p := startProcess(t, freeAddr(t), append(unitServeFlags(t, unit, dir), "--log-level", "info")...)
	if _, err := os.Stat(filepath.Join(dir, "sessionkit.db")); err != nil {
		t.Errorf("the store named in ExecStart= was not created: %v", err)
	}
	stopProcess(t, p)
}

// selfSigned writes a self-signed certificate for host, and its key, as
// PEM files in dir, and returns their paths and a pool that trusts it.
func selfSigned(t *testing.T, dir, host string) (certFile, keyFile string, pool *x509.CertPool) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber:          big.NewInt(time.Now().UnixNano()),
		Subject:               pkix.Name{CommonName: host},
		DNSNames:              []string{host},
		NotBefore:             time.Now().Add(-time.Hour),
		NotAfter:              time.Now().Add(24 * time.Hour),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	pkcs8, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	certFile, keyFile = filepath.Join(dir, "fullchain.pem"), filepath.Join(dir, "privkey.pem")
	if err := os.WriteFile(certFile, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(keyFile, pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pkcs8}), 0o600); err != nil {
		t.Fatal(err)
	}
	pool = x509.NewCertPool()
	pool.AddCert(cert)
	return certFile, keyFile, pool
}

// nginxMain is the main configuration the test runs nginx with, in place
// of Debian's /etc/nginx/nginx.conf (which needs root's paths): one
// process (master_process off, so that the process the test started is
// the one that serves, and the one it stops), every path in the test's
// directory, and the site included in the http block, as Debian's
// sites-enabled/ is.
const nginxMain = `master_process off;
worker_processes 1;
pid %[1]s/nginx.pid;
error_log stderr notice;
events {
    worker_connections 64;
}
http {
    access_log %[1]s/access.log;
    client_body_temp_path %[1]s/client_body;
    proxy_temp_path %[1]s/proxy;
    fastcgi_temp_path %[1]s/fastcgi;
    uwsgi_temp_path %[1]s/uwsgi;
    scgi_temp_path %[1]s/scgi;
    include %[1]s/sessionkit.conf;
}
`

// nginxWarning is a line nginx writes about a configuration it accepts
// but does not like.
var nginxWarning = regexp.MustCompile(`\[(warn|emerg|alert|crit|error)\].*`)

// TestNginxTLSProxy runs deploy/nginx.conf with Debian's nginx on loopback
// (ports, certificate paths and the upstream address replaced, nothing
// else; a self-signed certificate for auth.example.com made here) in front
// of "sessionkit serve" with ExecStart='s flags from
// deploy/sessionkit.service, so with --trusted-proxies 127.0.0.1/32. A
// client that trusts the certificate connects to nginx from 127.0.0.2, a
// different address from the proxy's, and checks:
//   - "nginx -t" accepts the site without a warning;
//   - plain HTTP answers a redirect to the same path over HTTPS;
//   - HTTPS speaks HTTP/2 and sends Strict-Transport-Security;
//   - registration, then a login in every mode (cookie, session, JWT),
//     each setting only Secure cookies named __Host- or __Secure- (the
//     session's __Host-sk_session), and each profile answers through the
//     proxy; the login carries a forged X-Forwarded-For and
//     X-Forwarded-Proto, which nginx replaces;
//   - sessionkit's log line for the login names the real client,
//     client=127.0.0.2: not the proxy, not the forged address;
//   - the Host header is the public name: a form posted with the Origin a
//     browser on https://auth.example.com sends is accepted, and one from
//     another site refused;
//   - /metrics is not served to the public;
//   - and, as no request can tell them apart from the alternatives, that
//     the file sets X-Forwarded-For (rather than appending to the
//     client's), sets X-Forwarded-Proto and turns caching off.
func TestNginxTLSProxy(t *testing.T) {
	nginx := deployTool(t, "nginx", "nginx")
	unit := readDeployFile(t, "sessionkit.service")
	site := readDeployFile(t, "nginx.conf")
	dir := t.TempDir()
	// Appending to a client's X-Forwarded-For would work too (sessionkit
	// takes its right-most untrusted address, which nginx adds), so no
	// request can tell; the file is read for it instead.
	for _, want := range []string{"proxy_set_header X-Forwarded-For $remote_addr;", "proxy_set_header X-Forwarded-Proto $scheme;", "proxy_cache off;"} {
		if !strings.Contains(site, "\n        "+want+"\n") {
			t.Errorf("deploy/nginx.conf has no line %q", want)
		}
	}

	srv := startProcess(t, freeAddr(t), append(unitServeFlags(t, unit, dir), "--log-level", "info")...)

	httpAddr, httpsAddr := freeAddr(t), freeAddr(t)
	certFile, keyFile, pool := selfSigned(t, dir, siteServerName)
	site = replaceOnce(t, "nginx.conf", site, "listen 80;", "listen "+httpAddr+";")
	site = replaceOnce(t, "nginx.conf", site, "listen 443 ssl http2;", "listen "+httpsAddr+" ssl http2;")
	if v6 := freeAddr6(); v6 != "" {
		site = replaceOnce(t, "nginx.conf", site, "listen [::]:80;", "listen "+v6+";")
		site = replaceOnce(t, "nginx.conf", site, "listen [::]:443 ssl http2;", "listen "+freeAddr6()+" ssl http2;")
	} else {
		t.Logf("no IPv6 loopback here: the [::] listen lines are left out")
		site = replaceOnce(t, "nginx.conf", site, "listen [::]:80;", "")
		site = replaceOnce(t, "nginx.conf", site, "listen [::]:443 ssl http2;", "")
	}
	site = replaceOnce(t, "nginx.conf", site, "/etc/letsencrypt/live/"+siteServerName+"/fullchain.pem;", certFile+";")
	site = replaceOnce(t, "nginx.conf", site, "/etc/letsencrypt/live/"+siteServerName+"/privkey.pem;", keyFile+";")
	site = replaceOnce(t, "nginx.conf", site, "server "+unitAddr+";", "server "+srv.addr+";")
	if err := os.WriteFile(filepath.Join(dir, "sessionkit.conf"), []byte(site), 0o644); err != nil {
		t.Fatal(err)
	}
	conf := filepath.Join(dir, "nginx.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, nginxMain, dir), 0o644); err != nil {
		t.Fatal(err)
	}
	args := []string{"-p", dir + "/", "-c", conf, "-e", "stderr", "-g", "daemon off;"}

	out, err := exec.Command(nginx, append([]string{"-t"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("nginx -t refused the site: %v\n%s", err, out)
	}
	for _, w := range nginxWarning.FindAllString(string(out), -1) {
		if strings.Contains(w, `"listen ... http2" directive is deprecated`) {
			t.Logf("nginx -t: %s (nginx 1.25.1 and later; the file keeps the spelling Debian 12's nginx 1.22 needs)", w)
			continue
		}
		t.Errorf("nginx -t: %s", w)
	}

	proxy := startNginx(t, nginx, args, httpsAddr)
	logs := func() string {
		access, _ := os.ReadFile(filepath.Join(dir, "access.log"))
		return "sessionkit:\n" + srv.log.String() + "\nnginx:\n" + proxy.String() + "\nnginx access log:\n" + string(access)
	}

	// The client: its connections go to nginx, whatever the URL's host,
	// from 127.0.0.2; it trusts the test's certificate only.
	dialer := &net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP("127.0.0.2")}, Timeout: hangTimeout}
	ports := map[string]string{}
	for _, a := range []string{httpAddr, httpsAddr} {
		_, port, _ := net.SplitHostPort(a)
		ports[net.JoinHostPort(siteServerName, port)] = a
	}
	tr := &http.Transport{
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			to, ok := ports[addr]
			if !ok {
				return nil, fmt.Errorf("the test dials only nginx, not %s", addr)
			}
			return dialer.DialContext(ctx, network, to)
		},
		TLSClientConfig:   &tls.Config{RootCAs: pool},
		ForceAttemptHTTP2: true,
	}
	t.Cleanup(tr.CloseIdleConnections)
	b := newAgent(t, logs)
	b.client.Transport = tr
	_, httpsPort, _ := net.SplitHostPort(httpsAddr)
	_, httpPort, _ := net.SplitHostPort(httpAddr)
	base := "https://" + net.JoinHostPort(siteServerName, httpsPort)

	// Plain HTTP only redirects, to the standard HTTPS port.
	r := b.get("http://" + net.JoinHostPort(siteServerName, httpPort) + "/session/login?next=%2Fsession%2Fprofile")
	if want := "https://" + siteServerName + "/session/login?next=%2Fsession%2Fprofile"; r.StatusCode != http.StatusMovedPermanently || r.Header.Get("Location") != want {
		b.fatalf("plain HTTP: %v, want 301 to %s", r, want)
	}

	user, pass := randomName("nginx_"), "correct horse "+randomName("")
	b.register(base, user, pass)

	for _, mode := range []string{"session", "cookie", "jwt"} {
		// A login whose client claims another address and plain HTTP:
		// nginx replaces both headers.
		req, err := http.NewRequest(http.MethodPost, base+"/"+mode+"/login", strings.NewReader(credentials(user, pass).Encode()))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
		req.Header.Set("X-Forwarded-For", "203.0.113.9")
		req.Header.Set("X-Forwarded-Proto", "http")
		r := b.do(req)
		if r.StatusCode != http.StatusSeeOther || r.Header.Get("Location") != "/"+mode+"/profile" {
			b.fatalf("%s login through nginx: %v, want 303 to /%s/profile", mode, r, mode)
		}
		if r.ProtoMajor != 2 {
			t.Errorf("%s login: answered over %s, want HTTP/2 (listen … http2)", mode, r.Proto)
		}
		cookies := r.Cookies()
		if len(cookies) == 0 {
			b.fatalf("%s login through nginx set no cookie: %v", mode, r)
		}
		for _, c := range cookies {
			if !c.Secure || !(strings.HasPrefix(c.Name, "__Host-") || strings.HasPrefix(c.Name, "__Secure-")) {
				t.Errorf("%s login through nginx: cookie %s (Secure %v), want a Secure __Host- or __Secure- cookie", mode, c.Name, c.Secure)
			}
			if strings.HasPrefix(c.Name, "__Host-") && (c.Domain != "" || c.Path != "/") {
				t.Errorf("%s login: cookie %s with Domain %q Path %q, want no Domain and Path /", mode, c.Name, c.Domain, c.Path)
			}
		}
		if mode == "session" && !hasCookie(cookies, "__Host-sk_session") {
			t.Errorf("session login through nginx set %v, want __Host-sk_session", cookieNames(cookies))
		}
		p := b.profile(base, mode, user, 1)
		if hsts := p.Header.Get("Strict-Transport-Security"); !strings.HasPrefix(hsts, "max-age=") {
			t.Errorf("%s profile through nginx: Strict-Transport-Security %q, want max-age=…", mode, hsts)
		}
		if cc := p.Header.Get("Cache-Control"); cc != "no-store" {
			t.Errorf("%s profile through nginx: Cache-Control %q, want no-store", mode, cc)
		}
	}

	// The logins are logged with the real client's address.
	// (Info lines are written in batches: wait for all three.)
	for deadline := time.Now().Add(5 * time.Second); loginLines(srv.log.String(), user, "127.0.0.2") < 3; time.Sleep(20 * time.Millisecond) {
		if time.Now().After(deadline) {
			b.fatalf("sessionkit's log has %d login lines with user=%s client=127.0.0.2 within 5s, want 3 (one a mode)",
				loginLines(srv.log.String(), user, "127.0.0.2"), user)
		}
	}
	if strings.Contains(srv.log.String(), "203.0.113.9") {
		t.Errorf("sessionkit's log holds the address the client forged")
	}

	// The Host header is the public name, so that the same-origin check
	// passes for the origin a browser on https://auth.example.com sends,
	// and refuses another site's.
	originPost := func(origin string) response {
		req, err := http.NewRequest(http.MethodPost, base+"/session/logout", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Origin", origin)
		return b.do(req)
	}
	if r := originPost("https://evil.example"); r.StatusCode != http.StatusForbidden {
		t.Errorf("a logout posted from another site through nginx: %v, want 403", r)
	}
	if r := originPost("https://" + siteServerName); r.StatusCode != http.StatusSeeOther {
		t.Errorf("a logout posted from https://%s through nginx: %v, want 303 (is Host the public name?)", siteServerName, r)
	}
	b.loggedOut("session profile after logout", b.get(base+"/session/profile"), "session")

	if r := b.get(base + "/metrics"); r.StatusCode != http.StatusNotFound {
		t.Errorf("/metrics through nginx: %v, want 404", r)
	}
}

// loginLines counts the lines of a text log that record a login of user
// from client: msg=login, user=USER and client=CLIENT, in any order among
// other attributes.
func loginLines(log, user, client string) int {
	n := 0
	for _, line := range strings.Split(log, "\n") {
		fields := map[string]bool{}
		for _, f := range strings.Fields(line) {
			fields[f] = true
		}
		if fields["msg=login"] && fields["user="+user] && fields["client="+client] {
			n++
		}
	}
	return n
}

func hasCookie(cs []*http.Cookie, name string) bool {
	for _, c := range cs {
		if c.Name == name {
			return true
		}
	}
	return false
}

func cookieNames(cs []*http.Cookie) []string {
	var names []string
	for _, c := range cs {
		names = append(names, c.Name)
	}
	return names
}

// freeAddr6 returns an IPv6 loopback address with a free port, or "" when
// this machine has no IPv6 loopback.
func freeAddr6() string {
	l, err := net.Listen("tcp6", "[::1]:0")
	if err != nil {
		return ""
	}
	defer l.Close()
	return l.Addr().String()
}

// startNginx runs nginx with args, in the foreground, and waits until it
// accepts connections on addr. It returns nginx's output. When the test
// ends, it stops the process it started (SIGTERM, then SIGKILL).
func startNginx(t *testing.T, nginx string, args []string, addr string) *lockedWriter {
	t.Helper()
	out := &lockedWriter{}
	cmd := exec.Command(nginx, args...)
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() {
		cmd.Process.Signal(syscall.SIGTERM)
		select {
		case <-done:
		case <-time.After(5 * time.Second):
			cmd.Process.Kill()
			<-done
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			return out
		}
		select {
		case <-done:
			t.Fatalf("nginx exited at start: %s", out.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("nginx did not listen on %s within 10s: %s", addr, out.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}
