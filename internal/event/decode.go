package event

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"time"
	"unicode/utf16"
	"unicode/utf8"
)

// UnmarshalJSON parses one event written by AppendJSON, recovering the
// exact bytes of every string (see the package comment).
func (e *Event) UnmarshalJSON(b []byte) error {
	d, err := newDecoder(b)
	if err != nil {
		return err
	}
	*e = Event{}
	e.Type = Type(d.str("type"))
	if t := d.str("time"); t != "" {
		if e.Time, err = time.Parse(time.RFC3339Nano, t); err != nil {
			return fmt.Errorf("decoding time: %w", err)
		}
	}
	e.KernelNS = d.u64("ktime_ns")
	if raw, ok := d.m["process"]; ok {
		pd, err := newDecoder(raw)
		if err != nil {
			return fmt.Errorf("decoding process: %w", err)
		}
		e.Process = Process{
			Pid: pd.u32("pid"), Tid: pd.u32("tid"), Ppid: pd.u32("ppid"),
			Uid: pd.u32("uid"), Gid: pd.u32("gid"),
			Comm: pd.str("comm"), Exe: pd.str("exe"),
			ParentComm: pd.str("parent_comm"), ParentExe: pd.str("parent_exe"),
		}
		if pd.err != nil {
			return pd.err
		}
		if err := e.Process.decodeContext(pd); err != nil {
			return fmt.Errorf("decoding process: %w", err)
		}
		if raw, ok := pd.m["ancestors"]; ok {
			if e.Process.Ancestors, err = decodeAncestors(raw); err != nil {
				return err
			}
		}
	}
	switch e.Type {
	case TypeFork:
		e.Fork = &Fork{ChildPid: d.u32("child_pid"), ChildTid: d.u32("child_tid"), Thread: d.bool("thread")}
		if _, ok := d.m["clone_flags"]; ok {
			e.Fork.CloneFlags, e.Fork.HasFlags = d.u64("clone_flags"), true
		}
	case TypeExec:
		e.Exec = &Exec{Filename: d.str("filename"), Path: d.str("path"), Args: d.strs("args"),
			Truncated: d.bool("truncated"), Euid: d.u32("euid"), BaseAddr: d.u64("base_addr"),
			Memfd: d.bool("memfd"), Deleted: d.bool("deleted"), Dev: d.u64("dev"), Ino: d.u64("ino")}
	case TypeExit:
		e.Exit = &Exit{Code: int32(d.i64("exit_code")), Signal: int32(d.i64("signal")),
			Thread: d.bool("thread"), CoreDmp: d.bool("core_dumped")}
	case TypeModule:
		e.Module = &Module{Syscall: d.str("syscall"), Name: d.str("name"), Path: d.str("path"),
			Fd: int32(d.i64("fd")), Result: d.i64("result")}
	case TypeMprotect:
		e.Mprotect = &Mprotect{Syscall: d.str("syscall"), Addr: d.u64("addr"), Len: d.u64("len"),
			Prot: d.u32("prot_raw"), WX: d.bool("wx"), MapFlags: d.u32("map_flags_raw"), Fd: int32(d.i64("fd")),
			Dev: d.u64("dev"), Ino: d.u64("ino"), FilesUnchecked: d.bool("files_unchecked"), Result: d.i64("result")}
		_, e.Mprotect.HasFile = d.m["ino"]
		if names, ok := d.m["old_prot"]; ok {
			var ns []string
			if err := json.Unmarshal(names, &ns); err != nil {
				return fmt.Errorf("decoding old_prot: %w", err)
			}
			e.Mprotect.OldProt, e.Mprotect.HasOld = protFromNames(ns), true
		}
	case TypeOpen:
		e.Open = &Open{Syscall: d.str("syscall"), Path: d.str("path"), ResolvedPath: d.str("resolved_path"),
			Dirfd: int32(d.i64("dirfd")), Flags: d.u32("flags_raw"), Mode: d.u32("mode"), Result: d.i64("result"),
			Via: d.str("via"), FixedFile: d.bool("fixed_file"), Unresolved: d.bool("unresolved"), NoResult: d.bool("no_result")}
	case TypeConnect, TypeAccept, TypeListen:
		if e.Net, err = decodeNet(d); err != nil {
			return err
		}
	case TypeUnlink, TypeRename, TypeLink, TypeSymlink, TypeChmod, TypeChown:
		e.File = decodeFile(d, e.Type)
	case TypeCred:
		if e.Cred, err = decodeCred(d); err != nil {
		}
	case TypePtrace:
		e.Ptrace = decodePtrace(d)
	case TypeNamespace:
		if e.Namespace, err = decodeNamespace(d); err != nil {
		}
	case TypeMount:
		e.Mount = decodeMount(d)
	case TypeBPF:
		e.BPF = decodeBPF(d)
	case TypeSyscall:
		e.Syscall = &Syscall{Name: d.str("syscall"), Nr: int32(d.i64("nr")), Result: d.i64("result")}
		if raw, ok := d.m["syscall_args"]; ok {
			var a []uint64
			if err := json.Unmarshal(raw, &a); err != nil {
				return fmt.Errorf("decoding syscall_args: %w", err)
			}
			copy(e.Syscall.Args[:], a)
		}
	case TypeHook, TypeHookCount:
		e.Hook = &Hook{Name: d.str("hook"), Target: d.str("target"), Mechanism: d.str("mechanism"),
			Ret: d.i64("ret"), Killed: d.bool("killed"), Count: d.u64("count")}
		_, e.Hook.HasRet = d.m["ret"]
		if raw, ok := d.m["interval_s"]; ok {
			f, err := strconv.ParseFloat(string(raw), 64)
			if err != nil {
				return fmt.Errorf("decoding interval_s: %w", err)
			}
			e.Hook.Interval = time.Duration(f * float64(time.Second))
		}
		if raw, ok := d.m["args"]; ok {
			args, err := hookArgs(raw)
			if err != nil {
				return fmt.Errorf("decoding args: %w", err)
			}
			e.Hook.Args = args
		}
	case TypeLost:
		e.Lost = &Lost{Counts: map[Type]uint64{}}
		if raw, ok := d.m["lost"]; ok {
			var m map[string]uint64
			if err := json.Unmarshal(raw, &m); err != nil {
				return fmt.Errorf("decoding lost: %w", err)
			}
			for k, v := range m {
				e.Lost.Counts[Type(k)] = v
			}
		}
	}
	if _, ok := d.m["action"]; ok {
		e.Verdict = &Verdict{Rule: d.str("rule"), Action: d.str("action"),
			Enforced: d.bool("enforced"), Mechanism: d.str("mechanism"),
			Severity: d.str("severity"), Mitre: d.str("mitre")}
	}
	return d.err
}

