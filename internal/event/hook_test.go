package event

import (
	"encoding/json"
	"reflect"
	"testing"
	"time"
)

func TestHookJSONRoundTrip(t *testing.T) {
	for _, tc := range []struct {
		desc string
		ev   Event
		want string
	}{
		{
			desc: "log hook with a string, a signed and an unsigned argument and a return value",
			ev: Event{Type: TypeHook, Time: time.Unix(1, 0), Process: Process{Pid: 7, Comm: "kill"},
				Hook: &Hook{Name: "sig", Target: "tracepoint:signal/signal_generate", Mechanism: "tp_btf",
					Args: []HookArg{ // JSON keeps the sign only of negative values.
						{Name: "sig", Int: 15}, {Name: "task", Int: 42},
						{Name: "task->comm", IsStr: true, Str: "sleep\xff"}, {Name: "result", Int: ^uint64(0), Signed: true}},
					HasRet: true, Ret: -1, Killed: true}},
			want: `"hook":"sig","target":"tracepoint:signal/signal_generate","mechanism":"tp_btf","args":{"sig":15,"task":42,"task->comm":"sleep\udcff","result":-1},"ret":-1,"killed":true}`,
		},
		{
			desc: "count hook",
			ev: Event{Type: TypeHookCount, Time: time.Unix(1, 0),
				Hook: &Hook{Name: "n", Target: "raw_tracepoint:sys_enter", Mechanism: "raw_tp", Count: 12, Interval: 1500 * time.Millisecond}},
			want: `"hook":"n","target":"raw_tracepoint:sys_enter","mechanism":"raw_tp","count":12,"interval_s":1.5}`,
		},
	} {
		b := tc.ev.AppendJSON(nil)
		if !json.Valid(b) {
			t.Fatalf("%s: invalid JSON %s", tc.desc, b)
		}
		if got := string(b); len(got) < len(tc.want) || got[len(got)-len(tc.want):] != tc.want {
			t.Errorf("%s:\n got %s\nwant ...%s", tc.desc, got, tc.want)
		}
		var back Event
		if err := back.UnmarshalJSON(b); err != nil {
			t.Fatalf("%s: %v", tc.desc, err)
		}
		if !reflect.DeepEqual(back.Hook, tc.ev.Hook) {
			t.Errorf("%s: round trip\n got %+v\nwant %+v", tc.desc, back.Hook, tc.ev.Hook)
		}
	}
}
