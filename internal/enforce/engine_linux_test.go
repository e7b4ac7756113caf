package enforce

import (
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/fanotify"
	"github.com/vigil-sec/vigil/internal/policy"
)

// mustHavePerm skips unless we are root and the kernel has fanotify
// permission events; a skip is justified by the probe, never a guess.
func mustHavePerm(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("fanotify permission events need root (CAP_SYS_ADMIN)")
	}
	if err := fanotify.ProbePerm(); errors.Is(err, fanotify.ErrNotSupported) {
		t.Skipf("fanotify permission events: %v", err)
	} else if err != nil {
		t.Fatalf("probing fanotify: %v", err)
	}
}

// tempDir makes a directory only this test uses, under base (/tmp or
// /var/tmp): other people's programs on this machine run from /tmp, so a
// test policy never names anything wider than its own directory.
func tempDir(t testing.TB, base string) string {
	t.Helper()
	d, err := os.MkdirTemp(base, "vigil-enf-*")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(d) })
	return d
}

// loadRules writes a policy into dir and loads it, returning the rules
// Plan gives to fanotify on this machine.
func loadRules(t testing.TB, dir, yaml string) []*policy.Rule {
	t.Helper()
	f := filepath.Join(dir, "policy.yaml")
	if err := os.WriteFile(f, []byte(yaml), 0o644); err != nil {
		t.Fatal(err)
	}
	set, err := policy.Load(f)
	if err != nil {
		t.Fatal(err)
	}
	errnoOK := fanotify.ProbeDenyErrno() == nil
	plan, err := set.Plan(policy.Available{Fanotify: true, FanotifyErrno: errnoOK})
	if err != nil {
		t.Fatal(err)
	}
	var rules []*policy.Rule
	for _, r := range set.Rules {
		if plan[r] == policy.MechFanotify {
			rules = append(rules, r)
		}
	}
	return rules
}

// recorder collects emitted events.
type recorder struct {
	mu  sync.Mutex
	evs []*event.Event
}

func (r *recorder) emit(ev *event.Event) {
	r.mu.Lock()
	r.evs = append(r.evs, ev)
	r.mu.Unlock()
}

func (r *recorder) find(rule, path string) *event.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, ev := range r.evs {
		if ev.Verdict != nil && ev.Verdict.Rule == rule && policy.EventPath(ev) == path {
			return ev
		}
	}
	return nil
}

// start runs an engine for rules until the test ends.
func start(t testing.TB, cfg Config) *Engine {
	t.Helper()
	e, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- e.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return e
}

// script writes an executable shell script that creates marker.
func script(t testing.TB, path, marker string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	body := fmt.Sprintf("#!/bin/sh\ntouch %s\n", marker)
	if err := os.WriteFile(path, []byte(body), 0o755); err != nil {
		t.Fatal(err)
	}
}

func exists(p string) bool { _, err := os.Stat(p); return err == nil }

func TestDenyExec(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	vdir := tempDir(t, "/var/tmp")
	denied := filepath.Join(dir, "denied")
	vdenied := filepath.Join(vdir, "denied")
	rules := loadRules(t, dir, fmt.Sprintf(`
rules:
  - name: no-exec-here
    event: exec
    match:
      path_prefix: [%q, %q]
    action: deny
  - name: no-exec-one
    event: exec
    match:
      path: [%q]
    action: deny
    errno: EIO
`, denied+"/", vdenied+"/", filepath.Join(dir, "eio", "x.sh")))
	rec := &recorder{}
	start(t, Config{Rules: rules, Emit: rec.emit})

	marker := filepath.Join(dir, "marker")
	bad := filepath.Join(denied, "x.sh")
	script(t, bad, marker)
	vbad := filepath.Join(vdenied, "x.sh")
	script(t, vbad, marker)
	good := filepath.Join(dir, "allowed", "x.sh")
	script(t, good, marker)
	eio := filepath.Join(dir, "eio", "x.sh")
	script(t, eio, marker)
	link := filepath.Join(tempDir(t, "/var/tmp"), "innocent")
	if err := os.Symlink(bad, link); err != nil {
		t.Fatal(err)
	}

	for _, c := range []struct {
		desc string
		cmd  *exec.Cmd
		path string // the resolved path the denial names
		want error
	}{
		{"a script in the denied dir", exec.Command(bad), bad, syscall.EPERM},
		{"the same under /var/tmp", exec.Command(vbad), vbad, syscall.EPERM},
		{"a symlink elsewhere pointing in", exec.Command(link), bad, syscall.EPERM},
		{"a relative path", func() *exec.Cmd { c := exec.Command("./x.sh"); c.Dir = denied; return c }(), bad, syscall.EPERM},
		{"through a shell", exec.Command("/bin/sh", "-c", bad), bad, nil},
		{"an errno of the rule's choosing", exec.Command(eio), eio, syscall.EIO},
	} {
		t.Run(c.desc, func(t *testing.T) {
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
			ev := rec.find(map[bool]string{true: "no-exec-one", false: "no-exec-here"}[c.path == eio], c.path)
			if ev == nil {
				t.Fatalf("no denial event for %s", c.path)
			}
			v := ev.Verdict
			if ev.Type != event.TypeExec || v.Action != "deny" || !v.Enforced || v.Mechanism != "fanotify" || ev.Exec.Ino == 0 || ev.Process.Pid == 0 {
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
}

func TestDenyOpenWrite(t *testing.T) {
	mustHavePerm(t)
	dir := tempDir(t, "/tmp")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	rules := loadRules(t, dir, fmt.Sprintf(`
rules:
  - name: no-write-secret
    event: open
    match:
      path: [%q]
      open_flags: [write, trunc]
    action: deny
`, secret))
	rec := &recorder{}
	start(t, Config{Rules: rules, Emit: rec.emit})

	// Opens from vigil itself are always allowed, so a child opens.
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
	ev := rec.find("no-write-secret", secret)
	if ev == nil || ev.Open.Flags&syscall.O_ACCMODE != syscall.O_WRONLY || ev.Process.Comm != "sh" {
		t.Errorf("denial event = %+v", ev)
	}
}
