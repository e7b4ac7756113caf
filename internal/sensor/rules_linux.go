package sensor

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// ruleMaps are the maps of bpf/include/rules.h, shared by every object.
var ruleMaps = []string{"rule_gen", "rule_sets", "rule_paths", "rule_dirs", "rule_comms", "rule_pcomms", "rule_uids", "rule_args", "rule_errno"}

// createRuleMaps creates the shared rule maps from the process object's
// specs and writes rules (which may be nil: no kernel rules) as
// generation 0.
func (m *Manager) createRuleMaps(rules *policy.KernelRules) error {
	spec, err := bpfobj.LoadProcess()
	if err != nil {
		return fmt.Errorf("reading process sensor object: %w", err)
	}
	m.sh.rules = map[string]*ebpf.Map{}
	for _, name := range ruleMaps {
		ms, ok := spec.Maps[name]
		if !ok {
			return fmt.Errorf("object has no map %s", name)
		}
		mp, err := ebpf.NewMap(ms)
		if err != nil {
			return fmt.Errorf("creating map %s: %w", name, err)
		}
		m.sh.rules[name] = mp
	}
	if rules == nil {
		return nil
	}
	m.gens[0] = rules
	return applyRules(m.sh.rules, rules, 0, true)
}

// SetRules replaces the kernel rules without a gap: the new generation is
// written beside the running one, the programs switch to it in one map
// write, and the old one is cleared only then. It refuses rules that
// need a sensor or a BPF LSM hook this run did not start, leaving the
// running rules in force.
func (m *Manager) SetRules(k *policy.KernelRules) error {
	if err := m.canEnforce(k); err != nil {
		return err
	}
	m.rulesMu.Lock()
	defer m.rulesMu.Unlock()
	next := 1 - m.gen
	if stale := m.gens[next]; stale != nil {
		if err := applyRules(m.sh.rules, stale, next, false); err != nil {
			return err
		}
	}
	if k != nil {
		if err := applyRules(m.sh.rules, k, next, true); err != nil {
			return err
		}
	}
	if err := m.sh.rules["rule_gen"].Put(uint32(0), next); err != nil {
		return fmt.Errorf("switching rule generation: %w", err)
	}
	if cur := m.gens[m.gen]; cur != nil {
		if err := applyRules(m.sh.rules, cur, m.gen, false); err != nil {
			return err
		}
	}
	// The old generation's names stay for records already in the ring.
	m.gens[next], m.gen = k, next
	return nil
}

func (m *Manager) canEnforce(k *policy.KernelRules) error {
	if k == nil {
		return nil
	}
	for t, set := range k.Sets {
		if set.Rules != 0 && m.byKind[kindOf(t)] == nil {
			return fmt.Errorf("a %s rule needs the %s sensor, which this run did not start: restart vigil to apply the policy", t, t)
		}
		if set.Deny != 0 && !m.lsmTypes[t] {
			return fmt.Errorf("a %s deny rule needs BPF LSM on %s, which this run did not attach: restart vigil to apply the policy", t, t)
		}
		// Mappings are watched, and reported, by the mprotect sensor.
		if set.Map != 0 && m.byKind[kindMprotect] == nil {
			return fmt.Errorf("a %s rule on files also stops mapping them executable, which needs the mprotect sensor this run did not start: restart vigil to apply the policy", t)
		}
		if set.Map&set.Deny != 0 && !m.lsmMap {
			return fmt.Errorf("a %s deny rule on files needs BPF LSM on mappings, which this run did not attach: restart vigil to apply the policy", t)
		}
	}
	return checkFileRules(m.choices, k)
}

// ruleGenBits is how many rules one generation holds (RULE_GEN_BITS).
const ruleGenBits = uint32(bpfobj.ProcessRuleLimitsRULE_GEN_BITS)

// ruleSetOf is s in the map's layout, shifted into a generation's bits.
func ruleSetOf(s *policy.KernelSet, shift uint32) bpfobj.ProcessRuleSet {
	return bpfobj.ProcessRuleSet{
		Rules: s.Rules << shift, Kill: s.Kill << shift, Deny: s.Deny << shift,
		UsePath: s.UsePath << shift, UsePrefix: s.UsePrefix << shift, UseComm: s.UseComm << shift,
		UseParentComm: s.UseParentComm << shift, UseUid: s.UseUid << shift,
		MemfdTrue: s.MemfdTrue << shift, MemfdFalse: s.MemfdFalse << shift,
		DeletedTrue: s.DeletedTrue << shift, DeletedFalse: s.DeletedFalse << shift,
		WxTrue: s.WXTrue << shift, WxFalse: s.WXFalse << shift, UseProt: s.UseProt << shift, UseFlags: s.UseFlags << shift,
		Map: s.Map << shift, MapKill: s.MapKill << shift,
	}
}

