package policy

import (
	"reflect"
	"testing"
)

func TestGoodHooks(t *testing.T) {
	set, err := Load("testdata/hooks")
	if err != nil {
		t.Fatalf("Load(testdata/hooks): %v", err)
	}
	if len(set.Rules) != 0 || len(set.Hooks) != 4 {
		t.Fatalf("got %d rules and %d hooks, want 0 and 4", len(set.Rules), len(set.Hooks))
	}
	for _, tc := range []struct {
		desc string
		got  any
		want any
	}{
		{"tracepoint target", set.Hooks[0].TargetString(), "tracepoint:signal/signal_generate"},
		{"args in order", set.Hooks[0].Args[2].Expr, "task->comm"},
		{"position of an argument", set.Hooks[0].Args[1].Pos, Pos{File: "testdata/hooks/hooks.yaml", Line: 6, Col: 17}},
		{"process matcher", set.Hooks[0].Match.Comm, []string{"bash", "kill"}},
		{"argument matcher on integers", set.Hooks[0].Match.Args[0].Equal, []uint64{9, 15}},
		{"action list", set.Hooks[1].Actions, []Action{ActionLog, ActionCount}},
		{"return", set.Hooks[1].Return, true},
		{"override alone is the action", set.Hooks[2].Actions, []Action{ActionOverride}},
		{"override errno name is its negative", set.Hooks[2].Override, int32(-1)},
		{"mask matcher", set.Hooks[3].Match.Args[0].Mask, uint64(3)},
		{"raw tracepoint", set.Hooks[3].Kind, HookRawTracepoint},
	} {
		if !reflect.DeepEqual(tc.got, tc.want) {
			t.Errorf("%s: got %#v, want %#v", tc.desc, tc.got, tc.want)
		}
	}
}
