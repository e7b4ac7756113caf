package policy

import (
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

func TestExceptAndGlobs(t *testing.T) {
	set := mustLoad(t, "testdata/except.yaml")
	open := func(path string, flags uint32, comm string, pid uint32) *event.Event {
		return &event.Event{Type: event.TypeOpen, Process: event.Process{Pid: pid, Tid: pid, Comm: comm, Uid: 1000},
			Open: &event.Open{ResolvedPath: path, Flags: flags}}
	}
	exec := func(comm string, args ...string) *event.Event {
		return &event.Event{Type: event.TypeExec, Process: event.Process{Pid: 5, Comm: comm},
			Exec: &event.Exec{Path: "/usr/bin/" + comm, Args: append([]string{comm}, args...)}}
	}
	cases := []struct {
		desc string
		ev   *event.Event
		anc  Ancestry
		want string
	}{
		{"a key read by cat", open("/home/ann/.ssh/id_ed25519", unix.O_RDONLY, "cat", 9), nil, "key-read"},
		{"path_glob * does not cross /", open("/home/ann/x/.ssh/id_rsa", unix.O_RDONLY, "cat", 9), nil, ""},
		{"except by path_glob: a public key", open("/home/ann/.ssh/id_rsa.pub", unix.O_RDONLY, "cat", 9), nil, ""},
		{"except by comm: ssh", open("/home/ann/.ssh/id_rsa", unix.O_RDONLY, "ssh", 9), nil, ""},
		{"an except needs all its matchers: git, but not as uid 0", open("/home/ann/.ssh/id_rsa", unix.O_RDONLY, "git", 9), nil, "key-read"},
		{"an except needs all its matchers: git as uid 0", func() *event.Event {
			ev := open("/home/ann/.ssh/id_rsa", unix.O_RDONLY, "git", 9)
			ev.Process.Uid = 0
			return ev
		}(), nil, ""},
		{"except by ancestry", open("/home/ann/.ssh/id_rsa", unix.O_RDONLY, "cat", 9), chain{"/usr/bin/dpkg"}, ""},
		{"other_process: another pid's environ", open("/proc/1/environ", unix.O_RDONLY, "cat", 9), nil, "environ"},
		{"other_process: its own environ", open("/proc/9/environ", unix.O_RDONLY, "cat", 9), nil, ""},
		{"other_process: not below /proc/PID", open("/proc/cpuinfo", unix.O_RDONLY, "cat", 9), nil, ""},
		{"args_glob matches one whole argument", exec("grep", "-r", "id_rsa", "/home"), nil, "search"},
		{"args_glob ? and *", exec("nc", "-e/bin/sh"), nil, "search"},
		{"args_glob skips argv[0]", exec("grep", "x"), nil, ""},
		{"args_glob is case-sensitive", exec("grep", "ID_RSA"), nil, ""},
		{"a rule silenced by except lets the next match", open("/etc/shadow", unix.O_RDONLY, "sshd", 9), nil, "etc-read"},
		{"the first rule matches", open("/etc/shadow", unix.O_RDONLY, "cat", 9), nil, "shadow-read"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			got := ""
			if m := set.Match(c.ev, c.anc); len(m) > 0 {
				got = m[0].Name
			}
			if got != c.want {
				t.Errorf("first match = %q, want %q", got, c.want)
			}
		})
	}
}

func TestWildMatch(t *testing.T) {
	cases := []struct {
		pattern, s string
		want       bool
	}{
		{"*", "", true},
		{"-e*", "-e", true},
		{"-e*", "-e/bin/sh", true},
		{"-e*", "x-e", false},
		{"*EXEC:*", "EXEC:/bin/sh,pty", true},
		{"*EXEC:*", "TCP:1.2.3.4:80", false},
		{"a?c", "abc", true},
		{"a?c", "ac", false},
		{"*.pem", "/etc/ssl/private/k.pem", true},
		{"*a*b*c", "xxaxxbxxbc", true},
		{"*a*b*c", "xxaxxbxxb", false},
	}
	for _, c := range cases {
		if got := wildMatch(c.pattern, c.s); got != c.want {
			t.Errorf("wildMatch(%q, %q) = %v, want %v", c.pattern, c.s, got, c.want)
		}
	}
}

