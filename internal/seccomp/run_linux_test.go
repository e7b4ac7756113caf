package seccomp_test

import (
	"context"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/seccomp/seccomptest"
)

// run runs the shell script under Run with rules, in dir, the test
// binary as the shim, and returns the command's stdout and status.
func run(t *testing.T, rules seccomp.Rules, dir string, script string) (string, int) {
	t.Helper()
	out, _, code := runArgs(t, rules, dir, "sh", "-c", script)
	return out, code
}

// runArgs runs argv under Run with rules, in dir, and returns the
// command's stdout, stderr and status.
func runArgs(t *testing.T, rules seccomp.Rules, dir string, argv ...string) (string, string, int) {
	t.Helper()
	exe, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tmp := t.TempDir()
	out, err := os.Create(filepath.Join(tmp, "stdout"))
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	errOut, err := os.Create(filepath.Join(tmp, "stderr"))
	if err != nil {
		t.Fatal(err)
	}
	defer errOut.Close()
	quoted := make([]string, len(argv))
	for i, a := range argv {
		quoted[i] = shellQuote(a)
	}
	env := append(os.Environ(), shimEnv+"=1")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	code, err := seccomp.Run(ctx, seccomp.Config{
		Args: []string{"sh", "-c", "cd " + shellQuote(dir) + " && exec " + strings.Join(quoted, " ")},
		Shim: []string{exe}, Rules: rules, Stdout: out, Stderr: errOut, Env: env,
	})
	if err != nil {
		t.Fatal(err)
	}
	b, _ := os.ReadFile(out.Name())
	e, _ := os.ReadFile(errOut.Name())
	return string(b), string(e), code
}

func shellQuote(s string) string { return "'" + strings.ReplaceAll(s, "'", `'\''`) + "'" }

// TestRunVictim runs the real filter and supervisor around a real process:
// the interpreter tests (filter_test.go) check the filter's logic, this checks that
// the kernel runs it the same way.
func TestRunVictim(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := t.TempDir()
	for name, content := range map[string]string{"a": "A\n", "b": "B\n", "secret": "S\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	os.Mkdir(filepath.Join(dir, "d"), 0o755)
	abs := func(n string) string { return filepath.Join(dir, n) }
	rules := seccomp.Rules{
		Paths: []seccomp.PathRule{
			{Name: "r", Path: abs("a"), Action: seccomp.ActionRedirect, Target: abs("b")},
			{Name: "s", Path: abs("secret"), Action: seccomp.ActionDeny, Errno: syscall.EPERM},
			{Name: "d", Path: abs("d"), Prefix: true, Action: seccomp.ActionDeny, Errno: syscall.EACCES},
		},
		Syscalls: []seccomp.SyscallRule{denySyscall("mkdir", syscall.EROFS), denySyscall("mkdirat", syscall.EROFS)},
	}
	tests := []struct {
		desc, cmd, want string
		code            int
	}{
		{"redirect", "cat a", "B\n", 0},
		// Alternatives after "||": the kernel matrix's guests run busybox,
		// whose messages and exit statuses differ from coreutils and dash.
		{"deny", "cat secret 2>&1", "cat: secret: Operation not permitted\n||cat: can't open 'secret': Operation not permitted\n", 1},
		{"create under a denied prefix", "(echo x > d/new) 2>/dev/null; echo $?", "2\n||1\n", 0},
		{"create elsewhere, with the caller's umask", "umask 027; echo x > new; stat -c %a new; cat new", "640\nx\n", 0},
		{"truncate", "echo long > t; echo s > t; cat t", "s\n", 0},
		{"append", "echo 1 > t; echo 2 >> t; cat t", "1\n2\n", 0},
		{"O_EXCL on an existing file", "set -C; (echo x > b) 2>/dev/null; echo $?", "2\n||1\n", 0},
		{"a directory", "ls -a .. >/dev/null && ls -d .", ".\n", 0},
		{"a denied directory", "ls d 2>/dev/null; echo $?", "2\n||1\n", 0},
		{"a missing file", "cat nope 2>/dev/null; echo $?", "1\n", 0},
		{"mkdir denied in the kernel", "mkdir m 2>/dev/null; echo $?", "1\n", 0},
		{"exit status", "exit 42", "", 42},
	}
	for _, tt := range tests {
		t.Run(tt.desc, func(t *testing.T) {
			out, code := run(t, rules, dir, tt.cmd)
			if !slices.Contains(strings.Split(tt.want, "||"), out) || code != tt.code {
				t.Errorf("%q printed %q, status %d; want %q, %d", tt.cmd, out, code, tt.want, tt.code)
			}
		})
	}
}

// denySyscall is a rule failing the x86_64 syscall name with e.
func denySyscall(name string, e syscall.Errno) seccomp.SyscallRule {
	nr, ok := seccomp.SyscallNumber(name)
	if !ok {
		panic("unknown syscall " + name)
	}
	return seccomp.SyscallRule{Name: "deny-" + name, Syscall: name, Nr: nr, Action: seccomp.ActionDeny, Errno: e}
}
