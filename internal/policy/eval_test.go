package policy

import (
	"iter"
	"slices"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// chain is an Ancestry with fixed ancestors for every pid.
type chain []string

func (c chain) Ancestors(uint32) iter.Seq[string] { return slices.Values(c) }

func mustLoad(t *testing.T, paths ...string) *Set {
	t.Helper()
	set, err := Load(paths...)
	if err != nil {
		t.Fatalf("Load(%v): %v", paths, err)
	}
	return set
}

func names(rs []*Rule) string {
	var s []string
	for _, r := range rs {
		s = append(s, r.Name)
	}
	return strings.Join(s, ",")
}

func TestMatch(t *testing.T) {
	set := mustLoad(t, "testdata/good/every-matcher.yaml", "builtin:baseline")
	exec := func(path string, mod func(*event.Event)) *event.Event {
		ev := &event.Event{Type: event.TypeExec, Process: event.Process{Pid: 10, Comm: "x", Uid: 1000},
			Exec: &event.Exec{Path: path, Args: []string{path}}}
		if mod != nil {
			mod(ev)
		}
		return ev
	}
	cases := []struct {
		desc string
		ev   *event.Event
		anc  Ancestry
		want string
	}{
		{"exec from /tmp", exec("/tmp/x", nil), nil, "no-exec-from-tmp"},
		{"exec from /usr/bin matches nothing", exec("/usr/bin/true", nil), nil, ""},
		{"a prefix is a string prefix", exec("/tmpfoo/x", nil), nil, ""},
		{"nc -l as root", exec("/usr/bin/ncat", func(e *event.Event) { e.Exec.Args = []string{"ncat", "-lvp", "4444"}; e.Process.Uid = 0 }), nil, "nc-listener"},
		{"nc -l as a user", exec("/usr/bin/ncat", func(e *event.Event) { e.Exec.Args = []string{"ncat", "-l"} }), nil, ""},
		{"nc without -l", exec("/usr/bin/ncat", func(e *event.Event) { e.Process.Uid = 0 }), nil, ""},
		{"shell from nginx under /usr/sbin", exec("/bin/sh", func(e *event.Event) { e.Process.Comm = "sh"; e.Process.ParentComm = "nginx" }), chain{"/usr/sbin/nginx", "/sbin/init"}, "shell-from-web"},
		{"shell from nginx elsewhere", exec("/bin/sh", func(e *event.Event) { e.Process.Comm = "sh"; e.Process.ParentComm = "nginx" }), chain{"/opt/nginx", "/lib/systemd/systemd"}, ""},
		{"without a table only the parent counts", exec("/bin/sh", func(e *event.Event) {
			e.Process.Comm = "sh"
			e.Process.ParentComm = "nginx"
			e.Process.ParentExe = "/usr/sbin/nginx"
		}), nil, "shell-from-web"},
		{"memfd", exec("/memfd:x (deleted)", func(e *event.Event) { e.Exec.Memfd = true; e.Exec.Deleted = true }), nil, "memfd,exec-memfd,exec-deleted"},
		{"deleted in /tmp", exec("/tmp/y (deleted)", func(e *event.Event) { e.Exec.Deleted = true }), nil, "deleted-in-tmp,no-exec-from-tmp,exec-deleted"},
		{"mprotect rwx", &event.Event{Type: event.TypeMprotect, Mprotect: &event.Mprotect{Prot: unix.PROT_READ | unix.PROT_WRITE | unix.PROT_EXEC, WX: true}}, nil, "rwx-request,no-wx-memory"},
		{"mprotect rx flip", &event.Event{Type: event.TypeMprotect, Mprotect: &event.Mprotect{Prot: unix.PROT_READ | unix.PROT_EXEC, WX: true}}, nil, "rwx-request,no-wx-memory"},
		{"mprotect rw", &event.Event{Type: event.TypeMprotect, Mprotect: &event.Mprotect{Prot: unix.PROT_READ | unix.PROT_WRITE}}, nil, ""},
		{"module", &event.Event{Type: event.TypeModule, Module: &event.Module{Name: "nf_tables"}}, nil, "nf-tables,module-load"},
		{"open shadow for write", &event.Event{Type: event.TypeOpen, Open: &event.Open{ResolvedPath: "/etc/shadow", Flags: unix.O_WRONLY}}, nil, "shadow-write"},
		{"open shadow rdwr", &event.Event{Type: event.TypeOpen, Open: &event.Open{ResolvedPath: "/etc/shadow", Flags: unix.O_RDWR}}, nil, "shadow-write"},
		{"open shadow creat|trunc read-only", &event.Event{Type: event.TypeOpen, Open: &event.Open{ResolvedPath: "/etc/shadow", Flags: unix.O_CREAT | unix.O_TRUNC}}, nil, "shadow-write"},
		{"open shadow for read", &event.Event{Type: event.TypeOpen, Open: &event.Open{ResolvedPath: "/etc/shadow", Flags: unix.O_RDONLY | unix.O_CLOEXEC}}, nil, ""},
		{"open with only the caller's path does not match", &event.Event{Type: event.TypeOpen, Open: &event.Open{Path: "/etc/shadow", Flags: unix.O_WRONLY}}, nil, ""},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			if got := names(set.Match(c.ev, c.anc)); got != c.want {
				t.Errorf("Match = %q, want %q", got, c.want)
			}
		})
	}
}

