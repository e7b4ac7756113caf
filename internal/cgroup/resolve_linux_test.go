package cgroup

import (
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// TestResolverLookup resolves a fresh cgroup by id, then a removed one,
// by file handle and by the fallback walk.
func TestResolverLookup(t *testing.T) {
	vmtest.RequireRoot(t)
	for _, walk := range []bool{false, true} {
		r, err := NewResolver()
		if err != nil {
			t.Fatal(err)
		}
		defer r.Close()
		r.handles = !walk
		rel := "/vigil-resolve-" + strconv.Itoa(os.Getpid()) + "/lxc.payload.c1"
		dir := filepath.Join(r.Root(), rel)
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		id, err := r.IDOf(rel)
		if err != nil {
			t.Fatal(err)
		}
		in := r.Lookup(id)
		if in.Path != rel || in.Container == nil || in.Container.ID != "c1" {
			t.Errorf("walk %v: Lookup(%d) = %+v, want %s in container c1", walk, id, in, rel)
		}
		if !walk && !r.handles {
			t.Errorf("open_by_handle_at refused here: lookups fall back to walks")
		}
		if err := os.Remove(dir); err != nil {
			t.Fatal(err)
		}
		if err := os.Remove(filepath.Dir(dir)); err != nil {
			t.Fatal(err)
		}
		if in := r.Lookup(id); in.Path != rel {
			t.Errorf("walk %v: cached entry lost: %+v", walk, in)
		}
		delete(r.cache, id)
		r.lastWalk = time.Time{}
		if in := r.Lookup(id); in.Path != "" || in.Container != nil {
			t.Errorf("walk %v: removed cgroup resolved to %+v", walk, in)
		}
		if in := r.Lookup(1); in.Path != "/" || in.Container != nil {
			t.Errorf("walk %v: root cgroup resolved to %+v", walk, in)
		}
	}
}

// BenchmarkLookupHit is the per-event cost of a cached cgroup id: the
// manager pays it for every record.
func BenchmarkLookupHit(b *testing.B) {
	vmtest.RequireRoot(b)
	r, err := NewResolver()
	if err != nil {
		b.Fatal(err)
	}
	defer r.Close()
	if in := r.Lookup(1); in.Path != "/" {
		b.Fatalf("Lookup(1) = %+v", in)
	}
	b.ReportAllocs()
	for b.Loop() {
		r.Lookup(1)
	}
}
