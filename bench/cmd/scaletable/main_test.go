package main

import (
	"strings"
	"testing"
)

func TestRun(t *testing.T) {
	in := `goos: linux
BenchmarkScale/sqlite/100k/Session-2         	  103198	     10411 ns/op
BenchmarkScale/sqlite/1k/Session-2           	  103198	     10000 ns/op
BenchmarkScale/sqlite/1k/Session-2           	  103198	     30000 ns/op
BenchmarkScale/sqlite/1k/Session-2           	  103198	     20000 ns/op
BenchmarkScale/redis/1k/Save-2               	   16916	     77253 ns/op
BenchmarkScaleLogins/redis/10/Login-2        	    1987	      1000 ns/op
BenchmarkScaleLogins/redis/10k/Login-2       	     165	   6814138 ns/op
PASS
`
	want := `BenchmarkScale, ns/op:

| store | operation | 1k | 100k | 100k ÷ 1k |
|---|---|---:|---:|---:|
| sqlite | Session | 20 000 | 10 411 | 0.52 |
| redis | Save | 77 253 | – | – |

BenchmarkScaleLogins, ns/op:

| store | operation | 10 | 10k | 10k ÷ 10 |
|---|---|---:|---:|---:|
| redis | Login | 1 000 | 6 814 138 | 6814.14 |
`
	var out strings.Builder
	if err := run(strings.NewReader(in), &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != want {
		t.Errorf("got:\n%s\nwant:\n%s", out.String(), want)
	}
	if err := run(strings.NewReader("PASS\n"), &out); err == nil {
		t.Error("no results: no error")
	}
}
