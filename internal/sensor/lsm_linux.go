package sensor

import (
	"fmt"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// BPF LSM deny rules (bpf/lsm.c): the programs share the rule maps that
// rules_linux.go writes and return the matching rule's errno. Which
// hook serves which deny is the "deny ..." ladders of internal/doctor.

// lsmPrograms are the BPF LSM programs (bpf/lsm.c) that carry out deny
// rules, per event type.
var lsmPrograms = map[event.Type][]string{
	event.TypeExec:     {"deny_exec"},
	event.TypeOpen:     {"deny_open"},
	event.TypeMprotect: {"deny_mprotect", "deny_mmap_prot"},
	event.TypeModule:   {"deny_module_file", "deny_module_data"},
	event.TypeConnect:  {"deny_connect"},
	event.TypeAccept:   {"deny_accept"},
	event.TypeListen:   {"deny_listen"},
	event.TypeCred:     {"deny_setuid", "deny_setgid", "deny_capset"},
	event.TypePtrace:   {"deny_ptrace", "deny_traceme"},
	event.TypeMount:    {"deny_sb_mount", "deny_sb_umount", "deny_move_mount", "deny_sb_pivotroot"},
	event.TypeBPF:      {"deny_bpf"},
}

// lsmMapPrograms deny mapping executable the files of exec deny rules.
var lsmMapPrograms = []string{"deny_mmap_exec", "deny_mprotect_exec"}

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
	mapDeny := false
	if set, ok := k.Sets[event.TypeExec]; ok && set.Map&set.Deny != 0 {
		progs = append(progs, lsmMapPrograms...)
		mapDeny = true
	}
	if len(progs) == 0 {
		return nil
	}
	// The hooks are the same; the object is the compat build where the
	// kernel lacks what the default one uses (bpf/include/common.h).
	load, suffix := bpfobj.LoadLsm, ""
	for _, probe := range []string{"bpf-loop", "atomics"} {
		if _, err := doctor.Check(probe); err != nil {
			load, suffix = bpfobj.LoadLsmCompat, " ("+doctor.CompatLoops+")"
		}
	}
	spec, err := load()
	if err != nil {
		return fmt.Errorf("reading the BPF LSM object: %w", err)
	}
	l, err := loadProgs(spec, progs, &m.sh, baseVars(m.cfg.SelfTgid), nil)
	if err != nil {
		return fmt.Errorf("starting BPF LSM deny rules: %w", err)
	}
	m.loaded = append(m.loaded, l)
	for _, t := range types {
		m.lsmTypes[t] = true
		m.choices = append(m.choices, Choice{Type: "deny " + t, Mechanism: doctor.RungNamed("deny "+string(t), "lsm/") + suffix})
	}
	if mapDeny {
		m.lsmMap = true
		m.choices = append(m.choices, Choice{Type: "deny exec mapping", Mechanism: doctor.RungNamed("deny exec mapping", "lsm/") + suffix})
	}
	return nil
}
