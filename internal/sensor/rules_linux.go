package sensor

import (
	"fmt"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// ruleMaps are the maps of bpf/include/rules.h, shared by every object.
var ruleMaps = []string{"rule_sets", "rule_paths", "rule_dirs", "rule_comms", "rule_pcomms", "rule_uids", "rule_args", "rule_errno"}

// createRuleMaps creates the shared rule maps from the process object's
// specs and fills them from rules (which may be nil: no kernel rules).
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
	return fillRules(m.sh.rules, rules)
}

func fillRules(maps map[string]*ebpf.Map, k *policy.KernelRules) error {
	for id, r := range k.Rules {
		if r.Errno == 0 {
			continue
		}
		if err := maps["rule_errno"].Put(uint32(id), uint32(r.Errno)); err != nil {
			return fmt.Errorf("writing the errno of rule %s: %w", r.Name, err)
		}
	}
	for t, s := range k.Sets {
		v := bpfobj.ProcessRuleSet{
			Rules: s.Rules, Kill: s.Kill, Deny: s.Deny,
			UsePath: s.UsePath, UsePrefix: s.UsePrefix, UseComm: s.UseComm, UseParentComm: s.UseParentComm, UseUid: s.UseUid,
			MemfdTrue: s.MemfdTrue, MemfdFalse: s.MemfdFalse, DeletedTrue: s.DeletedTrue, DeletedFalse: s.DeletedFalse,
			WxTrue: s.WXTrue, WxFalse: s.WXFalse, UseProt: s.UseProt, UseFlags: s.UseFlags,
		}
		if err := maps["rule_sets"].Put(uint32(kindOf(t)), v); err != nil {
			return fmt.Errorf("writing %s rules: %w", t, err)
		}
	}
	put := func(name string, key any, mask uint64) error {
		if err := maps[name].Put(key, mask); err != nil {
			return fmt.Errorf("writing %s entry: %w", name, err)
		}
		return nil
	}
	for id, mask := range k.Paths {
		if err := put("rule_paths", bpfobj.ProcessFileId{Dev: id.Dev, Ino: id.Ino}, mask); err != nil {
			return err
		}
	}
	for id, mask := range k.Dirs {
		if err := put("rule_dirs", bpfobj.ProcessFileId{Dev: id.Dev, Ino: id.Ino}, mask); err != nil {
			return err
		}
	}
	for c, mask := range k.Comms {
		if err := put("rule_comms", commKey(c), mask); err != nil {
			return err
		}
	}
	for c, mask := range k.ParentComms {
		if err := put("rule_pcomms", commKey(c), mask); err != nil {
			return err
		}
	}
	for u, mask := range k.Uids {
		if err := put("rule_uids", u, mask); err != nil {
			return err
		}
	}
	for id, sets := range k.Prots {
		var v bpfobj.ProcessRuleArg
		v.N = uint32(len(sets))
		for i, s := range sets {
			v.Bits[i] = s.Bits
			if s.None {
				v.None[i] = 1
			}
		}
		if err := maps["rule_args"].Put(uint32(id), v); err != nil {
			return fmt.Errorf("writing prot sets: %w", err)
		}
	}
	for id, sets := range k.OpenFlags {
		var v bpfobj.ProcessRuleArg
		v.N = uint32(len(sets))
		for i, s := range sets {
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
		if err := maps["rule_args"].Put(uint32(id), v); err != nil {
			return fmt.Errorf("writing open flag sets: %w", err)
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
	v := &event.Verdict{Rule: fmt.Sprintf("rule#%d", h.Rule), Enforced: h.Flags&hdrEnforced != 0}
	if k := m.cfg.Rules; k != nil && int(h.Rule) < len(k.Rules) {
		v.Rule = k.Rules[h.Rule].Name
	}
	switch h.Action {
	case actKill:
		v.Action, v.Mechanism = string(policy.ActionKill), string(policy.MechKill)
	case actDeny:
		v.Action, v.Mechanism = string(policy.ActionDeny), string(policy.MechLSM)
	default:
		v.Action = string(policy.ActionLog)
	}
	return v
}

// Actions of bpf/include/events.h.
const (
	actLog  = 1
	actKill = 2
	actDeny = 3
)

// lsmPrograms are the BPF LSM programs (bpf/lsm.c) that carry out deny
// rules, per event type.
var lsmPrograms = map[event.Type][]string{
	event.TypeExec:     {"deny_exec"},
	event.TypeOpen:     {"deny_open"},
	event.TypeMprotect: {"deny_mprotect"},
	event.TypeModule:   {"deny_module_file", "deny_module_data"},
}

// startLSM loads and attaches the BPF LSM programs of the event types
// that have deny rules.
func (m *Manager) startLSM() error {
	k := m.cfg.Rules
	if k == nil {
		return nil
	}
	var progs []string
	var types []event.Type
	for _, t := range event.KernelTypes {
		if set, ok := k.Sets[t]; ok && set.Deny != 0 {
			progs = append(progs, lsmPrograms[t]...)
			types = append(types, t)
		}
	}
	if len(progs) == 0 {
		return nil
	}
	spec, err := bpfobj.LoadLsm()
	if err != nil {
		return fmt.Errorf("reading the BPF LSM object: %w", err)
	}
	l, err := loadProgs(spec, progs, &m.sh, map[string]any{"self_tgid": m.cfg.SelfTgid, "wakeup_bytes": uint64(wakeupBytes)}, nil)
	if err != nil {
		return fmt.Errorf("starting BPF LSM deny rules: %w", err)
	}
	m.loaded = append(m.loaded, l)
	for _, t := range types {
		m.choices = append(m.choices, Choice{Type: "deny " + t, Mechanism: "lsm/" + lsmHooks[t]})
	}
	return nil
}

var lsmHooks = map[event.Type]string{
	event.TypeExec: "bprm_check_security", event.TypeOpen: "file_open",
	event.TypeMprotect: "file_mprotect", event.TypeModule: "kernel_read_file+kernel_load_data",
}
