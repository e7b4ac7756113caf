package cli

import (
	"fmt"
	"os"
	"unsafe"

	"golang.org/x/sys/unix"
)

// execveatEmpty runs the file open at fd (execveat with AT_EMPTY_PATH,
// as fexecve does) with argv; it returns only on failure.
func execveatEmpty(fd int, argv []string) error {
	empty, err := unix.BytePtrFromString("")
	if err != nil {
		return err
	}
	args, err := cStrings(argv)
	if err != nil {
		return err
	}
	env, err := cStrings(os.Environ())
	if err != nil {
		return err
	}
	_, _, errno := unix.Syscall6(unix.SYS_EXECVEAT, uintptr(fd), uintptr(unsafe.Pointer(empty)),
		uintptr(unsafe.Pointer(&args[0])), uintptr(unsafe.Pointer(&env[0])), unix.AT_EMPTY_PATH, 0)
	return errno
}

// cStrings makes a NULL-terminated array of C strings.
func cStrings(ss []string) ([]*byte, error) {
	out := make([]*byte, 0, len(ss)+1)
	for _, s := range ss {
		p, err := unix.BytePtrFromString(s)
		if err != nil {
			return nil, err
		}
		out = append(out, p)
	}
	return append(out, nil), nil
}

// memfdExecChild copies the program args[0] into a memfd and runs it
// from there: fileless execution.
func memfdExecChild(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: memfd-exec PROGRAM")
		return 2
	}
	b, err := os.ReadFile(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	fd, err := unix.MemfdCreate("payload", 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, "memfd_create:", err)
		return 1
	}
	if _, err := unix.Write(fd, b); err != nil {
		fmt.Fprintln(os.Stderr, "writing the memfd:", err)
		return 1
	}
	fmt.Fprintln(os.Stderr, "execveat:", execveatEmpty(fd, []string{"payload"}))
	return 1
}

// fdExecChild opens the program args[0], removes it when args[1] is
// "unlink", and runs it through the descriptor: with unlink, a deleted
// binary runs.
func fdExecChild(args []string) int {
	if len(args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: fd-exec PROGRAM unlink|keep")
		return 2
	}
	fd, err := unix.Open(args[0], unix.O_RDONLY, 0)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if args[1] == "unlink" {
		if err := os.Remove(args[0]); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	fmt.Fprintln(os.Stderr, "execveat:", execveatEmpty(fd, []string{"payload"}))
	return 1
}

// moduleTryChild tries finit_module on the file args[0], which must fail
// (a bogus module): the attempt is what the module sensor reports.
func moduleTryChild(args []string) int {
	if len(args) != 1 {
		fmt.Fprintln(os.Stderr, "usage: module-try FILE")
		return 2
	}
	f, err := os.Open(args[0])
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err == nil {
		fmt.Fprintln(os.Stderr, "finit_module of a bogus file succeeded")
		return 1
	}
	return 0
}