func TestMetadata(t *testing.T) {
	set := mustLoad(t, "testdata/except.yaml")
	r := set.Rule("key-read")
	if r.Severity != SeverityHigh || r.Mitre != "T1552.004" || r.Description == "" || len(r.Except) != 4 {
		t.Fatalf("key-read = %+v", r)
	}
	v := &event.Verdict{Rule: "key-read", Action: "log"}
	set.Annotate(v)
	if v.Severity != "high" || v.Mitre != "T1552.004" {
		t.Errorf("Annotate: %+v", v)
	}
	other := &event.Verdict{Rule: "not-in-set"}
	set.Annotate(other)
	if other.Severity != "" || other.Mitre != "" {
		t.Errorf("Annotate of a foreign rule: %+v", other)
	}
	if SeverityInfo.Rank() != 1 || SeverityCritical.Rank() != 5 || Severity("").Rank() != 0 {
		t.Error("Rank order")
	}
}

// TestBuiltinDetect checks the shape of builtin:detect: every rule has
// the metadata docs/detections.md lists, logs, and is documented there.
func TestBuiltinDetect(t *testing.T) {
	set := mustLoad(t, "builtin:detect", "builtin:baseline")
	n := 0
	for _, r := range set.Rules {
		if r.Pos.File != "builtin:detect" {
			continue
		}
		n++
		if r.Description == "" || r.Severity == "" || r.Mitre == "" {
			t.Errorf("%s: description %q severity %q mitre %q: every detect rule needs all three", r.Name, r.Description, r.Severity, r.Mitre)
		}
		if r.Action != ActionLog {
			t.Errorf("%s: action %s; builtin:detect logs", r.Name, r.Action)
		}
	}
	if n < 20 {
		t.Errorf("builtin:detect has %d rules", n)
	}
}

// BenchmarkDetectMatch is builtin:detect's userspace cost per event: an
// open and an exec that no rule matches (every rule of the type is
// tried).
func BenchmarkDetectMatch(b *testing.B) {
	set, err := Load("builtin:detect")
	if err != nil {
		b.Fatal(err)
	}
	open := &event.Event{Type: event.TypeOpen, Process: event.Process{Pid: 9, Tid: 9, Comm: "storm"},
		Open: &event.Open{ResolvedPath: "/tmp/bench/target", Flags: unix.O_RDONLY | unix.O_CLOEXEC}}
	exec := &event.Event{Type: event.TypeExec, Process: event.Process{Pid: 9, Comm: "true"},
		Exec: &event.Exec{Path: "/usr/bin/true", Args: []string{"true"}}}
	for _, c := range []struct {
		name string
		ev   *event.Event
	}{{"open", open}, {"exec", exec}} {
		b.Run(c.name, func(b *testing.B) {
			b.ReportAllocs()
			for range b.N {
				if m := set.Match(c.ev, chain{"/usr/bin/bash"}); len(m) != 0 {
					b.Fatalf("matched %s", m[0].Name)
				}
			}
		})
	}
}

func TestGlobPathAny(t *testing.T) {
	cases := []struct {
		path string
		glob string
		want bool
	}{
		{"/etc/passwd", "/etc/passwd", true},
		{"/etc/passwdX", "/etc/passwd", false},
		{"/etc/passw", "/etc/passwd", false},
		{"/etc/cron.d/x", "/etc/cron.d/*", true},
		{"/etc/cron.d/x/y", "/etc/cron.d/*", false},
		{"/etc/cron.daily/x", "/etc/cron.*/*", true},
		{"/home/a/.ssh/id_rsa", "/home/*/.ssh/id_*", true},
		{"/tmp/x", "/home/*/.ssh/id_*", false},
		{"/a/[b", `/a/\[b`, true},
	}
	for _, c := range cases {
		if got := globPathAny(c.path, []string{c.glob}); got != c.want {
			t.Errorf("globPathAny(%q, %q) = %v, want %v", c.path, c.glob, got, c.want)
		}
	}
}
