package event

import (
	"strconv"
	"syscall"

	"golang.org/x/sys/unix"
)

// ProtNames returns the names of the PROT_* bits in prot ("READ",
// "WRITE", "EXEC", then any unknown bit as a hex number). PROT_NONE gives
// an empty list.
func ProtNames(prot uint32) []string {
	var out []string
	for _, b := range protBits {
		if prot&b.bit != 0 {
			out = append(out, b.name)
			prot &^= b.bit
		}
	}
	if prot != 0 {
		out = append(out, hex(uint64(prot)))
	}
	return out
}

var protBits = []struct {
	bit  uint32
	name string
}{
	{unix.PROT_READ, "READ"},
	{unix.PROT_WRITE, "WRITE"},
	{unix.PROT_EXEC, "EXEC"},
	{unix.PROT_GROWSDOWN, "GROWSDOWN"},
	{unix.PROT_GROWSUP, "GROWSUP"},
}

// IsWX reports whether an mprotect to prot on a mapping whose protection
// was old (when known) makes code writable or data executable: W and X at
// once, W added to an executable mapping, or X added to a writable one
// (the RW -> RX flip of a code generator or a loader of shellcode).
func IsWX(prot, old uint32, hasOld bool) bool {
	w := prot&unix.PROT_WRITE != 0
	x := prot&unix.PROT_EXEC != 0
	if w && x {
		return true
	}
	if !hasOld {
		return false
	}
	return (w && old&unix.PROT_EXEC != 0) || (x && old&unix.PROT_WRITE != 0)
}

// OpenFlagNames returns the names of the O_* flags in flags: the access
// mode first (O_RDONLY, O_WRONLY, O_RDWR), then each set flag.
func OpenFlagNames(flags uint32) []string {
	out := []string{accModes[flags&unix.O_ACCMODE]}
	flags &^= unix.O_ACCMODE
	for _, f := range openBits {
		if f.bit != 0 && flags&f.bit == f.bit {
			out = append(out, f.name)
			flags &^= f.bit
		}
	}
	if flags != 0 {
		out = append(out, hex(uint64(flags)))
	}
	return out
}

var accModes = [4]string{"O_RDONLY", "O_WRONLY", "O_RDWR", "O_ACCMODE"}

// openBits lists O_* flags; O_TMPFILE includes O_DIRECTORY's bit, so it
// comes first, and O_SYNC includes O_DSYNC's.
var openBits = []struct {
	bit  uint32
	name string
}{
	{unix.O_TMPFILE, "O_TMPFILE"},
	{unix.O_SYNC, "O_SYNC"},
	{unix.O_CREAT, "O_CREAT"},
	{unix.O_EXCL, "O_EXCL"},
	{unix.O_NOCTTY, "O_NOCTTY"},
	{unix.O_TRUNC, "O_TRUNC"},
	{unix.O_APPEND, "O_APPEND"},
	{unix.O_NONBLOCK, "O_NONBLOCK"},
	{unix.O_DSYNC, "O_DSYNC"},
	{unix.O_ASYNC, "O_ASYNC"},
	{unix.O_DIRECT, "O_DIRECT"},
	{0o100000, "O_LARGEFILE"}, // the kernel value; x/sys gives 0 on 64-bit,
	{unix.O_DIRECTORY, "O_DIRECTORY"},
	{unix.O_NOFOLLOW, "O_NOFOLLOW"},
	{unix.O_NOATIME, "O_NOATIME"},
	{unix.O_CLOEXEC, "O_CLOEXEC"},
	{unix.O_PATH, "O_PATH"},
}

// MapFlagNames returns the names of mmap's MAP_* flags: the mapping type
// first ("SHARED", "PRIVATE", "SHARED_VALIDATE"), then each set flag
// without its MAP_ prefix ("ANONYMOUS", "FIXED"), then any unknown bit as
// a hex number.
func MapFlagNames(flags uint32) []string {
	var out []string
	if t := mapTypes[flags&unix.MAP_TYPE]; t != "" {
		out = append(out, t)
		flags &^= unix.MAP_TYPE
	}
	for _, f := range mapBits {
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

var mapTypes = map[uint32]string{unix.MAP_SHARED: "SHARED", unix.MAP_PRIVATE: "PRIVATE", unix.MAP_SHARED_VALIDATE: "SHARED_VALIDATE"}

var mapBits = []struct {
	bit  uint32
	name string
}{
	{unix.MAP_FIXED, "FIXED"},
	{unix.MAP_ANONYMOUS, "ANONYMOUS"},
	{unix.MAP_32BIT, "32BIT"},
	{unix.MAP_GROWSDOWN, "GROWSDOWN"},
	{unix.MAP_DENYWRITE, "DENYWRITE"},
	{unix.MAP_EXECUTABLE, "EXECUTABLE"},
	{unix.MAP_LOCKED, "LOCKED"},
	{unix.MAP_NORESERVE, "NORESERVE"},
	{unix.MAP_POPULATE, "POPULATE"},
	{unix.MAP_NONBLOCK, "NONBLOCK"},
	{unix.MAP_STACK, "STACK"},
	{unix.MAP_HUGETLB, "HUGETLB"},
	{unix.MAP_SYNC, "SYNC"},
	{unix.MAP_FIXED_NOREPLACE, "FIXED_NOREPLACE"},
	{0x4000000, "UNINITIALIZED"},
}

// ErrnoName returns the symbolic name of a negative result ("ENOENT" for
// -2), or "" for a result that is not an error.
func ErrnoName(result int64) string {
	if result >= 0 || result < -4095 {
		return ""
	}
	if n := unix.ErrnoName(syscall.Errno(-result)); n != "" {
		return n
	}
	return "errno " + itoa(-result)
}

// SignalName returns the name of signal sig ("SIGKILL"), or "" for 0.
func SignalName(sig int32) string {
	if sig == 0 {
		return ""
	}
	if n := unix.SignalName(syscall.Signal(sig)); n != "" {
		return n
	}
	return "signal " + itoa(int64(sig))
}

func hex(v uint64) string { return "0x" + strconv.FormatUint(v, 16) }

func itoa(v int64) string { return strconv.FormatInt(v, 10) }
