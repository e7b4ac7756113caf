package dynhook

import (
	"testing"
)

// TestMeasureVerifier logs the load time and the instructions the
// verifier walked for hooks of several shapes, and fails when pruning by
// the frozen configuration stops working (the unpruned program with every
// argument, matcher and action is several times larger).
func TestMeasureVerifier(t *testing.T) {
	for _, tc := range []struct{ desc, text string }{
		{"tp_btf count, no args", "hooks:\n  - name: m\n    tracepoint: raw_syscalls/sys_enter\n    action: count\n"},
		{"raw_tp count, no args", "hooks:\n  - name: m\n    raw_tracepoint: sys_enter\n    action: count\n"},
		{"tp_btf log 1 arg", "hooks:\n  - name: m\n    tracepoint: signal/signal_generate\n    args: [sig]\n    action: log\n"},
		{"tp_btf log 4 args + comm + eq", "hooks:\n  - name: m\n    tracepoint: signal/signal_generate\n    args: [sig, task, task->comm, result]\n    match: {comm: [x, y], args: {sig: [9, 15]}}\n    action: [log, kill]\n"},
		{"raw_tp log 4 args + comm + eq", "hooks:\n  - name: m\n    raw_tracepoint: signal_generate\n    args: [sig, task, task->comm, result]\n    match: {comm: [x, y], args: {sig: [9, 15]}}\n    action: [log, kill]\n"},
		{"tp_btf 6 args, prefix", "hooks:\n  - name: m\n    tracepoint: sched/sched_switch\n    args: [prev, next, prev->comm, next->comm, preempt, prev->pid]\n    match: {args: {next->comm: {prefix: abc}}}\n    action: log\n"},
	} {
		s, err := start(t, tc.text)
		if err != nil {
			t.Fatal(err)
		}
		l := s.set.Hooks[0]
		info, _ := l.Program.Info()
		n, _ := info.VerifiedInstructions()
		insns, _ := info.Instructions()
		t.Logf("%-32s %-7s load %6.1f ms, %4d insns verified, %4d xlated", tc.desc, l.Mech, float64(l.LoadTime.Microseconds())/1000, n, len(insns))
		if n > 1500 {
			t.Errorf("%s: the verifier walked %d instructions; the frozen configuration no longer prunes", tc.desc, n)
		}
		s.set.Close()
	}
}
