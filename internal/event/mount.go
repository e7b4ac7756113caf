package event

import "golang.org/x/sys/unix"

// TypeMount is a change to a mount table (Mount).
const TypeMount Type = "mount"

// Mount is a mount(2), umount2(2), move_mount(2), pivot_root(2),
// fsopen(2) or fsmount(2) call.
type Mount struct {
	// Syscall is "mount", "umount2", "move_mount", "pivot_root", "fsopen"
	// or "fsmount".
	Syscall string
	// Source and Target are the paths as the caller passed them: mount's
	// source (a device, a directory for bind and move mounts, or free
	// text such as "tmpfs") and mount point; umount2's mount point
	// (Target); move_mount's from_pathname and to_pathname; pivot_root's
	// put_old (Source) and new_root (Target). For fsmount, Source is the
	// source the filesystem context was configured with.
	Source string
	Target string
	// ResolvedSource and ResolvedTarget are the absolute paths, where a
	// path was relative to the working directory or a dirfd (symbolic
	// links are not followed); empty when the path was absolute as given
	// or is not a path.
	ResolvedSource string
	ResolvedTarget string
	// FSType is the filesystem type: mount's and fsopen's argument, or,
	// for fsmount, the type of the filesystem context.
	FSType string
	// Flags are the call's flags: MS_* for mount, MNT_* and
	// UMOUNT_NOFOLLOW for umount2, MOVE_MOUNT_* for move_mount,
	// FSMOUNT_CLOEXEC for fsmount, FSOPEN_CLOEXEC for fsopen.
	Flags uint64
	// AttrFlags are fsmount's MOUNT_ATTR_* flags.
	AttrFlags uint32
	// SourceDirfd and TargetDirfd are move_mount's from_dfd and to_dfd
	// (fsmount: the filesystem context's descriptor in SourceDirfd);
	// AT_FDCWD (-100) for the other calls.
	SourceDirfd int32
	TargetDirfd int32
	// Unresolved: a relative path's directory could not be read (no room
	// left in the record, or the descriptor was not open).
	Unresolved bool
	Result     int64 // 0, a descriptor (fsopen, fsmount) or -errno
}

// MountFlagNames returns the names of the flags of a mount call: MS_*
// for "mount" (the magic MS_MGC_VAL in the top half is dropped), MNT_*
// for "umount2", MOVE_MOUNT_* for "move_mount", FSMOUNT_CLOEXEC and
// FSOPEN_CLOEXEC; unknown bits as a hex number.
func MountFlagNames(syscall string, flags uint64) []string {
	bits := mountBits[syscall]
	if syscall == "mount" && flags&0xffff0000 == unix.MS_MGC_VAL {
		flags &^= 0xffff0000
	}
	out := []string{}
	for _, b := range bits {
		if flags&b.bit == b.bit && b.bit != 0 {
			out = append(out, b.name)
			flags &^= b.bit
		}
	}
	if flags != 0 {
		out = append(out, hex(flags))
	}
	return out
}

// MountAttrNames returns the names of fsmount's MOUNT_ATTR_* flags.
func MountAttrNames(attr uint32) []string {
	out := []string{}
	flags := uint64(attr)
	for _, b := range mountAttrBits {
		if flags&b.bit == b.bit && b.bit != 0 {
			out = append(out, b.name)
			flags &^= b.bit
		}
	}
	if flags != 0 {
		out = append(out, hex(flags))
	}
	return out
}

// MountFlag returns the bit of the mount(2) flag named name ("MS_BIND"),
// and false for a name it does not know.
func MountFlag(name string) (uint64, bool) {
	for _, b := range mountBits["mount"] {
		if b.name == name {
			return b.bit, true
		}
	}
	return 0, false
}

type flagBit struct {
	bit  uint64
	name string
}