func TestPlan(t *testing.T) {
	set := mustLoad(t, "testdata/good/every-matcher.yaml", "builtin:baseline")
	// This machine: fanotify, no BPF LSM.
	_, err := set.Plan(Available{Kill: true, Fanotify: true, FanotifyErrno: true})
	if err != nil {
		t.Fatalf("Plan with fanotify: %v", err)
	}
	plan, err := set.Plan(Available{Kill: true, LSM: true, Fanotify: true})
	if err != nil {
		t.Fatalf("Plan with LSM: %v", err)
	}
	for r, m := range plan {
		want := MechKill
		if r.Action == ActionDeny {
			want = MechLSM
		}
		if m != want {
			t.Errorf("rule %s: mechanism %s, want %s", r.Name, m, want)
		}
	}
	// Nothing but kill: every deny rule is refused, each at its action.
	_, err = set.Plan(Available{Kill: true})
	pe := yamldoc.Errors(err)
	if len(pe) != 3 {
		t.Fatalf("Plan(kill only) = %v, want 3 errors", err)
	}
	if pe[0].Field != "rules[4].action" || pe[0].Line != 32 || !strings.Contains(pe[0].Msg, "BPF LSM is not available") {
		t.Errorf("first error = %v", pe[0])
	}
}

func TestPlanRefusesWhatOnlyLSMCanDo(t *testing.T) {
	set := mustLoad(t, "testdata/lsm-only.yaml")
	_, err := set.Plan(Available{Kill: true, Fanotify: true})
	pe := yamldoc.Errors(err)
	want := []string{
		"rules[0].action: deny on mprotect cannot be enforced here: BPF LSM is not available",
		"rules[1].action: deny on module cannot be enforced here",
		"rules[2].action: deny on exec cannot be enforced here: BPF LSM is not available on this kernel; fanotify cannot do it: the exec's arguments",
		"rules[3].action: deny on exec cannot be enforced here: BPF LSM is not available on this kernel; fanotify cannot do it: memfds",
		"rules[4].action: deny on open cannot be enforced here: BPF LSM is not available on this kernel; fanotify cannot fail a call with ENOSPC before Linux 6.13",
		"rules[5].action: deny on open cannot be enforced here: BPF LSM is not available on this kernel; fanotify cannot do it: fanotify cannot fail a call with EACCES",
		"rules[6].action: deny on exec cannot be enforced here: BPF LSM is not available on this kernel; fanotify cannot do it: fanotify needs path or path_prefix",
	}
	if len(pe) != len(want) {
		t.Fatalf("got %d errors, want %d:\n%v", len(pe), len(want), err)
	}
	for i, w := range want {
		if !strings.Contains(pe[i].Error(), w) {
			t.Errorf("error %d = %q\nwant it to contain %q", i, pe[i], w)
		}
	}
	needs := set.Needs()
	if len(needs) != 4 || needs[0].Event != event.TypeMprotect || len(needs[3].Options) != 2 {
		t.Errorf("Needs = %+v", needs)
	}
}
