package sensor

import (
	"fmt"
	"strings"

	"github.com/cilium/ebpf"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/doctor"
	"github.com/vigil-sec/vigil/internal/event"
)

// processSensor reports fork, exec and exit (bpf/process.c).
type processSensor struct {
	exec bpfobj.ProcessExecEvent
	fork bpfobj.ProcessForkEvent
	exit bpfobj.ProcessExitEvent
}

var processRungs = []rung{
	{mechanism: "fexit/kernel_clone", kind: "fentry", progs: []string{"fork_fexit"}},
	{mechanism: "tp_btf/sched_process_fork", kind: "tp_btf", progs: []string{"fork_tp_btf"}},
	{mechanism: "tp_btf/sched_process_exec", kind: "tp_btf", progs: []string{"exec_tp_btf"}},
	compat(rung{mechanism: "tp_btf/sched_process_exec", kind: "tp_btf", progs: []string{"exec_tp_btf"}},
		doctor.CompatLoops, bpfobj.LoadProcessCompat),
	{mechanism: "fentry/acct_collect (in do_exit)", kind: "fentry", progs: []string{"exit_fentry"}},
	{mechanism: "tp_btf/sched_process_exit", kind: "tp_btf", progs: []string{"exit_tp_btf"}},
}

func (s *processSensor) name() string { return "process" }

func (s *processSensor) types() []event.Type {
	return []event.Type{event.TypeFork, event.TypeExec, event.TypeExit}
}
func (s *processSensor) rungs() []rung { return processRungs }

func (s *processSensor) loadSpec() (*ebpf.CollectionSpec, error) { return bpfobj.LoadProcess() }

func (s *processSensor) decode(kind uint32, raw []byte, ev *event.Event) error {
	switch kind {
	case kindFork:
		load(&s.fork, raw)
		f := &s.fork
		ev.Fork = &event.Fork{ChildPid: f.ChildPid, ChildTid: f.ChildTid, CloneFlags: f.CloneFlags,
			HasFlags: f.Flags&forkHasCloneFlags != 0, Thread: f.Flags&forkThread != 0}
	case kindExit:
		load(&s.exit, raw)
		c := s.exit.Code
		ev.Exit = &event.Exit{Code: int32(c >> 8 & 0xff), Signal: int32(c & 0x7f), CoreDmp: c&0x80 != 0,
			Thread: s.exit.Flags&exitThread != 0}
	case kindExec:
		load(&s.exec, raw)
		x := &s.exec
		data := x.Data[:]
		filename := slice(data, 0, x.FilenameLen)
		pathb := slice(data, x.FilenameLen, x.PathLen)
		argb := slice(data, x.FilenameLen+x.PathLen, x.ArgsLen)
		e := &event.Exec{
			Filename:  cstring(filename),
			Path:      joinPath(pathb, x.FileFlags),
			Args:      splitNUL(argb),
			Truncated: x.FileFlags&argsTrunc != 0 || x.FileFlags&filePathTrunc != 0,
			Euid:      x.Euid,
			BaseAddr:  x.BaseAddr,
			Dev:       uint64(x.Dev),
			Ino:       x.Ino,
		}
		internal := x.FileFlags&fileInternal != 0
		e.Memfd = internal && strings.HasPrefix(e.Path, "memfd:")
		e.Deleted = x.FileFlags&fileUnlinked != 0 && !e.Memfd
		ev.Exec = e
	default:
		return fmt.Errorf("process sensor: unexpected record kind %d", kind)
	}
	return nil
}
