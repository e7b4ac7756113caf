package runpolicy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/golden"
)

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
			golden.Check(t, strings.TrimSuffix(f, ".yaml")+".err", err.Error()+"\n")
		})
	}
}
