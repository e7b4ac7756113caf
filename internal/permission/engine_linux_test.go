package permission

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
)

func TestDenyExec(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	vdir := tempDir(t, "/var/tmp")
	denied := filepath.Join(dir, "denied")
	vdenied := filepath.Join(vdir, "denied")
	eio := filepath.Join(dir, "eio", "x.sh")
	rules := fmt.Sprintf(`
rules:
  - name: no-exec-here
    event: exec
    match:
      path_prefix: [%q, %q]
    action: deny
`, denied+"/", vdenied+"/")
	// A chosen errno needs FAN_DENY_ERRNO (Linux 6.13): probed, not assumed.
	errnoErr := fanotify.ProbeDenyErrno()
	if errnoErr == nil {
		rules += fmt.Sprintf(`  - name: no-exec-one
    event: exec
    match:
      path: [%q]
    action: deny
    errno: EIO
`, eio)
	}
	h := startHelper(t, dir, rules, helperOpts{})

	marker := filepath.Join(dir, "marker")
	bad := filepath.Join(denied, "x.sh")
	script(t, bad, marker)
	vbad := filepath.Join(vdenied, "x.sh")
	script(t, vbad, marker)
	good := filepath.Join(dir, "allowed", "x.sh")
	script(t, good, marker)
	script(t, eio, marker)
	link := filepath.Join(tempDir(t, "/var/tmp"), "innocent")
	if err := os.Symlink(bad, link); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		desc string
		cmd  *exec.Cmd
		rule string
		path string // the resolved path the denial names
		want error  // nil: a shell reports it with status 126
	}{
		{"a script in the denied dir", exec.Command(bad), "no-exec-here", bad, syscall.EPERM},
		{"the same under /var/tmp", exec.Command(vbad), "no-exec-here", vbad, syscall.EPERM},
		{"a symlink elsewhere pointing in", exec.Command(link), "no-exec-here", bad, syscall.EPERM},
		{"a relative path", func() *exec.Cmd { c := exec.Command("./x.sh"); c.Dir = denied; return c }(), "no-exec-here", bad, syscall.EPERM},
		{"through a shell", exec.Command("/bin/sh", "-c", bad), "no-exec-here", bad, nil},
		{"an errno of the rule's choosing", exec.Command(eio), "no-exec-one", eio, syscall.EIO},
	} {
		t.Run(c.desc, func(t *testing.T) {
			if c.rule == "no-exec-one" && errnoErr != nil {
				t.Skipf("the kernel has no FAN_DENY_ERRNO: %v", errnoErr)
			}
			os.Remove(marker)
			err := c.cmd.Run()
			if err == nil {
				t.Fatalf("exec succeeded")
			}
			if c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("exec = %v, want %v", err, c.want)
			}
			if c.want == nil {
				var ee *exec.ExitError
				if !errors.As(err, &ee) || ee.ExitCode() != 126 {
					t.Errorf("sh -c = %v, want exit 126 (cannot execute)", err)
				}
			}
			if exists(marker) {
				t.Error("the marker was created: the script ran")
			}
			ev := h.find(c.rule, c.path)
			if ev == nil {
				t.Fatalf("no denial event for %s", c.path)
			}
			v := ev.Verdict
			if ev.Type != event.TypeExec || v.Action != "deny" || !v.Enforced || v.Mechanism != "fanotify" || ev.Exec.Ino == 0 || ev.Process.Pid == 0 || ev.Process.Exe == "" || ev.Process.ParentExe == "" {
				t.Errorf("denial event = %+v %+v %+v", ev, ev.Exec, v)
			}
		})
	}
	t.Run("an allowed script still runs", func(t *testing.T) {
		os.Remove(marker)
		if out, err := exec.Command(good).CombinedOutput(); err != nil {
			t.Fatalf("allowed script: %v %s", err, out)
		}
		if !exists(marker) {
			t.Error("allowed script did not run")
		}
		if err := exec.Command("/bin/true").Run(); err != nil {
			t.Errorf("/bin/true: %v", err)
		}
	})
	wantDenied := uint64(6)
	if errnoErr != nil {
		wantDenied = 5 // the errno case did not run
	}
	if s := h.stop(t); s.Denied != wantDenied || s.Timeouts != 0 || s.Errors != 0 {
		t.Errorf("stats = %+v, want %d denials and no timeouts or errors", s, wantDenied)
	}
}

func TestDenyOpenWrite(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, dir, fmt.Sprintf(`
rules:
  - name: no-write-secret
    event: open
    match:
      path: [%q]
      open_flags: [write, trunc]
    action: deny
`, secret), helperOpts{})

	if out, err := exec.Command("/bin/sh", "-c", "echo gone > "+secret).CombinedOutput(); err == nil || !strings.Contains(string(out), "not permitted") {
		t.Errorf("write open: %v %q, want operation not permitted", err, out)
	}
	if out, err := exec.Command("/bin/sh", "-c", "echo more >> "+secret).CombinedOutput(); err == nil {
		t.Errorf("append open: succeeded %q", out)
	}
	out, err := exec.Command("cat", secret).CombinedOutput()
	if err != nil || string(out) != "keep" {
		t.Errorf("read open: %v %q, want the content", err, out)
	}
	ev := h.find("no-write-secret", secret)
	if ev == nil || ev.Open.Flags&syscall.O_ACCMODE != syscall.O_WRONLY || ev.Process.Comm != "sh" {
		t.Errorf("denial event = %+v", ev)
	}
	if s := h.stop(t); s.Denied != 2 {
		t.Errorf("stats = %+v, want 2 denials", s)
	}
}

// TestExactPathInodeMarks checks a rule with exact paths, which marks
// inodes and the parent directory instead of the filesystem: the file is
// denied under its own name, under a hard link elsewhere, and after
// being replaced by rename; other files run.
func TestExactPathInodeMarks(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	marker := filepath.Join(dir, "marker")
	guarded := filepath.Join(dir, "guarded", "x.sh")
	script(t, guarded, marker)
	h := startHelper(t, dir, fmt.Sprintf("rules:\n  - {name: one-file, event: exec, match: {path: [%q]}, action: deny}\n", guarded), helperOpts{})

	other := filepath.Join(dir, "other")
	link := filepath.Join(other, "y.sh")
	os.MkdirAll(other, 0o755)
	if err := os.Link(guarded, link); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(guarded).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("exec of the file = %v, want EPERM", err)
	}
	if err := exec.Command(link).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("exec of a hard link to it = %v, want EPERM", err)
	}
	if ev := h.find("one-file", link); ev == nil {
		t.Error("no denial event naming the hard link")
	}
	fresh := filepath.Join(dir, "guarded", "new.sh")
	script(t, fresh, marker)
	if err := os.Rename(fresh, guarded); err != nil {
		t.Fatal(err)
	}
	if err := exec.Command(guarded).Run(); !errors.Is(err, syscall.EPERM) {
		t.Errorf("exec of a file renamed onto the path = %v, want EPERM", err)
	}
	if exists(marker) {
		t.Error("a guarded script ran")
	}
	free := filepath.Join(other, "free.sh")
	script(t, free, marker)
	if err := exec.Command(free).Run(); err != nil || !exists(marker) {
		t.Errorf("exec of another file = %v, marker %v; want it to run", err, exists(marker))
	}
	if s := h.stop(t); s.Denied != 3 {
		t.Errorf("stats %+v, want 3 denials", s)
	}
}
