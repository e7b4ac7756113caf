package runpolicy

import (
	"os"
	"testing"

	"github.com/vigil-sec/vigil/internal/golden"
)

// TestLoadGolden loads every policy under testdata that has a golden .err
// file next to it and compares Load's whole error, line by line, so that
// a change to the words or the order of the messages shows.
func TestLoadGolden(t *testing.T) {
	golden.Each(t, "testdata/bad*.yaml", ".err", func(t *testing.T, f string) string {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		p, err := Load(f, data)
		if err == nil {
			t.Fatalf("Load(%s) = %+v, want errors", f, p)
		}
		return err.Error() + "\n"
	})
}
