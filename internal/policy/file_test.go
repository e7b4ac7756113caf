package policy

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestFileRules: path and path_prefix on file-tampering events match
// either name of a rename or link, mode_bits any listed bit of a chmod.
func TestFileRules(t *testing.T) {
	set := mustLoad(t, "testdata/file/rules.yaml")
	file := func(ty event.Type, f event.File) *event.Event {
		return &event.Event{Type: ty, Process: event.Process{Pid: 1, Comm: "x"}, File: &f}
	}
	for _, tt := range []struct {
		desc string
		ev   *event.Event
		want string
	}{
		{"chmod u+s", file(event.TypeChmod, event.File{Path: "/home/u/x", Mode: 0o4755}), "setuid-anywhere"},
		{"chmod g+s in /tmp: both rules", file(event.TypeChmod, event.File{Path: "/tmp/x", Mode: 0o2755}), "setuid-anywhere"},
		{"chmod u+s in /tmp: both rules", file(event.TypeChmod, event.File{Path: "/tmp/x", Mode: 0o4755}), "setuid-anywhere,deny-setuid-tmp"},
		{"plain chmod", file(event.TypeChmod, event.File{Path: "/tmp/x", Mode: 0o755}), ""},
		{"rename into /etc (new name)", file(event.TypeRename, event.File{Path: "/tmp/p", NewPath: "/etc/passwd"}), "etc-tamper"},
		{"rename out of /etc (old name)", file(event.TypeRename, event.File{Path: "/etc/passwd", NewPath: "/tmp/p"}), "etc-tamper"},
		{"rename elsewhere", file(event.TypeRename, event.File{Path: "/tmp/a", NewPath: "/tmp/b"}), ""},
		{"hard link to /etc/shadow", file(event.TypeLink, event.File{Path: "/etc/shadow", NewPath: "/tmp/s"}), "kill-shadow-link"},
	} {
		if got := names(set.Match(tt.ev, nil)); got != tt.want {
			t.Errorf("%s: matched %q, want %q", tt.desc, got, tt.want)
		}
	}
}

// TestFileRulesKernel: the kernel form carries mode_bits as one flag set
// per bit, and the file types accept kill and deny.
func TestFileRulesKernel(t *testing.T) {
	set := mustLoad(t, "testdata/file/rules.yaml")
	plan, err := set.Plan(Available{Kill: true, LSM: true})
	if err != nil {
		t.Fatal(err)
	}
	k, err := set.Kernel(plan, func(string) (FileID, bool, error) { return FileID{Dev: 1, Ino: 7}, true, nil })
	if err != nil {
		t.Fatal(err)
	}
	if len(k.Rules) != 2 || k.Rules[0].Name != "kill-shadow-link" || k.Rules[1].Name != "deny-setuid-tmp" {
		t.Fatalf("kernel rules %v, want kill-shadow-link and deny-setuid-tmp", k.Rules)
	}
	if s := k.Sets[event.TypeLink]; s == nil || s.Kill != 1 || s.UsePath != 1 {
		t.Errorf("link set %+v, want rule 0 killing by path", s)
	}
	s := k.Sets[event.TypeChmod]
	if s == nil || s.Deny != 2 || s.UsePrefix != 2 || s.UseFlags != 2 {
		t.Errorf("chmod set %+v, want rule 1 denying by prefix and mode", s)
	}
	if fs := k.OpenFlags[1]; len(fs) != 1 || fs[0].Bits != 0o4000 {
		t.Errorf("mode sets %+v, want one with S_ISUID", fs)
	}
	// Without BPF LSM the deny rule is refused at its action.
	if _, err := set.Plan(Available{Kill: true}); err == nil || !strings.Contains(err.Error(), "deny on chmod cannot be enforced here: BPF LSM is not available") {
		t.Errorf("plan without BPF LSM: %v, want deny on chmod refused", err)
	}
}

// TestFileRulesBad: a mode bit vigil does not know, and mode_bits on
// another type, are errors at their positions.
func TestFileRulesBad(t *testing.T) {
	_, err := Load("testdata/file/bad-mode.yaml")
	for _, want := range []string{
		`testdata/file/bad-mode.yaml:5:19: rules[0].match.mode_bits[0]: unknown mode bit "suid" (expected one of setuid, setgid, sticky, world_writable)`,
		`testdata/file/bad-mode.yaml:10:7: rules[1].match.mode_bits: mode_bits does not apply to unlink events (it applies to chmod)`,
	} {
		if err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("error %v\nlacks %q", err, want)
		}
	}
}
