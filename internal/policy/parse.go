package policy

import (
	"bytes"
	"errors"
	"io"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/vigil-sec/vigil/internal/event"
	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// parser walks one policy document, collecting errors with positions.
type parser struct {
	yamldoc.Walker
}

// words are policy's messages for the problems the walker finds itself.
var words = yamldoc.Words{
	NotMapping:   "expected a mapping, got {got}",
	KeyNotString: "expected a field name, got {got}",
	DuplicateKey: "field given twice",
	NotString:    "expected a string, got {got}",
	NotBool:      "expected true or false, got {got}",
	NotInt:       "expected a number, got {got}",
	IntRange:     "expected a number, got {value}",
}

// parseFile parses one policy document into rules and hooks. Rules and
// hooks with errors are still returned (so that duplicate names are
// found), but any error makes compile fail.
func parseFile(s source, errs *yamldoc.List) ([]*Rule, []*Hook) {
	p := &parser{yamldoc.Walker{File: s.name, Errs: errs, Words: words}}
	dec := yaml.NewDecoder(bytes.NewReader(s.data))
	var doc yaml.Node
	if err := dec.Decode(&doc); err != nil {
		if errors.Is(err, io.EOF) {
			errs.Add(Pos{File: s.name, Line: 1, Col: 1}, "", "empty policy: expected a mapping with a rules list")
			return nil, nil
		}
		p.syntaxError(err)
		return nil, nil
	}
	var extra yaml.Node
	if err := dec.Decode(&extra); err == nil {
		p.Errorf(&extra, "", "more than one YAML document; a policy file holds one")
	} else if !errors.Is(err, io.EOF) {
		p.syntaxError(err)
	}
	if len(doc.Content) == 0 {
		errs.Add(Pos{File: s.name, Line: 1, Col: 1}, "", "empty policy: expected a mapping with a rules list")
		return nil, nil
	}
	if bad := yamldoc.FindAlias(&doc); bad != nil {
		p.Errorf(bad, "", "YAML aliases are not supported in policies; write the value out")
		return nil, nil
	}
	root := doc.Content[0]
	var rules []*Rule
	var hooks []*Hook
	sawRules, sawHooks := false, false
	for _, kv := range p.Mapping(root, "", nil) {
		switch kv.Key {
		case "version":
			if v, ok := p.Int(kv.Value, "version"); ok && v != 1 {
				p.Errorf(kv.Value, "version", "unsupported policy version %d (expected 1)", v)
			}
		case "rules":
			sawRules = true
			if kv.Value.Kind != yaml.SequenceNode {
				p.Errorf(kv.Value, "rules", "expected a list of rules, got %s", yamldoc.Describe(kv.Value))
				continue
			}
			if len(kv.Value.Content) == 0 {
				p.Errorf(kv.Value, "rules", "empty list: a policy file needs at least one rule")
			}
			for i, n := range kv.Value.Content {
				rules = append(rules, p.rule(n, i))
			}
		case "hooks":
			sawHooks = true
			if kv.Value.Kind != yaml.SequenceNode || len(kv.Value.Content) == 0 {
				p.Errorf(kv.Value, "hooks", "expected a list of hooks, got %s", yamldoc.Describe(kv.Value))
				continue
			}
			for i, n := range kv.Value.Content {
				hooks = append(hooks, p.hook(n, i))
			}
		default:
			p.Errorf(kv.KeyNode, kv.Key, "unknown field %q (expected rules, hooks or version)", kv.Key)
		}
	}
	if !sawRules && !sawHooks && root.Kind == yaml.MappingNode {
		p.Errorf(root, "", "missing rules: expected a mapping with a rules list")
	}
	return rules, hooks
}

// syntaxError reports a YAML syntax error at the line it names.
func (p *parser) syntaxError(err error) {
	line, msg := yamldoc.Syntax(err)
	p.Errs.Add(Pos{File: p.File, Line: line, Col: 1}, "", "invalid YAML: %s", msg)
}

// list returns the elements of a list value; a single scalar stands for a
// one-element list. An empty list is an error: it could never match.
func (p *parser) list(n *yaml.Node, field string) ([]*yaml.Node, bool) {
	switch n.Kind {
	case yaml.ScalarNode:
		if n.Tag == "!!null" {
			p.Errorf(n, field, "expected a list, got nothing")
			return nil, false
		}
		return []*yaml.Node{n}, true
	case yaml.SequenceNode:
		if len(n.Content) == 0 {
			p.Errorf(n, field, "empty list: a matcher with no values can never match")
			return nil, false
		}
		return n.Content, true
	}
	p.Errorf(n, field, "expected a list, got %s", yamldoc.Describe(n))
	return nil, false
}

// listOf parses a list value (see list) one element at a time with
// parse, which reports its own problems. Every element is parsed, so that
// each bad one is reported; ok is false when any was bad.
func listOf[T any](p *parser, n *yaml.Node, field string, parse func(e *yaml.Node, field string) (T, bool)) ([]T, bool) {
	elems, ok := p.list(n, field)
	if !ok {
		return nil, false
	}
	var out []T
	for i, e := range elems {
		f := field
		if n.Kind == yaml.SequenceNode {
			f = yamldoc.Index(field, i)
		}
		v, vok := parse(e, f)
		if !vok {
			ok = false
			continue
		}
		out = append(out, v)
	}
	return out, ok
}

// strListOf parses a list of strings (see list), each made into a T by
// parse, which returns "" or a message that is reported at the element.
func strListOf[T any](p *parser, n *yaml.Node, field string, parse func(string) (T, string)) ([]T, bool) {
	return listOf(p, n, field, func(e *yaml.Node, f string) (T, bool) {
		var zero T
		s, ok := p.Str(e, f)
		if !ok {
			return zero, false
		}
		v, msg := parse(s)
		if msg != "" {
			p.Errorf(e, f, "%s", msg)
			return zero, false
		}
		return v, true
	})
}

// eventNames is the list of event types for messages.
func eventNames(ts []event.Type) string {
	var s []string
	for _, t := range ts {
		s = append(s, string(t))
	}
	return strings.Join(s, ", ")
}
