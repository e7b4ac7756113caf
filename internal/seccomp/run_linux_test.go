package seccomp

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"syscall"
	"testing"

	"golang.org/x/sys/unix"
)

// mustHaveUserNotif skips unless the kernel has seccomp user notification
// with SECCOMP_ADDFD_FLAG_SEND (Linux 5.14) on x86_64, judged by the
// kernel version.
func mustHaveUserNotif(t *testing.T) {
	t.Helper()
	if runtime.GOARCH != "amd64" {
		t.Skipf("the filter is for x86_64, this is %s", runtime.GOARCH)
	}
	var u unix.Utsname
	unix.Uname(&u)
	var major, minor int
	fmt.Sscanf(unix.ByteSliceToString(u.Release[:]), "%d.%d", &major, &minor)
	if major < 5 || major == 5 && minor < 14 {
		t.Skipf("kernel %d.%d lacks SECCOMP_ADDFD_FLAG_SEND (5.14)", major, minor)
	}
}

// run runs args under Run with rules, the test binary as the shim, and
// returns the command's stdout and status.
func run(t *testing.T, rules Rules, dir string, args ...string) (string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	out, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	env := append(os.Environ(), shimEnv+"=1")
	code, err := Run(context.Background(), Config{
		Args: []string{"sh", "-c", "cd " + dir + " && " + strings.Join(args, " ")}, Shim: []string{exe}, Rules: rules,
		Stdout: out, Stderr: os.Stderr, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	return string(b), code
}

// TestRunVictim runs the real filter and supervisor around a real process:
// the interpreter tests above check the filter's logic, this checks that
// the kernel runs it the same way.
func TestRunVictim(t *testing.T) {
	mustHaveUserNotif(t)
	dir := t.TempDir()
	for name, content := range map[string]string{"a": "A\n", "b": "B\n", "secret": "S\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	abs := func(n string) string { return filepath.Join(dir, n) }
	rules := Rules{
		Paths: []PathRule{
			{Name: "r", Path: abs("a"), Action: ActionRedirect, Target: abs("b")},
			{Name: "s", Path: abs("secret"), Action: ActionDeny, Errno: syscall.EPERM},
			{Name: "d", Path: abs("d"), Prefix: true, Action: ActionDeny, Errno: syscall.EACCES},
		},
		Syscalls: []SyscallRule{{Name: "m", Syscall: "mkdir", Nr: sysnumX8664["mkdir"], Action: ActionDeny, Errno: syscall.EROFS},
			{Name: "m2", Syscall: "mkdirat", Nr: sysnumX8664["mkdirat"], Action: ActionDeny, Errno: syscall.EROFS}},
	}
	tests := []struct {
		desc, cmd, want string
		code            int
	}{
		{"redirect", "cat a", "B\n", 0},
		{"deny", "cat secret 2>&1", "cat: secret: Operation not permitted\n", 1},
		{"create under a denied prefix", "(echo x > d/new) 2>/dev/null; echo $?", "2\n", 0},
		{"create elsewhere, with the caller's umask", "umask 027; echo x > new; stat -c %a new; cat new", "640\nx\n", 0},
		{"truncate", "echo long > t; echo s > t; cat t", "s\n", 0},
		{"append", "echo 1 > t; echo 2 >> t; cat t", "1\n2\n", 0},
		{"O_EXCL on an existing file", "set -C; (echo x > b) 2>/dev/null; echo $?", "2\n", 0},
		{"a directory", "ls -a .. >/dev/null && ls -d .", ".\n", 0},
		{"a denied directory", "ls d 2>/dev/null; echo $?", "2\n", 0},
		{"a missing file", "cat nope 2>/dev/null; echo $?", "1\n", 0},
		{"mkdir denied in the kernel", "mkdir m 2>/dev/null; echo $?", "1\n", 0},
		{"exit status", "exit 42", "", 42},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, code := run(t, rules, dir, tt.cmd)
			if out != tt.want || code != tt.code {
				t.Errorf("%q printed %q, status %d; want %q, %d", tt.cmd, out, code, tt.want, tt.code)
			}
		})
	}
}