// mountBits are the flags of each call, from include/uapi/linux/mount.h
// and fs.h. Multi-bit values (MOUNT_ATTR_NOATIME's atime mask) come
// before the bits they contain.
var mountBits = map[string][]flagBit{
	"mount": {
		{unix.MS_RDONLY, "MS_RDONLY"}, {unix.MS_NOSUID, "MS_NOSUID"}, {unix.MS_NODEV, "MS_NODEV"},
		{unix.MS_NOEXEC, "MS_NOEXEC"}, {unix.MS_SYNCHRONOUS, "MS_SYNCHRONOUS"}, {unix.MS_REMOUNT, "MS_REMOUNT"},
		{unix.MS_MANDLOCK, "MS_MANDLOCK"}, {unix.MS_DIRSYNC, "MS_DIRSYNC"}, {unix.MS_NOSYMFOLLOW, "MS_NOSYMFOLLOW"},
		{unix.MS_NOATIME, "MS_NOATIME"}, {unix.MS_NODIRATIME, "MS_NODIRATIME"}, {unix.MS_BIND, "MS_BIND"},
		{unix.MS_MOVE, "MS_MOVE"}, {unix.MS_REC, "MS_REC"}, {unix.MS_SILENT, "MS_SILENT"},
		{unix.MS_POSIXACL, "MS_POSIXACL"}, {unix.MS_UNBINDABLE, "MS_UNBINDABLE"}, {unix.MS_PRIVATE, "MS_PRIVATE"},
		{unix.MS_SLAVE, "MS_SLAVE"}, {unix.MS_SHARED, "MS_SHARED"}, {unix.MS_RELATIME, "MS_RELATIME"},
		{unix.MS_KERNMOUNT, "MS_KERNMOUNT"}, {unix.MS_I_VERSION, "MS_I_VERSION"},
		{unix.MS_STRICTATIME, "MS_STRICTATIME"}, {unix.MS_LAZYTIME, "MS_LAZYTIME"},
	},
	"umount2": {
		{unix.MNT_FORCE, "MNT_FORCE"}, {unix.MNT_DETACH, "MNT_DETACH"}, {unix.MNT_EXPIRE, "MNT_EXPIRE"},
		{unix.UMOUNT_NOFOLLOW, "UMOUNT_NOFOLLOW"},
	},
	"move_mount": {
		{unix.MOVE_MOUNT_F_SYMLINKS, "MOVE_MOUNT_F_SYMLINKS"}, {unix.MOVE_MOUNT_F_AUTOMOUNTS, "MOVE_MOUNT_F_AUTOMOUNTS"},
		{unix.MOVE_MOUNT_F_EMPTY_PATH, "MOVE_MOUNT_F_EMPTY_PATH"}, {unix.MOVE_MOUNT_T_SYMLINKS, "MOVE_MOUNT_T_SYMLINKS"},
		{unix.MOVE_MOUNT_T_AUTOMOUNTS, "MOVE_MOUNT_T_AUTOMOUNTS"}, {unix.MOVE_MOUNT_T_EMPTY_PATH, "MOVE_MOUNT_T_EMPTY_PATH"},
		{unix.MOVE_MOUNT_SET_GROUP, "MOVE_MOUNT_SET_GROUP"}, {0x200, "MOVE_MOUNT_BENEATH"},
	},
	"fsmount": {{unix.FSMOUNT_CLOEXEC, "FSMOUNT_CLOEXEC"}},
	"fsopen":  {{unix.FSOPEN_CLOEXEC, "FSOPEN_CLOEXEC"}},
}

var mountAttrBits = []flagBit{
	{unix.MOUNT_ATTR_RDONLY, "MOUNT_ATTR_RDONLY"}, {unix.MOUNT_ATTR_NOSUID, "MOUNT_ATTR_NOSUID"},
	{unix.MOUNT_ATTR_NODEV, "MOUNT_ATTR_NODEV"}, {unix.MOUNT_ATTR_NOEXEC, "MOUNT_ATTR_NOEXEC"},
	{unix.MOUNT_ATTR_NOATIME, "MOUNT_ATTR_NOATIME"}, {unix.MOUNT_ATTR_STRICTATIME, "MOUNT_ATTR_STRICTATIME"},
	{unix.MOUNT_ATTR_NODIRATIME, "MOUNT_ATTR_NODIRATIME"}, {unix.MOUNT_ATTR_IDMAP, "MOUNT_ATTR_IDMAP"},
	{unix.MOUNT_ATTR_NOSYMFOLLOW, "MOUNT_ATTR_NOSYMFOLLOW"},
}

// appendJSON writes a mount's members.
func (m *Mount) appendJSON(w *objWriter) {
	w.str("syscall", m.Syscall)
	if m.Source != "" {
		w.str("source", m.Source)
	}
	if m.ResolvedSource != "" {
		w.str("resolved_source", m.ResolvedSource)
	}
	if m.Target != "" {
		w.str("target", m.Target)
	}
	if m.ResolvedTarget != "" {
		w.str("resolved_target", m.ResolvedTarget)
	}
	if m.FSType != "" {
		w.str("fstype", m.FSType)
	}
	w.strs("flags", MountFlagNames(m.Syscall, m.Flags))
	w.uint("flags_raw", m.Flags)
	if m.Syscall == "fsmount" {
		w.strs("attr_flags", MountAttrNames(m.AttrFlags))
		w.uint("attr_flags_raw", uint64(m.AttrFlags))
	}
	if m.Syscall == "move_mount" || m.Syscall == "fsmount" {
		w.int("source_dirfd", int64(m.SourceDirfd))
	}
	if m.Syscall == "move_mount" {
		w.int("target_dirfd", int64(m.TargetDirfd))
	}
	if m.Unresolved {
		w.bool("unresolved", true)
	}
	w.result(m.Result)
}

// decodeMount reads a mount's members.
func decodeMount(d *decoder) *Mount {
	m := &Mount{Syscall: d.str("syscall"), Source: d.str("source"), Target: d.str("target"),
		ResolvedSource: d.str("resolved_source"), ResolvedTarget: d.str("resolved_target"),
		FSType: d.str("fstype"), Flags: d.u64("flags_raw"), SourceDirfd: -100, TargetDirfd: -100,
		Unresolved: d.bool("unresolved"), Result: d.i64("result")}
	if _, ok := d.m["source_dirfd"]; ok {
		m.SourceDirfd = int32(d.i64("source_dirfd"))
	}
	if _, ok := d.m["target_dirfd"]; ok {
		m.TargetDirfd = int32(d.i64("target_dirfd"))
	}
	m.AttrFlags = d.u32("attr_flags_raw")
	return m
}