func decodeAncestors(raw []byte) ([]Ancestor, error) {
	var objs []json.RawMessage
	if err := json.Unmarshal(raw, &objs); err != nil {
		return nil, fmt.Errorf("decoding ancestors: %w", err)
	}
	out := make([]Ancestor, 0, len(objs))
	for _, o := range objs {
		d, err := newDecoder(o)
		if err != nil {
			return nil, fmt.Errorf("decoding ancestor: %w", err)
		}
		a := Ancestor{Pid: d.u32("pid"), Comm: d.str("comm"), Exe: d.str("exe")}
		if _, ok := d.m["args"]; ok {
			a.Args = d.strs("args")
			if a.Args == nil {
				a.Args = []string{}
			}
		}
		if t := d.str("start_time"); t != "" {
			if a.Start, err = time.Parse(time.RFC3339Nano, t); err != nil {
				return nil, fmt.Errorf("decoding ancestor start_time: %w", err)
			}
		}
		if d.err != nil {
			return nil, d.err
		}
		out = append(out, a)
	}
	return out, nil
}

func protFromNames(ns []string) uint32 {
	var p uint32
	for _, n := range ns {
		for _, b := range protBits {
			if b.name == n {
				p |= b.bit
			}
		}
	}
	return p
}

// decoder reads the members of one JSON object, keeping the first error.
type decoder struct {
	m   map[string]json.RawMessage
	err error
}

func newDecoder(b []byte) (*decoder, error) {
	d := &decoder{}
	if err := json.Unmarshal(b, &d.m); err != nil {
		return nil, fmt.Errorf("decoding event: %w", err)
	}
	return d, nil
}

func (d *decoder) fail(k string, err error) {
	if d.err == nil {
		d.err = fmt.Errorf("decoding %s: %w", k, err)
	}
}

