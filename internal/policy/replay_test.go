package policy

import (
	"bytes"
	"strings"
	"testing"
)

// FuzzReplay feeds arbitrary bytes as a recorded event stream: Replay
// must report bad lines as errors, never panic.
func FuzzReplay(f *testing.F) {
	set := mustLoadF(f, "builtin:detect")
	for _, s := range []string{
		`{"type":"open","process":{"pid":1,"comm":"cat"},"resolved_path":"/etc/shadow","flags_raw":0}`,
		`{"type":"exec","process":{"pid":1,"ancestors":[{"pid":0,"exe":"/usr/bin/dpkg"}]},"path":"/tmp/x","args":["x","-e"]}`,
		`{"type":"module"}`, `{"type":"lost","lost":{"exec":1}}`, "not json\n\n{}", `{"type":"open","resolved_path":7}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		_, _ = set.Replay(bytes.NewReader(b), "fuzz", func(Hit) error { return nil })
	})
}

func mustLoadF(f *testing.F, paths ...string) *Set {
	set, err := Load(paths...)
	if err != nil {
		f.Fatal(err)
	}
	return set
}

func TestReplayAncestry(t *testing.T) {
	set := mustLoad(t, "builtin:detect")
	in := strings.Join([]string{
		// useradd by hand: fires.
		`{"type":"exec","process":{"pid":5,"comm":"useradd","ancestors":[{"pid":4,"exe":"/usr/bin/bash"}]},"path":"/usr/sbin/useradd","args":["useradd","eve"]}`,
		// useradd from a package's maintainer script, below dpkg: quiet.
		`{"type":"exec","process":{"pid":7,"comm":"useradd","ancestors":[{"pid":6,"exe":"/usr/bin/dash"},{"pid":3,"exe":"/usr/bin/dpkg"}]},"path":"/usr/sbin/useradd","args":["useradd","--system","svc"]}`,
		// Only the parent recorded (no ancestors): parent_exe stands in.
		`{"type":"exec","process":{"pid":9,"comm":"useradd","parent_exe":"/usr/bin/dpkg"},"path":"/usr/sbin/useradd","args":["useradd","x"]}`,
	}, "\n")
	var lines []int
	st, err := set.Replay(strings.NewReader(in), "mem", func(h Hit) error {
		lines = append(lines, h.Line)
		if h.Rule.Name != "detect-user-added" || h.Event.Verdict.Severity != "medium" || h.Event.Verdict.Enforced {
			t.Errorf("hit %+v verdict %+v", h.Rule.Name, h.Event.Verdict)
		}
		return nil
	})
	if err != nil || st.Events != 3 || len(lines) != 1 || lines[0] != 1 {
		t.Errorf("hits at %v, stats %+v, err %v; want only line 1", lines, st, err)
	}
}
