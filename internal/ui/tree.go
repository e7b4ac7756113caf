package ui

import (
	"cmp"
	"fmt"
	"io"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/vigil-sec/vigil/internal/cgroup"
	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/proc"
)

// Process is one node of the process tree, as /api/tree serves it.
type Process struct {
	Pid  uint32   `json:"pid"`
	Ppid uint32   `json:"ppid"`
	Comm string   `json:"comm"`
	Exe  string   `json:"exe"`
	Args []string `json:"args,omitempty"`
	Uid  uint32   `json:"uid"`
	User string   `json:"user,omitempty"`
	// Container is the id of the container the process runs in (its
	// first 12 hex digits, or the nspawn/LXC name); "" on the host or
	// when unknown.
	Container string    `json:"container,omitempty"`
	Start     time.Time `json:"start_time,omitzero"`
	// Alerts are the rules the process triggered while the agent ran.
	Alerts []Mark `json:"alerts,omitempty"`
}

// Mark is a rule a process triggered.
type Mark struct {
	Rule   string `json:"rule"`
	Action string `json:"action"`
	// Severity is the rule's severity; policies have none yet.
	Severity string `json:"severity,omitempty"`
	Count    int    `json:"count"`
}

// Tree is the body of /api/tree.
type Tree struct {
	Time      time.Time `json:"time"`
	Source    string    `json:"source"` // "agent" or "procfs"
	Processes []Process `json:"processes"`
}

// users caches uid -> name lookups (os/user reads /etc/passwd).
type users struct {
	mu sync.Mutex
	m  map[uint32]string
}

func (u *users) name(uid uint32) string {
	u.mu.Lock()
	defer u.mu.Unlock()
	if n, ok := u.m[uid]; ok {
		return n
	}
	if u.m == nil {
		u.m = map[uint32]string{}
	}
	n := ""
	if usr, err := user.LookupId(strconv.FormatUint(uint64(uid), 10)); err == nil {
		n = usr.Username
	}
	u.m[uid] = n
	return n
}

// processes converts table entries to tree nodes sorted by pid, with the
// marks of marked processes.
func processes(es []proc.Entry, u *users, marks map[uint32][]Mark) []Process {
	out := make([]Process, 0, len(es))
	for _, e := range es {
		p := Process{Pid: e.Pid, Ppid: e.Ppid, Comm: e.Comm, Exe: e.Exe, Args: e.Args,
			Uid: e.Uid, User: u.name(e.Uid), Start: e.Start, Alerts: marks[e.Pid]}
		if e.Container != nil {
			p.Container = event.ShortID(e.Container.ID)
		}
		out = append(out, p)
	}
	slices.SortFunc(out, func(a, b Process) int { return cmp.Compare(a.Pid, b.Pid) })
	return out
}

// ProcTree reads the process tree from procfs, for when no agent runs.
func ProcTree(fs proc.FS) (*Tree, error) {
	t := proc.NewTable(fs, 0)
	if err := t.Seed(); err != nil {
		return nil, err
	}
	es := t.Snapshot()
	for i := range es {
		if p, err := cgroup.ProcPathAt(string(fs), int(es[i].Pid)); err == nil {
			es[i].Container = cgroup.ParseContainer(p)
		}
	}
	return &Tree{Time: time.Now(), Source: "procfs", Processes: processes(es, &users{}, nil)}, nil
}

// node is a process with its children, for rendering.
type node struct {
	P    *Process
	Kids []*node
}

// forest links ps (sorted by pid) into trees: a process whose parent is
// not in ps is a root.
func forest(ps []Process) []*node {
	byPid := make(map[uint32]*node, len(ps))
	for i := range ps {
		byPid[ps[i].Pid] = &node{P: &ps[i]}
	}
	var roots []*node
	for i := range ps {
		n := byPid[ps[i].Pid]
		if p, ok := byPid[ps[i].Ppid]; ok && ps[i].Ppid != ps[i].Pid {
			p.Kids = append(p.Kids, n)
		} else {
			roots = append(roots, n)
		}
	}
	return roots
}

// Branch returns the processes on pid's branch: its ancestors, itself
// and its descendants, sorted by pid; nil when ps has no pid.
func Branch(ps []Process, pid uint32) []Process {
	byPid := make(map[uint32]int, len(ps))
	kids := make(map[uint32][]uint32)
	for i, p := range ps {
		byPid[p.Pid] = i
		if p.Ppid != p.Pid {
			kids[p.Ppid] = append(kids[p.Ppid], p.Pid)
		}
	}
	if _, ok := byPid[pid]; !ok {
		return nil
	}
	keep := map[uint32]bool{}
	for cur := pid; !keep[cur]; {
		keep[cur] = true
		pp := ps[byPid[cur]].Ppid
		if _, ok := byPid[pp]; !ok {
			break
		}
		cur = pp
	}
	stack := []uint32{pid}
	for len(stack) > 0 {
		cur := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		for _, k := range kids[cur] {
			if !keep[k] {
				keep[k] = true
				stack = append(stack, k)
			}
		}
	}
	var out []Process
	for _, p := range ps {
		if keep[p.Pid] {
			out = append(out, p)
		}
	}
	return out
}

// WriteText prints the tree of ps, one process a line, children indented
// under their parent:
//
//	1 systemd root /usr/lib/systemd/systemd --system
//	└─ 812 sshd root /usr/sbin/sshd -D
//	   └─ 900 bash alice -bash  !! read-shadow (log) x2
func WriteText(w io.Writer, ps []Process) error {
	var b strings.Builder
	var walk func(n *node, prefix string, last, root bool)
	walk = func(n *node, prefix string, last, root bool) {
		child := prefix
		if !root {
			if last {
				b.WriteString(prefix + "└─ ")
				child += "   "
			} else {
				b.WriteString(prefix + "├─ ")
				child += "│  "
			}
		}
		writeLine(&b, n.P)
		for i, k := range n.Kids {
			walk(k, child, i == len(n.Kids)-1, false)
		}
	}
	for _, r := range forest(ps) {
		walk(r, "", true, true)
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func writeLine(b *strings.Builder, p *Process) {
	user := p.User
	if user == "" {
		user = strconv.FormatUint(uint64(p.Uid), 10)
	}
	fmt.Fprintf(b, "%d %s %s", p.Pid, quote(p.Comm), quote(user))
	if p.Container != "" {
		fmt.Fprintf(b, " [%s]", quote(p.Container))
	}
	switch {
	case len(p.Args) > 0:
		if p.Exe != "" && filepath.Base(p.Exe) != filepath.Base(p.Args[0]) {
			b.WriteString(" " + quote(p.Exe) + ":")
		}
		for _, a := range p.Args {
			b.WriteString(" " + quote(a))
		}
	case p.Exe != "":
		b.WriteString(" " + quote(p.Exe))
	}
	for _, m := range p.Alerts {
		fmt.Fprintf(b, "  !! %s (%s", quote(m.Rule), m.Action)
		if m.Severity != "" {
			fmt.Fprintf(b, ", %s", m.Severity)
		}
		b.WriteString(")")
		if m.Count > 1 {
			fmt.Fprintf(b, " x%d", m.Count)
		}
	}
	b.WriteByte('\n')
}

// quote returns s as is when it is printable UTF-8 without spaces, else
// Go-quoted, so that a line stays one line.
func quote(s string) string {
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
