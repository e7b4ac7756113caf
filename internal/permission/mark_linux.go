package permission

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

// fsMark is one fanotify mark to place.
type fsMark struct {
	path  string
	flags uint // FAN_MARK_FILESYSTEM or FAN_MARK_INODE (0)
	mask  uint64
}

// devIno identifies an inode.
type devIno struct{ dev, ino uint64 }

// findMarks works out the marks the rules need, cheapest first:
//
//   - A rule with path (exact paths) marks each file's inode, so a
//     hard link or a bind mount of it is still seen, and its parent
//     directory with FAN_EVENT_ON_CHILD, so a file created or renamed
//     onto the path later is seen too. Opens elsewhere cost nothing.
//   - A rule with only path_prefix marks the whole filesystem holding
//     each prefix (FAN_MARK_FILESYSTEM, so a bind mount is no way
//     around), every open or exec on it goes through the engine's fast
//     path. A prefix that does not exist yet is marked through its
//     nearest existing ancestor.
//
// It also records the inodes of the exact paths that exist now, so that
// a hard link to one of them matches the rule under its other name.
func (e *Engine) findMarks() ([]fsMark, error) {
	seen := map[string]*fsMark{}
	var order []string
	add := func(p string, flags uint, mask uint64) error {
		var st unix.Stat_t
		if err := unix.Stat(p, &st); err != nil {
			return fmt.Errorf("finding what to mark for %s: %w", p, err)
		}
		key := fmt.Sprintf("%d:%d:%d", flags, st.Dev, st.Ino)
		if flags == unix.FAN_MARK_FILESYSTEM {
			key = fmt.Sprintf("fs:%d", st.Dev)
		}
		if m, ok := seen[key]; ok {
			m.mask |= mask
			return nil
		}
		seen[key] = &fsMark{path: p, flags: flags, mask: mask}
		order = append(order, key)
		return nil
	}
	e.inodes = map[devIno][]*policy.Rule{}
	for _, rules := range [][]*policy.Rule{e.exec, e.open} {
		for _, r := range rules {
			mask := uint64(unix.FAN_OPEN_PERM)
			if r.Event == event.TypeExec {
				mask = unix.FAN_OPEN_EXEC_PERM
			}
			if r.Match.Path == nil {
				for _, p := range r.Match.PathPrefix {
					if err := add(existingAncestor(p), unix.FAN_MARK_FILESYSTEM, mask); err != nil {
						return nil, err
					}
				}
				continue
			}
			for _, p := range r.Match.Path {
				dir := filepath.Dir(p)
				if existingAncestor(dir) != dir {
					// No directory to watch for the file's creation:
					// fall back to its filesystem.
					if err := add(existingAncestor(dir), unix.FAN_MARK_FILESYSTEM, mask); err != nil {
						return nil, err
					}
					continue
				}
				if err := add(dir, unix.FAN_MARK_INODE, mask|unix.FAN_EVENT_ON_CHILD); err != nil {
					return nil, err
				}
				var st unix.Stat_t
				if unix.Stat(p, &st) == nil {
					if err := add(p, unix.FAN_MARK_INODE, mask); err != nil {
						return nil, err
					}
					k := devIno{st.Dev, st.Ino}
					e.inodes[k] = append(e.inodes[k], r)
				}
			}
		}
	}
	sort.Strings(order)
	out := make([]fsMark, 0, len(order))
	for _, k := range order {
		out = append(out, *seen[k])
	}
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

// mark places the marks. Where the kernel refuses a filesystem mark
// (EXDEV on a btrfs subvolume) it marks the mount instead.
func (e *Engine) mark() error {
	for _, m := range e.marks {
		err := e.g.Mark(unix.FAN_MARK_ADD|m.flags, m.mask, m.path)
		if errors.Is(err, unix.EXDEV) && m.flags == unix.FAN_MARK_FILESYSTEM {
			err = e.g.Mark(unix.FAN_MARK_ADD|unix.FAN_MARK_MOUNT, m.mask, m.path)
		}
		if err != nil {
			return fmt.Errorf("placing fanotify marks: %w", err)
		}
		e.log.Info("fanotify mark", "path", m.path, "flags", fmt.Sprintf("%#x", m.flags), "mask", fmt.Sprintf("%#x", m.mask))
	}
	return nil
}
