package output

import (
	"fmt"
	"strings"

	"github.com/vigil-sec/vigil/internal/event"
)

// credText writes a cred event's details:
//
//	setuid euid=0->65534 uid=0->65534 -caps=chown,... = 0
func credText(b *strings.Builder, c *event.Cred) {
	b.WriteString(c.Syscall)
	old, cur := c.Old.Fields(), c.New.Fields()
	for _, name := range c.New.Changed(&c.Old) {
		if strings.HasPrefix(name, "cap_") {
			continue
		}
		fmt.Fprintf(b, " %s=%d->%d", name, old[name], cur[name])
	}
	if g := event.CapsGained(&c.Old, &c.New); len(g) > 0 {
		fmt.Fprintf(b, " +caps=%s", strings.Join(g, ","))
	}
	if l := event.CapsLost(&c.Old, &c.New); len(l) > 0 {
		fmt.Fprintf(b, " -caps=%s", strings.Join(l, ","))
	}
	if c.Groups {
		b.WriteString(" groups")
	}
	b.WriteString(result(c.Result))
}

// ptraceText writes a ptrace event's details:
//
//	ptrace attach pid=1234 exe=/usr/bin/sshd = 0
func ptraceText(b *strings.Builder, p *event.Ptrace) {
	b.WriteString(p.Syscall)
	if p.Request != "" {
		b.WriteString(" " + p.Request)
	}
	fmt.Fprintf(b, " pid=%d", p.Target)
	if p.TargetExe != "" {
		fmt.Fprintf(b, " exe=%s", q(p.TargetExe))
	}
	b.WriteString(result(p.Result))
}

// namespaceText writes a namespace event's details:
//
//	unshare net net:4026531840->4026532290 = 0
func namespaceText(b *strings.Builder, n *event.Namespace) {
	b.WriteString(n.Syscall)
	if k := n.Kinds(); len(k) > 0 {
		b.WriteString(" " + strings.Join(k, ","))
	}
	if n.Syscall == "clone" {
		fmt.Fprintf(b, " child=%d", n.ChildPid)
	}
	for k := range event.NSKinds {
		if n.Old[k] != n.New[k] {
			fmt.Fprintf(b, " %s:%d->%d", event.NSNames[k], n.Old[k], n.New[k])
		}
	}
	b.WriteString(result(n.Result))
}
