package runpolicy

import (
	"fmt"
	"path"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/seccomp"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// Policy is a parsed vigil run policy file.
type Policy struct {
	Paths    []seccomp.PathRule
	Syscalls []seccomp.SyscallRule
}

// ruleKeys are the keys a rule may have.
var ruleKeys = []string{"name", "syscall", "path", "path_prefix", "action", "errno", "target"}

// Load parses and validates a policy file; name is used in messages.
// Unknown keys, duplicate keys, wrong types and bad values are all
// errors, each reported as name:line:col: field: problem.
func Load(name string, data []byte) (*Policy, error) {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return nil, fmt.Errorf("%s: %w", name, err)
	}
	var errs yamldoc.List
	l := &loader{yamldoc.Walker{File: name, Errs: &errs, Words: words}}
	p := &Policy{}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty policy", name)
	}
	top := doc.Content[0]
	rules := l.Mapping(top, "", []string{"rules"}).Get("rules")
	if rules == nil {
		l.Errorf(top, "", "missing \"rules\"")
	} else if rules.Kind != yaml.SequenceNode {
		l.Errorf(rules, "rules", "want a list of rules")
	} else {
		for i, rn := range rules.Content {
			l.rule(p, rn, yamldoc.Index("rules", i))
		}
	}
	if len(errs) > 0 {
		return nil, errs.Join()
	}
	return p, nil
}

// loader walks one policy file, collecting errors with positions.
type loader struct {
	yamldoc.Walker
}

// words are vigil run's messages for the problems the walker finds
// itself.
var words = yamldoc.Words{
	NotMapping:   "want a mapping",
	UnknownKey:   "unknown key (want one of {known})",
	DuplicateKey: "duplicate key",
	NotString:    "want a string",
}

// str returns the scalar at key as text, "" if absent.
func (l *loader) str(m yamldoc.Entries, field, key string) string {
	v := m.Get(key)
	if v == nil {
		return ""
	}
	s, _ := l.Scalar(v, yamldoc.Field(field, key))
	return s
}

func (l *loader) rule(p *Policy, n *yaml.Node, field string) {
	m := l.Mapping(n, field, ruleKeys)
	if n.Kind != yaml.MappingNode {
		return
	}
	name := l.str(m, field, "name")
	if name == "" {
		name = field
	}
	sc, ph, pp := l.str(m, field, "syscall"), l.str(m, field, "path"), l.str(m, field, "path_prefix")
	set := 0
	for _, s := range []string{sc, ph, pp} {
		if s != "" {
			set++
		}
	}
	if set != 1 {
		l.Errorf(n, field, "want exactly one of syscall, path, path_prefix")
		return
	}
	act, ok := parseAction(l.str(m, field, "action"))
	if !ok {
		an := n
		if v := m.Get("action"); v != nil {
			an = v
		}
		l.Errorf(an, yamldoc.Field(field, "action"), "want deny, redirect, log or allow, got %q", l.str(m, field, "action"))
		return
	}
	ruleErrno := syscall.Errno(0)
	if es := l.str(m, field, "errno"); es != "" {
		if act != seccomp.ActionDeny {
			l.Errorf(m.Get("errno"), yamldoc.Field(field, "errno"), "only a deny rule has an errno")
		} else if e, err := errno.Parse(es); err != nil {
			l.Errorf(m.Get("errno"), yamldoc.Field(field, "errno"), "%v", err)
		} else {
			ruleErrno = e
		}
	}
	target := l.str(m, field, "target")
	switch {
	case act == seccomp.ActionRedirect && target == "":
		l.Errorf(n, field, "a redirect rule needs a target")
	case act != seccomp.ActionRedirect && target != "":
		l.Errorf(m.Get("target"), yamldoc.Field(field, "target"), "only a redirect rule has a target")
	case target != "" && !path.IsAbs(target):
		l.Errorf(m.Get("target"), yamldoc.Field(field, "target"), "want an absolute path, got %q", target)
	}
	if sc != "" {
		nr, ok := seccomp.SyscallNumber(sc)
		switch {
		case !ok:
			l.Errorf(m.Get("syscall"), yamldoc.Field(field, "syscall"), "unknown x86_64 syscall %q", sc)
		case act == seccomp.ActionRedirect:
			l.Errorf(m.Get("action"), yamldoc.Field(field, "action"), "a syscall rule cannot redirect")
		default:
			if ruleErrno == 0 {
				ruleErrno = syscall.EPERM
			}
			p.Syscalls = append(p.Syscalls, seccomp.SyscallRule{Name: name, Syscall: sc, Nr: nr, Action: act, Errno: ruleErrno})
		}
		return
	}
	key, pth := "path", ph
	if pp != "" {
		key, pth = "path_prefix", pp
	}
	if !path.IsAbs(pth) {
		l.Errorf(m.Get(key), yamldoc.Field(field, key), "want an absolute path, got %q", pth)
		return
	}
	if ruleErrno == 0 {
		ruleErrno = syscall.EACCES
	}
	p.Paths = append(p.Paths, seccomp.PathRule{Name: name, Path: path.Clean(pth), Prefix: pp != "",
		Action: act, Errno: ruleErrno, Target: cleanTarget(target)})
}

func cleanTarget(t string) string {
	if t == "" {
		return ""
	}
	return path.Clean(t)
}

func parseAction(s string) (seccomp.Action, bool) {
	for _, a := range []seccomp.Action{seccomp.ActionAllow, seccomp.ActionLog, seccomp.ActionDeny, seccomp.ActionRedirect} {
		if a.String() == s {
			return a, true
		}
	}
	return 0, false
}
