package policy

import (
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// TestContainerMatchers evaluates container, container_id and
// cgroup_prefix against processes on the host, in containers and
// without context.
func TestContainerMatchers(t *testing.T) {
	set := mustLoad(t, "testdata/container/rules.yaml")
	id := "0123456789ab" + strings.Repeat("c", 52)
	host := event.Process{Comm: "sh", Cgroup: event.Cgroup{ID: 1, Path: "/"}}
	docker := event.Process{Comm: "sh", Cgroup: event.Cgroup{ID: 7, Path: "/system.slice/docker-" + id + ".scope"},
		Container: &event.Container{ID: id, Runtime: event.RuntimeDocker}}
	nspawn := event.Process{Comm: "sh", Cgroup: event.Cgroup{ID: 8, Path: "/machine.slice/machine-web.scope"},
		Container: &event.Container{ID: "web", Runtime: event.RuntimeNspawn}}
	other := event.Process{Comm: "sh", Cgroup: event.Cgroup{ID: 9, Path: "/kubepods.slice/x/cri-containerd-" + strings.Repeat("d", 64) + ".scope"},
		Container: &event.Container{ID: strings.Repeat("d", 64), Runtime: event.RuntimeContainerd}}
	unknown := event.Process{Comm: "sh"} // a source without context
	ev := func(t event.Type, p event.Process) *event.Event {
		e := &event.Event{Type: t, Process: p}
		switch t {
		case event.TypeExec:
			e.Exec = &event.Exec{Path: "/bin/sh"}
		case event.TypeOpen:
			e.Open = &event.Open{ResolvedPath: "/etc/shadow"}
		case event.TypeExit:
			e.Exit = &event.Exit{}
		case event.TypeMprotect:
			e.Mprotect = &event.Mprotect{}
		}
		return e
	}
	cases := []struct {
		desc string
		ev   *event.Event
		want string
	}{
		{"shell in a docker container", ev(event.TypeExec, docker), "shell-in-container"},
		{"shell on the host", ev(event.TypeExec, host), ""},
		{"shell without context matches neither way", ev(event.TypeExec, unknown), ""},
		{"open on the host", ev(event.TypeOpen, host), "host-only-opens"},
		{"open in a container", ev(event.TypeOpen, docker), "deny-in-container"},
		{"open without context", ev(event.TypeOpen, unknown), ""},
		{"exit of the container by 12-digit prefix", ev(event.TypeExit, docker), "this-container"},
		{"exit of the nspawn machine by name", ev(event.TypeExit, nspawn), "this-container"},
		{"exit of another container", ev(event.TypeExit, other), ""},
		{"exit on the host", ev(event.TypeExit, host), ""},
		{"mprotect in a kubepods slice", ev(event.TypeMprotect, other), "kube-slice"},
		{"mprotect in a docker scope", ev(event.TypeMprotect, docker), "kube-slice"},
		{"mprotect in an nspawn machine", ev(event.TypeMprotect, nspawn), ""},
	}
	for _, c := range cases {
		if got := names(set.Match(c.ev, nil)); got != c.want {
			t.Errorf("%s: matched %q, want %q", c.desc, got, c.want)
		}
	}
}

// TestContainerMatchersMechanism: container matchers are userspace-only.
// A deny rule on open with them goes to fanotify, never to BPF LSM; a
// kill rule is refused with an error that says so.
func TestContainerMatchersMechanism(t *testing.T) {
	set := mustLoad(t, "testdata/container/rules.yaml")
	plan, err := set.Plan(Available{Kill: true, LSM: true, Fanotify: true})
	if err != nil {
		t.Fatal(err)
	}
	deny := set.Rules[4]
	if plan[deny] != MechFanotify {
		t.Errorf("deny with container: true planned on %q, want fanotify", plan[deny])
	}
	if _, err := set.Plan(Available{Kill: true, LSM: true}); err == nil || !strings.Contains(err.Error(), "fanotify permission events are not available") {
		t.Errorf("without fanotify: %v, want the rule refused", err)
	}
	kill := *deny
	kill.Name, kill.Action = "kill-in-container", ActionKill
	ks := &Set{Rules: []*Rule{&kill}}
	kplan, err := ks.Plan(Available{Kill: true})
	if err != nil {
		t.Fatal(err)
	}
	_, err = ks.Kernel(kplan, func(string) (FileID, bool, error) { return FileID{Dev: 1, Ino: 2}, true, nil })
	want := "container is a userspace-only matcher: kill is carried out in the kernel"
	if err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("kill rule with container: true: %v, want %q", err, want)
	}
}
