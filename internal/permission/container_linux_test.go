package permission

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// cgroupOpenHelper is the "cgopen" helper: it moves itself into the
// cgroup directory args[0] ("-" for none), opens args[1] for reading
// and exits 0 when it could, deniedExit on EPERM, 1 otherwise.
func cgroupOpenHelper(args []string) int {
	if len(args) != 2 {
		fmt.Fprintf(os.Stderr, "cgopen: arguments %q, want CGROUP-DIR FILE\n", args)
		return 2
	}
	if args[0] != "-" {
		if err := os.WriteFile(filepath.Join(args[0], "cgroup.procs"), []byte("0\n"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "cgopen: moving into the cgroup:", err)
			return 1
		}
	}
	f, err := os.Open(args[1])
	if errors.Is(err, unix.EPERM) {
		return deniedExit
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cgopen:", err)
		return 1
	}
	f.Close()
	return 0
}

const deniedExit = 3

// TestDenyOpenInContainer: a deny rule with container: true stops the
// open of a process in a cgroup laid out as a docker container's, and
// its event names the container; the same open from the host passes.
func TestDenyOpenInContainer(t *testing.T) {
	mustHavePerm(t)
	r, err := cgroup.NewResolver()
	if err != nil {
		t.Fatalf("cgroup2 hierarchy: %v", err)
	}
	defer r.Close()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id := hex.EncodeToString(b[:])
	slice := fmt.Sprintf("/vigil-perm-%d.slice", os.Getpid())
	rel := slice + "/docker-" + id + ".scope"
	cg := filepath.Join(r.Root(), rel)
	if err := os.MkdirAll(cg, 0o755); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(cg)
		os.Remove(filepath.Join(r.Root(), slice))
	})

	dir := tempDir(t, "/tmp")
	secret := filepath.Join(dir, "secret")
	if err := os.WriteFile(secret, []byte("keep"), 0o644); err != nil {
		t.Fatal(err)
	}
	h := startHelper(t, dir, fmt.Sprintf(`
rules:
  - name: no-secret-in-containers
    event: open
    match:
      path: [%q]
      container: true
    action: deny
`, secret), helperOpts{})

	run := func(cgdir string) int {
		cmd := vmtest.HelperCommand("cgopen", cgdir, secret)
		cmd.Stderr = os.Stderr
		err := cmd.Run()
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			return ee.ExitCode()
		}
		if err != nil {
			t.Fatal(err)
		}
		return 0
	}
	if code := run("-"); code != 0 {
		t.Errorf("open from the host: exit %d, want 0 (allowed)", code)
	}
	if code := run(cg); code != deniedExit {
		t.Errorf("open from the container: exit %d, want %d (EPERM)", code, deniedExit)
	}
	ev := h.find("no-secret-in-containers", secret)
	if ev == nil {
		t.Fatal("no denial event")
	}
	p := ev.Process
	if p.Container == nil || p.Container.ID != id || p.Container.Runtime != event.RuntimeDocker || p.Cgroup.Path != rel || p.Cgroup.ID == 0 {
		t.Errorf("denial's process: cgroup %+v container %+v, want %s in docker %s", p.Cgroup, p.Container, rel, id)
	}
	if s := h.stop(t); s.Denied != 1 {
		t.Errorf("stats = %+v, want 1 denial", s)
	}
}
