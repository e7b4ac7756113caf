package event

import (
	"encoding/json"
	"reflect"
	"strings"
	"testing"
	"time"
)

// TestContainerContextJSON checks the process's container members: each
// written only when known, and read back exactly.
func TestContainerContextJSON(t *testing.T) {
	ts := time.Date(2026, 12, 6, 5, 0, 0, 0, time.UTC)
	host := Process{Pid: 7, Comm: "sh", Cgroup: Cgroup{ID: 1, Path: "/"},
		Namespaces: Namespaces{Pid: 4026531836, Mnt: 4026531841, Net: 4026531840, User: 4026531837}}
	ctr := host
	ctr.Cgroup = Cgroup{ID: 9876, Path: "/system.slice/docker-" + strings.Repeat("ab", 32) + ".scope"}
	ctr.Container = &Container{ID: strings.Repeat("ab", 32), Runtime: RuntimeDocker}
	unresolved := host
	unresolved.Cgroup = Cgroup{ID: 42}
	cases := []struct {
		name    string
		p       Process
		want    []string // substrings of the JSON
		notWant []string
	}{
		{"host", host, []string{`"cgroup":{"id":1,"path":"/"}`, `"namespaces":{"pid":4026531836,"mnt":4026531841,"net":4026531840,"user":4026531837}`}, []string{`"container"`}},
		{"container", ctr, []string{`"container":{"id":"` + strings.Repeat("ab", 32) + `","runtime":"docker"}`, `"path":"/system.slice/docker-`}, nil},
		{"unresolved path", unresolved, []string{`"cgroup":{"id":42}`}, []string{`"container"`}},
		{"no context", Process{Pid: 1}, nil, []string{`"cgroup"`, `"namespaces"`, `"container"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			ev := Event{Type: TypeExit, Time: ts, Process: c.p, Exit: &Exit{}}
			b := ev.AppendJSON(nil)
			for _, w := range c.want {
				if !strings.Contains(string(b), w) {
					t.Errorf("JSON %s lacks %s", b, w)
				}
			}
			for _, w := range c.notWant {
				if strings.Contains(string(b), w) {
					t.Errorf("JSON %s has %s", b, w)
				}
			}
			var got Event
			if err := json.Unmarshal(b, &got); err != nil {
				t.Fatalf("decoding %s: %v", b, err)
			}
			if !reflect.DeepEqual(got.Process, c.p) {
				t.Errorf("round trip: got %+v, want %+v", got.Process, c.p)
			}
		})
	}
}

// TestContainerContextBadJSON: a malformed member is an error, not a panic.
func TestContainerContextBadJSON(t *testing.T) {
	for _, in := range []string{
		`{"type":"exit","process":{"cgroup":{"id":"x"}}}`,
		`{"type":"exit","process":{"namespaces":[1]}}`,
		`{"type":"exit","process":{"container":{"id":5}}}`,
	} {
		var e Event
		if err := json.Unmarshal([]byte(in), &e); err == nil {
			t.Errorf("decoding %s: no error", in)
		}
	}
}

func TestMatchID(t *testing.T) {
	id := strings.Repeat("0123456789abcdef", 4)
	cases := []struct {
		name, id, want string
		ok             bool
	}{
		{"full", id, id, true},
		{"12-char prefix", id, id[:12], true},
		{"longer prefix", id, id[:20], true},
		{"too short a prefix", id, id[:11], false},
		{"other id", id, strings.Repeat("f", 12), false},
		{"name exact", "web", "web", true},
		{"name prefix is not a match", "webserver-one", "webserver-on", false},
		{"empty", id, "", false},
	}
	for _, c := range cases {
		if got := (&Container{ID: c.id}).MatchesID(c.want); got != c.ok {
			t.Errorf("%s: MatchesID(%q, %q) = %v, want %v", c.name, c.id, c.want, got, c.ok)
		}
	}
}

func BenchmarkAppendJSONContainer(b *testing.B) {
	id := strings.Repeat("ab", 32)
	ev := Event{Type: TypeExit, Time: time.Now(), Exit: &Exit{}, Process: Process{Pid: 1, Comm: "sh",
		Cgroup:     Cgroup{ID: 9, Path: "/system.slice/docker-" + id + ".scope"},
		Namespaces: Namespaces{Pid: 1, Mnt: 2, Net: 3, User: 4},
		Container:  &Container{ID: id, Runtime: RuntimeDocker}}}
	buf := ev.AppendJSON(nil)
	b.ReportAllocs()
	for b.Loop() {
		buf = ev.AppendJSON(buf[:0])
	}
}
