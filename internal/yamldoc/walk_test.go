package yamldoc

import (
	"errors"
	"strings"
	"testing"

	"gopkg.in/yaml.v3"
)

// testWords word every problem so that a test can tell which was found.
var testWords = Words{
	NotMapping:   "not a mapping: {got}",
	KeyNotString: "bad key: {got}",
	UnknownKey:   "unknown key (known: {known})",
	DuplicateKey: "duplicate key",
	NotString:    "not a string: {got}",
	NotBool:      "not a boolean: {got}",
	NotInt:       "not a number: {got}",
	IntRange:     "too big: {value}",
}

// node parses src and returns its document's root node.
func node(t *testing.T, src string) *yaml.Node {
	t.Helper()
	var doc yaml.Node
	if err := yaml.Unmarshal([]byte(src), &doc); err != nil {
		t.Fatal(err)
	}
	return doc.Content[0]
}

// walk runs f with a Walker over src's root and returns the keys it got
// and the problems it found, one line each.
func walk(t *testing.T, src string, words Words, f func(w *Walker, n *yaml.Node) string) (string, string) {
	t.Helper()
	var errs List
	w := &Walker{File: "f.yaml", Errs: &errs, Words: words}
	got := f(w, node(t, src))
	msg := ""
	if err := errs.Join(); err != nil {
		msg = err.Error()
	}
	return got, msg
}

func TestMapping(t *testing.T) {
	noKeyCheck := testWords
	noKeyCheck.KeyNotString = ""
	for _, tt := range []struct {
		desc, src string
		known     []string
		words     Words
		keys      string
		errs      string
	}{
		{"entries in order", "b: 1\na: 2", nil, testWords, "b a", ""},
		{"not a mapping", "[1]", nil, testWords, "", "f.yaml:1:1: top: not a mapping: a list"},
		{"duplicate key, first kept", "a: 1\na: 2", nil, testWords, "a", "f.yaml:2:1: top.a: duplicate key"},
		{"key that is not a string", "1: x\na: y", nil, testWords, "a", "f.yaml:1:1: top: bad key: the number 1"},
		{"any key taken as text when unchecked", "1: x", nil, noKeyCheck, "1", ""},
		{"unknown key", "a: 1\nc: 2", []string{"a", "b"}, testWords, "a", "f.yaml:2:1: top.c: unknown key (known: a, b)"},
		{"unknown key given twice is unknown twice", "c: 1\nc: 2", []string{"a"}, testWords, "",
			"f.yaml:1:1: top.c: unknown key (known: a)\nf.yaml:2:1: top.c: unknown key (known: a)"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			keys, errs := walk(t, tt.src, tt.words, func(w *Walker, n *yaml.Node) string {
				var ks []string
				for _, e := range w.Mapping(n, "top", tt.known) {
					ks = append(ks, e.Key)
				}
				return strings.Join(ks, " ")
			})
			if keys != tt.keys || errs != tt.errs {
				t.Errorf("got keys %q, errors %q; want %q, %q", keys, errs, tt.keys, tt.errs)
			}
		})
	}
}

func TestScalars(t *testing.T) {
	for _, tt := range []struct {
		desc, src string
		get       func(w *Walker, n *yaml.Node) (any, bool)
		want      any
		errs      string
	}{
		{"string", `"x"`, str, "x", ""},
		{"bare number is not a string", "13", str, "", "f.yaml:1:1: v: not a string: the number 13"},
		{"binary is not a string", "!!binary aGk=", str, "", `f.yaml:1:1: v: not a string: !!binary "aGk="`},
		{"scalar takes a number as text", "13", scalar, "13", ""},
		{"scalar refuses null", "~", scalar, "", "f.yaml:1:1: v: not a string: nothing"},
		{"scalar refuses a list", "[a]", scalar, "", "f.yaml:1:1: v: not a string: a list"},
		{"boolean", "true", boolean, true, ""},
		{"quoted boolean", `"true"`, boolean, false, `f.yaml:1:1: v: not a boolean: the string "true"`},
		{"integer in hex", "0x10", integer, int64(16), ""},
		{"negative integer", "-1", integer, int64(-1), ""},
		{"float is not an integer", "1.5", integer, int64(0), "f.yaml:1:1: v: not a number: the number 1.5"},
		{"integer too big", "!!int 99999999999999999999", integer, int64(0), `f.yaml:1:1: v: too big: "99999999999999999999"`},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var got any
			var ok bool
			_, errs := walk(t, tt.src, testWords, func(w *Walker, n *yaml.Node) string {
				got, ok = tt.get(w, n)
				return ""
			})
			if got != tt.want || ok != (tt.errs == "") || errs != tt.errs {
				t.Errorf("got %v, %v, errors %q; want %v, errors %q", got, ok, errs, tt.want, tt.errs)
			}
		})
	}
}

