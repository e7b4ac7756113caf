package sensor

import (
	"errors"
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// helperFileOps makes file-tampering calls from the test binary itself
// (the guests have no coreutils that make them). "all" works in the
// working directory with relative names; any other first argument is one
// call on absolute names, after which the helper prints "survived" (a
// kill rule must stop it first):
//
//	fileops all
//	fileops unlink PATH | unlinkat-badfd NAME | rename OLD NEW | link OLD NEW | symlink TARGET LINK | chmod PATH | chown PATH
func helperFileOps(args []string) int {
	if len(args) == 0 {
		fmt.Fprintln(os.Stderr, "fileops: no operation")
		return 2
	}
	var err error
	switch op := args[0]; op {
	case "all":
		err = fileOpsAll()
	case "unlink":
		err = unix.Unlink(args[1])
	case "unlinkat-badfd":
		err = unix.Unlinkat(999, args[1], 0)
	case "rename":
		err = unix.Renameat(unix.AT_FDCWD, args[1], unix.AT_FDCWD, args[2])
	case "link":
		err = unix.Linkat(unix.AT_FDCWD, args[1], unix.AT_FDCWD, args[2], 0)
	case "symlink":
		err = unix.Symlinkat(args[1], unix.AT_FDCWD, args[2])
	case "chmod":
		err = unix.Fchmodat(unix.AT_FDCWD, args[1], 0o4755, 0)
	case "chown":
		err = unix.Fchownat(unix.AT_FDCWD, args[1], 65534, 65534, 0)
	default:
		err = fmt.Errorf("unknown operation %q", op)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "fileops:", err)
		// A denied call is what deny tests expect: report it by code.
		if errors.Is(err, unix.EPERM) {
			return 3
		}
		return 1
	}
	fmt.Println("survived")
	return 0
}

// fileOpsAll: a rename with both names, a hard link and a symlink to the
// renamed file, chmod u+s (by name and by descriptor), chown to nobody,
// an unlink, an unlink of a missing file, an rmdir; all relative.
func fileOpsAll() error {
	if err := os.WriteFile("a", nil, 0o644); err != nil {
		return err
	}
	steps := []struct {
		what string
		err  error
	}{
		{"rename", unix.Renameat2(unix.AT_FDCWD, "a", unix.AT_FDCWD, "b", 0)},
		{"link", unix.Linkat(unix.AT_FDCWD, "b", unix.AT_FDCWD, "hard", 0)},
		{"symlink", unix.Symlinkat("b", unix.AT_FDCWD, "sym")},
		{"chmod", unix.Fchmodat(unix.AT_FDCWD, "b", 0o4755, 0)},
		{"chown", unix.Fchownat(unix.AT_FDCWD, "b", 65534, 65534, 0)},
		{"unlink", unix.Unlinkat(unix.AT_FDCWD, "hard", 0)},
		{"mkdir", unix.Mkdir("d", 0o755)},
		{"rmdir", unix.Unlinkat(unix.AT_FDCWD, "d", unix.AT_REMOVEDIR)},
	}
	for _, s := range steps {
		if s.err != nil {
			return fmt.Errorf("%s: %w", s.what, s.err)
		}
	}
	f, err := os.Open("b")
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fchmod(int(f.Fd()), 0o2755); err != nil {
		return fmt.Errorf("fchmod: %w", err)
	}
	if err := unix.Unlinkat(unix.AT_FDCWD, "missing", 0); !errors.Is(err, unix.ENOENT) {
		return fmt.Errorf("unlink of a missing file: %v, want ENOENT", err)
	}
	return nil
}
