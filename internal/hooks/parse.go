package hooks

import (
	"bufio"
	"fmt"
	"strconv"
	"strings"
)

// parseFdinfo parses /proc/<pid>/fdinfo/<fd> ("key:\tvalue" lines) into
// a map. A bpf-prog fd has prog_id; a bpf_link fd has link_id and prog_id.
func parseFdinfo(text string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(text, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if !ok {
			continue
		}
		m[strings.TrimSpace(k)] = strings.TrimSpace(v)
	}
	return m
}

// parseStartTime returns field 22 (starttime) of /proc/<pid>/stat. The
// command in field 2 may hold spaces and parentheses, so fields are
// counted after its last ')'.
func parseStartTime(stat string) (uint64, error) {
	i := strings.LastIndexByte(stat, ')')
	if i < 0 {
		return 0, fmt.Errorf("parsing stat: no command field")
	}
	f := strings.Fields(stat[i+1:])
	// f[0] is field 3 (state), so field 22 is f[19].
	if len(f) < 20 {
		return 0, fmt.Errorf("parsing stat: %d fields after command, want 20", len(f))
	}
	v, err := strconv.ParseUint(f[19], 10, 64)
	if err != nil {
		return 0, fmt.Errorf("parsing stat starttime: %w", err)
	}
	return v, nil
}

// taintBits describes each taint bit (Documentation/admin-guide/
// tainted-kernels.rst).
var taintBits = []struct{ letter, meaning string }{
	{"P", "proprietary module was loaded"},
	{"F", "module was force loaded"},
	{"S", "kernel running on an out of specification system"},
	{"R", "module was force unloaded"},
	{"M", "processor reported a Machine Check Exception"},
	{"B", "bad page referenced or unexpected page flags"},
	{"U", "taint requested by userspace"},
	{"D", "kernel died recently (OOPS or BUG)"},
	{"A", "ACPI table overridden by user"},
	{"W", "kernel issued a warning"},
	{"C", "staging driver was loaded"},
	{"I", "workaround for a platform firmware bug applied"},
	{"O", "externally-built (out-of-tree) module was loaded"},
	{"E", "unsigned module was loaded"},
	{"L", "soft lockup occurred"},
	{"K", "kernel has been live patched"},
	{"X", "auxiliary taint, defined for distributions"},
	{"T", "kernel built with the struct randomization plugin"},
	{"N", "an in-kernel test has been run"},
	{"J", "userspace used a mutating debug operation in fwctl"},
}

// decodeTaint decodes /proc/sys/kernel/tainted.
func decodeTaint(text string) (Taint, error) {
	v, err := strconv.ParseUint(strings.TrimSpace(text), 10, 64)
	if err != nil {
		return Taint{}, fmt.Errorf("parsing taint: %w", err)
	}
	t := Taint{Value: v}
	for bit := 0; bit < 64; bit++ {
		if v&(1<<bit) == 0 {
			continue
		}
		f := TaintFlag{Bit: bit, Letter: "?", Meaning: "unknown taint bit"}
		if bit < len(taintBits) {
			f.Letter, f.Meaning = taintBits[bit].letter, taintBits[bit].meaning
		}
		t.Flags = append(t.Flags, f)
	}
	return t, nil
}

// parseModules parses /proc/modules: "name size refs deps state addr
// [(taint)]".
func parseModules(text string) ([]Module, error) {
	mods := []Module{}
	sc := bufio.NewScanner(strings.NewReader(text))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) == 0 {
			continue
		}
		if len(f) < 5 {
			return nil, fmt.Errorf("parsing modules line %q: too few fields", sc.Text())
		}
		size, err := strconv.ParseUint(f[1], 10, 64)
		if err != nil {
			return nil, fmt.Errorf("parsing module %s size: %w", f[0], err)
		}
		refs, err := strconv.Atoi(f[2])
		if err != nil {
			return nil, fmt.Errorf("parsing module %s refs: %w", f[0], err)
		}
		m := Module{Name: f[0], Size: size, Refs: refs, State: f[4]}
		if last := f[len(f)-1]; len(f) > 6 && strings.HasPrefix(last, "(") {
			m.Taint = strings.Trim(last, "()")
		}
		mods = append(mods, m)
	}
	return mods, sc.Err()
}

// parseEnabledFunctions parses tracefs enabled_functions: "func (N) flags
// ..." per hooked function, where N counts the ftrace_ops attached.
func parseEnabledFunctions(text string) ([]FtraceHook, error) {
	hooks := []FtraceHook{}
	for _, line := range strings.Split(text, "\n") {
		if strings.TrimSpace(line) == "" {
			continue
		}
		// The only lines without a count are continuation lines
		// ("\ttramp: ..." or "\tops: ..."), which extend the last entry.
		f := strings.Fields(line)
		if len(f) < 2 || !strings.HasPrefix(f[1], "(") {
			if len(hooks) > 0 {
				h := &hooks[len(hooks)-1]
				h.Detail = strings.TrimSpace(h.Detail + " " + strings.Join(f, " "))
			}
			continue
		}
		n, err := strconv.Atoi(strings.Trim(f[1], "()"))
		if err != nil {
			return nil, fmt.Errorf("parsing enabled_functions line %q: %w", line, err)
		}
		hooks = append(hooks, FtraceHook{Function: f[0], Count: n, Detail: strings.Join(f[2:], " ")})
	}
	return hooks, nil
}
