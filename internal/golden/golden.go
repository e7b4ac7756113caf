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
