package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/sys/unix"

	"github.com/vigil-sec/vigil/internal/event"
)

// loadText loads a policy from text.
func loadText(t *testing.T, text string) (*Set, error) {
	t.Helper()
	file := filepath.Join(t.TempDir(), "policy.yaml")
	if err := os.WriteFile(file, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return Load(file)
}

// TestMountBPFMatchers: fstype, mount_flags, bpf_cmd and prog_type match
// the events they describe and nothing else.
func TestMountBPFMatchers(t *testing.T) {
	set, err := loadText(t, `rules:
  - name: overlay
    event: mount
    match: {fstype: [overlay]}
    action: log
  - name: rbind
    event: mount
    match: {mount_flags: ["MS_BIND|MS_REC"]}
    action: log
  - name: kernel-progs
    event: bpf
    match: {bpf_cmd: [BPF_PROG_LOAD], prog_type: [Kprobe, LSM]}
    action: log
  - name: links
    event: bpf
    match: {bpf_cmd: [BPF_LINK_CREATE, BPF_RAW_TRACEPOINT_OPEN]}
    action: log
`)
	if err != nil {
		t.Fatal(err)
	}
	mount := func(m event.Mount) *event.Event { return &event.Event{Type: event.TypeMount, Mount: &m} }
	bpf := func(b event.BPF) *event.Event { return &event.Event{Type: event.TypeBPF, BPF: &b} }
	cases := []struct {
		desc string
		ev   *event.Event
		want string
	}{
		{"an overlay mount", mount(event.Mount{Syscall: "mount", FSType: "overlay"}), "overlay"},
		{"an overlay through fsmount", mount(event.Mount{Syscall: "fsmount", FSType: "overlay"}), "overlay"},
		{"a tmpfs mount", mount(event.Mount{Syscall: "mount", FSType: "tmpfs"}), ""},
		{"a recursive bind", mount(event.Mount{Syscall: "mount", Flags: unix.MS_BIND | unix.MS_REC | unix.MS_RDONLY}), "rbind"},
		{"a plain bind", mount(event.Mount{Syscall: "mount", Flags: unix.MS_BIND}), ""},
		{"umount2's flags are not MS_*", mount(event.Mount{Syscall: "umount2", Flags: unix.MS_BIND | unix.MS_REC}), ""},
		{"a kprobe load", bpf(event.BPF{Cmd: "BPF_PROG_LOAD", ProgType: "Kprobe"}), "kernel-progs"},
		{"a socket filter load", bpf(event.BPF{Cmd: "BPF_PROG_LOAD", ProgType: "SocketFilter"}), ""},
		{"an LSM program linked", bpf(event.BPF{Cmd: "BPF_LINK_CREATE", ProgType: "LSM"}), "links"},
		{"a failed attach has no type", bpf(event.BPF{Cmd: "BPF_PROG_ATTACH"}), ""},
	}
	for _, c := range cases {
		if got := names(set.Match(c.ev, nil)); got != c.want {
			t.Errorf("%s: matched %q, want %q", c.desc, got, c.want)
		}
	}
}

// TestMountBPFBadValues: each bad value is reported at its position.
func TestMountBPFBadValues(t *testing.T) {
	_, err := loadText(t, `rules:
  - name: a
    event: mount
    match: {fstype: ["a/b"], mount_flags: ["MS_BIND|MS_BOGUS"]}
    action: log
  - name: b
    event: bpf
    match: {bpf_cmd: [BPF_MAP_CREATE], prog_type: [socketfilter]}
    action: log
  - name: c
    event: exec
    match: {fstype: [tmpfs]}
    action: log
`)
	if err == nil {
		t.Fatal("loaded a policy with bad values")
	}
	for _, want := range []string{
		`4:22: rules[0].match.fstype[0]: bad filesystem type "a/b"`,
		`4:44: rules[0].match.mount_flags[0]: unknown mount flag "MS_BOGUS"`,
		`8:23: rules[1].match.bpf_cmd[0]: unknown bpf command "BPF_MAP_CREATE"`,
		`8:52: rules[1].match.prog_type[0]: unknown BPF program type "socketfilter"`,
		`12:13: rules[2].match.fstype: fstype does not apply to exec events (it applies to mount)`,
	} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error lacks %q:\n%v", want, err)
		}
	}
}

// TestMountBPFInKernel: kill and deny rules of mount and bpf events
// compile with the process matchers, are refused with a payload matcher
// (the kernel does not evaluate it), and deny needs BPF LSM.
func TestMountBPFInKernel(t *testing.T) {
	set, err := loadText(t, `rules:
  - name: kill-mounts
    event: mount
    match: {comm: [runc], uid: [0], parent_comm: [containerd-shim]}
    action: kill
  - name: deny-bpf
    event: bpf
    match: {comm: [evil]}
    action: deny
`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err := set.Plan(Available{Kill: true, LSM: true})
	if err != nil {
		t.Fatal(err)
	}
	k, err := set.Kernel(plan, nil)
	if err != nil {
		t.Fatal(err)
	}
	if s := k.Sets[event.TypeMount]; s == nil || s.Kill != 1 || s.UseComm != 1 || s.UseUid != 1 || s.UseParentComm != 1 {
		t.Errorf("mount set %+v, want kill rule 0 on comm, uid, parent_comm", s)
	}
	if s := k.Sets[event.TypeBPF]; s == nil || s.Deny != 2 || k.Comms["evil"] != 2 {
		t.Errorf("bpf set %+v, want deny rule 1 on comm evil", s)
	}
	if _, err := set.Plan(Available{Kill: true}); err == nil || !strings.Contains(err.Error(), "BPF LSM") {
		t.Errorf("deny bpf without BPF LSM: %v, want refused for lack of BPF LSM", err)
	}

	set, err = loadText(t, `rules:
  - name: kill-overlay
    event: mount
    match: {fstype: [overlay]}
    action: kill
`)
	if err != nil {
		t.Fatal(err)
	}
	plan, err = set.Plan(Available{Kill: true})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := set.Kernel(plan, nil); err == nil || !strings.Contains(err.Error(), "cannot evaluate fstype for mount events") {
		t.Errorf("kill on fstype: %v, want refused", err)
	}
}
