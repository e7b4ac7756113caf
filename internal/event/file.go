package event

import (
	"strconv"
	"strings"
)

// The file-tampering event types (opt-in: none is in the monitor's
// default set). One File payload serves all six.
const (
	TypeUnlink  Type = "unlink"  // unlink, unlinkat, rmdir
	TypeRename  Type = "rename"  // rename, renameat, renameat2
	TypeLink    Type = "link"    // link, linkat (hard links)
	TypeSymlink Type = "symlink" // symlink, symlinkat
	TypeChmod   Type = "chmod"   // chmod, fchmod, fchmodat, fchmodat2
	TypeChown   Type = "chown"   // chown, fchown, lchown, fchownat
)

// FileTypes are the file-tampering event types, in KernelTypes order.
var FileTypes = []Type{TypeUnlink, TypeRename, TypeLink, TypeSymlink, TypeChmod, TypeChown}

// IsFileType reports whether t is one of FileTypes.
func IsFileType(t Type) bool {
	for _, f := range FileTypes {
		if f == t {
			return true
		}
	}
	return false
}

// File is a call that removes, renames, links, or changes the mode or
// owner of a file, or makes a symlink.
type File struct {
	// Syscall is the call ("unlinkat", "renameat2", "fchmod", ...); ""
	// where the mechanism sees the kernel function the calls share
	// (fentry), not which call it was.
	Syscall string
	// Path is the absolute path of the object: the file removed,
	// chmodded or chowned; rename's and link's old name; symlink's link.
	Path string
	// NewPath is rename's and link's new name, absolute.
	NewPath string
	// Name and NewName are the names as the caller passed them (for
	// symlink, Name is empty and NewName is the link's name).
	Name    string
	NewName string
	// Target is a symlink's target, as given: it is stored, not resolved.
	Target string
	// Dirfd and NewDirfd are the directory descriptors of Name and
	// NewName (-100 for AT_FDCWD); for fchmod and fchown, Dirfd is the
	// file's descriptor (FD is set).
	Dirfd, NewDirfd int32
	FD              bool
	// Flags are the call's AT_* flags (AT_REMOVEDIR for rmdir) or, for
	// rename, its RENAME_* flags.
	Flags uint32
	// Mode is chmod's new mode (permission and S_ISUID/S_ISGID/S_ISVTX bits).
	Mode uint32
	// Uid and Gid are chown's new owner and group; -1 leaves one unchanged.
	Uid, Gid int64
	// Unresolved says a path could not be found (a bad dirfd, a file on
	// no mount): Path or NewPath then holds the name as passed.
	Unresolved bool
	// Lexical says a path was made by joining the name as passed to the
	// directory it is relative to (the tracepoint mechanism, which sees
	// the call, not the lookup): symlinks inside the name are not followed
	// and ".." is removed textually.
	Lexical bool
	// Via is "" for a system call, ViaIOUring for an io_uring request.
	Via string
	// Result is 0 or -errno (a BPF LSM denial: the errno it imposed).
	Result int64
}

// ModeBitNames returns the names of the special bits in mode: "setuid",
// "setgid", "sticky", then "world_writable" for S_IWOTH.
func ModeBitNames(mode uint32) []string {
	var out []string
	for _, b := range ModeBits {
		if mode&b.Bit != 0 {
			out = append(out, b.Name)
		}
	}
	return out
}

// ModeBits are the mode bits chmod events name, and the policy's
// mode_bits matcher takes.
var ModeBits = []struct {
	Bit  uint32
	Name string
}{
	{0o4000, "setuid"},
	{0o2000, "setgid"},
	{0o1000, "sticky"},
	{0o0002, "world_writable"},
}

// renameFlags are renameat2's RENAME_* flags (include/uapi/linux/fs.h).
var renameFlags = []struct {
	bit  uint32
	name string
}{{1, "RENAME_NOREPLACE"}, {2, "RENAME_EXCHANGE"}, {4, "RENAME_WHITEOUT"}}

// atFlags are the AT_* flags of unlinkat, linkat, fchmodat2 and fchownat.
var atFlags = []struct {
	bit  uint32
	name string
}{{0x100, "AT_SYMLINK_NOFOLLOW"}, {0x200, "AT_REMOVEDIR"}, {0x400, "AT_SYMLINK_FOLLOW"}, {0x1000, "AT_EMPTY_PATH"}}

// FileFlagNames returns the names of a file event's flags: RENAME_* for
// rename, AT_* otherwise, then any unknown bit as a hex number.
func FileFlagNames(t Type, flags uint32) []string {
	table := atFlags
	if t == TypeRename {
		table = renameFlags
	}
	var out []string
	for _, f := range table {
		if flags&f.bit != 0 {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		out = append(out, hex(uint64(flags)))
	}
	return out
}

// appendJSON writes a file event's members (docs/events.md).
func (f *File) appendJSON(w *objWriter, t Type) {
	if f.Syscall != "" {
		w.str("syscall", f.Syscall)
	}
	if t == TypeSymlink {
		w.str("target", f.Target)
	}
	w.str("path", f.Path)
	if t == TypeRename || t == TypeLink {
		w.str("new_path", f.NewPath)
	}
	if f.Name != "" {
		w.str("name", f.Name)
	}
	if f.NewName != "" {
		w.str("new_name", f.NewName)
	}
	if f.FD {
		w.int("fd", int64(f.Dirfd))
	}
	if f.Flags != 0 {
		w.strs("flags", FileFlagNames(t, f.Flags))
	}
	switch t {
	case TypeChmod:
		w.str("mode", strconv.FormatUint(uint64(f.Mode&0o7777), 8))
		w.strs("mode_bits", ModeBitNames(f.Mode))
	case TypeChown:
		w.int("uid", f.Uid)
		w.int("gid", f.Gid)
	}
	if f.Unresolved {
		w.bool("unresolved", true)
	}
	if f.Lexical {
		w.bool("lexical", true)
	}
	if f.Via != "" {
		w.str("via", f.Via)
	}
	w.result(f.Result)
}

// decodeFile reads a file event's members back (UnmarshalJSON).
func decodeFile(d *decoder, t Type) *File {
	f := &File{Syscall: d.str("syscall"), Target: d.str("target"), Path: d.str("path"), NewPath: d.str("new_path"),
		Name: d.str("name"), NewName: d.str("new_name"), Uid: d.i64("uid"), Gid: d.i64("gid"),
		Unresolved: d.bool("unresolved"), Lexical: d.bool("lexical"), Via: d.str("via"), Result: d.i64("result"),
		Dirfd: -100, NewDirfd: -100}
	if _, ok := d.m["fd"]; ok {
		f.FD, f.Dirfd = true, int32(d.i64("fd"))
	}
	for _, n := range d.strs("flags") {
		for _, tab := range [][]struct {
			bit  uint32
			name string
		}{atFlags, renameFlags} {
			for _, e := range tab {
				if e.name == n && (t == TypeRename) == (tab[0].name == renameFlags[0].name) {
					f.Flags |= e.bit
				}
			}
		}
		if v, err := strconv.ParseUint(strings.TrimPrefix(n, "0x"), 16, 32); err == nil && strings.HasPrefix(n, "0x") {
			f.Flags |= uint32(v)
		}
	}
	if m := d.str("mode"); m != "" {
		v, err := strconv.ParseUint(m, 8, 32)
		if err == nil {
			f.Mode = uint32(v)
		}
	}
	return f
}
