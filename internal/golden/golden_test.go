package golden

import (
	"os"
	"path/filepath"
	"testing"
)

// recorder is a testing.TB that records failures instead of stopping.
type recorder struct {
	testing.TB
	failed bool
}

func (r *recorder) Errorf(string, ...any) { r.failed = true }
func (r *recorder) Fatalf(string, ...any) { r.failed = true }
func (r *recorder) Helper()               {}

func TestCheck(t *testing.T) {
	if *update {
		t.Skip("-update rewrites golden files instead of comparing")
	}
	path := filepath.Join(t.TempDir(), "x.err")
	if err := os.WriteFile(path, []byte("a\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tt := range []struct {
		desc, path, got string
		fail            bool
	}{
		{"same", path, "a\n", false},
		{"different", path, "b\n", true},
		{"no golden file", path + ".missing", "a\n", true},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			r := &recorder{TB: t}
			Check(r, tt.path, tt.got)
			if r.failed != tt.fail {
				t.Errorf("Check failed = %v, want %v", r.failed, tt.fail)
			}
		})
	}
}

func TestEach(t *testing.T) {
	if *update {
		t.Skip("-update rewrites golden files instead of comparing")
	}
	dir := t.TempDir()
	for name, data := range map[string]string{"a.yaml": "A", "a.err": "got A", "b.yaml": "B", "b.err": "got B"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(data), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	var seen []string
	Each(t, filepath.Join(dir, "*.yaml"), ".err", func(t *testing.T, file string) string {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		seen = append(seen, filepath.Base(file))
		return "got " + string(data)
	})
	if len(seen) != 2 || seen[0] != "a.yaml" || seen[1] != "b.yaml" {
		t.Errorf("Each ran on %v, want [a.yaml b.yaml]", seen)
	}
}
