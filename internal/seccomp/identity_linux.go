package seccomp

import (
	"path"
	"strings"
	"sync/atomic"

	"golang.org/x/sys/unix"
)

// fileID is a file's identity: its device and inode numbers. Every name
// of a file (its hard links, the same file seen through a bind mount)
// has the same identity.
type fileID struct{ dev, ino uint64 }

func idOf(st *unix.Stat_t) fileID { return fileID{dev: st.Dev, ino: st.Ino} }

// identities are the files and directories the deny path rules name, by
// identity, so that an open reaching one of them by another name is
// denied as an open of the name would be: a deny rule names a file, not
// a string. A file rule matches its file; a prefix rule matches its
// directory and every file opened through it (the opened file's parent
// directories are compared by identity, as the kernel rules walk dentry
// parents), so a bind mount of the directory is caught. A hard link to a
// file below a denied directory, made elsewhere, is a name outside it
// and is not caught (see docs/run.md).
//
// The identities are taken when the run starts, with vigil's
// credentials. A path that does not exist then is looked up again at
// every check until it does (it is denied by name meanwhile).
type identities struct {
	rules []idRule // the deny path rules, in rule order
}

// idRule is one deny rule's identity.
type idRule struct {
	index int // in Rules.Paths
	rule  *PathRule
	id    atomic.Pointer[fileID] // nil until the path exists
}

// newIdentities stats the path of every deny rule in rs. It returns nil
// when there are none.
func newIdentities(rs *Rules) *identities {
	var ids identities
	for i := range rs.Paths {
		if r := &rs.Paths[i]; r.Action == ActionDeny {
			ids.rules = append(ids.rules, idRule{index: i, rule: r})
		}
	}
	if len(ids.rules) == 0 {
		return nil
	}
	for i := range ids.rules {
		ids.rules[i].lookup()
	}
	return &ids
}

// lookup returns the identity of the rule's path, following symlinks
// (the rule names the file a symlink leads to, too), stat'ing it again
// while it has none.
func (r *idRule) lookup() (fileID, bool) {
	if id := r.id.Load(); id != nil {
		return *id, true
	}
	var st unix.Stat_t
	if unix.Stat(r.rule.Path, &st) != nil {
		return fileID{}, false
	}
	id := idOf(&st)
	r.id.CompareAndSwap(nil, &id)
	return id, true
}

// match returns the first deny rule before index limit in Rules.Paths
// whose file is the file open on fd or, for a prefix rule, whose
// directory is that file or one of the directories above it; nil if
// none. With below, fd is the directory a file is about to be created
// in: only prefix rules apply. The directories above are those of the
// path /proc/self/fd gives for fd, compared by identity.
func (ids *identities) match(fd int, limit int, below bool) *PathRule {
	if ids == nil {
		return nil
	}
	var st unix.Stat_t
	if unix.Fstat(fd, &st) != nil {
		return nil
	}
	self := idOf(&st)
	var parents []fileID
	walked := false
	for i := range ids.rules {
		r := &ids.rules[i]
		if r.index >= limit {
			break
		}
		if !r.rule.Prefix && below {
			continue
		}
		id, ok := r.lookup()
		if !ok {
			continue
		}
		if id == self {
			return r.rule
		}
		if !r.rule.Prefix {
			continue
		}
		if !walked {
			parents, walked = parentIDs(fd), true
		}
		for _, p := range parents {
			if p == id {
				return r.rule
			}
		}
	}
	return nil
}

// parentIDs returns the identities of the directories above the file
// open on fd, from its parent up to the root, as named by the path
// /proc/self/fd shows for it (with a bind mount, the path through the
// mount, so the mount's root directory is among them).
func parentIDs(fd int) []fileID {
	p, err := fdPath(fd)
	if err != nil || !strings.HasPrefix(p, "/") {
		return nil // not a file in the tree (a pipe, a socket, an anonymous inode)
	}
	p = strings.TrimSuffix(p, " (deleted)")
	var ids []fileID
	for p != "/" {
		p = path.Dir(p)
		var st unix.Stat_t
		if unix.Lstat(p, &st) != nil {
			continue
		}
		ids = append(ids, idOf(&st))
	}
	return ids
}

// index returns r's index in rs.Paths, len(rs.Paths) for nil.
func (rs *Rules) index(r *PathRule) int {
	for i := range rs.Paths {
		if &rs.Paths[i] == r {
			return i
		}
	}
	return len(rs.Paths)
}
