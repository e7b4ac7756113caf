package export

import (
	"path"

	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/log"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"

	"github.com/vigil-sec/vigil/internal/event"
)

// record fills r with ev as an OpenTelemetry log record: the event's
// JSON (docs/events.md) as the body, so nothing is lost, and attributes
// named by the semantic conventions (process.*, file.*, thread.id) where
// one fits, vigil.* otherwise. json is ev's JSON form.
func record(r *log.Record, ev *event.Event, json []byte) {
	r.SetTimestamp(ev.Time)
	r.SetEventName("vigil." + string(ev.Type))
	r.SetSeverity(log.SeverityInfo)
	r.SetSeverityText("INFO")
	if v := ev.Verdict; v != nil && (v.Action != "log" || v.Severity != "") {
		r.SetSeverity(log.SeverityWarn)
		r.SetSeverityText("WARN")
	}
	r.SetBody(attribute.StringValue(string(json)))

	p := &ev.Process
	kv := make([]attribute.KeyValue, 0, 16)
	kv = append(kv,
		attribute.String("vigil.type", string(ev.Type)),
		attribute.Int(string(semconv.ProcessPIDKey), int(p.Pid)),
		attribute.Int(string(semconv.ThreadIDKey), int(p.Tid)),
		attribute.Int(string(semconv.ProcessParentPIDKey), int(p.Ppid)),
		attribute.Int(string(semconv.ProcessRealUserIDKey), int(p.Uid)),
		attribute.Int("process.real_group.id", int(p.Gid)),
		attribute.String("vigil.process.comm", p.Comm),
	)
	exe := p.Exe
	if ev.Exec != nil {
		exe = ev.Exec.Path // the new image
	}
	if exe != "" {
		kv = append(kv,
			attribute.String(string(semconv.ProcessExecutablePathKey), exe),
			attribute.String(string(semconv.ProcessExecutableNameKey), path.Base(exe)))
	}
	if p.ParentExe != "" {
		kv = append(kv, attribute.String("vigil.parent.executable.path", p.ParentExe))
	}
	if p.Cgroup.Path != "" {
		kv = append(kv, attribute.String("vigil.cgroup.path", p.Cgroup.Path))
	}
	if c := p.Container; c != nil {
		kv = append(kv,
			attribute.String(string(semconv.ContainerIDKey), c.ID),
			attribute.String(string(semconv.ContainerRuntimeNameKey), c.Runtime))
	}
	switch {
	case ev.Exec != nil:
		x := ev.Exec
		kv = append(kv,
			attribute.StringSlice(string(semconv.ProcessCommandArgsKey), x.Args),
			attribute.Int(string(semconv.ProcessArgsCountKey), len(x.Args)),
			attribute.Int(string(semconv.ProcessUserIDKey), int(x.Euid)),
			attribute.Bool("vigil.exec.memfd", x.Memfd),
			attribute.Bool("vigil.exec.deleted", x.Deleted))
		if len(x.Args) > 0 {
			kv = append(kv, attribute.String(string(semconv.ProcessCommandKey), x.Args[0]))
		}
	case ev.Fork != nil:
		kv = append(kv,
			attribute.Int("vigil.fork.child_pid", int(ev.Fork.ChildPid)),
			attribute.Bool("vigil.fork.thread", ev.Fork.Thread))
	case ev.Exit != nil:
		kv = append(kv,
			attribute.Int(string(semconv.ProcessExitCodeKey), int(ev.Exit.Code)),
			attribute.Int("vigil.exit.signal", int(ev.Exit.Signal)))
	case ev.Module != nil:
		kv = append(kv, attribute.String("vigil.module.name", ev.Module.Name))
		if ev.Module.Path != "" {
			kv = append(kv, attribute.String(string(semconv.FilePathKey), ev.Module.Path))
		}
	case ev.Mprotect != nil:
		kv = append(kv,
			attribute.StringSlice("vigil.mprotect.prot", event.ProtNames(ev.Mprotect.Prot)),
			attribute.Bool("vigil.mprotect.wx", ev.Mprotect.WX))
	case ev.Open != nil:
		fp := ev.Open.ResolvedPath
		if fp == "" {
			fp = ev.Open.Path
		}
		kv = append(kv,
			attribute.String(string(semconv.FilePathKey), fp),
			attribute.StringSlice("vigil.open.flags", event.OpenFlagNames(ev.Open.Flags)))
	}
	if v := ev.Verdict; v != nil {
		kv = append(kv,
			attribute.String("vigil.verdict.rule", v.Rule),
			attribute.String("vigil.verdict.action", v.Action),
			attribute.Bool("vigil.verdict.enforced", v.Enforced))
		if v.Severity != "" {
			kv = append(kv, attribute.String("vigil.verdict.severity", v.Severity))
		}
		if v.Mitre != "" {
			kv = append(kv, attribute.String("vigil.verdict.mitre", v.Mitre))
		}
	}
	r.AddAttributes(kv...)
}
