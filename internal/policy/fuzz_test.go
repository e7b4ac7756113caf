package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// FuzzLoad feeds arbitrary documents to the parser: it must never panic,
// must return either a Set or errors (never both), and every error must
// carry a position inside the document. The seed corpus is every policy
// under testdata plus the builtins; go test -fuzz=FuzzLoad keeps new
// finds under testdata/fuzz/FuzzLoad.
func FuzzLoad(f *testing.F) {
	seeds, _ := filepath.Glob("testdata/*/*.yaml")
	seeds = append(seeds, "testdata/lsm-only.yaml", "builtin/baseline.yaml")
	for _, s := range seeds {
		data, err := os.ReadFile(s)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(data)
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		set, err := compile([]source{{"fuzz.yaml", data}})
		if (set == nil) == (err == nil) {
			t.Fatalf("compile returned set=%v err=%v: want exactly one", set != nil, err)
		}
		if err != nil {
			// YAML breaks lines at \n, \r, NEL, LS and PS; bound the
			// line number by all of them.
			lines := 2
			for _, br := range []string{"\n", "\r", "\u0085", "\u2028", "\u2029"} {
				lines += strings.Count(string(data), br)
			}
			for _, e := range yamldoc.Errors(err) {
				if e.File != "fuzz.yaml" || e.Line < 1 || e.Col < 1 || e.Line > lines {
					t.Fatalf("error without a sane position: %+v", e)
				}
			}
			return
		}
		for _, r := range set.Rules {
			if r.Name == "" || r.Event == "" || r.Action == "" {
				t.Fatalf("compiled rule lacks a field: %+v", r)
			}
			if countMatchers(&r.Match) == 0 {
				t.Fatalf("compiled rule %s has no matcher", r.Name)
			}
		}
		set.Needs()
		set.Plan(Available{})
	})
}
