package policy

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/event"
)

// fakeStat gives every path an inode of its own.
func fakeStat() StatFunc {
	ids := map[string]FileID{}
	return func(p string) (FileID, bool, error) {
		id, ok := ids[p]
		if !ok {
			id = FileID{Dev: 1, Ino: uint64(len(ids) + 1)}
			ids[p] = id
		}
		return id, true, nil
	}
}

// TestKernelMapping: exec rules on files also cover mapping their files
// executable. Kill rules and LSM deny rules are evaluated at mappings
// besides the exec; a deny rule that fanotify carries out gets a kernel
// bit for mappings only, carried out by SIGKILL; a rule the kernel
// cannot evaluate stays fanotify's alone, with a warning.
func TestKernelMapping(t *testing.T) {
	file := filepath.Join(t.TempDir(), "p.yaml")
	err := os.WriteFile(file, []byte(`rules:
  - name: kill-dir
    event: exec
    match: {path_prefix: [/opt/k/]}
    action: kill
  - name: deny-dir
    event: exec
    match: {path_prefix: [/opt/d/]}
    action: deny
  - name: deny-comm-only
    event: exec
    match: {comm: [x]}
    action: deny
  - name: deny-by-ancestor
    event: exec
    match: {path_prefix: [/opt/a/], ancestor_path_prefix: [/usr/sbin/]}
    action: deny
  - name: deny-string-prefix
    event: exec
    match: {path_prefix: [/opt/s]}
    action: deny
  - name: no-wx
    event: mprotect
    match: {wx: true}
    action: kill
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	set := mustLoad(t, file)
	bit := func(k *KernelRules, name string) uint64 {
		for i, r := range k.Rules {
			if r.Name == name {
				return 1 << i
			}
		}
		return 0
	}

	t.Run("fanotify", func(t *testing.T) {
		// deny-comm-only has no file matcher: fanotify refuses it, LSM is
		// absent; leave it out of this plan.
		s := &Set{Rules: []*Rule{set.Rules[0], set.Rules[1], set.Rules[3], set.Rules[4], set.Rules[5]}}
		plan, err := s.Plan(Available{Kill: true, Fanotify: true})
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.Kernel(plan, fakeStat())
		if err != nil {
			t.Fatal(err)
		}
		ex := k.Sets[event.TypeExec]
		kill, deny := bit(k, "kill-dir"), bit(k, "deny-dir")
		if kill == 0 || deny == 0 {
			t.Fatalf("kernel rules %v: want kill-dir and deny-dir", names(k.Rules))
		}
		if ex.Rules != kill || ex.Kill != kill || ex.Deny != 0 {
			t.Errorf("exec hook masks rules %#x kill %#x deny %#x, want only kill-dir (%#x)", ex.Rules, ex.Kill, ex.Deny, kill)
		}
		if ex.Map != kill|deny || ex.MapKill != kill|deny {
			t.Errorf("mapping masks map %#x map_kill %#x, want kill-dir and deny-dir (%#x)", ex.Map, ex.MapKill, kill|deny)
		}
		if ex.UsePrefix&deny == 0 || len(k.Dirs) != 2 {
			t.Errorf("deny-dir's prefix is not matched in the kernel: use_prefix %#x, dirs %v", ex.UsePrefix, k.Dirs)
		}
		if ms := k.Sets[event.TypeMprotect]; ms == nil || ms.Map != 0 {
			t.Errorf("mprotect rules have mapping bits: %+v", ms)
		}
		if !k.Mapping() {
			t.Error("Mapping() = false")
		}
		w := strings.Join(k.Warnings, "\n")
		for _, want := range []string{"rule deny-by-ancestor: the kernel cannot evaluate ancestor_path_prefix", `rule deny-string-prefix: the kernel matches path_prefix by directory, and "/opt/s" does not end in "/"`} {
			if !strings.Contains(w, want) {
				t.Errorf("warnings %q, want %q", w, want)
			}
		}
	})

	t.Run("lsm", func(t *testing.T) {
		s := &Set{Rules: []*Rule{set.Rules[0], set.Rules[1], set.Rules[2]}}
		plan, err := s.Plan(Available{Kill: true, LSM: true, Fanotify: true})
		if err != nil {
			t.Fatal(err)
		}
		k, err := s.Kernel(plan, fakeStat())
		if err != nil {
			t.Fatal(err)
		}
		ex := k.Sets[event.TypeExec]
		kill, deny, comm := bit(k, "kill-dir"), bit(k, "deny-dir"), bit(k, "deny-comm-only")
		if ex.Deny != deny|comm || ex.Map != kill|deny || ex.MapKill != kill {
			t.Errorf("masks deny %#x map %#x map_kill %#x, want deny %#x map %#x map_kill %#x", ex.Deny, ex.Map, ex.MapKill, deny|comm, kill|deny, kill)
		}
	})
}
