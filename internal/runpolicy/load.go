package runpolicy

import (
	"errors"
	"fmt"
	"path"
	"strings"
	"syscall"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/errno"
	"github.com/vigil-sec/vigil/internal/seccomp"
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
	l := &loader{file: name}
	p := &Policy{}
	if len(doc.Content) == 0 {
		return nil, fmt.Errorf("%s: empty policy", name)
	}
	top := doc.Content[0]
	fields := l.mapping(top, "", []string{"rules"})
	rules, ok := fields["rules"]
	if !ok {
		l.errf(top, "", "missing \"rules\"")
	} else if rules.Kind != yaml.SequenceNode {
		l.errf(rules, "rules", "want a list of rules")
	} else {
		for i, rn := range rules.Content {
			l.rule(p, rn, fmt.Sprintf("rules[%d]", i))
		}
	}
	if len(l.errs) > 0 {
		return nil, errors.Join(l.errs...)
	}
	return p, nil
}

type loader struct {
	file string
	errs []error
}

func (l *loader) errf(n *yaml.Node, field, format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if field != "" {
		msg = field + ": " + msg
	}
	l.errs = append(l.errs, fmt.Errorf("%s:%d:%d: %s", l.file, n.Line, n.Column, msg))
}

// mapping returns the values of mapping node n by key, reporting unknown
// and duplicate keys.
func (l *loader) mapping(n *yaml.Node, field string, keys []string) map[string]*yaml.Node {
	m := map[string]*yaml.Node{}
	if n.Kind != yaml.MappingNode {
		l.errf(n, field, "want a mapping")
		return m
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, v := n.Content[i], n.Content[i+1]
		kf := join(field, k.Value)
		switch {
		case !contains(keys, k.Value):
			l.errf(k, kf, "unknown key (want one of %s)", strings.Join(keys, ", "))
		case m[k.Value] != nil:
			l.errf(k, kf, "duplicate key")
		default:
			m[k.Value] = v
		}
	}
	return m
}

// str returns the scalar string at key, "" if absent.
func (l *loader) str(m map[string]*yaml.Node, field, key string) string {
	v, ok := m[key]
	if !ok {
		return ""
	}
	if v.Kind != yaml.ScalarNode || v.Tag == "!!null" {
		l.errf(v, join(field, key), "want a string")
		return ""
	}
	return v.Value
}

func (l *loader) rule(p *Policy, n *yaml.Node, field string) {
	m := l.mapping(n, field, ruleKeys)
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
		l.errf(n, field, "want exactly one of syscall, path, path_prefix")
		return
	}
	act, ok := parseAction(l.str(m, field, "action"))
	if !ok {
		an := n
		if v := m["action"]; v != nil {
			an = v
		}
		l.errf(an, join(field, "action"), "want deny, redirect, log or allow, got %q", l.str(m, field, "action"))
		return
	}
	ruleErrno := syscall.Errno(0)
	if es := l.str(m, field, "errno"); es != "" {
		if act != seccomp.ActionDeny {
			l.errf(m["errno"], join(field, "errno"), "only a deny rule has an errno")
		} else if e, err := errno.Parse(es); err != nil {
			l.errf(m["errno"], join(field, "errno"), "%v", err)
		} else {
			ruleErrno = e
		}
	}
	target := l.str(m, field, "target")
	switch {
	case act == seccomp.ActionRedirect && target == "":
		l.errf(n, field, "a redirect rule needs a target")
	case act != seccomp.ActionRedirect && target != "":
		l.errf(m["target"], join(field, "target"), "only a redirect rule has a target")
	case target != "" && !path.IsAbs(target):
		l.errf(m["target"], join(field, "target"), "want an absolute path, got %q", target)
	}
	if sc != "" {
		nr, ok := seccomp.SyscallNumber(sc)
		switch {
		case !ok:
			l.errf(m["syscall"], join(field, "syscall"), "unknown x86_64 syscall %q", sc)
		case act == seccomp.ActionRedirect:
			l.errf(m["action"], join(field, "action"), "a syscall rule cannot redirect")
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
		l.errf(m[key], join(field, key), "want an absolute path, got %q", pth)
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

func join(field, key string) string {
	if field == "" {
		return key
	}
	return field + "." + key
}

func contains(ss []string, s string) bool {
	for _, x := range ss {
		if x == s {
			return true
		}
	}
	return false
}