func (d *decoder) str(k string) string {
	raw, ok := d.m[k]
	if !ok {
		return ""
	}
	s, err := UnquoteString(raw)
	if err != nil {
		d.fail(k, err)
	}
	return s
}

func (d *decoder) strs(k string) []string {
	raw, ok := d.m[k]
	if !ok {
		return nil
	}
	var parts []json.RawMessage
	if err := json.Unmarshal(raw, &parts); err != nil {
		d.fail(k, err)
		return nil
	}
	out := make([]string, len(parts))
	for i, p := range parts {
		s, err := UnquoteString(p)
		if err != nil {
			d.fail(k, err)
		}
		out[i] = s
	}
	return out
}

func (d *decoder) num(k string, v any) {
	if raw, ok := d.m[k]; ok {
		if err := json.Unmarshal(raw, v); err != nil {
			d.fail(k, err)
		}
	}
}

func (d *decoder) u64(k string) uint64 { var v uint64; d.num(k, &v); return v }
func (d *decoder) u32(k string) uint32 { var v uint32; d.num(k, &v); return v }
func (d *decoder) i64(k string) int64  { var v int64; d.num(k, &v); return v }
func (d *decoder) bool(k string) bool  { var v bool; d.num(k, &v); return v }

// UnquoteString decodes a JSON string literal (with its quotes) into the
// exact bytes AppendString was given: \udc80-\udcff become single bytes.
func UnquoteString(raw []byte) (string, error) {
	if len(raw) < 2 || raw[0] != '"' || raw[len(raw)-1] != '"' {
		return "", errors.New("not a JSON string")
	}
	in := raw[1 : len(raw)-1]
	out := make([]byte, 0, len(in))
	for i := 0; i < len(in); {
		c := in[i]
		if c != '\\' {
			out = append(out, c)
			i++
			continue
		}
		if i+1 >= len(in) {
			return "", errors.New("truncated escape")
		}
		switch e := in[i+1]; e {
		case '"', '\\', '/':
			out = append(out, e)
		case 'n':
			out = append(out, '\n')
		case 't':
			out = append(out, '\t')
		case 'r':
			out = append(out, '\r')
		case 'b':
			out = append(out, '\b')
		case 'f':
			out = append(out, '\f')
		case 'u':
			r, err := hex4(in[i+2:])
			if err != nil {
				return "", err
			}
			i += 6
			switch {
			case r >= 0xdc80 && r <= 0xdcff:
				out = append(out, byte(r-0xdc00))
			case utf16.IsSurrogate(r) && i+6 <= len(in) && in[i] == '\\' && in[i+1] == 'u':
				r2, err := hex4(in[i+2:])
				if err != nil {
					return "", err
				}
				out = utf8.AppendRune(out, utf16.DecodeRune(r, r2))
				i += 6
			default:
				out = utf8.AppendRune(out, r)
			}
			continue
		default:
			return "", fmt.Errorf("bad escape \\%c", e)
		}
		i += 2
	}
	return string(out), nil
}

func hex4(b []byte) (rune, error) {
	if len(b) < 4 {
		return 0, errors.New("truncated \\u escape")
	}
	v, err := strconv.ParseUint(string(b[:4]), 16, 16)
	if err != nil {
		return 0, fmt.Errorf("bad \\u escape: %w", err)
	}
	return rune(v), nil
}

// hookArgs decodes a hook event's args object, keeping the order of its
// members (the order of the hook's args) and the exact bytes of strings.
func hookArgs(raw []byte) ([]HookArg, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	if _, err := dec.Token(); err != nil {
		return nil, err
	}
	var out []HookArg
	for dec.More() {
		k, err := dec.Token()
		if err != nil {
			return nil, err
		}
		var v json.RawMessage
		if err := dec.Decode(&v); err != nil {
			return nil, err
		}
		a := HookArg{Name: k.(string)}
		switch {
		case len(v) > 0 && v[0] == '"':
			a.IsStr = true
			if a.Str, err = UnquoteString(v); err != nil {
				return nil, err
			}
		case len(v) > 0 && v[0] == '-':
			n, err := strconv.ParseInt(string(v), 10, 64)
			if err != nil {
				return nil, err
			}
			a.Int, a.Signed = uint64(n), true
		default:
			if a.Int, err = strconv.ParseUint(string(v), 10, 64); err != nil {
				return nil, err
			}
		}
		out = append(out, a)
	}
	return out, nil
}