// applyRules writes generation gen of rules k into the maps (add), or
// removes it. Generation gen owns bits 32*gen to 32*gen+31 of every mask.
func applyRules(maps map[string]*ebpf.Map, k *policy.KernelRules, gen uint32, add bool) error {
	shift := ruleGenBits * gen
	for kind := uint32(1); kind < kindMax; kind++ {
		var v bpfobj.ProcessRuleSet
		if s := k.Sets[kindTypes[kind]]; s != nil && add {
			v = ruleSetOf(s, shift)
		}
		if err := maps["rule_sets"].Put(gen*kindMax+kind, v); err != nil {
			return fmt.Errorf("writing %s rules: %w", kindTypes[kind], err)
		}
	}
	mask := func(name string, key any, bits uint64) error {
		var cur uint64
		_ = maps[name].Lookup(key, &cur)
		if add {
			cur |= bits << shift
		} else {
			cur &^= bits << shift
		}
		var err error
		if cur == 0 {
			err = maps[name].Delete(key)
			if errors.Is(err, ebpf.ErrKeyNotExist) {
				err = nil
			}
		} else {
			err = maps[name].Put(key, cur)
		}
		if err != nil {
			return fmt.Errorf("writing %s entry: %w", name, err)
		}
		return nil
	}
	for id, bits := range k.Paths {
		if err := mask("rule_paths", bpfobj.ProcessFileId{Dev: id.Dev, Ino: id.Ino}, bits); err != nil {
			return err
		}
	}
	for id, bits := range k.Dirs {
		if err := mask("rule_dirs", bpfobj.ProcessFileId{Dev: id.Dev, Ino: id.Ino}, bits); err != nil {
			return err
		}
	}
	for c, bits := range k.Comms {
		if err := mask("rule_comms", commKey(c), bits); err != nil {
			return err
		}
	}
	for c, bits := range k.ParentComms {
		if err := mask("rule_pcomms", commKey(c), bits); err != nil {
			return err
		}
	}
	for u, bits := range k.Uids {
		if err := mask("rule_uids", u, bits); err != nil {
			return err
		}
	}
	return applyRuleArgs(maps, k, shift, add)
}

// applyRuleArgs writes (or zeroes) the per-rule data: errnos, prot and
// open flag sets, at index 32*gen + id.
func applyRuleArgs(maps map[string]*ebpf.Map, k *policy.KernelRules, shift uint32, add bool) error {
	for id, r := range k.Rules {
		var errno uint32
		if add {
			errno = uint32(r.Errno)
		}
		if err := maps["rule_errno"].Put(shift+uint32(id), errno); err != nil {
			return fmt.Errorf("writing the errno of rule %s: %w", r.Name, err)
		}
		var v bpfobj.ProcessRuleArg
		if add {
			for i, s := range k.Prots[id] {
				v.N = uint32(len(k.Prots[id]))
				v.Bits[i] = s.Bits
				if s.None {
					v.None[i] = 1
				}
			}
			for i, s := range k.OpenFlags[id] {
				v.N = uint32(len(k.OpenFlags[id]))
				v.Bits[i] = s.Bits
				if s.Read {
					v.Read[i] = 1
				}
				if s.Write {
					v.Write[i] = 1
				}
				if s.HasAccMode {
					v.Acc[i] = s.AccMode + 1
				}
			}
		}
		if err := maps["rule_args"].Put(shift+uint32(id), v); err != nil {
			return fmt.Errorf("writing the sets of rule %s: %w", r.Name, err)
		}
	}
	return nil
}

func commKey(c string) [16]byte {
	var k [16]byte
	copy(k[:], c)
	return k
}

// ruleVerdict turns a record header's verdict into the event's.
func (m *Manager) ruleVerdict(h *hdr) *event.Verdict {
	if h.Flags&hdrVerdict == 0 {
		return nil
	}
	name := fmt.Sprintf("rule#%d", h.Rule)
	ruleAction := policy.ActionKill
	m.rulesMu.RLock()
	if gen, id := h.Rule/ruleGenBits, int(h.Rule%ruleGenBits); gen < 2 {
		if k := m.gens[gen]; k != nil && id < len(k.Rules) {
			name = k.Rules[id].Name
			ruleAction = k.Rules[id].Action
		}
	}
	m.rulesMu.RUnlock()
	enforced := h.Flags&hdrEnforced != 0
	// h.Action is what the kernel did; the verdict's action is the rule's.
	// They differ where a deny exec rule without BPF LSM stopped a mapping
	// of its file by SIGKILL: action deny, mechanism bpf_send_signal.
	switch h.Action {
	case actKill:
		return policy.Verdict(name, ruleAction, policy.MechKill, enforced)
	case actDeny:
		return policy.Verdict(name, policy.ActionDeny, policy.MechLSM, enforced)
	}
	return policy.Verdict(name, policy.ActionLog, "", enforced)
}

// Actions of bpf/include/events.h (enum action).
const (
	actLog  = uint32(bpfobj.ProcessActionACT_LOG)
	actKill = uint32(bpfobj.ProcessActionACT_KILL)
	actDeny = uint32(bpfobj.ProcessActionACT_DENY)
)
