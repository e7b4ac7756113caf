package sensor

import (
	"fmt"
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
	vmtest.Main(m, vmtest.Helpers{
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
	})
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
