package dynhook

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/policy"
)

// kernel returns the running kernel's BTF, or skips when it has none.
func kernel(t *testing.T) *Kernel {
	t.Helper()
	spec, err := btf.LoadKernelSpec()
	if err != nil {
		t.Skipf("no kernel BTF: %v", err)
	}
	return &Kernel{BTF: spec, Groups: map[string]string{"signal_generate": "signal"}}
}

// moduleFunc returns a function of this kernel with a struct module
// parameter named mod, and its parameters' names: __do_once_done (6.x,
// with or without CONFIG_MODULES), else do_init_module (5.10, whose
// __do_once_done has no mod and is not in BTF).
func moduleFunc(t *testing.T, k *Kernel) (string, []string) {
	t.Helper()
	for _, name := range []string{"__do_once_done", "do_init_module"} {
		var fn *btf.Func
		if k.BTF.TypeByName(name, &fn) != nil {
			continue
		}
		proto, _ := fn.Type.(*btf.FuncProto)
		if proto == nil {
			continue
		}
		var params []string
		for _, p := range proto.Params {
			params = append(params, p.Name)
		}
		if len(params) > 0 && params[len(params)-1] == "mod" {
			return name, params
		}
	}
	t.Fatal("no function with a struct module *mod parameter in this kernel's BTF")
	return "", nil
}

// loadWithModuleFunc loads the policy at path with __do_once_done
// replaced by fn, from a copy of the same base name (so that columns and
// the file name in errors stay those of the testdata).
func loadWithModuleFunc(t *testing.T, path, fn string) (*policy.Set, error) {
	t.Helper()
	text, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	copyPath := filepath.Join(t.TempDir(), filepath.Base(path))
	if err := os.WriteFile(copyPath, []byte(strings.ReplaceAll(string(text), "__do_once_done", fn)), 0o644); err != nil {
		t.Fatal(err)
	}
	return policy.Load(copyPath)
}

func TestResolve(t *testing.T) {
	k := kernel(t)
	modFn, modParams := moduleFunc(t, k)
	set, err := loadWithModuleFunc(t, "testdata/resolve.yaml", modFn)
	if err != nil {
		t.Fatal(err)
	}
	hooks, err := Resolve(set.Hooks, k)
	if err != nil {
		t.Fatalf("Resolve: %v", err)
	}
	sig, mod, opens, creds := hooks[0], hooks[1], hooks[2], hooks[3]
	for _, tc := range []struct {
		desc string
		got  any
		want any
	}{
		{"tracepoint ladder", sig.Ladder, []Mech{TPBTF, RawTP}},
		{"tracepoint attach name", sig.Attach, "signal_generate"},
		{"sig is context slot 0 (after __data), a signed int", [3]uint32{sig.Cfg.Args[0].Index, sig.Cfg.Args[0].Kind, sig.Cfg.Args[0].Size}, [3]uint32{0, uint32(bpfobj.HookHookKindHOOK_VAL), 4}},
		{"a task is its tgid", sig.Cfg.Args[1].Kind, uint32(bpfobj.HookHookKindHOOK_INT)},
		{"task->comm is a char array", sig.Args[2].IsStr, true},
		{"equal matcher", [2]uint64{sig.Cfg.Args[0].Vals[0], sig.Cfg.Args[0].Vals[1]}, [2]uint64{9, 15}},
		{"function with arguments and a return value", mod.Ladder, []Mech{Fexit}},
		{"return value slot after the parameters", mod.Cfg.RetIndex, uint32(len(modParams))},
		{"mod->name is a char array at an offset", mod.Cfg.Args[0].Kind, uint32(bpfobj.HookHookKindHOOK_STR_ARR)},
		{"enum member", mod.Cfg.Args[1].Kind, uint32(bpfobj.HookHookKindHOOK_INT)},
		{"fentry then kprobe", opens.Ladder, []Mech{Fentry, Kprobe}},
		{"a file is its name: one dereference", opens.Cfg.Args[0].Nsteps, uint32(1)},
		{"file->f_path.dentry->d_name.name: one dereference, then a string pointer", [2]uint32{opens.Cfg.Args[1].Nsteps, opens.Cfg.Args[1].Kind}, [2]uint32{1, uint32(bpfobj.HookHookKindHOOK_STR_PTR)}},
		{"the same fetch as file", [4]uint32{opens.Cfg.Args[1].Nsteps, opens.Cfg.Args[1].Steps[0], opens.Cfg.Args[1].Off, opens.Cfg.Args[1].Kind},
			[4]uint32{opens.Cfg.Args[0].Nsteps, opens.Cfg.Args[0].Steps[0], opens.Cfg.Args[0].Off, opens.Cfg.Args[0].Kind}},
		{"mask matcher", opens.Cfg.Args[3].Op, uint32(bpfobj.HookHookOpHOOK_OP_MASK)},
		{"prefix matcher", string(opens.Cfg.Args[0].Prefix[:opens.Cfg.Args[0].Plen]), "pass"},
		{"kuid_t's val", creds.Args[0].IsStr, false},
	} {
		if g, w := tc.got, tc.want; !equal(g, w) {
			t.Errorf("%s: got %v, want %v", tc.desc, g, w)
		}
	}
	if sig.Cfg.Args[0].Sign != 1 {
		t.Errorf("sig is not sign-extended")
	}
}

func equal(a, b any) bool {
	return strings.TrimSpace(fmtv(a)) == strings.TrimSpace(fmtv(b))
}

func TestResolveErrors(t *testing.T) {
	k := kernel(t)
	modFn, modParams := moduleFunc(t, k)
	set, err := loadWithModuleFunc(t, "testdata/misspelled.yaml", modFn)
	if err != nil {
		t.Fatal(err)
	}
	_, err = Resolve(set.Hooks, k)
	if err == nil {
		t.Fatal("Resolve succeeded; want errors")
	}
	got := err.Error()
	for _, want := range []string{
		`misspelled.yaml:3:17: hooks[0].tracepoint: no tracepoint "signal/signal_generat" in this kernel (did you mean signal/signal_generate`,
		`misspelled.yaml:7:15: hooks[1].function: no function "commit_cred" in this kernel's BTF (did you mean commit_creds`,
		`misspelled.yaml:11:12: hooks[2].args[0]: no argument "mdo" (did you mean mod?); the arguments are ` + strings.Join(modParams, ", "),
		`misspelled.yaml:11:23: hooks[2].args[1]: mod (struct module) has no member "nmae" (did you mean name`,
		`misspelled.yaml:11:34: hooks[2].args[2]: mod->name (char[56]) is not a struct or union`,
		`hooks[2].args[4]: mod->mkobj is struct module_kobject: name one of its members (kobj, mod, `,
		`misspelled.yaml:18:9: hooks[3].match.args.sig: sig is an integer: match it with a number or a mask`,
		`misspelled.yaml:19:9: hooks[3].match.args.task->comm: task->comm is a string: match it with a string or a prefix`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("missing error\n%s\nin\n%s", want, got)
		}
	}
}
