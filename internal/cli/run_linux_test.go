package cli

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/seccomp/seccomptest"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// vigilCmd returns "vigil ARGS..." as a command running the test binary.
func vigilCmd(args ...string) *exec.Cmd {
	exe, err := os.Executable()
	if err != nil {
		panic(err)
	}
	// The "vigil" helper of TestMain: "vigil run" re-executes its own
	// binary as the shim, so vigil must be a real separate process.
	return vmtest.AsHelper(exec.Command(exe, args...), "vigil")
}

// vigil runs vigil with args and returns stdout, stderr and exit code,
// within a time limit.
func vigil(t *testing.T, dir string, args ...string) (string, string, int) {
	t.Helper()
	cmd := vigilCmd(args...)
	cmd.Dir = dir
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	timer := time.AfterFunc(30*time.Second, func() { cmd.Process.Kill() })
	defer timer.Stop()
	err := cmd.Wait()
	code := 0
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code = ee.ExitCode()
		if ws := ee.Sys().(syscall.WaitStatus); ws.Signaled() {
			t.Fatalf("vigil %q killed by %v; stderr:\n%s", args, ws.Signal(), stderr.String())
		}
	} else if err != nil {
		t.Fatal(err)
	}
	return stdout.String(), stderr.String(), code
}

// files creates name=content files in a new temp dir and returns it.
func files(t *testing.T, kv ...string) string {
	t.Helper()
	dir := t.TempDir()
	for i := 0; i+1 < len(kv); i += 2 {
		if err := os.WriteFile(filepath.Join(dir, kv[i]), []byte(kv[i+1]+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

func TestRunRedirectCat(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := files(t, "src", "original", "dst", "replacement")
	src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
	out, errOut, code := vigil(t, "/", "run", "--redirect", src+"="+dst, "--", "cat", src)
	if code != 0 || out != "replacement\n" {
		t.Fatalf("cat printed %q (exit %d, stderr %q), want the replacement", out, code, errOut)
	}
	// The copycat form, through the environment.
	cmd := vigilCmd("run", "--", "cat", src)
	cmd.Env = append(cmd.Env, "COPYCAT="+src+" "+dst)
	b, err := cmd.Output()
	if err != nil || string(b) != "replacement\n" {
		t.Fatalf("COPYCAT: cat printed %q, %v", b, err)
	}
}

func TestRunDeny(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "secret", "s3cr3t", "open", "fine")
	os.MkdirAll(filepath.Join(dir, "sub"), 0o755)
	os.WriteFile(filepath.Join(dir, "sub", "x"), []byte("x\n"), 0o644)
	// Relative paths in flags are vigil's: run from dir, the command from /.
	script := fmt.Sprintf("cd /; %[1]s open %[2]s/secret; %[1]s open %[2]s/open; %[1]s open %[2]s/sub/x", h, dir)
	out, errOut, code := vigil(t, dir, "run", "--deny", "secret", "--deny-prefix", "sub", "--", "sh", "-c", script)
	want := "err EACCES\nok fine cloexec\nerr EACCES\n"
	if out != want || code != 1 {
		t.Errorf("got %q (exit %d, stderr %q), want %q", out, code, errOut, want)
	}
	out, _, _ = vigil(t, dir, "run", "--deny", "secret", "--errno", "EPERM", "--", h, "open", "secret")
	if out != "err EPERM\n" {
		t.Errorf("--errno EPERM: got %q", out)
	}
}

// TestRunDenyHardlink is issue 11's trick end to end: cat of a hard link
// to a file denied by --deny, or by a policy file's rule, must not print
// the secret; the same cat of another file works.
func TestRunDenyHardlink(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := files(t, "secret", "s3cr3t", "fine", "fine")
	other := t.TempDir()
	link := filepath.Join(other, "hardlink-to-secret")
	if err := os.Link(filepath.Join(dir, "secret"), link); err != nil {
		t.Fatal(err)
	}
	policy := filepath.Join(other, "run.yaml")
	os.WriteFile(policy, []byte("rules:\n  - name: no-secret\n    path: "+filepath.Join(dir, "secret")+"\n    action: deny\n    errno: EPERM\n"), 0o644)
	for _, tt := range []struct {
		rule []string
		want string
	}{
		{[]string{"--deny", filepath.Join(dir, "secret")}, "Permission denied"},
		{[]string{"--policy", policy}, "Operation not permitted"},
	} {
		args := append(append([]string{"run"}, tt.rule...), "--", "cat", link)
		out, errOut, code := vigil(t, "/", args...)
		if strings.Contains(out, "s3cr3t") || code != 1 || !strings.Contains(errOut, tt.want) {
			t.Errorf("vigil %q: stdout %q, stderr %q, exit %d; want the open denied with %q", args, out, errOut, code, tt.want)
		}
		args = append(append([]string{"run"}, tt.rule...), "--", "cat", filepath.Join(dir, "fine"))
		if out, errOut, code := vigil(t, "/", args...); out != "fine\n" || code != 0 {
			t.Errorf("vigil %q: stdout %q, stderr %q, exit %d; want fine", args, out, errOut, code)
		}
	}
}

func TestRunDenySyscall(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	dir := t.TempDir()
	for _, trace := range []string{"--trace=false", "--trace"} {
		_, errOut, code := vigil(t, dir, "run", trace, "--deny-syscall", "mkdir=EROFS", "--", "mkdir", "x")
		if code == 0 || !strings.Contains(errOut, "Read-only file system") {
			t.Errorf("%s: mkdir exit %d, stderr %q", trace, code, errOut)
		}
	}
	// execve denied: the shim still execs the command, the command cannot.
	out, errOut, code := vigil(t, dir, "run", "--deny-syscall", "execve", "--", "sh", "-c", "echo in; /bin/true; echo $?")
	if code != 0 || out != "in\n126\n" {
		t.Errorf("execve denied: got %q (exit %d, stderr %q)", out, code, errOut)
	}
}

func TestRunExitStatus(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	for _, tt := range []struct {
		script string
		want   int
	}{
		{"exit 0", 0},
		{"exit 7", 7},
		{"kill -KILL $$", 128 + 9},
		{"kill -TERM $$", 128 + 15},
	} {
		_, errOut, code := vigil(t, "/", "run", "--deny", "/nonexistent", "--", "sh", "-c", tt.script)
		if code != tt.want {
			t.Errorf("%q: exit %d, want %d (stderr %q)", tt.script, code, tt.want, errOut)
		}
	}
	_, errOut, code := vigil(t, "/", "run", "--", "/nonexistent/cmd")
	if code != 127 || !strings.Contains(errOut, "/nonexistent/cmd") {
		t.Errorf("missing command: exit %d, stderr %q", code, errOut)
	}
}

func TestRunForwardsSignals(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	for _, sig := range []syscall.Signal{syscall.SIGINT, syscall.SIGTERM} {
		cmd := vigilCmd("run", "--deny", "/nonexistent", "--", "sleep", "30")
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		waitChild(t, cmd.Process.Pid, "sleep")
		start := time.Now()
		cmd.Process.Signal(sig)
		done := make(chan error, 1)
		go func() { done <- cmd.Wait() }()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			cmd.Process.Kill()
			t.Fatalf("%v: vigil still running", sig)
		}
		if code := cmd.ProcessState.ExitCode(); code != 128+int(sig) {
			t.Errorf("%v: exit %d, want %d", sig, code, 128+int(sig))
		}
		t.Logf("%v: vigil ended %v after the signal", sig, time.Since(start))
	}
}

// A command that exits while one of its threads waits in a notification
// the supervisor is still working on (an open of a FIFO nobody writes)
// must end vigil promptly.
func TestRunExitWithPendingNotification(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	out, errOut, code := vigil(t, dir, "run", "--deny", "/nonexistent", "--", h, "exitpending", fifo)
	if code != 0 || out != "exiting\n" {
		t.Fatalf("got %q (exit %d, stderr %q)", out, code, errOut)
	}
	if d := time.Since(start); d > 3*time.Second {
		t.Errorf("vigil took %v to end after the command exited", d)
	} else {
		t.Logf("vigil ended %v after start (the command ran 200ms)", d)
	}
}

// If the supervisor dies, the kernel fails the pending and later
// notifications with ENOSYS: the command must not hang.
func TestRunSupervisorKilled(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := t.TempDir()
	fifo := filepath.Join(dir, "fifo")
	if err := unix.Mkfifo(fifo, 0o600); err != nil {
		t.Fatal(err)
	}
	outPath, pidPath := filepath.Join(dir, "out"), filepath.Join(dir, "pid")
	outFile, err := os.Create(outPath)
	if err != nil {
		t.Fatal(err)
	}
	defer outFile.Close()
	// The shell records its pid; the helper then blocks in an open of the
	// FIFO (the supervisor is stuck opening it for it); after the
	// supervisor is gone the shell goes on to a command that opens files.
	script := fmt.Sprintf("echo $$ > %[1]s; %[2]s open %[3]s; cat %[1]s; sleep 0.1", pidPath, h, fifo)
	cmd := vigilCmd("run", "--deny", "/nonexistent", "--", "sh", "-c", script)
	cmd.Stdout = outFile
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var pid int
	for deadline := time.Now().Add(10 * time.Second); pid == 0; time.Sleep(10 * time.Millisecond) {
		if time.Now().After(deadline) {
			cmd.Process.Kill()
			t.Fatal("the shell never wrote its pid")
		}
		b, _ := os.ReadFile(pidPath)
		if strings.HasSuffix(string(b), "\n") {
			pid, _ = strconv.Atoi(strings.TrimSpace(string(b)))
		}
	}
	waitChild(t, pid, "runhelper")
	time.Sleep(200 * time.Millisecond) // into its open of the FIFO
	cmd.Process.Kill()
	cmd.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for alive(pid) {
		if time.Now().After(deadline) {
			unix.Kill(pid, unix.SIGKILL)
			t.Fatalf("the command (pid %d) hangs after the supervisor died", pid)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if out, _ := os.ReadFile(outPath); !strings.HasPrefix(string(out), "err ENOSYS\n") {
		t.Errorf("the pending open returned %q, want ENOSYS", out)
	}
}

// waitChild waits until a child of pid named comm runs.
func waitChild(t *testing.T, pid int, comm string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for time.Now().Before(deadline) {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			b, err := os.ReadFile("/proc/" + e.Name() + "/stat")
			if err != nil {
				continue
			}
			// pid (comm) state ppid ...
			i := bytes.LastIndexByte(b, ')')
			j := bytes.IndexByte(b, '(')
			if i < 0 || j < 0 {
				continue
			}
			f := strings.Fields(string(b[i+1:]))
			if len(f) > 1 && f[1] == strconv.Itoa(pid) && string(b[j+1:i]) == comm {
				return
			}
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no child %q of %d", comm, pid)
}

// alive reports whether pid exists and is not a zombie.
func alive(pid int) bool {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return false
	}
	i := bytes.LastIndexByte(b, ')')
	return i < 0 || i+2 >= len(b) || b[i+2] != 'Z'
}

func TestRunTrace(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	h := seccomptest.RunHelper(t)
	dir := files(t, "secret", "s", "ok", "fine")
	traceFile := filepath.Join(dir, "trace.ndjson")
	_, errOut, code := vigil(t, dir, "run", "--trace-file", traceFile, "--deny", "secret", "--deny-syscall", "ptrace=ENOSYS", "--trace", "--",
		"sh", "-c", h+" open secret; "+h+" open ok")
	if code != 0 {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	b, err := os.ReadFile(traceFile)
	if err != nil {
		t.Fatal(err)
	}
	var denied, opened bool
	for _, line := range bytes.Split(bytes.TrimSpace(b), []byte("\n")) {
		var e event.Event
		if err := e.UnmarshalJSON(line); err != nil {
			t.Fatalf("trace line %s: %v", line, err)
		}
		if e.Type != event.TypeOpen || e.Open == nil {
			t.Fatalf("unexpected event %s", line)
		}
		switch e.Open.Path {
		case "secret":
			denied = e.Open.Result == -int64(syscall.EACCES) && e.Verdict != nil && e.Verdict.Action == "deny" &&
				e.Verdict.Enforced && e.Verdict.Mechanism == "seccomp" && e.Open.ResolvedPath == filepath.Join(dir, "secret")
		case "ok":
			opened = e.Open.Result >= 0 && e.Verdict == nil && e.Process.Comm == "runhelper" && e.Process.Exe == h
		}
	}
	if !denied || !opened {
		t.Errorf("trace lacks the denied (%v) or the allowed (%v) open:\n%s", denied, opened, b)
	}
}

func TestRunBadUsage(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.yaml")
	os.WriteFile(bad, []byte("rules:\n  - path: /x\n    action: explode\n"), 0o644)
	for _, tt := range []struct {
		args []string
		want string
	}{
		{[]string{"run"}, "requires at least 1 arg"},
		{[]string{"run", "--redirect", "nodst", "--", "true"}, `--redirect "nodst": want SRC=DST`},
		{[]string{"run", "--deny-syscall", "fly", "--", "true"}, `unknown x86_64 syscall "fly"`},
		{[]string{"run", "--deny-syscall", "sendmsg", "--", "true"}, "sendmsg cannot be denied"},
		{[]string{"run", "--errno", "EWHAT", "--deny", "/x", "--", "true"}, `unknown errno "EWHAT"`},
		{[]string{"run", "--policy", bad, "--", "true"}, bad + `:3:13: rules[0].action: want deny, redirect, log or allow, got "explode"`},
		{[]string{"run", "--policy", filepath.Join(dir, "none.yaml"), "--", "true"}, "reading policy"},
		{[]string{"run", "--bogus", "--", "true"}, "unknown flag: --bogus"},
	} {
		_, errOut, code := vigil(t, dir, tt.args...)
		if code != 2 || !strings.Contains(errOut, tt.want) {
			t.Errorf("vigil %q: exit %d, stderr %q; want exit 2 and %q", tt.args, code, errOut, tt.want)
		}
	}
}

// TestRunUnprivileged runs vigil itself as nobody: no_new_privs is all a
// filter needs, and reading a child's memory needs only the same uid.
func TestRunUnprivileged(t *testing.T) {
	seccomptest.RequireUserNotif(t)
	vmtest.RequireRoot(t) // to become nobody
	setpriv, err := exec.LookPath("setpriv")
	if err != nil {
		t.Skip("setpriv (util-linux) not found")
	}
	dir, err := os.MkdirTemp("", "vigil-nobody")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(dir)
	os.Chmod(dir, 0o755)
	exe, _ := os.Executable()
	b, err := os.ReadFile(exe)
	if err != nil {
		t.Fatal(err)
	}
	vig := filepath.Join(dir, "vigil")
	if err := os.WriteFile(vig, b, 0o755); err != nil {
		t.Fatal(err)
	}
	for name, content := range map[string]string{"denied": "D\n", "allowed": "A\n"} {
		os.WriteFile(filepath.Join(dir, name), []byte(content), 0o644)
	}
	cmd := exec.Command(setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
		vig, "run", "--deny", "denied", "--", "sh", "-c", "cat allowed; cat denied 2>&1; id -u")
	cmd.Dir = dir
	vmtest.AsHelper(cmd, "vigil")
	out, err := cmd.Output()
	want := "A\ncat: denied: Permission denied\n65534\n"
	if string(out) != want {
		t.Errorf("got %q (%v), want %q", out, err, want)
	}
}
