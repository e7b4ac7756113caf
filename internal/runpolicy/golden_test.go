package runpolicy

import (
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden .err files under testdata")

// TestLoadGolden loads every policy under testdata that has a golden .err
// file next to it and compares Load's whole error, line by line, so that
// a change to the words or the order of the messages shows.
func TestLoadGolden(t *testing.T) {
	files, err := filepath.Glob("testdata/bad*.yaml")
	if err != nil || len(files) == 0 {
		t.Fatalf("no bad policies: %v", err)
	}
	for _, f := range files {
		t.Run(filepath.Base(f), func(t *testing.T) {
			data, err := os.ReadFile(f)
			if err != nil {
				t.Fatal(err)
			}
			p, err := Load(f, data)
			if err == nil {
				t.Fatalf("Load(%s) = %+v, want errors", f, p)
			}
			got := err.Error() + "\n"
			golden := strings.TrimSuffix(f, ".yaml") + ".err"
			if *update {
				if err := os.WriteFile(golden, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("reading golden file (run go test -update): %v", err)
			}
			if got != string(want) {
				t.Errorf("errors differ from %s\ngot:\n%s\nwant:\n%s", golden, got, want)
			}
		})
	}
}
