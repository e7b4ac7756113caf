package event

import (
	"strconv"
	"time"
	"unicode/utf8"
)

// MarshalJSON returns the event as one JSON object (no newline).
func (e *Event) MarshalJSON() ([]byte, error) {
	return e.AppendJSON(nil), nil
}

// AppendJSON appends the event's JSON object to dst and returns the
// extended buffer. It does not allocate beyond growing dst, so a writer
// can reuse one buffer for every event.
func (e *Event) AppendJSON(dst []byte) []byte {
	w := objWriter{b: dst}
	w.open()
	w.int("schema", SchemaVersion)
	w.str("type", string(e.Type))
	w.key("time")
	w.b = append(w.b, '"')
	w.b = e.Time.UTC().AppendFormat(w.b, time.RFC3339Nano)
	w.b = append(w.b, '"')
	if e.KernelNS != 0 {
		w.uint("ktime_ns", e.KernelNS)
	}
	e.appendProcess(&w)
	switch {
	case e.Fork != nil:
		f := e.Fork
		w.uint("child_pid", uint64(f.ChildPid))
		w.uint("child_tid", uint64(f.ChildTid))
		w.bool("thread", f.Thread)
		if f.HasFlags {
			w.uint("clone_flags", f.CloneFlags)
		}
	case e.Exec != nil:
		x := e.Exec
		w.str("filename", x.Filename)
		w.str("path", x.Path)
		w.strs("args", x.Args)
		w.bool("truncated", x.Truncated)
		w.uint("euid", uint64(x.Euid))
		w.uint("base_addr", x.BaseAddr)
		w.bool("memfd", x.Memfd)
		w.bool("deleted", x.Deleted)
		w.uint("dev", x.Dev)
		w.uint("ino", x.Ino)
	case e.Exit != nil:
		x := e.Exit
		w.int("exit_code", int64(x.Code))
		w.int("signal", int64(x.Signal))
		if x.Signal != 0 {
			w.str("signal_name", SignalName(x.Signal))
		}
		w.bool("thread", x.Thread)
		w.bool("core_dumped", x.CoreDmp)
	case e.Module != nil:
		m := e.Module
		w.str("syscall", m.Syscall)
		w.str("name", m.Name)
		if m.Path != "" {
			w.str("path", m.Path)
		}
		w.int("fd", int64(m.Fd))
		w.result(m.Result)
	case e.Mprotect != nil:
		m := e.Mprotect
		w.str("syscall", m.Syscall)
		w.uint("addr", m.Addr)
		w.uint("len", m.Len)
		w.strs("prot", ProtNames(m.Prot))
		w.uint("prot_raw", uint64(m.Prot))
		if m.HasOld {
			w.strs("old_prot", ProtNames(m.OldProt))
		}
		w.bool("wx", m.WX)
		if m.Syscall == "mmap" {
			w.strs("map_flags", MapFlagNames(m.MapFlags))
			w.uint("map_flags_raw", uint64(m.MapFlags))
			w.int("fd", int64(m.Fd))
		}
		if m.HasFile {
			w.uint("dev", m.Dev)
			w.uint("ino", m.Ino)
		}
		if m.FilesUnchecked {
			w.bool("files_unchecked", true)
		}
		w.result(m.Result)
	case e.Open != nil:
		o := e.Open
		w.str("syscall", o.Syscall)
		w.str("path", o.Path)
		if o.ResolvedPath != "" {
			w.str("resolved_path", o.ResolvedPath)
		}
		w.int("dirfd", int64(o.Dirfd))
		w.strs("flags", OpenFlagNames(o.Flags))
		w.uint("flags_raw", uint64(o.Flags))
		w.uint("mode", uint64(o.Mode))
		if o.Via != "" {
			w.str("via", o.Via)
		}
		if o.FixedFile {
			w.bool("fixed_file", true)
		}
		if o.Unresolved {
			w.bool("unresolved", true)
		}
		if o.NoResult {
			w.bool("no_result", true)
		} else {
			w.result(o.Result)
		}
	case e.Net != nil:
		e.Net.appendJSON(&w)
	case e.File != nil:
		e.File.appendJSON(&w, e.Type)
	case e.Cred != nil:
		e.Cred.appendJSON(&w)
	case e.Ptrace != nil:
		e.Ptrace.appendJSON(&w)
	case e.Namespace != nil:
		e.Namespace.appendJSON(&w)
	case e.Mount != nil:
		e.Mount.appendJSON(&w)
	case e.BPF != nil:
		e.BPF.appendJSON(&w)
	case e.Syscall != nil:
		s := e.Syscall
		w.str("syscall", s.Name)
		w.int("nr", int64(s.Nr))
		w.key("syscall_args")
		w.b = append(w.b, '[')
		for i, a := range s.Args {
			if i > 0 {
				w.b = append(w.b, ',')
			}
			w.b = strconv.AppendUint(w.b, a, 10)
		}
		w.b = append(w.b, ']')
		w.result(s.Result)
	case e.Hook != nil:
		e.Hook.appendJSON(&w, e.Type == TypeHookCount)
	case e.Lost != nil:
		w.key("lost")
		lw := objWriter{b: w.b}
		lw.open()
		for _, t := range KernelTypes {
			if n, ok := e.Lost.Counts[t]; ok {
				lw.uint(string(t), n)
			}
		}
		lw.close()
		w.b = lw.b
	}
	if v := e.Verdict; v != nil {
		w.str("rule", v.Rule)
		w.str("action", v.Action)
		w.bool("enforced", v.Enforced)
		if v.Mechanism != "" {
			w.str("mechanism", v.Mechanism)
		}
		if v.Severity != "" {
			w.str("severity", v.Severity)
		}
		if v.Mitre != "" {
			w.str("mitre", v.Mitre)
		}
	}
	w.close()
	return w.b
}

