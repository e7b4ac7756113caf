package sensor

import (
	"errors"
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/policy"
)

// validateFilePrefixes checks Config.FilePrefixes against bpf/file.c's limits.
func validateFilePrefixes(prefixes []string) error {
	if len(prefixes) > MaxOpenPrefixes {
		return fmt.Errorf("file filter: %d path prefixes, at most %d", len(prefixes), MaxOpenPrefixes)
	}
	for _, p := range prefixes {
		if p == "" || len(p) > MaxPrefixLen {
			return fmt.Errorf("file filter: path prefix %q must be 1 to %d bytes", p, MaxPrefixLen)
		}
	}
	return nil
}

// checkFileRules refuses kill rules on file-tampering events that match
// paths where the type's rung cannot: the syscall tracepoints see the
// names a call passes, not the inodes it reaches, so path and
// path_prefix (matched by inode in the kernel) need the fentry rung.
func checkFileRules(choices []Choice, k *policy.KernelRules) error {
	if k == nil {
		return nil
	}
	var errs []error
	for _, c := range choices {
		set, ok := k.Sets[c.Type]
		if !ok || !event.IsFileType(c.Type) || strings.HasPrefix(c.Mechanism, "fentry") {
			continue
		}
		bad := (set.UsePath | set.UsePrefix) & set.Kill
		for i, r := range k.Rules {
			if bad&(1<<i) != 0 {
				errs = append(errs, fmt.Errorf("rule %s: kill on %s events with path or path_prefix needs the fentry mechanism (%s), and this kernel offers only %s, which sees names, not files; match comm, uid or parent_comm, or use log",
					r.Name, c.Type, fentryMechanism(c.Type), c.Mechanism))
			}
		}
	}
	return errors.Join(errs...)
}

func fentryMechanism(t event.Type) string {
	o, _ := doctor.FileOpOf(string(t))
	return o.FentryMechanism()
}

// fileLSMPrograms are the BPF LSM programs of bpf/file.c that carry out
// deny rules, per event type.
var fileLSMPrograms = map[event.Type][]string{
	event.TypeUnlink:  {"deny_unlink", "deny_rmdir"},
	event.TypeRename:  {"deny_rename"},
	event.TypeLink:    {"deny_link"},
	event.TypeSymlink: {"deny_symlink"},
	event.TypeChmod:   {"deny_chmod"},
	event.TypeChown:   {"deny_chown"},
}

// startFileLSM loads and attaches the lsm/path_* programs of the file
// types that have deny rules. policy.Plan has refused deny rules where
// BPF LSM is missing; a kernel without the path hooks
// (CONFIG_SECURITY_PATH) fails here, naming the hook.
func (m *Manager) startFileLSM() error {
	k := m.cfg.Rules
	if k == nil {
		return nil
	}
	var types []event.Type
	for _, t := range event.FileTypes {
		if set, ok := k.Sets[t]; ok && set.Deny != 0 {
			types = append(types, t)
		}
	}
	if len(types) == 0 {
		return nil
	}
	load, suffix := bpfobj.LoadFile, ""
	for _, probe := range []string{"bpf-loop", "atomics"} {
		if _, err := doctor.Check(probe); err != nil {
			load, suffix = bpfobj.LoadFileCompat, " ("+doctor.CompatLoops+")"
		}
	}
	spec, err := load()
	if err != nil {
		return fmt.Errorf("reading the file sensor object: %w", err)
	}
	// One type at a time, so that a refusal names its hook: 5.10's BPF
	// trampolines refuse lsm/path_chown, whose ids are passed by value.
	for _, t := range types {
		o, _ := doctor.FileOpOf(string(t))
		l, err := loadProgs(spec, fileLSMPrograms[t], &m.sh, baseVars(m.cfg.SelfTgid), nil)
		if err != nil {
			return fmt.Errorf("deny %s needs %s, which this kernel refuses: %w", t, o.DenyMechanism(), err)
		}
		m.loaded = append(m.loaded, l)
		m.lsmTypes[t] = true
		m.choices = append(m.choices, Choice{Type: "deny " + t, Mechanism: o.DenyMechanism() + suffix})
	}
	return nil
}
