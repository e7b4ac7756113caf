// Package golden compares what a test produced with a golden file under
// testdata, for tests of messages meant for people (policy errors) whose
// every word is part of the interface. Run the tests with -update to
// rewrite the golden files, then review the diff.
//
// Only tests import it; it fails the test it is given and returns no
// errors.
package golden

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files instead of comparing with them")

// Check compares got with the contents of the golden file path and fails
// t when they differ. With -update it writes got to path instead.
func Check(t testing.TB, path, got string) {
	t.Helper()
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("reading golden file (run go test -update): %v", err)
	}
	if got != string(want) {
		t.Errorf("differs from %s\ngot:\n%s\nwant:\n%s", path, got, want)
	}
}

// Each runs f on every file that pattern matches, each in a subtest named
// after the file, and checks what f returns with Check against the golden
// file beside it: the same name with its extension replaced by ext
// (testdata/bad/x.yaml and ".err" give testdata/bad/x.err). It fails t
// when pattern matches nothing.
func Each(t *testing.T, pattern, ext string, f func(t *testing.T, file string) string) {
	t.Helper()
	files, err := filepath.Glob(pattern)
	if err != nil || len(files) == 0 {
		t.Fatalf("no files match %s: %v", pattern, err)
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			Check(t, strings.TrimSuffix(file, filepath.Ext(file))+ext, f(t, file))
		})
	}
}
