package output

import (
	"bufio"
	"fmt"
	"io"
	"strconv"
	"strings"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/event"
)

// Text writes one aligned, human-readable line per event:
//
//	TIME            TYPE      PID     PPID    UID   COMM             DETAILS
//
// Strings with bytes a terminal would interpret (newlines, escapes,
// invalid UTF-8) are quoted Go-style, so a line is always one line.
type Text struct {
	w      *bufio.Writer
	header bool
}

// NewText returns a text writer on w.
func NewText(w io.Writer) *Text { return &Text{w: bufio.NewWriterSize(w, 64<<10)} }

// Emit writes ev as one line.
func (t *Text) Emit(ev *event.Event) error {
	if !t.header {
		t.header = true
		fmt.Fprintf(t.w, "%-15s %-8s %7s %7s %6s %-16s %s\n", "TIME", "TYPE", "PID", "PPID", "UID", "COMM", "DETAILS")
	}
	p := &ev.Process
	_, err := fmt.Fprintf(t.w, "%-15s %-8s %7d %7d %6d %-16s %s\n",
		ev.Time.Local().Format("15:04:05.000000"), ev.Type, p.Pid, p.Ppid, p.Uid, q(p.Comm), details(ev))
	if err != nil {
		return fmt.Errorf("writing event: %w", err)
	}
	return nil
}

// Flush writes out buffered lines.
func (t *Text) Flush() error {
	if err := t.w.Flush(); err != nil {
		return fmt.Errorf("flushing events: %w", err)
	}
	return nil
}

func details(ev *event.Event) string {
	var b strings.Builder
	switch {
	case ev.Fork != nil:
		kind := "process"
		if ev.Fork.Thread {
			kind = "thread"
		}
		fmt.Fprintf(&b, "child=%d %s", ev.Fork.ChildTid, kind)
		if ev.Fork.HasFlags {
			fmt.Fprintf(&b, " flags=%#x", ev.Fork.CloneFlags)
		}
	case ev.Exec != nil:
		x := ev.Exec
		fmt.Fprintf(&b, "%s", q(x.Path))
		for _, a := range x.Args {
			b.WriteByte(' ')
			b.WriteString(q(a))
		}
		if x.Truncated {
			b.WriteString(" …")
		}
		fmt.Fprintf(&b, " base=%#x", x.BaseAddr)
		if x.Memfd {
			b.WriteString(" MEMFD")
		}
		if x.Deleted {
			b.WriteString(" DELETED")
		}
	case ev.Exit != nil:
		if ev.Exit.Signal != 0 {
			fmt.Fprintf(&b, "signal=%s", event.SignalName(ev.Exit.Signal))
		} else {
			fmt.Fprintf(&b, "code=%d", ev.Exit.Code)
		}
		if ev.Exit.Thread {
			b.WriteString(" thread")
		}
	case ev.Module != nil:
		m := ev.Module
		fmt.Fprintf(&b, "%s name=%s", m.Syscall, q(m.Name))
		if m.Path != "" {
			fmt.Fprintf(&b, " file=%s", q(m.Path))
		}
		b.WriteString(result(m.Result))
	case ev.Mprotect != nil:
		m := ev.Mprotect
		fmt.Fprintf(&b, "addr=%#x len=%d prot=%s", m.Addr, m.Len, protString(m.Prot))
		if m.HasOld {
			fmt.Fprintf(&b, " was=%s", protString(m.OldProt))
		}
		if m.WX {
			b.WriteString(" WX")
		}
		b.WriteString(result(m.Result))
	case ev.Open != nil:
		o := ev.Open
		fmt.Fprintf(&b, "%s %s", o.Syscall, q(o.Path))
		if o.ResolvedPath != "" && o.ResolvedPath != o.Path {
			fmt.Fprintf(&b, " -> %s", q(o.ResolvedPath))
		}
		fmt.Fprintf(&b, " %s", strings.Join(event.OpenFlagNames(o.Flags), "|"))
		b.WriteString(result(o.Result))
	case ev.Net != nil:
		netDetails(&b, ev.Net)
	case ev.File != nil:
		fileDetails(&b, ev.Type, ev.File)
	case ev.Cred != nil:
		credText(&b, ev.Cred)
	case ev.Ptrace != nil:
		ptraceText(&b, ev.Ptrace)
	case ev.Namespace != nil:
		namespaceText(&b, ev.Namespace)
	case ev.Mount != nil:
		mountDetails(&b, ev.Mount)
	case ev.BPF != nil:
		bpfDetails(&b, ev.BPF)
	case ev.Syscall != nil:
		fmt.Fprintf(&b, "%s%s", ev.Syscall.Name, result(ev.Syscall.Result))
	case ev.Lost != nil:
		for _, t := range event.KernelTypes {
			if n := ev.Lost.Counts[t]; n > 0 {
				fmt.Fprintf(&b, "%s=%d ", t, n)
			}
		}
	}
	if v := ev.Verdict; v != nil {
		fmt.Fprintf(&b, " [%s %s enforced=%v", v.Action, v.Rule, v.Enforced)
		if v.Severity != "" {
			fmt.Fprintf(&b, " severity=%s", v.Severity)
		}
		if v.Mitre != "" {
			fmt.Fprintf(&b, " mitre=%s", v.Mitre)
		}
		b.WriteByte(']')
	}
	if anc := ev.Process.Ancestors; len(anc) > 0 {
		b.WriteString(" from=")
		b.WriteString(ancestry(anc))
	}
	if c := ev.Process.Container; c != nil {
		b.WriteString(" ctr=")
		b.WriteString(q(event.ShortID(c.ID)))
	}
	return b.String()
}

// textChain is how many ancestors a text line shows.
const textChain = 4

// ancestry returns the nearest ancestors' comms, oldest first:
// "sshd>bash>sh", with "…>" in front when there are more.
func ancestry(anc []event.Ancestor) string {
	var b strings.Builder
	n := min(len(anc), textChain)
	if len(anc) > n {
		b.WriteString("…>")
	}
	for i := n - 1; i >= 0; i-- {
		b.WriteString(q(anc[i].Comm))
		if i > 0 {
			b.WriteByte('>')
		}
	}
	return b.String()
}

func result(r int64) string {
	if n := event.ErrnoName(r); n != "" {
		return " = " + n
	}
	return " = " + strconv.FormatInt(r, 10)
}

func protString(p uint32) string {
	n := event.ProtNames(p)
	if len(n) == 0 {
		return "NONE"
	}
	return strings.Join(n, "|")
}

// q returns s as is when it is printable UTF-8 without spaces, else quoted.
func q(s string) string {
	if s == "" {
		return `""`
	}
	if !utf8.ValidString(s) {
		return strconv.Quote(s)
	}
	for _, r := range s {
		if !unicode.IsPrint(r) || r == ' ' || r == '"' {
			return strconv.Quote(s)
		}
	}
	return s
}
