package policy

import "github.com/vigil-sec/vigil/internal/yamldoc"

// Bounds of a hook, set by the generic programs' configuration
// (bpf/include/hook.h).
const (
	// MaxHookArgs is the number of arguments one hook may fetch.
	MaxHookArgs = 6
	// MaxHookValues bounds each process matcher and each argument's
	// equal list.
	MaxHookValues = 4
	// MaxHookPrefix is the longest string prefix (or exact string, with
	// its terminating NUL) an argument matcher may compare.
	MaxHookPrefix = 32
	// MaxHooks bounds the hooks of one Set (the count map's size).
	MaxHooks = 256
)

// HookKind says what a hook's target names.
type HookKind string

// The kinds of target.
const (
	// HookTracepoint is a tracepoint by "group/name" (tp_btf, else raw_tp).
	HookTracepoint HookKind = "tracepoint"
	// HookRawTracepoint is a raw tracepoint by name (raw_tp).
	HookRawTracepoint HookKind = "raw_tracepoint"
	// HookFunction is a kernel function (fentry/fexit, else kprobe/kretprobe).
	HookFunction HookKind = "function"
)

// Hook actions besides ActionLog and ActionKill.
const (
	// ActionCount counts matches in the kernel; vigil reports the counts
	// per interval.
	ActionCount Action = "count"
	// ActionOverride makes a function return Hook.Override instead of
	// running (fmod_ret or bpf_override_return).
	ActionOverride Action = "override"
)

// Hook is one entry of a policy's hooks list (docs/hooks.md): a kernel
// function or tracepoint, the arguments to fetch, the matchers and the
// actions. Names of arguments and members are checked against the
// kernel's BTF later, by internal/dynhook, at the positions kept here.
type Hook struct {
	// Name is unique among a Set's hooks.
	Name string
	// Kind and Target name the hook point: "signal/signal_generate",
	// "sys_enter", "do_init_module".
	Kind   HookKind
	Target string
	// Args are the expressions to fetch, such as "sig" or "mod->name".
	Args []HookArg
	// Return asks for the function's return value (fexit, kretprobe).
	Return bool
	// Match is the conjunction of the matchers.
	Match HookMatch
	// Actions are what the hook does on a match, in the order written.
	Actions []Action
	// Override is the value the function returns with ActionOverride:
	// a negative errno or a number.
	Override int32
	// Pos is where the hook starts in its file.
	Pos Pos

	pos map[string]Pos
	idx int
}

// HookArg is one argument expression and where it was written.
type HookArg struct {
	Expr string
	Pos  Pos
}

// HookMatch holds a hook's matchers on the acting process and on
// argument values. Every matcher set must match; within a list any value.
type HookMatch struct {
	Pid  []uint32
	Comm []string
	Uid  []uint32
	Args []HookArgMatch
}

// HookArgMatch is a matcher on one of the hook's arguments: Equal (any of
// the integers), Str (the whole string), Prefix, or Mask (any bit set).
type HookArgMatch struct {
	// Arg is the expression, one of the hook's Args.
	Arg     string
	Equal   []uint64
	Str     string
	HasStr  bool
	Prefix  string
	Mask    uint64
	HasMask bool
	Pos     Pos
}

// Has reports whether h's actions include a.
func (h *Hook) Has(a Action) bool {
	for _, b := range h.Actions {
		if a == b {
			return true
		}
	}
	return false
}

// TargetString returns the target as "kind:target".
func (h *Hook) TargetString() string {
	return string(h.Kind) + ":" + h.Target
}

// FieldPos returns the position of field (such as "args[1]" or
// "tracepoint"), or the hook's own position when it was not written.
func (h *Hook) FieldPos(field string) Pos {
	if p, ok := h.pos[field]; ok {
		return p
	}
	return h.Pos
}

// Field returns the path of a field of h, such as "hooks[2].tracepoint".
func (h *Hook) Field(f string) string {
	return yamldoc.Field(yamldoc.Index("hooks", h.idx), f)
}
