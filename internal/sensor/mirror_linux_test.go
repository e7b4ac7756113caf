package sensor

import (
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// The C side (bpf/include) is the one definition of every record, enum
// and map; bpf2go generates most of the Go side. These tests guard what
// is still written by hand in Go, so that a change to the C fails here
// rather than in a kernel.

// TestRuleLimitsMirror: policy's bounds are rules.h's enum rule_limits.
func TestRuleLimitsMirror(t *testing.T) {
	if policy.MaxKernelRules != int(bpfobj.ProcessRuleLimitsRULE_GEN_BITS) {
		t.Errorf("policy.MaxKernelRules = %d, rules.h RULE_GEN_BITS = %d", policy.MaxKernelRules, bpfobj.ProcessRuleLimitsRULE_GEN_BITS)
	}
	if policy.MaxKernelSets != int(bpfobj.ProcessRuleLimitsMAX_SETS) || len(bpfobj.ProcessRuleArg{}.Bits) != policy.MaxKernelSets {
		t.Errorf("policy.MaxKernelSets = %d, rules.h MAX_SETS = %d", policy.MaxKernelSets, bpfobj.ProcessRuleLimitsMAX_SETS)
	}
}

// TestKernelSetMirror: every field of struct rule_set has a field of
// policy.KernelSet and ruleSetOf copies each into its own place.
func TestKernelSetMirror(t *testing.T) {
	gt, pt := reflect.TypeFor[bpfobj.ProcessRuleSet](), reflect.TypeFor[policy.KernelSet]()
	masks := 0
	for i := range gt.NumField() {
		if gt.Field(i).Type.Kind() == reflect.Uint64 {
			masks++
		}
	}
	if masks != pt.NumField() {
		t.Fatalf("struct rule_set has %d masks, policy.KernelSet %d", masks, pt.NumField())
	}
	var s policy.KernelSet
	pv := reflect.ValueOf(&s).Elem()
	for i := range pt.NumField() {
		pv.Field(i).SetUint(1 << i)
	}
	const shift = 3
	got := reflect.ValueOf(ruleSetOf(&s, shift))
	for i := range pt.NumField() {
		name := pt.Field(i).Name
		f := got.FieldByNameFunc(func(n string) bool { return strings.EqualFold(n, name) })
		if !f.IsValid() {
			t.Errorf("struct rule_set has no field for policy.KernelSet.%s", name)
			continue
		}
		if f.Uint() != 1<<i<<shift {
			t.Errorf("rule_set.%s = %#x, want policy.KernelSet.%s shifted (%#x)", name, f.Uint(), name, uint64(1<<i<<shift))
		}
	}
}

// TestRuleMapsMirror: ruleMaps names exactly the rule_* maps of the
// objects.
func TestRuleMapsMirror(t *testing.T) {
	spec, err := bpfobj.LoadProcess()
	if err != nil {
		t.Fatal(err)
	}
	var inC []string
	for name := range spec.Maps {
		if strings.HasPrefix(name, "rule_") {
			inC = append(inC, name)
		}
	}
	slices.Sort(inC)
	got := slices.Sorted(slices.Values(ruleMaps))
	if !slices.Equal(got, inC) {
		t.Errorf("ruleMaps = %v, the object's rule maps are %v", got, inC)
	}
}

// TestKindTypesMirror: every record kind below EV_TYPE_MAX names a
// kernel event type, each once.
func TestKindTypesMirror(t *testing.T) {
	seen := map[event.Type]bool{}
	for k := uint32(1); k < kindMax; k++ {
		typ := kindTypes[k]
		if typ == "" {
			continue // a number events.h reserves for a type not built here
		}
		if seen[typ] {
			t.Errorf("record kind %d maps to %q", k, typ)
		}
		seen[typ] = true
	}
	for _, typ := range event.KernelTypes {
		if !seen[typ] {
			t.Errorf("kernel event type %s has no record kind", typ)
		}
	}
}

// TestLSMProgramsMatchLadders: the BPF LSM programs vigil attaches for a
// deny are the hooks that doctor's "deny ..." ladder names for its LSM
// rung, so vigil doctor shows exactly what the monitor attaches.
func TestLSMProgramsMatchLadders(t *testing.T) {
	spec, err := bpfobj.LoadLsm()
	if err != nil {
		t.Fatal(err)
	}
	hooks := func(progs []string) []string {
		var out []string
		for _, p := range progs {
			ps, ok := spec.Programs[p]
			if !ok {
				t.Errorf("bpf/lsm.c has no program %s", p)
				continue
			}
			out = append(out, "bpf_lsm_"+ps.AttachTo)
		}
		slices.Sort(out)
		return out
	}
	ladderHooks := func(name string) []string {
		for _, l := range doctor.Ladders {
			if l.Name != name {
				continue
			}
			for _, r := range l.Rungs {
				if strings.HasPrefix(r.Mechanism, "lsm/") {
					var out []string
					for _, p := range r.Points {
						out = append(out, p.Name)
					}
					slices.Sort(out)
					return out
				}
			}
		}
		t.Errorf("doctor has no LSM rung for %q", name)
		return nil
	}
	for typ, progs := range lsmPrograms {
		if got, want := hooks(progs), ladderHooks("deny "+string(typ)); !slices.Equal(got, want) {
			t.Errorf("deny %s attaches %v, doctor's ladder names %v", typ, got, want)
		}
	}
	if got, want := hooks(lsmMapPrograms), ladderHooks("deny exec mapping"); !slices.Equal(got, want) {
		t.Errorf("deny exec mapping attaches %v, doctor's ladder names %v", got, want)
	}
}
