package sensor

import (
	"errors"
	"fmt"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/btf"
)

// dedupAttachFuncs makes each kernel function that a fentry/fexit program
// of specs attaches to resolve to one BTF type in kernel, the spec the
// loaders share (btf.Cache.Kernel).
//
// Debian's 6.1 vmlinux BTF describes some system calls' entry points
// twice, __x64_sys_mprotect and __x64_sys_init_module among them: the real
// definition and kernel/sys_ni.c's weak COND_SYSCALL stub, both with the
// same name and prototype. The kernel attaches either BTF id to the one
// address kallsyms gives that name, but cilium/ebpf refuses a name with
// two matches. Where every match is a function of the same prototype,
// this renames all but the first in the shared spec, so that the lookup
// finds one; the ids, which are what the kernel sees, do not change.
// Names whose matches differ are left alone: their rung fails to load
// and the ladder moves on.
func dedupAttachFuncs(kernel *btf.Spec, specs []*ebpf.CollectionSpec) error {
	seen := map[string]bool{}
	for _, cs := range specs {
		for _, p := range cs.Programs {
			if p.Type != ebpf.Tracing || p.AttachTo == "" || seen[p.AttachTo] {
				continue
			}
			seen[p.AttachTo] = true
			if err := dedupFunc(kernel, p.AttachTo); err != nil {
				return err
			}
		}
	}
	return nil
}

func dedupFunc(kernel *btf.Spec, name string) error {
	types, err := kernel.AnyTypesByName(name)
	if errors.Is(err, btf.ErrNotFound) || len(types) < 2 {
		return nil
	}
	if err != nil {
		return fmt.Errorf("looking up %s in kernel BTF: %w", name, err)
	}
	var funcs []*btf.Func
	for _, t := range types {
		fn, ok := t.(*btf.Func)
		if !ok || (len(funcs) > 0 && !sameProto(fn, funcs[0])) {
			return nil
		}
		funcs = append(funcs, fn)
	}
	for i, fn := range funcs[1:] {
		fn.Name = fmt.Sprintf("%s.dup%d", name, i+1)
	}
	return nil
}

// sameProto reports whether two functions take the same parameters, by
// type name, and return the same type.
func sameProto(a, b *btf.Func) bool {
	pa, okA := a.Type.(*btf.FuncProto)
	pb, okB := b.Type.(*btf.FuncProto)
	if !okA || !okB || len(pa.Params) != len(pb.Params) || typeName(pa.Return) != typeName(pb.Return) {
		return false
	}
	for i := range pa.Params {
		if typeName(pa.Params[i].Type) != typeName(pb.Params[i].Type) {
			return false
		}
	}
	return true
}

// typeName names t for comparison: a pointer by what it points to.
func typeName(t btf.Type) string {
	if p, ok := t.(*btf.Pointer); ok {
		return "*" + typeName(p.Target)
	}
	if q, ok := btf.UnderlyingType(t).(*btf.Int); ok {
		return q.Name
	}
	return btf.UnderlyingType(t).TypeName()
}