func str(w *Walker, n *yaml.Node) (any, bool)     { return w.Str(n, "v") }
func scalar(w *Walker, n *yaml.Node) (any, bool)  { return w.Scalar(n, "v") }
func boolean(w *Walker, n *yaml.Node) (any, bool) { return w.Bool(n, "v") }
func integer(w *Walker, n *yaml.Node) (any, bool) { return w.Int(n, "v") }

func TestListSort(t *testing.T) {
	var l List
	l.Add(Pos{"b.yaml", 1, 1}, "", "b first")
	l.Add(Pos{"a.yaml", 3, 1}, "x", "a line 3")
	other := errors.New("not positioned")
	l = append(l, other)
	l.Add(Pos{"a.yaml", 1, 5}, "", "a col 5")
	l.Add(Pos{"a.yaml", 1, 2}, "", "a col 2, found first")
	l.Add(Pos{"b.yaml", 1, 1}, "", "b first, found second")
	l.Add(Pos{"a.yaml", 1, 2}, "", "a col 2, found second")
	l.Sort()
	want := strings.Join([]string{
		"b.yaml:1:1: b first",
		"b.yaml:1:1: b first, found second",
		"a.yaml:1:2: a col 2, found first",
		"a.yaml:1:2: a col 2, found second",
		"a.yaml:1:5: a col 5",
		"a.yaml:3:1: x: a line 3",
		"not positioned",
	}, "\n")
	err := l.Join()
	if err.Error() != want {
		t.Errorf("sorted:\n%v\nwant:\n%s", err, want)
	}
	if got := Errors(err); len(got) != 6 || got[0].File != "b.yaml" || got[5].Field != "x" {
		t.Errorf("Errors = %v", got)
	}
	if !errors.Is(err, other) {
		t.Error("the joined error lost the error without a position")
	}
	if (List{}).Join() != nil {
		t.Error("an empty List joins to an error")
	}
}

func TestSyntax(t *testing.T) {
	for _, tt := range []struct {
		desc, src string
		line      int
		msg       string
	}{
		{"line named", "a: 1\nb: c: d\n", 2, "mapping values are not allowed in this context"},
		{"no line named", "\t", 1, "found character that cannot start any token"},
	} {
		t.Run(tt.desc, func(t *testing.T) {
			var n yaml.Node
			err := yaml.Unmarshal([]byte(tt.src), &n)
			if err == nil {
				t.Fatal("no syntax error")
			}
			line, msg := Syntax(err)
			if line != tt.line || msg != tt.msg {
				t.Errorf("Syntax(%q) = %d, %q; want %d, %q", err, line, msg, tt.line, tt.msg)
			}
		})
	}
}

func TestFieldPaths(t *testing.T) {
	for _, tt := range []struct{ desc, got, want string }{
		{"top-level field", Field("", "rules"), "rules"},
		{"nested field", Field("rules[0]", "match"), "rules[0].match"},
		{"index", Index("rules", 2), "rules[2]"},
	} {
		if tt.got != tt.want {
			t.Errorf("%s: got %q, want %q", tt.desc, tt.got, tt.want)
		}
	}
}

func TestFindAlias(t *testing.T) {
	if a := FindAlias(node(t, "a: &x 1\nb: [*x]")); a == nil || a.Line != 2 {
		t.Errorf("FindAlias = %+v, want the alias on line 2", a)
	}
	if a := FindAlias(node(t, "a: 1")); a != nil {
		t.Errorf("FindAlias found %+v in a document without aliases", a)
	}
}
