package cgroup

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/kernfs"
)

// Bounds of the resolver's cache and of its fallback walk.
const (
	maxCached = 1 << 16     // entries; the cache starts over past this
	maxWalk   = 1 << 15     // directories one walk visits at most
	walkEvery = time.Second // at most one walk per interval
)

// fileidKernfs is FILEID_KERNFS (include/linux/exportfs.h): a kernfs
// file handle, whose 8 bytes are the node's 64-bit id (5.5+).
const fileidKernfs = 0xfe

// Info is what a cgroup id resolves to. Values are shared: never modify.
type Info struct {
	Path      string           // from the hierarchy's root; "" when unresolved
	Container *event.Container // nil for a host cgroup
}

// Resolver maps cgroup ids (the inode numbers of cgroup directories in
// the unified hierarchy, what bpf_get_current_cgroup_id returns) to
// their paths and containers. A miss costs one open_by_handle_at(2) of
// the id and a readlink; where the kernel refuses handles it walks the
// hierarchy instead, at most once a second and maxWalk directories deep.
// Ids are never reused (64-bit, increasing), so entries do not go
// stale: a cgroup removed before its first lookup is cached as
// unresolved. Safe for concurrent use.
type Resolver struct {
	root  string // the cgroup2 mount point
	mount *os.File

	mu       sync.Mutex
	cache    map[uint64]*Info
	lastWalk time.Time
	handles  bool // open_by_handle_at works here
}

// NewResolver finds the cgroup2 hierarchy (mounting it through
// kernfs.Cgroup2 when absent) and returns a resolver for it. Close it.
func NewResolver() (*Resolver, error) {
	root, err := kernfs.Cgroup2()
	if err != nil {
		return nil, fmt.Errorf("finding the cgroup2 hierarchy: %w", err)
	}
	f, err := os.Open(root)
	if err != nil {
		return nil, fmt.Errorf("opening cgroup2 mount %s: %w", root, err)
	}
	return &Resolver{root: root, mount: f, cache: map[uint64]*Info{}, handles: true}, nil
}

// Root returns the cgroup2 mount point the resolver reads.
func (r *Resolver) Root() string { return r.root }

// Close releases the resolver's descriptor.
func (r *Resolver) Close() error { return r.mount.Close() }

// unresolved is the shared entry of ids that name no cgroup (any more).
var unresolved = &Info{}

// Lookup returns what id resolves to; Info.Path is "" when it cannot be
// resolved (the cgroup is gone). id 0 (no cgroup reported) is unresolved.
func (r *Resolver) Lookup(id uint64) *Info {
	if id == 0 {
		return unresolved
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if in, ok := r.cache[id]; ok {
		return in
	}
	if len(r.cache) >= maxCached {
		r.cache = map[uint64]*Info{}
	}
	in, final := r.resolve(id)
	if final {
		r.cache[id] = in
	}
	return in
}

// resolve looks id up; final says the answer may be cached for good.
func (r *Resolver) resolve(id uint64) (*Info, bool) {
	if r.handles {
		p, err := r.byHandle(id)
		switch {
		case err == nil:
			return newInfo(p), true
		case errors.Is(err, unix.ESTALE) || errors.Is(err, unix.ENOENT):
			return unresolved, true // removed already
		default:
			r.handles = false // no handles here (EPERM, EOPNOTSUPP): walk
		}
	}
	if time.Since(r.lastWalk) < walkEvery {
		return unresolved, false // retried after the next walk
	}
	r.lastWalk = time.Now()
	r.walk()
	if in, ok := r.cache[id]; ok {
		return in, true
	}
	return unresolved, false
}

// byHandle opens the cgroup directory by its kernfs file handle and
// reads its path back from /proc/self/fd.
func (r *Resolver) byHandle(id uint64) (string, error) {
	var b [8]byte
	binary.NativeEndian.PutUint64(b[:], id)
	fd, err := unix.OpenByHandleAt(int(r.mount.Fd()), unix.NewFileHandle(fileidKernfs, b[:]), unix.O_RDONLY|unix.O_DIRECTORY|unix.O_CLOEXEC)
	if err != nil {
		return "", fmt.Errorf("opening cgroup %d by handle: %w", id, err)
	}
	defer unix.Close(fd)
	p, err := os.Readlink("/proc/self/fd/" + strconv.Itoa(fd))
	if err != nil {
		return "", fmt.Errorf("reading the path of cgroup %d: %w", id, err)
	}
	return r.rel(p), nil
}

// rel turns a path under the mount point into one from the hierarchy's
// root.
func (r *Resolver) rel(p string) string {
	if p == r.root {
		return "/"
	}
	if s, ok := strings.CutPrefix(p, r.root+"/"); ok {
		return "/" + s
	}
	return p
}

// walk caches every cgroup of the hierarchy, up to maxWalk directories.
func (r *Resolver) walk() {
	n := 0
	_ = filepath.WalkDir(r.root, func(p string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil // a cgroup removed during the walk, or a control file
		}
		if n++; n > maxWalk {
			return filepath.SkipAll
		}
		var st unix.Stat_t
		if unix.Lstat(p, &st) == nil {
			if _, ok := r.cache[st.Ino]; !ok && len(r.cache) < maxCached {
				r.cache[st.Ino] = newInfo(r.rel(p))
			}
		}
		return nil
	})
}

func newInfo(p string) *Info {
	return &Info{Path: p, Container: ParseContainer(p)}
}

// IDOf returns the cgroup id of the directory at p, a path from the
// hierarchy's root ("/system.slice"): the number a sensor reports for a
// task in that cgroup.
func (r *Resolver) IDOf(p string) (uint64, error) {
	var st unix.Stat_t
	full := filepath.Join(r.root, p)
	if err := unix.Stat(full, &st); err != nil {
		return 0, fmt.Errorf("reading cgroup %s: %w", full, err)
	}
	return st.Ino, nil
}
