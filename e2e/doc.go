// Package e2e holds sessionkit's end-to-end tests: a real browser (headless
// Chromium, driven by chromedp) against a server the test starts. It has no
// library code.
//
// The browser test needs Debian's chromium package (.ci/run installs it).
// Without a browser the test is skipped with a message, except under
// CI=true, where a missing browser is a failure.
package e2e
