package enforce

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// fsMark is one filesystem to mark: a path on it and the events wanted.
type fsMark struct {
	path string
	mask uint64
}

// findMarks returns one mark per filesystem holding a path or path_prefix of
// the rules. A path that does not exist yet is marked through its nearest
// existing ancestor, which is on the filesystem the path will be created
// on unless something is mounted in between later (documented).
func (e *Engine) findMarks() ([]fsMark, error) {
	byDev := map[uint64]*fsMark{}
	add := func(p string, mask uint64) error {
		at := existingAncestor(p)
		var st unix.Stat_t
		if err := unix.Stat(at, &st); err != nil {
			return fmt.Errorf("finding the filesystem of %s: %w", p, err)
		}
		if m, ok := byDev[st.Dev]; ok {
			m.mask |= mask
			return nil
		}
		byDev[st.Dev] = &fsMark{path: at, mask: mask}
		return nil
	}
	for _, rules := range [][]*policy.Rule{e.exec, e.open} {
		for _, r := range rules {
			mask := uint64(unix.FAN_OPEN_PERM)
			if r.Event == event.TypeExec {
				mask = unix.FAN_OPEN_EXEC_PERM
			}
			for _, p := range append(append([]string{}, r.Match.Path...), r.Match.PathPrefix...) {
				if err := add(p, mask); err != nil {
					return nil, err
				}
			}
		}
	}
	out := make([]fsMark, 0, len(byDev))
	for _, m := range byDev {
		out = append(out, *m)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path < out[j].path })
	return out, nil
}

// existingAncestor returns p or its nearest ancestor that exists.
func existingAncestor(p string) string {
	p = filepath.Clean(p)
	for {
		if _, err := os.Lstat(p); err == nil || p == "/" {
			return p
		}
		p = filepath.Dir(p)
	}
}

// mark places the marks: a filesystem mark (FAN_MARK_FILESYSTEM, so that
// a bind mount of the same filesystem is no way around), or a mount mark
// where the kernel refuses a filesystem mark (EXDEV on a btrfs subvolume).
func (e *Engine) mark() error {
	for _, m := range e.marks {
		err := e.g.Mark(unix.FAN_MARK_ADD|unix.FAN_MARK_FILESYSTEM, m.mask, m.path)
		if errors.Is(err, unix.EXDEV) {
			err = e.g.Mark(unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, m.mask, m.path)
		}
		if err != nil {
			return fmt.Errorf("placing fanotify marks: %w", err)
		}
		e.log.Info("fanotify mark", "path", m.path, "mask", fmt.Sprintf("%#x", m.mask))
	}
	return nil
}
