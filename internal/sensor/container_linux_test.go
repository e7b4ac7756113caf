package sensor

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// helperContext is the "context" helper: args are a cgroup directory
// to move into ("-" for none), "net" to unshare the network namespace
// first (or "-"), and a file to open. It prints the inode numbers of
// its pid, mnt, net and user namespaces as the kernel shows them in
// /proc/thread-self/ns, then opens the file (missing is fine) on the
// same thread.
func helperContext(args []string) int {
	n := len(args)
	dir, mode, file := args[n-3], args[n-2], args[n-1]
	runtime.LockOSThread() // unshare and the open on one thread
	if dir != "-" {
		if err := os.WriteFile(filepath.Join(dir, "cgroup.procs"), []byte("0\n"), 0); err != nil {
			fmt.Fprintln(os.Stderr, "moving into the cgroup:", err)
			return 1
		}
	}
	if mode == "net" {
		if err := unix.Unshare(unix.CLONE_NEWNET); err != nil {
			fmt.Fprintln(os.Stderr, "unshare:", err)
			return 1
		}
	}
	for _, ns := range []string{"pid", "mnt", "net", "user"} {
		var st unix.Stat_t
		if err := unix.Stat("/proc/thread-self/ns/"+ns, &st); err != nil {
			fmt.Fprintln(os.Stderr, err)
			return 1
		}
		fmt.Println(st.Ino)
	}
	if f, err := os.Open(file); err == nil {
		f.Close()
	}
	return 0
}

// runContext runs the context helper and returns its pid and the
// namespaces it printed.
func runContext(t *testing.T, dir, mode, file string) (uint32, event.Namespaces) {
	t.Helper()
	cmd := helper("context", dir, mode, file)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("context helper (%s %s): %v", dir, mode, err)
	}
	f := strings.Fields(string(out))
	if len(f) != 4 {
		t.Fatalf("context helper printed %q", out)
	}
	var v [4]uint32
	for i, s := range f {
		n, err := strconv.ParseUint(s, 10, 32)
		if err != nil {
			t.Fatalf("context helper printed %q: %v", out, err)
		}
		v[i] = uint32(n)
	}
	return uint32(cmd.Process.Pid), event.Namespaces{Pid: v[0], Mnt: v[1], Net: v[2], User: v[3]}
}

// containerCgroup creates a cgroup named as docker's systemd driver
// names a container's, under a test slice, and removes both at the end.
func containerCgroup(t *testing.T, r *cgroup.Resolver) (dir, rel, id string) {
	t.Helper()
	var b [32]byte
	if _, err := rand.Read(b[:]); err != nil {
		t.Fatal(err)
	}
	id = hex.EncodeToString(b[:])
	slice := fmt.Sprintf("/vigil-test-%d.slice", os.Getpid())
	rel = slice + "/docker-" + id + ".scope"
	dir = filepath.Join(r.Root(), rel)
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatalf("creating cgroup %s: %v", dir, err)
	}
	t.Cleanup(func() {
		// The helpers have exited and been reaped: the cgroups are empty.
		for _, d := range []string{dir, filepath.Join(r.Root(), slice)} {
			if err := os.Remove(d); err != nil {
				t.Errorf("removing cgroup: %v", err)
			}
		}
	})
	return dir, rel, id
}

// TestContainerContext runs a real process in a cgroup laid out as a
// docker container's, one on the host and one in a new network
// namespace, and checks each event's cgroup, container and namespaces
// against what the kernel shows in /proc.
func TestContainerContext(t *testing.T) {
	tmp := t.TempDir()
	_, c := startMonitor(t, Config{Types: []event.Type{event.TypeOpen, event.TypeExit}, Open: OpenFilter{Prefixes: []string{tmp + "/"}}})
	r, err := cgroup.NewResolver()
	if err != nil {
		t.Fatalf("cgroup2 hierarchy: %v", err)
	}
	defer r.Close()
	dir, rel, id := containerCgroup(t, r)
	wantID, err := r.IDOf(rel)
	if err != nil {
		t.Fatal(err)
	}
	selfRel, err := cgroup.ProcPath(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}

	file := filepath.Join(tmp, "ctx")
	ctrPid, ctrNS := runContext(t, dir, "-", file)
	hostPid, hostNS := runContext(t, "-", "-", file)
	netPid, netNS := runContext(t, "-", "net", file)
	if netNS.Net == hostNS.Net {
		t.Fatalf("unshare gave the same net namespace %d", netNS.Net)
	}

	opens := map[uint32]event.Process{}
	c.waitFor(t, 3, 5*time.Second, "the helpers' opens", func(e *event.Event) bool {
		if e.Type != event.TypeOpen || e.Open.Path != file {
			return false
		}
		opens[e.Process.Pid] = e.Process
		return e.Process.Pid == ctrPid || e.Process.Pid == hostPid || e.Process.Pid == netPid
	})
	exit := c.waitFor(t, 1, 5*time.Second, "the containerised helper's exit", func(e *event.Event) bool {
		return e.Type == event.TypeExit && e.Process.Pid == ctrPid && !e.Exit.Thread
	})[0].Process

	for _, p := range []event.Process{opens[ctrPid], exit} {
		if p.Cgroup.ID != wantID || p.Cgroup.Path != rel {
			t.Errorf("containerised helper's cgroup = %+v, want {%d %s}", p.Cgroup, wantID, rel)
		}
		if p.Container == nil || p.Container.ID != id || p.Container.Runtime != event.RuntimeDocker {
			t.Errorf("containerised helper's container = %+v, want {%s docker}", p.Container, id)
		}
	}
	if p := opens[ctrPid]; p.Namespaces != ctrNS {
		t.Errorf("containerised helper's namespaces = %+v, /proc says %+v", p.Namespaces, ctrNS)
	}
	host := opens[hostPid]
	if host.Container != nil || host.Cgroup.Path != selfRel || host.Namespaces != hostNS {
		t.Errorf("host helper: cgroup %+v container %+v namespaces %+v; want cgroup %s, no container, namespaces %+v",
			host.Cgroup, host.Container, host.Namespaces, selfRel, hostNS)
	}
	if p := opens[netPid]; p.Namespaces != netNS || p.Container != nil {
		t.Errorf("net-unsharing helper: namespaces %+v container %+v, want %+v and none", p.Namespaces, p.Container, netNS)
	}
	// A policy with container: true fires for the containerised
	// helper's events only; container: false for the others.
	set, err := policy.Load("testdata/container-policy.yaml")
	if err != nil {
		t.Fatal(err)
	}
	for pid, want := range map[uint32]string{ctrPid: "open-in-container", hostPid: "open-on-host", netPid: "open-on-host"} {
		ev := &event.Event{Type: event.TypeOpen, Process: opens[pid], Open: &event.Open{ResolvedPath: file}}
		var got []string
		for _, r := range set.Match(ev, nil) {
			got = append(got, r.Name)
		}
		if strings.Join(got, ",") != want {
			t.Errorf("pid %d (container %+v): rules %v matched, want %s", pid, opens[pid].Container, got, want)
		}
	}
	t.Logf("container: %+v %+v; host: %+v %+v", opens[ctrPid].Cgroup, opens[ctrPid].Namespaces, host.Cgroup, host.Namespaces)
}
