package policy

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// MaxKernelRules bounds the rules the BPF programs evaluate: each is one
// bit of a 64-bit mask, whose halves hold the running and the reloading
// generation of rules (bpf/include/rules.h).
const MaxKernelRules = 32

// MaxKernelSets bounds the prot and open_flags sets of one kernel rule.
const MaxKernelSets = 4

// FileID names a file as the kernel does: the superblock's device in the
// kernel's encoding (MAJOR << 20 | MINOR) and the inode number.
type FileID struct {
	Dev uint32
	Ino uint64
}

// KernelSet holds, for one event type, the rule masks the BPF matcher
// needs: bit i stands for KernelRules.Rules[i].
type KernelSet struct {
	Rules uint64 // every kernel rule of this event type
	Kill  uint64 // those whose action is kill
	Deny  uint64 // those whose action is deny (BPF LSM)

	UsePath, UsePrefix, UseComm, UseParentComm, UseUid uint64
	MemfdTrue, MemfdFalse, DeletedTrue, DeletedFalse   uint64
	WXTrue, WXFalse, UseProt, UseFlags                 uint64

	// Map are the exec rules on files that also stop the file being
	// mapped executable (mmap with PROT_EXEC, mprotect adding it), which
	// is how ld.so, LD_PRELOAD and dlopen run a file without an exec.
	// MapKill are those the mapping hooks carry out by SIGKILL: kill
	// rules, and deny rules that BPF LSM does not carry out (their exec
	// is denied through fanotify). Map rules that are not in Rules are
	// evaluated only at mappings.
	Map, MapKill uint64
}

// KernelRules is the in-kernel form of the rules a plan gives to the BPF
// programs (kill, and deny through BPF LSM): rule masks per event type
// and the map entries of every matcher. It is plain data; the sensor
// package writes it into the maps of bpf/include/rules.h.
type KernelRules struct {
	// Rules are the kernel rules; a rule's index is its id and bit.
	Rules []*Rule
	Sets  map[event.Type]*KernelSet

	Paths       map[FileID]uint64 // files named by path matchers
	Dirs        map[FileID]uint64 // directories named by path_prefix matchers
	Comms       map[string]uint64
	ParentComms map[string]uint64
	Uids        map[uint32]uint64
	Prots       map[int][]ProtSet     // rule id -> its prot sets
	OpenFlags   map[int][]OpenFlagSet // rule id -> its open flag sets

	// Warnings are problems that do not refuse the policy, such as a
	// path_prefix directory that does not exist yet.
	Warnings []string
}

// kernelHooks says where the BPF programs can act: kill from the sensors'
// hooks (exec before the new image runs, mprotect at syscall entry, open
// once the file is known), deny from BPF LSM hooks.
var kernelHooks = map[event.Type]map[Action]bool{
	event.TypeExec:     {ActionKill: true, ActionDeny: true},
	event.TypeMprotect: {ActionKill: true, ActionDeny: true},
	event.TypeOpen:     {ActionKill: true, ActionDeny: true},
	event.TypeModule:   {ActionDeny: true},
	event.TypeConnect:  {ActionKill: true, ActionDeny: true},
	event.TypeAccept:   {ActionKill: true, ActionDeny: true},
	event.TypeListen:   {ActionKill: true, ActionDeny: true},
	// File tampering (bpf/file.c): kill at the hook of the event's rung,
	// deny through lsm/path_*.
	event.TypeUnlink:  {ActionKill: true, ActionDeny: true},
	event.TypeRename:  {ActionKill: true, ActionDeny: true},
	event.TypeLink:    {ActionKill: true, ActionDeny: true},
	event.TypeSymlink: {ActionKill: true, ActionDeny: true},
	event.TypeChmod:   {ActionKill: true, ActionDeny: true},
	event.TypeChown:   {ActionKill: true, ActionDeny: true},
	// Kill at the call's entry (bpf/priv.c): the call completes, the
	// task never returns to user space. Deny through BPF LSM
	// (bpf/priv_lsm.h); namespaces have no LSM hook for every kind.
	event.TypeCred:      {ActionKill: true, ActionDeny: true},
	event.TypePtrace:    {ActionKill: true, ActionDeny: true},
	event.TypeNamespace: {ActionKill: true},
	event.TypeMount:     {ActionKill: true, ActionDeny: true},
	event.TypeBPF:       {ActionKill: true, ActionDeny: true},
}

