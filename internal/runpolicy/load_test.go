package runpolicy

import (
	"os"
	"strings"
	"syscall"
	"testing"

	"github.com/vigil-sec/vigil/internal/seccomp"
)

func TestLoadGood(t *testing.T) {
	data, err := os.ReadFile("testdata/good.yaml")
	if err != nil {
		t.Fatal(err)
	}
	p, err := Load("good.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Paths) != 4 || len(p.Syscalls) != 1 {
		t.Fatalf("got %d path and %d syscall rules", len(p.Paths), len(p.Syscalls))
	}
	want := seccomp.PathRule{Name: "fake-hosts", Path: "/etc/hosts", Action: seccomp.ActionRedirect, Errno: syscall.EACCES, Target: "/tmp/hosts"}
	if p.Paths[0] != want {
		t.Errorf("rule 0 = %+v, want %+v", p.Paths[0], want)
	}
	if r := p.Paths[1]; r.Errno != syscall.EPERM || r.Action != seccomp.ActionDeny {
		t.Errorf("rule 1 = %+v", r)
	}
	if r := p.Paths[2]; !r.Prefix || r.Errno != syscall.EACCES {
		t.Errorf("rule 2 = %+v", r)
	}
	if r := p.Syscalls[0]; r.Nr != 101 || r.Errno != syscall.ENOSYS {
		t.Errorf("syscall rule = %+v", r)
	}
}

func TestLoadBad(t *testing.T) {
	data, err := os.ReadFile("testdata/bad.yaml")
	if err != nil {
		t.Fatal(err)
	}
	_, err = Load("bad.yaml", data)
	if err == nil {
		t.Fatal("no error")
	}
	// Every problem at once, each with its position and field.
	for _, want := range []string{
		`bad.yaml:4:13: rules[0].action: want deny, redirect, log or allow, got "kill"`,
		`bad.yaml:5:11: rules[1].path: want an absolute path, got "relative/file"`,
		`bad.yaml:7:14: rules[2].syscall: unknown x86_64 syscall "no_such_call"`,
		`bad.yaml:9:5: rules[3]: want exactly one of syscall, path, path_prefix`,
		`bad.yaml:12:5: rules[4]: a redirect rule needs a target`,
		`bad.yaml:16:12: rules[5].errno: unknown errno "ENOTANERRNO"`,
		`bad.yaml:17:5: rules[5].colour: unknown key`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

func TestLoadNotYAML(t *testing.T) {
	for _, tt := range []struct{ desc, in, want string }{
		{"syntax error", "rules: [", "x.yaml: yaml: line 1"},
		{"empty", "", "x.yaml: empty policy"},
		{"no rules", "rulez: []", `x.yaml:1:1: rulez: unknown key`},
		{"rules not a list", "rules: 3", "x.yaml:1:8: rules: want a list of rules"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			_, err := Load("x.yaml", []byte(tt.in))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %v, want %q", err, tt.want)
			}
		})
	}
}

func TestBuild(t *testing.T) {
	rs, err := Build(Flags{
		Redirects:    []string{"a=/tmp/b"},
		Copycat:      "/x /y  /p q",
		Deny:         []string{"/etc/shadow"},
		DenyPrefix:   []string{"/root/"},
		Errno:        "EPERM",
		DenySyscalls: []string{"ptrace", "mount=ENOSYS"},
	}, "/home/u", nil)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{}
	for _, r := range rs.Paths {
		got = append(got, r.Action.String()+" "+r.Path+" "+r.Target)
	}
	want := []string{"redirect /home/u/a /tmp/b", "redirect /x /y", "redirect /p /home/u/q", "deny /etc/shadow ", "deny /root "}
	if strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("paths %q, want %q", got, want)
	}
	if rs.Paths[3].Errno != syscall.EPERM || !rs.Paths[4].Prefix {
		t.Errorf("deny rules %+v", rs.Paths[3:])
	}
	if len(rs.Syscalls) != 2 || rs.Syscalls[0].Errno != syscall.EPERM || rs.Syscalls[1].Errno != syscall.ENOSYS {
		t.Errorf("syscalls %+v", rs.Syscalls)
	}
}

func TestBuildErrors(t *testing.T) {
	_, err := Build(Flags{
		Redirects:    []string{"nodst", "=x"},
		Copycat:      "/a /b /c",
		Errno:        "EWHAT",
		DenySyscalls: []string{"fly", "ptrace=99999"},
	}, "/", nil)
	for _, want := range []string{
		`--redirect "nodst": want SRC=DST`,
		`--redirect "=x": want SRC=DST`,
		`COPYCAT: want pairs "SRC DST ...", got 3 words`,
		`--errno: unknown errno "EWHAT"`,
		`--deny-syscall "fly": unknown x86_64 syscall "fly"`,
		`--deny-syscall "ptrace=99999": errno 99999 out of range 1-4095`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}
