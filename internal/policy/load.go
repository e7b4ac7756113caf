package policy

import (
	"embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strings"

	"github.com/vigil-sec/vigil/internal/yamldoc"
)

// BuiltinPrefix starts the name of a policy embedded in vigil, such as
// "builtin:baseline".
const BuiltinPrefix = "builtin:"

//go:embed builtin/*.yaml
var builtinFS embed.FS

// Builtins returns the names of the embedded policies ("builtin:baseline").
func Builtins() []string {
	ents, _ := builtinFS.ReadDir("builtin")
	var out []string
	for _, e := range ents {
		out = append(out, BuiltinPrefix+strings.TrimSuffix(e.Name(), ".yaml"))
	}
	return out
}

// source is one policy document and the name errors give it.
type source struct {
	name string
	data []byte
}

// Load reads the policies named by paths, validates them together and
// compiles them into one Set. A path is a YAML file, a directory (its
// *.yaml and *.yml files, not recursing, in name order) or an embedded
// policy such as "builtin:baseline". Rule names must be unique across all
// of them.
//
// Load returns every problem at once, joined with errors.Join (see
// yamldoc.Errors); on any problem it returns a nil Set. Reading errors (a
// missing file) are returned the same way, wrapped, alongside the rest.
func Load(paths ...string) (*Set, error) {
	if len(paths) == 0 {
		return nil, errors.New("loading policy: no policy given")
	}
	var srcs []source
	var errs []error
	for _, p := range paths {
		s, err := read(p)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		srcs = append(srcs, s...)
	}
	set, err := compile(srcs)
	if err != nil {
		errs = append(errs, err)
	}
	if len(errs) > 0 {
		return nil, errors.Join(errs...)
	}
	return set, nil
}

// read returns the documents that path names.
func read(path string) ([]source, error) {
	if name, ok := strings.CutPrefix(path, BuiltinPrefix); ok {
		data, err := builtinFS.ReadFile("builtin/" + name + ".yaml")
		if err != nil || strings.ContainsAny(name, "/.") {
			return nil, fmt.Errorf("loading policy %s: no such builtin policy (have %s)", path, strings.Join(Builtins(), ", "))
		}
		return []source{{path, data}}, nil
	}
	fi, err := os.Stat(path)
	if err != nil {
		return nil, fmt.Errorf("loading policy: %w", err)
	}
	if !fi.IsDir() {
		data, err := os.ReadFile(path)
		if err != nil {
			return nil, fmt.Errorf("loading policy: %w", err)
		}
		return []source{{path, data}}, nil
	}
	ents, err := os.ReadDir(path)
	if err != nil {
		return nil, fmt.Errorf("loading policy directory: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		if !e.IsDir() && (strings.HasSuffix(n, ".yaml") || strings.HasSuffix(n, ".yml")) {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("loading policy directory %s: no *.yaml or *.yml files", path)
	}
	var out []source
	for _, n := range names {
		p := filepath.Join(path, n)
		data, err := os.ReadFile(p)
		if err != nil {
			return nil, fmt.Errorf("loading policy: %w", err)
		}
		out = append(out, source{p, data})
	}
	return out, nil
}

// compile parses, validates and compiles srcs into one Set.
func compile(srcs []source) (*Set, error) {
	var errs yamldoc.List
	set := &Set{}
	for _, s := range srcs {
		rules, hooks := parseFile(s, &errs)
		set.Rules = append(set.Rules, rules...)
		set.Hooks = append(set.Hooks, hooks...)
	}
	checkNames(set.Rules, &errs)
	checkHookNames(set.Hooks, &errs)
	if len(errs) > 0 {
		return nil, joinSorted(errs)
	}
	set.byName = map[string]*Rule{}
	for _, r := range set.Rules {
		set.byName[r.Name] = r
	}
	return set, nil
}

// checkNames reports rules that reuse a name, at the later rule.
func checkNames(rules []*Rule, errs *yamldoc.List) {
	first := map[string]*Rule{}
	for _, r := range rules {
		if r.Name == "" {
			continue
		}
		if f, dup := first[r.Name]; dup {
			p := r.FieldPos("name")
			fp := f.FieldPos("name")
			errs.Add(p, r.field("name"), "duplicate rule name %q (first used at %s:%d:%d)", r.Name, fp.File, fp.Line, fp.Col)
			continue
		}
		first[r.Name] = r
	}
}
