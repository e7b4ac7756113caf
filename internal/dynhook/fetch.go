package dynhook

import (
	"fmt"
	"regexp"
	"strings"

	"github.com/cilium/ebpf/btf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
)

// maxSteps is HOOK_MAX_STEPS: pointers one argument may follow.
const maxSteps = 4

// fetch is one argument's fetch program (struct hook_arg): take context
// slot index, follow a pointer at each of steps, then read kind at off.
type fetch struct {
	index uint32
	steps []uint32
	off   uint32
	kind  bpfobj.HookHookKind
	size  uint32
	sign  bool
}

// component is one name of an argument expression and what precedes it
// ("" for the first, "->" or ".").
type component struct{ sep, name string }

var componentRE = regexp.MustCompile(`(->|\.)?([A-Za-z_][A-Za-z0-9_]*)`)

func components(expr string) []component {
	var out []component
	for _, m := range componentRE.FindAllStringSubmatch(expr, -1) {
		out = append(out, component{m[1], m[2]})
	}
	return out
}

// walk is the state of resolving an expression: either the value of type
// t is in hand (mem false), or an object of type t is at base + off.
type walk struct {
	f   fetch
	t   btf.Type
	mem bool
}

// fetchProgram resolves expr against the hook's parameters. It returns
// "" or a message for the user, with the closest names where a name is
// wrong.
func fetchProgram(expr string, params []btf.FuncParam, first int) (fetch, Arg, string) {
	cs := components(expr)
	var names []string
	w := walk{}
	found := false
	for i, p := range params {
		names = append(names, p.Name)
		if p.Name == cs[0].name {
			w.f.index, w.t, found = uint32(first+i), p.Type, true
		}
	}
	if !found {
		return fetch{}, Arg{}, fmt.Sprintf("no argument %q%s; the arguments are %s", cs[0].name, didYouMean(cs[0].name, names), strings.Join(names, ", "))
	}
	path := cs[0].name
	for _, c := range cs[1:] {
		if msg := w.member(c, path); msg != "" {
			return fetch{}, Arg{}, msg
		}
		path += c.sep + c.name
	}
	arg, msg := w.finish(path)
	if msg != "" {
		return fetch{}, Arg{}, msg
	}
	if len(w.f.steps) > maxSteps {
		return fetch{}, Arg{}, fmt.Sprintf("%s follows %d pointers; a hook follows at most %d", expr, len(w.f.steps), maxSteps)
	}
	arg.Name = expr
	return w.f, arg, ""
}

// member applies one "->name" or ".name".
func (w *walk) member(c component, path string) string {
	t := btf.UnderlyingType(w.t)
	if c.sep == "->" {
		p, ok := t.(*btf.Pointer)
		if !ok {
			return fmt.Sprintf("%s is %s, not a pointer: use . for its members", path, typeName(w.t))
		}
		if w.mem {
			w.f.steps = append(w.f.steps, w.f.off)
		}
		w.f.off, w.mem, t = 0, true, btf.UnderlyingType(p.Target)
	} else {
		if _, ok := t.(*btf.Pointer); ok {
			return fmt.Sprintf("%s is a pointer (%s): use -> for its members", path, typeName(w.t))
		}
		if !w.mem {
			return fmt.Sprintf("%s is %s, not a struct", path, typeName(w.t))
		}
	}
	off, mt, names, msg := findMember(t, c.name)
	if msg != "" {
		return fmt.Sprintf("%s (%s) %s", path, typeName(t), msg)
	}
	if mt == nil {
		return fmt.Sprintf("%s (%s) has no member %q%s", path, typeName(t), c.name, didYouMean(c.name, names))
	}
	w.f.off += off
	w.t = mt
	return ""
}

// findMember finds name among the members of a struct or union,
// looking into anonymous members. It returns the byte offset and type, or
// nil and the names there are.
func findMember(t btf.Type, name string) (uint32, btf.Type, []string, string) {
	var ms []btf.Member
	switch s := t.(type) {
	case *btf.Struct:
		ms = s.Members
	case *btf.Union:
		ms = s.Members
	default:
		return 0, nil, nil, "is not a struct or union"
	}
	var names []string
	for _, m := range ms {
		if m.Name == "" {
			off, mt, sub, msg := findMember(btf.UnderlyingType(m.Type), name)
			if mt != nil {
				return m.Offset.Bytes() + off, mt, nil, msg
			}
			names = append(names, sub...)
			continue
		}
		names = append(names, m.Name)
		if m.Name == name {
			if m.BitfieldSize != 0 {
				return 0, nil, nil, fmt.Sprintf("member %s is a bitfield, which a hook cannot read", name)
			}
			return m.Offset.Bytes(), m.Type, nil, ""
		}
	}
	return 0, nil, names, ""
}

