package cli

import (
	"bufio"
	"encoding/json"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// testdata/replay/recorded.ndjson was recorded by vigil monitor --events
// exec,open (opens by cat, passwd and sh) while a shell ran: cat
// /etc/shadow (line 2), passwd -S root (reads /etc/shadow, line 4), cat
// /etc/hostname, sh -c ': >> /etc/hostname' (line 10) and cat
// /proc/self/environ.

func TestPolicyReplayText(t *testing.T) {
	code, out, errOut := run(t, "policy", "replay", "builtin:detect", "testdata/replay/recorded.ndjson")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 2 {
		t.Fatalf("want 2 hits, got:\n%s", out)
	}
	for i, want := range []string{
		"testdata/replay/recorded.ndjson:2: ", "[log detect-shadow-read enforced=false severity=high mitre=T1003.008]",
		"testdata/replay/recorded.ndjson:10: ", "[log detect-etc-write enforced=false severity=low mitre=T1565.001]",
	} {
		if !strings.Contains(lines[i/2], want) {
			t.Errorf("line %d lacks %q: %s", i/2, want, lines[i/2])
		}
	}
	if !strings.HasPrefix(lines[0], "testdata/replay/recorded.ndjson:2: ") || strings.Contains(out, "TIME") {
		t.Errorf("a hit line starts FILE:LINE: and no header is printed:\n%s", out)
	}
	if !strings.Contains(errOut, "12 events, 2 matched") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestPolicyReplayJSON(t *testing.T) {
	code, out, errOut := run(t, "policy", "replay", "--json", "builtin:detect", "builtin:baseline", "testdata/replay/recorded.ndjson")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	var got []*event.Event
	sc := bufio.NewScanner(strings.NewReader(out))
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		ev := &event.Event{}
		if err := json.Unmarshal(sc.Bytes(), ev); err != nil {
			t.Fatalf("%v: %s", err, sc.Bytes())
		}
		got = append(got, ev)
	}
	if len(got) != 2 {
		t.Fatalf("want 2 events, got %d:\n%s", len(got), out)
	}
	v := got[0].Verdict
	if got[0].Open == nil || got[0].Open.ResolvedPath != "/etc/shadow" || got[0].Process.Comm != "cat" ||
		v == nil || v.Rule != "detect-shadow-read" || v.Action != "log" || v.Enforced || v.Severity != "high" || v.Mitre != "T1003.008" {
		t.Errorf("first hit: %+v verdict %+v", got[0], v)
	}
}

// TestPolicyReplayTuned replays a tuned copy of a rule: the exception
// for the backup job's cat silences the hit that builtin:detect had.
func TestPolicyReplayTuned(t *testing.T) {
	code, out, errOut := run(t, "policy", "replay", "testdata/replay/tuned.yaml", "testdata/replay/recorded.ndjson")
	if code != 0 || out != "" {
		t.Fatalf("exit %d, want no hit; stdout:\n%s\nstderr:\n%s", code, out, errOut)
	}
	if !strings.Contains(errOut, "12 events, 0 matched") {
		t.Errorf("summary: %s", errOut)
	}
}

func TestPolicyReplayBadLines(t *testing.T) {
	code, out, errOut := run(t, "policy", "replay", "builtin:detect", "testdata/replay/bad.ndjson")
	if code != 1 {
		t.Errorf("exit %d, want 1", code)
	}
	// The good lines around the bad ones are still replayed.
	if !strings.Contains(out, "bad.ndjson:1: ") || !strings.Contains(out, "bad.ndjson:8: ") {
		t.Errorf("good lines not replayed:\n%s", out)
	}
	for _, want := range []string{
		"2 events, 2 matched, 5 bad lines",
		"testdata/replay/bad.ndjson:2: not an event: invalid character",
		"testdata/replay/bad.ndjson:4: unknown event type \"bogus\"",
		"testdata/replay/bad.ndjson:5: not an event: no \"type\"",
		"testdata/replay/bad.ndjson:6: not an event:",
		"testdata/replay/bad.ndjson:7: not an event: decoding resolved_path",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
}

func TestPolicyReplayErrors(t *testing.T) {
	cases := []struct {
		desc string
		args []string
		code int
		want string
	}{
		{"no events file", []string{"builtin:detect"}, 2, "requires at least 2 arg"},
		{"missing events file", []string{"builtin:detect", "testdata/replay/none.ndjson"}, 1, "opening events"},
		{"bad policy", []string{"../policy/testdata/bad/metadata.yaml", "testdata/replay/recorded.ndjson"}, 1, "metadata.yaml:5:15: rules[0].severity: unknown severity"},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			code, _, errOut := run(t, append([]string{"policy", "replay"}, c.args...)...)
			if code != c.code || !strings.Contains(errOut, c.want) {
				t.Errorf("exit %d, want %d; stderr lacks %q:\n%s", code, c.code, c.want, errOut)
			}
		})
	}
}

func TestPolicyCheckShowsMetadata(t *testing.T) {
	code, out, errOut := run(t, "policy", "check", "builtin:detect")
	if code != 0 {
		t.Fatalf("exit %d\n%s", code, errOut)
	}
	if !strings.Contains(out, "detect-shadow-read (builtin:detect:") || !strings.Contains(out, "[high T1003.008]") {
		t.Errorf("summary lacks a rule's severity and mitre:\n%s", out)
	}
}
