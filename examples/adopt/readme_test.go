package main

import (
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// The README's library quick start is what a newcomer pastes first: it must
// compile, in a module of its own, against the library as published.
func TestReadmeQuickStartCompiles(t *testing.T) {
	readme, err := os.ReadFile("../../README.md")
	if err != nil {
		t.Fatal(err)
	}
	_, after, ok := strings.Cut(string(readme), "## Library quick start")
	if !ok {
		t.Fatal(`README.md has no "## Library quick start" heading`)
	}
	_, after, ok = strings.Cut(after, "```go\n")
	if !ok {
		t.Fatal("the library quick start has no Go block")
	}
	code, _, ok := strings.Cut(after, "```")
	if !ok {
		t.Fatal("the library quick start's Go block is not closed")
	}
	if lines := strings.Count(strings.TrimSpace(code), "\n") + 1; lines > 12 {
		t.Errorf("the library quick start is %d lines; keep it to about ten", lines)
	}
	root, err := filepath.Abs("../..")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	program := `package main

import (
	"fmt"
	"log"
	"net/http"

	"github.com/sessionkit/sessionkit/session"
	"github.com/sessionkit/sessionkit/store/memstore"
)

type Item struct{ SKU string }

func main() {
` + code + `}
`
	goMod := "module quickstart\n\ngo 1.26.0\n\nrequire github.com/sessionkit/sessionkit v0.0.0\n\nreplace github.com/sessionkit/sessionkit => " + root + "\n"
	sum, err := os.ReadFile("go.sum")
	if err != nil {
		t.Fatal(err)
	}
	for name, data := range map[string][]byte{"main.go": []byte(program), "go.mod": []byte(goMod), "go.sum": sum} {
		if err := os.WriteFile(filepath.Join(dir, name), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	cmd := exec.Command("go", "build", "-o", os.DevNull, ".")
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "GOFLAGS=-mod=mod")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Errorf("the README's library quick start does not compile:\n%s\n%s", out, program)
	}
}
