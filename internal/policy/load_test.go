package policy

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/golden"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// TestBadPolicies loads every file under testdata/bad and compares the
// errors, one "file:line:col: field: message" per line, with the golden
// file next to it.
func TestBadPolicies(t *testing.T) {
	golden.Each(t, "testdata/bad/*.yaml", ".err", func(t *testing.T, f string) string {
		set, err := Load(f)
		if err == nil {
			t.Fatalf("Load(%s) succeeded with %d rules; want errors", f, len(set.Rules))
		}
		if set != nil {
			t.Errorf("Load(%s) returned a Set with its error: a bad policy must not half-load", f)
		}
		if len(yamldoc.Errors(err)) == 0 {
			t.Fatalf("Load(%s) = %v: no *Error with a position", f, err)
		}
		got := err.Error() + "\n"
		for _, line := range strings.Split(strings.TrimSpace(got), "\n") {
			if !strings.HasPrefix(line, f+":") {
				t.Errorf("error line %q lacks the file:line:col prefix", line)
			}
		}
		return got
	})
}

func TestGoodPolicies(t *testing.T) {
	set, err := Load("testdata/good")
	if err != nil {
		t.Fatalf("Load(testdata/good): %v", err)
	}
	if len(set.Rules) != 9 {
		t.Errorf("got %d rules, want 9", len(set.Rules))
	}
	r := set.Rules[4] // shadow-write, in every-matcher.yaml (sorted first)
	if r.Name != "shadow-write" || r.Event != event.TypeOpen || r.Action != ActionDeny || len(r.Match.OpenFlags) != 2 {
		t.Errorf("rule 3 = %+v", r)
	}
	if p := r.FieldPos("match.open_flags"); p.Line != 31 || p.Col != 19 {
		t.Errorf("position of shadow-write's open_flags = %+v, want line 31 col 19", p)
	}
}

func TestLoadErrorsCombineFiles(t *testing.T) {
	_, err := Load("testdata/bad/bad-action.yaml", "testdata/bad/unknown-event.yaml", "testdata/does-not-exist.yaml")
	msg := err.Error()
	for _, want := range []string{"bad-action.yaml:6:13:", "unknown-event.yaml:3:12:", "does-not-exist.yaml"} {
		if !strings.Contains(msg, want) {
			t.Errorf("error lacks %q:\n%s", want, msg)
		}
	}
	// Rule names must be unique across files.
	_, err = Load("testdata/good/issue.yaml", "testdata/good/issue.yaml")
	if err == nil || !strings.Contains(err.Error(), "duplicate rule name") {
		t.Errorf("loading a file twice: %v, want duplicate rule name", err)
	}
}

func TestBuiltins(t *testing.T) {
	for _, name := range Builtins() {
		set, err := Load(name)
		if err != nil {
			t.Fatalf("Load(%s): %v", name, err)
		}
		for _, r := range set.Rules {
			if r.Description == "" {
				t.Errorf("%s: rule %s has no description", name, r.Name)
			}
		}
	}
	if _, err := Load("builtin:nope"); err == nil || !strings.Contains(err.Error(), "builtin:baseline") {
		t.Errorf("Load(builtin:nope) = %v, want an error listing builtin:baseline", err)
	}
	if _, err := Load("builtin:../load.go"); err == nil {
		t.Error("Load(builtin:../load.go) succeeded")
	}
}