// finish chooses how to read the value the walk ended on.
func (w *walk) finish(path string) (Arg, string) {
	t := btf.UnderlyingType(w.t)
	switch t := t.(type) {
	case *btf.Int:
		return w.integer(t.Size, t.Encoding == btf.Signed), ""
	case *btf.Enum:
		return w.integer(t.Size, t.Signed), ""
	case *btf.Array:
		if isChar(t.Type) {
			if !w.mem {
				return Arg{}, fmt.Sprintf("%s is an array passed by value", path)
			}
			w.f.kind = bpfobj.HookHookKindHOOK_STR_ARR
			return Arg{IsStr: true}, ""
		}
		return Arg{}, fmt.Sprintf("%s is %s: name one element's member or use a char array", path, typeName(w.t))
	case *btf.Pointer:
		target := btf.UnderlyingType(t.Target)
		if isChar(target) {
			if w.mem {
				w.f.kind = bpfobj.HookHookKindHOOK_STR_PTR
			} else {
				w.f.kind = bpfobj.HookHookKindHOOK_STR_ARR // the string at the pointer's value
			}
			return Arg{IsStr: true}, ""
		}
		if s, ok := target.(*btf.Struct); ok {
			if arg, ok := w.special(s); ok {
				return arg, ""
			}
		}
		return w.integer(8, false), ""
	case *btf.Struct, *btf.Union:
		_, _, names, _ := findMember(t, "")
		return Arg{}, fmt.Sprintf("%s is %s: name one of its members (%s)", path, typeName(w.t), strings.Join(first(names, 8), ", "))
	}
	return Arg{}, fmt.Sprintf("%s is %s, which a hook cannot read", path, typeName(w.t))
}

// special reads the pointers to structs that have an obvious value: a
// task's pid (its tgid), a dentry's or a file's name.
func (w *walk) special(s *btf.Struct) (Arg, bool) {
	var path []string
	var kind bpfobj.HookHookKind
	switch s.Name {
	case "task_struct":
		path, kind = []string{"tgid"}, bpfobj.HookHookKindHOOK_INT
	case "dentry":
		path, kind = []string{"d_name", "name"}, bpfobj.HookHookKindHOOK_STR_PTR
	case "file":
		path, kind = []string{"f_path", "dentry", "->d_name", "name"}, bpfobj.HookHookKindHOOK_STR_PTR
	default:
		return Arg{}, false
	}
	f := w.f
	if w.mem {
		f.steps = append(f.steps, f.off)
	}
	f.off = 0
	var t btf.Type = s
	for _, p := range path {
		if name, ok := strings.CutPrefix(p, "->"); ok {
			f.steps = append(f.steps, f.off)
			f.off, p = 0, name
			t = btf.UnderlyingType(t.(*btf.Pointer).Target)
		}
		off, mt, _, _ := findMember(btf.UnderlyingType(t), p)
		if mt == nil {
			return Arg{}, false
		}
		f.off += off
		t = btf.UnderlyingType(mt)
	}
	f.kind = kind
	if kind == bpfobj.HookHookKindHOOK_INT {
		f.size, f.sign = 4, true
		w.f = f
		return Arg{Signed: true}, true
	}
	w.f = f
	return Arg{IsStr: true}, true
}

func (w *walk) integer(size uint32, signed bool) Arg {
	w.f.kind = bpfobj.HookHookKindHOOK_INT
	if !w.mem {
		w.f.kind = bpfobj.HookHookKindHOOK_VAL
	}
	w.f.size, w.f.sign = size, signed
	return Arg{Signed: signed}
}

func isChar(t btf.Type) bool {
	i, ok := btf.UnderlyingType(t).(*btf.Int)
	return ok && i.Size == 1
}

func first(s []string, n int) []string {
	if len(s) > n {
		return append(s[:n:n], "...")
	}
	return s
}

// typeName names t as C would, roughly: "struct module *", "int".
func typeName(t btf.Type) string {
	switch t := t.(type) {
	case *btf.Pointer:
		return typeName(t.Target) + " *"
	case *btf.Const:
		return typeName(t.Type)
	case *btf.Volatile:
		return typeName(t.Type)
	case *btf.Struct:
		return "struct " + t.Name
	case *btf.Union:
		return "union " + t.Name
	case *btf.Array:
		return fmt.Sprintf("%s[%d]", typeName(t.Type), t.Nelems)
	}
	if t.TypeName() != "" {
		return t.TypeName()
	}
	return fmt.Sprintf("%T", t)
}

// set writes f into the program's struct hook_arg a.
func (f fetch) set(cfg *bpfobj.HookHookCfg, i int) {
	c := &cfg.Args[i]
	c.Index = f.index
	c.Nsteps = uint32(len(f.steps))
	copy(c.Steps[:], f.steps)
	c.Off = f.off
	c.Kind = uint32(f.kind)
	c.Size = f.size
	if f.sign {
		c.Sign = 1
	}
}
