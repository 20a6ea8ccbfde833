// Package e2e holds sessionkit's end-to-end tests: a real browser (headless
// Chromium, driven by chromedp) against a server the test starts. It has no
// library code.
//
// The browser test needs Debian's chromium package, the tests of deploy/
// (deploy_test.go) its nginx and systemd packages, and the Redis Cluster
// and Sentinel failover tests (cluster_test.go, through internal/redistest)
// redis-server and redis-tools (.ci/run installs them all). Without them the tests are skipped with a message, except under
// CI=true, where a missing program is a failure.
package e2e