func (e *Event) appendProcess(w *objWriter) {
	p := &e.Process
	w.key("process")
	pw := objWriter{b: w.b}
	pw.open()
	pw.uint("pid", uint64(p.Pid))
	pw.uint("tid", uint64(p.Tid))
	pw.uint("ppid", uint64(p.Ppid))
	pw.uint("uid", uint64(p.Uid))
	pw.uint("gid", uint64(p.Gid))
	pw.str("comm", p.Comm)
	pw.str("exe", p.Exe)
	if p.ParentComm != "" || p.ParentExe != "" {
		pw.str("parent_comm", p.ParentComm)
		pw.str("parent_exe", p.ParentExe)
	}
	if len(p.Ancestors) > 0 {
		pw.key("ancestors")
		pw.b = append(pw.b, '[')
		for i := range p.Ancestors {
			if i > 0 {
				pw.b = append(pw.b, ',')
			}
			pw.b = appendAncestor(pw.b, &p.Ancestors[i])
		}
		pw.b = append(pw.b, ']')
	}
	p.appendContext(&pw)
	pw.close()
	w.b = pw.b
}

func appendAncestor(dst []byte, a *Ancestor) []byte {
	w := objWriter{b: dst}
	w.open()
	w.uint("pid", uint64(a.Pid))
	w.str("comm", a.Comm)
	w.str("exe", a.Exe)
	if !a.Start.IsZero() {
		w.key("start_time")
		w.b = append(w.b, '"')
		w.b = a.Start.UTC().AppendFormat(w.b, time.RFC3339Nano)
		w.b = append(w.b, '"')
	}
	if a.Args != nil {
		w.strs("args", a.Args)
	}
	w.close()
	return w.b
}

// objWriter appends the members of one JSON object.
type objWriter struct {
	b []byte
	n int
}

func (w *objWriter) open()  { w.b = append(w.b, '{') }
func (w *objWriter) close() { w.b = append(w.b, '}') }

func (w *objWriter) key(k string) {
	if w.n > 0 {
		w.b = append(w.b, ',')
	}
	w.n++
	w.b = append(w.b, '"')
	w.b = append(w.b, k...)
	w.b = append(w.b, '"', ':')
}

func (w *objWriter) str(k, v string) {
	w.key(k)
	w.b = AppendString(w.b, v)
}

func (w *objWriter) strs(k string, vs []string) {
	w.key(k)
	w.b = append(w.b, '[')
	for i, v := range vs {
		if i > 0 {
			w.b = append(w.b, ',')
		}
		w.b = AppendString(w.b, v)
	}
	w.b = append(w.b, ']')
}

func (w *objWriter) int(k string, v int64) {
	w.key(k)
	w.b = strconv.AppendInt(w.b, v, 10)
}

func (w *objWriter) uint(k string, v uint64) {
	w.key(k)
	w.b = strconv.AppendUint(w.b, v, 10)
}

func (w *objWriter) bool(k string, v bool) {
	w.key(k)
	w.b = strconv.AppendBool(w.b, v)
}

// result writes "result" and, for a negative one, "error" with the errno
// name.
func (w *objWriter) result(r int64) {
	w.int("result", r)
	if n := ErrnoName(r); n != "" {
		w.str("error", n)
	}
}

// AppendString appends s as a JSON string. Bytes that are not valid UTF-8
// are written as \udc80-\udcff (surrogateescape) so that the exact bytes
// can be recovered; see the package comment.
func AppendString(dst []byte, s string) []byte {
	const hexd = "0123456789abcdef"
	dst = append(dst, '"')
	for i := 0; i < len(s); {
		c := s[i]
		if c < utf8.RuneSelf {
			switch {
			case c == '"' || c == '\\':
				dst = append(dst, '\\', c)
			case c == '\n':
				dst = append(dst, '\\', 'n')
			case c == '\t':
				dst = append(dst, '\\', 't')
			case c == '\r':
				dst = append(dst, '\\', 'r')
			case c < 0x20 || c == 0x7f:
				dst = append(dst, '\\', 'u', '0', '0', hexd[c>>4], hexd[c&0xf])
			default:
				dst = append(dst, c)
			}
			i++
			continue
		}
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			dst = append(dst, '\\', 'u', 'd', 'c', hexd[c>>4], hexd[c&0xf])
			i++
			continue
		}
		// U+2028 and U+2029 break JavaScript consumers of JSON lines.
		if r == '\u2028' || r == '\u2029' {
			dst = append(dst, '\\', 'u', '2', '0', '2', hexd[r&0xf])
		} else {
			dst = append(dst, s[i:i+size]...)
		}
		i += size
	}
	return append(dst, '"')
}

// appendJSON writes a hook's members; count selects the hook_count form.
func (h *Hook) appendJSON(w *objWriter, count bool) {
	w.str("hook", h.Name)
	w.str("target", h.Target)
	w.str("mechanism", h.Mechanism)
	if count {
		w.uint("count", h.Count)
		w.key("interval_s")
		w.b = strconv.AppendFloat(w.b, h.Interval.Seconds(), 'f', -1, 64)
		return
	}
	w.key("args")
	aw := objWriter{b: w.b}
	aw.open()
	for _, a := range h.Args {
		switch {
		case a.IsStr:
			aw.str(a.Name, a.Str)
		case a.Signed:
			aw.int(a.Name, int64(a.Int))
		default:
			aw.uint(a.Name, a.Int)
		}
	}
	aw.close()
	w.b = aw.b
	if h.HasRet {
		w.int("ret", h.Ret)
	}
	if h.Killed {
		w.bool("killed", true)
	}
}
