package sensor

import (
	"bytes"
	"errors"
	"testing"

	"github.com/cilium/ebpf/btf"
)

// specOf builds a BTF spec of funcs, as the kernel's would read.
func specOf(t *testing.T, funcs ...*btf.Func) *btf.Spec {
	t.Helper()
	b, err := btf.NewBuilder(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range funcs {
		if _, err := b.Add(f); err != nil {
			t.Fatal(err)
		}
	}
	raw, err := b.Marshal(nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	spec, err := btf.LoadSpecFromReader(bytes.NewReader(raw))
	if err != nil {
		t.Fatal(err)
	}
	return spec
}

func TestDedupFunc(t *testing.T) {
	long := &btf.Int{Name: "long int", Size: 8, Encoding: btf.Signed}
	regs := &btf.Pointer{Target: &btf.Const{Type: &btf.Struct{Name: "pt_regs", Size: 8}}}
	intT := &btf.Int{Name: "int", Size: 4, Encoding: btf.Signed}
	sys := func(name string, param btf.Type) *btf.Func {
		return &btf.Func{Name: name, Linkage: btf.GlobalFunc,
			Type: &btf.FuncProto{Return: long, Params: []btf.FuncParam{{Name: "regs", Type: param}}}}
	}
	for _, tc := range []struct {
		desc  string
		funcs []*btf.Func
		found bool // one match after dedup
	}{
		{"one definition is left alone", []*btf.Func{sys("__x64_sys_mprotect", regs)}, true},
		{"a weak stub beside the real one: one is kept", []*btf.Func{sys("__x64_sys_mprotect", regs), sys("__x64_sys_mprotect", regs)}, true},
		{"two different functions stay ambiguous", []*btf.Func{sys("__x64_sys_mprotect", regs), sys("__x64_sys_mprotect", intT)}, false},
	} {
		spec := specOf(t, tc.funcs...)
		if err := dedupFunc(spec, "__x64_sys_mprotect"); err != nil {
			t.Errorf("%s: %v", tc.desc, err)
			continue
		}
		var fn *btf.Func
		err := spec.TypeByName("__x64_sys_mprotect", &fn)
		if found := err == nil; found != tc.found {
			t.Errorf("%s: lookup after dedup: %v, want found=%v", tc.desc, err, tc.found)
		}
		if !tc.found && !errors.Is(err, btf.ErrMultipleMatches) {
			t.Errorf("%s: lookup error %v, want multiple matches", tc.desc, err)
		}
	}
	if err := dedupFunc(specOf(t), "__x64_sys_mprotect"); err != nil {
		t.Errorf("a missing name: %v, want nil (its rung fails to load later)", err)
	}
}
