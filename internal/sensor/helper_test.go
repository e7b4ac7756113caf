package sensor

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"strconv"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/vmtest"
)

// The test binary doubles as the helper programs the tests watch
// (os/exec's helper-process pattern, see vmtest.Main): each helper gets
// the command line after the program name.
func TestMain(m *testing.M) {
	helpers := vmtest.Helpers{
		"exit": func(args []string) int {
			code, _ := strconv.Atoi(args[len(args)-1])
			return code
		},
		"touch": func(args []string) int {
			f, err := os.Create(args[len(args)-1])
			if err != nil {
				fmt.Fprintln(os.Stderr, err)
				return 1
			}
			f.Close()
			return 0
		},
		"wx":          func([]string) int { return helperWX() },
		"wx1":         func(args []string) int { return helperWX1(args[len(args)-1]) },
		"module":      func(args []string) int { return helperModule(args[len(args)-1]) },
		"open":        helperOpen,
		"module-load": func(args []string) int { return helperModuleLoad(args[len(args)-1]) },
		"uring":       helperUring,
		"map":         func(args []string) int { return helperMap(args[len(args)-2], args[len(args)-1]) },
		"protseq":     func([]string) int { return helperProtSeq() },
		"context":     helperContext,
		"connect":     func(args []string) int { return helperConnect(args[len(args)-2], args[len(args)-1]) },
		"netdeny":     func(args []string) int { return helperNetDeny(args[len(args)-1]) },
		"fileops":     helperFileOps,
		"mount":       helperMount,
		"mount-fail":  helperMountFail,
		"bpf":         helperBPF,
	}
	maps.Copy(helpers, privHelpers)
	vmtest.Main(m, helpers)
}

// helper returns a command running the test binary as a helper, its
// stderr going to the test's.
func helper(name string, args ...string) *exec.Cmd {
	cmd := vmtest.HelperCommand(name, args...)
	cmd.Stderr = os.Stderr
	return cmd
}

// helperWX makes the two code-modification patterns, a RW page flipped
// to RX and a page made RWX at once, then a harmless RW -> R.
func helperWX() int {
	for _, prot := range []int{unix.PROT_READ | unix.PROT_EXEC, unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, unix.PROT_READ} {
		mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		mem[0] = 0xc3 // ret
		if err := unix.Mprotect(mem, prot); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// helperModule tries finit_module on path and init_module on its bytes;
// both must fail (no modules on our hosts, and no privilege to load a
// bogus image anywhere).
func helperModule(path string) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err == nil {
		fmt.Fprintln(os.Stderr, "finit_module of a bogus file succeeded")
		return 1
	}
	if err := unix.InitModule([]byte("not a module"), ""); err == nil {
		fmt.Fprintln(os.Stderr, "init_module of a bogus image succeeded")
		return 1
	}
	return 0
}

// helperModuleLoad loads the module at path with finit_module.
func helperModuleLoad(path string) int {
	f, err := os.Open(path)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer f.Close()
	if err := unix.FinitModule(int(f.Fd()), "", 0); err != nil {
		fmt.Fprintln(os.Stderr, "finit_module:", err)
		return 1
	}
	return 0
}

// helperOpen opens each argument, relative to the working directory; a
// missing file is expected, not an error.
func helperOpen(paths []string) int {
	for _, p := range paths {
		if f, err := os.Open(p); err == nil {
			f.Close()
		} else if !os.IsNotExist(err) {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
	}
	return 0
}

// helperWX1 does one mprotect: "flip" RW -> RX, "rwx" RW -> RWX, or
// "plain" RW -> R.
func helperWX1(mode string) int {
	prot := map[string]int{"flip": unix.PROT_READ | unix.PROT_EXEC, "rwx": unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, "plain": unix.PROT_READ}[mode]
	mem, err := unix.Mmap(-1, 0, 4096, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_PRIVATE|unix.MAP_ANON)
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := unix.Mprotect(mem, prot); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// helperMap maps memory as mode says and exits 0 once done, or
// mapDenied when the kernel refused (errno on stderr):
//
//	exec      the file at path, mmap PROT_READ|PROT_EXEC (as ld.so does)
//	mprotect  the file at path, mmap PROT_READ then mprotect adding PROT_EXEC
//	read      the file at path, mmap PROT_READ only
//	rwx       anonymous memory, mmap PROT_READ|PROT_WRITE|PROT_EXEC (path unused)
//	rx        anonymous memory, mmap PROT_READ|PROT_EXEC (path unused)
//	rie       anonymous memory, mmap PROT_READ|PROT_WRITE under the
//	          personality READ_IMPLIES_EXEC, which makes it RWX (path unused)
func helperMap(mode, path string) int {
	fd := -1
	flags := unix.MAP_PRIVATE
	if mode == "rie" {
		if _, _, errno := unix.Syscall(unix.SYS_PERSONALITY, readImpliesExec, 0, 0); errno != 0 {
			fmt.Fprintln(os.Stderr, "personality:", errno)
			return 1
		}
	}
	if mode == "rwx" || mode == "rx" || mode == "rie" {
		flags |= unix.MAP_ANON
	} else {
		f, err := os.Open(path)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		defer f.Close()
		fd = int(f.Fd())
	}
	prot := map[string]int{"exec": unix.PROT_READ | unix.PROT_EXEC, "mprotect": unix.PROT_READ, "read": unix.PROT_READ,
		"rwx": unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, "rx": unix.PROT_READ | unix.PROT_EXEC,
		"rie": unix.PROT_READ | unix.PROT_WRITE}[mode]
	mem, err := unix.Mmap(fd, 0, 4096, prot, flags)
	if err != nil {
		fmt.Fprintln(os.Stderr, "mmap:", err)
		return mapDenied
	}
	if mode == "mprotect" {
		if err := unix.Mprotect(mem, unix.PROT_READ|unix.PROT_EXEC); err != nil {
			fmt.Fprintln(os.Stderr, "mprotect:", err)
			return mapDenied
		}
	}
	return 0
}

// readImpliesExec is the personality flag READ_IMPLIES_EXEC
// (include/uapi/linux/personality.h).
const readImpliesExec = 0x0400000

// mapDenied is helperMap's exit code when the kernel refused the mapping.
const mapDenied = 3