// InKernel reports whether vigil's BPF programs can carry out action a
// on events of type t (doctor's action ladders must agree; a test checks).
func InKernel(t event.Type, a Action) bool { return kernelHooks[t][a] }

// StatFunc returns the FileID of path, and false when it does not exist.
type StatFunc func(path string) (FileID, bool, error)

// kernelMatchers says which matchers the BPF programs evaluate, per
// event type. Others (args_contain, ancestor_path_prefix, module_name)
// need userspace, which is too late to kill before the call returns.
var kernelMatchers = map[event.Type][]string{
	event.TypeExec:     {"path", "path_prefix", "comm", "uid", "parent_comm", "memfd", "deleted"},
	event.TypeMprotect: {"comm", "uid", "parent_comm", "wx", "prot"},
	event.TypeOpen:     {"path", "path_prefix", "comm", "uid", "parent_comm", "open_flags"},
	event.TypeModule:   {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeConnect:  {"comm", "uid", "parent_comm"},
	event.TypeAccept:   {"comm", "uid", "parent_comm"},
	event.TypeListen:   {"comm", "uid", "parent_comm"},
	// Paths of file-tampering events are matched by inode at the
	// security_path_* hooks (fentry rung, BPF LSM); the tracepoint rung
	// refuses such rules at start (internal/sensor, file_linux.go).
	event.TypeUnlink:    {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeRename:    {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeLink:      {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeSymlink:   {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeChmod:     {"path", "path_prefix", "comm", "uid", "parent_comm", "mode_bits"},
	event.TypeChown:     {"path", "path_prefix", "comm", "uid", "parent_comm"},
	event.TypeCred:      {"comm", "uid", "parent_comm"},
	event.TypePtrace:    {"comm", "uid", "parent_comm"},
	event.TypeNamespace: {"comm", "uid", "parent_comm"},
	event.TypeMount:     {"comm", "uid", "parent_comm"},
	event.TypeBPF:       {"comm", "uid", "parent_comm"},
}

// Kernel compiles the rules that plan assigns to the kernel (kill, and
// deny through BPF LSM) into their in-kernel form. Paths are resolved
// with stat now: an exact path names one inode, a path_prefix (which
// must end in "/") one directory whose whole subtree matches, whatever
// name, symlink or bind mount reaches it. Every rule that cannot be
// evaluated in the kernel is an error at its position.
func (s *Set) Kernel(plan map[*Rule]Mechanism, stat StatFunc) (*KernelRules, error) {
	k := &KernelRules{
		Sets:  map[event.Type]*KernelSet{},
		Paths: map[FileID]uint64{}, Dirs: map[FileID]uint64{},
		Comms: map[string]uint64{}, ParentComms: map[string]uint64{}, Uids: map[uint32]uint64{},
		Prots: map[int][]ProtSet{}, OpenFlags: map[int][]OpenFlagSet{},
	}
	var errs yamldoc.List
	for _, r := range s.Rules {
		mech := plan[r]
		if mech != MechKill && mech != MechLSM {
			continue
		}
		if len(k.Rules) == MaxKernelRules {
			errs.Add(r.Pos, r.field("name"), "more than %d kill and in-kernel deny rules", MaxKernelRules)
			continue
		}
		if !kernelHooks[r.Event][r.Action] {
			errs.Add(r.FieldPos("action"), r.field("action"), "vigil has no in-kernel %s for %s events", r.Action, r.Event)
			continue
		}
		if bad := r.nonKernelMatchers(); len(bad) > 0 {
			for _, f := range bad {
				if contains(containerMatchers, f) {
					errs.Add(r.FieldPos("match."+f), r.field("match."+f),
						"%s is a userspace-only matcher: %s is carried out in the kernel, which does not evaluate container, container_id or cgroup_prefix; use log (or deny through fanotify, for exec and open)",
						f, r.Action)
					continue
				}
				errs.Add(r.FieldPos("match."+f), r.field("match."+f),
					"%s is carried out in the kernel, which cannot evaluate %s for %s events; use deny through fanotify or log",
					r.Action, f, r.Event)
			}
			continue
		}
		id, bit, set := k.add(r)
		set.Rules |= bit
		if r.Action == ActionKill {
			set.Kill |= bit
		} else {
			set.Deny |= bit
		}
		k.addMatchers(r, id, set, stat, &errs)
		if coversMapping(r) {
			set.Map |= bit
			if r.Action == ActionKill {
				set.MapKill |= bit
			}
		}
	}
	// Exec deny rules through fanotify: the kernel only stops mappings.
	for _, r := range s.Rules {
		if plan[r] == MechFanotify && coversMapping(r) {
			k.addMapOnly(r, stat, &errs)
		}
	}
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	return k, nil
}

// add gives r the next rule id and returns it, its bit and the set of
// r's event type, which it creates if needed.
func (k *KernelRules) add(r *Rule) (int, uint64, *KernelSet) {
	id := len(k.Rules)
	k.Rules = append(k.Rules, r)
	set := k.Sets[r.Event]
	if set == nil {
		set = &KernelSet{}
		k.Sets[r.Event] = set
	}
	return id, uint64(1) << id, set
}

// coversMapping reports whether r is an exec rule on files whose action
// also applies to mapping those files executable.
func coversMapping(r *Rule) bool {
	return r.Event == event.TypeExec && (r.Action == ActionKill || r.Action == ActionDeny) &&
		(r.Match.Path != nil || r.Match.PathPrefix != nil)
}

// addMapOnly gives the mapping hooks an exec deny rule that fanotify
// carries out for the exec itself: without BPF LSM they kill the mapping
// process. A rule they cannot evaluate is left to fanotify, with a warning.
func (k *KernelRules) addMapOnly(r *Rule, stat StatFunc, errs *yamldoc.List) {
	uncovered := func(why string) {
		k.Warnings = append(k.Warnings, fmt.Sprintf("rule %s: %s, so mapping its files executable (ld.so, LD_PRELOAD, dlopen) is not stopped", r.Name, why))
	}
	if bad := r.nonKernelMatchers(); len(bad) > 0 {
		uncovered(fmt.Sprintf("the kernel cannot evaluate %s", strings.Join(bad, ", ")))
		return
	}
	for _, p := range r.Match.PathPrefix {
		if !strings.HasSuffix(p, "/") {
			uncovered(fmt.Sprintf("the kernel matches path_prefix by directory, and %q does not end in \"/\"", p))
			return
		}
	}
	if len(k.Rules) == MaxKernelRules {
		uncovered(fmt.Sprintf("the kernel already has %d rules", MaxKernelRules))
		return
	}
	id, bit, set := k.add(r)
	set.Map |= bit
	set.MapKill |= bit
	k.addMatchers(r, id, set, stat, errs)
}

// Mapping reports whether exec rules also stop mappings of their files,
// which the mprotect sensor watches (and, without BPF LSM, carries out).
func (k *KernelRules) Mapping() bool {
	set := k.Sets[event.TypeExec]
	return set != nil && set.Map != 0
}

func (r *Rule) nonKernelMatchers() []string {
	allowed := map[string]bool{}
	for _, f := range kernelMatchers[r.Event] {
		allowed[f] = true
	}
	var bad []string
	for _, f := range r.Match.set() {
		if !allowed[f] {
			bad = append(bad, f)
		}
	}
	return bad
}

// set lists the matchers written in m, by their policy names.
func (m *Match) set() []string {
	var out []string
	add := func(on bool, name string) {
		if on {
			out = append(out, name)
		}
	}
	add(m.Path != nil, "path")
	add(m.PathPrefix != nil, "path_prefix")
	add(m.Comm != nil, "comm")
	add(m.Uid != nil, "uid")
	add(m.ArgsContain != nil, "args_contain")
	add(m.ParentComm != nil, "parent_comm")
	add(m.AncestorPathPrefix != nil, "ancestor_path_prefix")
	add(m.WX != nil, "wx")
	add(m.Prot != nil, "prot")
	add(m.ModuleName != nil, "module_name")
	add(m.OpenFlags != nil, "open_flags")
	add(m.Memfd != nil, "memfd")
	add(m.Deleted != nil, "deleted")
	add(m.Container != nil, "container")
	add(m.ContainerID != nil, "container_id")
	add(m.CgroupPrefix != nil, "cgroup_prefix")
	m.Net.setNames(add)
	add(m.ModeBits != nil, "mode_bits")
	add(m.NewEuid != nil, "new_euid")
	add(m.CapsGained != nil, "caps_gained")
	add(m.Request != nil, "request")
	add(m.Namespaces != nil, "namespaces")
	add(m.FSType != nil, "fstype")
	add(m.MountFlags != nil, "mount_flags")
	add(m.BPFCmd != nil, "bpf_cmd")
	add(m.ProgType != nil, "prog_type")
	add(m.PathGlob != nil, "path_glob")
	add(m.ArgsGlob != nil, "args_glob")
	add(m.OtherProcess != nil, "other_process")
	return out
}

func (k *KernelRules) addMatchers(r *Rule, id int, set *KernelSet, stat StatFunc, errs *yamldoc.List) {
	m := &r.Match
	bit := uint64(1) << id
	for i, p := range m.Path {
		k.markFile(k.Paths, r, yamldoc.Index("match.path", i), p, "", stat, bit, errs)
	}
	if m.Path != nil {
		set.UsePath |= bit
	}
	for i, p := range m.PathPrefix {
		field := yamldoc.Index("match.path_prefix", i)
		if !strings.HasSuffix(p, "/") {
			errs.Add(r.FieldPos("match.path_prefix"), r.field(field),
				"%s is matched in the kernel by directory, so its path_prefix must name a directory and end in \"/\" (got %q)", r.Action, p)
			continue
		}
		dir := strings.TrimSuffix(p, "/")
		if dir == "" {
			dir = "/"
		}
		k.markFile(k.Dirs, r, field, dir, "directory ", stat, bit, errs)
	}
	if m.PathPrefix != nil {
		set.UsePrefix |= bit
	}
	markKeys(k.Comms, m.Comm, bit, &set.UseComm)
	markKeys(k.ParentComms, m.ParentComm, bit, &set.UseParentComm)
	markKeys(k.Uids, m.Uid, bit, &set.UseUid)
	flag := func(p *bool, t, f *uint64) {
		if p == nil {
			return
		}
		if *p {
			*t |= bit
		} else {
			*f |= bit
		}
	}
	flag(m.Memfd, &set.MemfdTrue, &set.MemfdFalse)
	flag(m.Deleted, &set.DeletedTrue, &set.DeletedFalse)
	flag(m.WX, &set.WXTrue, &set.WXFalse)
	if len(m.Prot) > MaxKernelSets || len(m.OpenFlags) > MaxKernelSets {
		errs.Add(r.Pos, r.field("match"), "at most %d prot or open_flags sets in a rule matched in the kernel", MaxKernelSets)
	}
	if m.Prot != nil {
		set.UseProt |= bit
		k.Prots[id] = m.Prot
	}
	if m.OpenFlags != nil {
		set.UseFlags |= bit
		k.OpenFlags[id] = m.OpenFlags
	}
	if m.ModeBits != nil {
		// The kernel matches a chmod's mode like open flags: any set
		// whose bits are all in it (one bit per set).
		if len(m.ModeBits) > MaxKernelSets {
			errs.Add(r.FieldPos("match.mode_bits"), r.field("match.mode_bits"), "at most %d mode bits in a rule matched in the kernel", MaxKernelSets)
		}
		set.UseFlags |= bit
		for _, b := range m.ModeBits {
			k.OpenFlags[id] = append(k.OpenFlags[id], OpenFlagSet{Bits: b})
		}
	}
}

// markKeys sets a rule's bit on the map entry of each of keys and, when
// the rule has the matcher at all (keys is not nil), in use.
func markKeys[K comparable](entries map[K]uint64, keys []K, bit uint64, use *uint64) {
	for _, key := range keys {
		entries[key] |= bit
	}
	if keys != nil {
		*use |= bit
	}
}

// markFile sets a rule's bit on the FileID of path in files. A path that
// does not exist is a warning (what, such as "directory ", names it); one
// that cannot be resolved is an error at field, a matcher element such as
// "match.path[1]" reported at the matcher's position.
func (k *KernelRules) markFile(files map[FileID]uint64, r *Rule, field, path, what string, stat StatFunc, bit uint64, errs *yamldoc.List) {
	fid, ok, err := stat(path)
	switch {
	case err != nil:
		matcher, _, _ := strings.Cut(field, "[")
		errs.Add(r.FieldPos(matcher), r.field(field), "resolving %s: %v", path, err)
	case !ok:
		k.Warnings = append(k.Warnings, fmt.Sprintf("rule %s: %s%s does not exist; it cannot match until vigil restarts after it is created", r.Name, what, path))
	default:
		files[fid] |= bit
	}
}
