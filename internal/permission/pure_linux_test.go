package permission

import (
	"os"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
	"github.com/vigil-sec/vigil/internal/proc"
)

func TestTaskComm(t *testing.T) {
	for in, want := range map[string]string{
		"/usr/bin/true":                      "true",
		"/tmp/x/a-very-long-program-name.sh": "a-very-long-pro",
		"/":                                  "/",
	} {
		if got := taskComm(in); got != want {
			t.Errorf("taskComm(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestOpenFlags(t *testing.T) {
	cases := []struct {
		desc  string
		nr    int64
		args  [6]uint64
		flags uint32
		ok    bool
	}{
		{"openat", unix.SYS_OPENAT, [6]uint64{0xffffff9c, 0x7ffd, unix.O_WRONLY | unix.O_CREAT}, unix.O_WRONLY | unix.O_CREAT, true},
		{"execve reads", unix.SYS_EXECVE, [6]uint64{}, unix.O_RDONLY, true},
		{"openat2 is unknown", unix.SYS_OPENAT2, [6]uint64{}, 0, false},
		{"another call is unknown", unix.SYS_READ, [6]uint64{}, 0, false},
	}
	for _, c := range cases {
		f, ok := openFlags(c.nr, c.args)
		if f != c.flags || ok != c.ok {
			t.Errorf("%s: openFlags = %#x %v, want %#x %v", c.desc, f, ok, c.flags, c.ok)
		}
	}
}

func TestReadProc(t *testing.T) {
	st, ok := readStatus(uint32(os.Getpid()))
	if !ok || st.Tgid != uint32(os.Getpid()) || st.Ppid != uint32(os.Getppid()) || st.Uid[0] != uint32(os.Getuid()) || st.Gid[0] != uint32(os.Getgid()) || st.Name == "" {
		t.Errorf("readStatus(self) = %+v %v", st, ok)
	}
	if !isOwnThread(uint32(unix.Gettid())) {
		t.Error("isOwnThread(gettid()) = false")
	}
	if isOwnThread(1) {
		t.Error("isOwnThread(1) = true")
	}
	if exe := proc.Host.Exe(uint32(os.Getpid())); exe == "" {
		t.Error("Exe(self) is empty")
	}
}

func TestFailClosed(t *testing.T) {
	r := &policy.Rule{Name: "r", Event: event.TypeOpen, Match: policy.Match{
		Path: []string{"/x"}, Uid: []uint32{0}, OpenFlags: []policy.OpenFlagSet{{Write: true}}}}
	ev := &event.Event{Type: event.TypeOpen, Process: event.Process{Uid: 1000}, Open: &event.Open{ResolvedPath: "/x"}}
	if failClosed(r, ev, true, true, true, false).Matches(ev, nil) {
		t.Error("a read by uid 1000 matched")
	}
	if !failClosed(r, ev, false, false, true, false).Matches(ev, nil) {
		t.Error("with /proc unreadable the rule must match (fail closed)")
	}
	ev.Open.ResolvedPath = "/other-name"
	ev.Process.Uid = 0
	ev.Open.Flags = unix.O_WRONLY
	if !failClosed(r, ev, true, true, true, true).Matches(ev, nil) {
		t.Error("a match by inode under another name must match")
	}
	if r.Match.Path == nil {
		t.Error("failClosed changed the rule itself")
	}

	// Container matchers: on a host process they do not hold; with the
	// process's cgroup unreadable they count as matching.
	yes := true
	cr := &policy.Rule{Name: "c", Event: event.TypeOpen, Match: policy.Match{Path: []string{"/x"}, Container: &yes}}
	ev = &event.Event{Type: event.TypeOpen, Process: event.Process{Cgroup: event.Cgroup{ID: 1, Path: "/"}}, Open: &event.Open{ResolvedPath: "/x"}}
	if failClosed(cr, ev, true, true, true, false).Matches(ev, nil) {
		t.Error("container: true matched a host process")
	}
	ev.Process.Cgroup = event.Cgroup{}
	if !failClosed(cr, ev, true, true, false, false).Matches(ev, nil) {
		t.Error("with /proc/PID/cgroup unreadable container: true must match (fail closed)")
	}
}
