package cgroup

import (
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/vmtest"
)

// The test binary doubles as a helper that waits for stdin to close.
func TestMain(m *testing.M) {
	vmtest.Main(m, vmtest.Helpers{
		"wait": func([]string) int {
			_, _ = io.Copy(io.Discard, os.Stdin)
			return 0
		},
	})
}

// TestFromProc moves a real process into a cgroup named as podman names
// a container's and reads its context back from /proc, as the fanotify
// engine and the seccomp supervisor do.
func TestFromProc(t *testing.T) {
	vmtest.RequireRoot(t)
	r, err := NewResolver()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	id := strings.Repeat("5e", 32)
	rel := "/vigil-fromproc-" + strconv.Itoa(os.Getpid()) + "/libpod-" + id + ".scope"
	dir := filepath.Join(r.Root(), rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	defer os.Remove(filepath.Dir(dir))
	defer os.Remove(dir)

	cmd := vmtest.HelperCommand("wait")
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Wait()
	defer stdin.Close()
	pid := cmd.Process.Pid
	if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte(strconv.Itoa(pid)), 0); err != nil {
		t.Fatalf("moving %d into %s: %v", pid, dir, err)
	}

	var p event.Process
	if !FromProc(pid, &p) {
		t.Fatalf("FromProc(%d) read nothing", pid)
	}
	wantID, err := r.IDOf(rel)
	if err != nil {
		t.Fatal(err)
	}
	if p.Cgroup.Path != rel || p.Cgroup.ID != wantID {
		t.Errorf("cgroup = %+v, want {%d %s}", p.Cgroup, wantID, rel)
	}
	if p.Container == nil || p.Container.ID != id || p.Container.Runtime != event.RuntimePodman {
		t.Errorf("container = %+v, want {%s podman}", p.Container, id)
	}
	var st unix.Stat_t
	if err := unix.Stat("/proc/self/ns/net", &st); err != nil {
		t.Fatal(err)
	}
	if p.Namespaces.Net != uint32(st.Ino) || p.Namespaces.Pid == 0 || p.Namespaces.Mnt == 0 || p.Namespaces.User == 0 {
		t.Errorf("namespaces = %+v, want net %d and all known", p.Namespaces, st.Ino)
	}
	// What the resolver makes of the id must agree with /proc.
	if in := r.Lookup(wantID); in.Path != rel || in.Container == nil || in.Container.ID != id {
		t.Errorf("Lookup(%d) = %+v, want %s", wantID, in, rel)
	}

	// The host: the test's own cgroup is no container here.
	var self event.Process
	if !FromProc(os.Getpid(), &self) || self.Cgroup.Path == "" {
		t.Fatalf("FromProc(self) = %+v", self)
	}
	if self.Container != nil && !strings.Contains(self.Cgroup.Path, self.Container.ID) {
		t.Errorf("self's container %+v is not in its path %s", self.Container, self.Cgroup.Path)
	}
	if FromProc(1<<30, &event.Process{}) {
		t.Error("FromProc of a pid that cannot exist read something")
	}
}
