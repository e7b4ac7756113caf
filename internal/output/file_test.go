package output

import (
	"bufio"
	"bytes"
	"encoding/json"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/vigil-sec/vigil/internal/event"
)

func seqEvent(i int) *event.Event {
	return &event.Event{
		Type: event.TypeExec, Time: time.Unix(1700000000, int64(i)),
		Process: event.Process{Pid: uint32(i), Comm: "bench"},
		Exec:    &event.Exec{Path: "/usr/bin/true", Args: []string{"true", strconv.Itoa(i)}},
	}
}

// readSeqs parses every line of the files, oldest first, and returns the
// pids in order; a line that is not a whole JSON object fails the test.
func readSeqs(t *testing.T, files []string) []int {
	t.Helper()
	var seqs []int
	for _, name := range files {
		data, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		if len(data) > 0 && data[len(data)-1] != '\n' {
			t.Fatalf("%s does not end with a newline", name)
		}
		sc := bufio.NewScanner(bytes.NewReader(data))
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev event.Event
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Fatalf("%s: broken line %q: %v", name, sc.Text(), err)
			}
			seqs = append(seqs, int(ev.Process.Pid))
		}
	}
	return seqs
}

// chain returns path.N ... path.1, path: oldest first.
func chain(t *testing.T, path string) []string {
	t.Helper()
	matches, _ := filepath.Glob(path + ".*")
	sort.Slice(matches, func(i, j int) bool { return suffix(matches[i]) > suffix(matches[j]) })
	return append(matches, path)
}

func suffix(name string) int {
	n, _ := strconv.Atoi(filepath.Ext(name)[1:])
	return n
}

func TestFileRotationKeepsEveryLine(t *testing.T) {
	const n = 30000
	path := filepath.Join(t.TempDir(), "vigil.ndjson")
	w, err := OpenFile(FileConfig{Path: path, MaxBytes: 64 << 10, Keep: 1000})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Emit(seqEvent(i)); err != nil {
			t.Fatal(err)
		}
		if i%5000 == 0 {
			if err := w.Flush(); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := chain(t, path)
	if w.Rotations() == 0 || len(files) != int(w.Rotations())+1 {
		t.Fatalf("%d rotations, %d files", w.Rotations(), len(files))
	}
	for _, f := range files {
		st, _ := os.Stat(f)
		if st.Size() > 64<<10 {
			t.Errorf("%s is %d bytes, over the limit", f, st.Size())
		}
	}
	seqs := readSeqs(t, files)
	if len(seqs) != n {
		t.Fatalf("read %d lines, wrote %d", len(seqs), n)
	}
	for i, s := range seqs {
		if s != i {
			t.Fatalf("line %d holds event %d", i, s)
		}
	}
}

func TestFileKeepBounded(t *testing.T) {
	const n = 20000
	path := filepath.Join(t.TempDir(), "vigil.ndjson")
	w, err := OpenFile(FileConfig{Path: path, MaxBytes: 64 << 10, Keep: 3})
	if err != nil {
		t.Fatal(err)
	}
	for i := range n {
		if err := w.Emit(seqEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	files := chain(t, path)
	if len(files) != 4 {
		t.Fatalf("files %v, want vigil.ndjson and 3 rotated", files)
	}
	seqs := readSeqs(t, files)
	for i, s := range seqs { // the newest lines, contiguous, ending at the last
		if want := n - len(seqs) + i; s != want {
			t.Fatalf("line %d holds event %d, want %d", i, s, want)
		}
	}
}

func TestFileKeepZero(t *testing.T) {
	path := filepath.Join(t.TempDir(), "new", "dir", "vigil.ndjson") // created
	w, err := OpenFile(FileConfig{Path: path, MaxBytes: 4096, Keep: 0})
	if err != nil {
		t.Fatal(err)
	}
	for i := range 1000 {
		if err := w.Emit(seqEvent(i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if files := chain(t, path); len(files) != 1 {
		t.Fatalf("files %v", files)
	}
	if seqs := readSeqs(t, []string{path}); len(seqs) == 0 || seqs[len(seqs)-1] != 999 {
		t.Fatalf("last lines %v", seqs)
	}
}

func TestFileCutsCrashTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "vigil.ndjson")
	first := append(seqEvent(1).AppendJSON(nil), '\n')
	partial := seqEvent(2).AppendJSON(nil)[:20]
	if err := os.WriteFile(path, append(first, partial...), 0o600); err != nil {
		t.Fatal(err)
	}
	w, err := OpenFile(FileConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	if err := w.Emit(seqEvent(3)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if seqs := readSeqs(t, []string{path}); len(seqs) != 2 || seqs[0] != 1 || seqs[1] != 3 {
		t.Fatalf("lines %v, want [1 3]", seqs)
	}
}

func TestFileReopen(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "vigil.ndjson")
	w, err := OpenFile(FileConfig{Path: path})
	if err != nil {
		t.Fatal(err)
	}
	_ = w.Emit(seqEvent(1))
	_ = w.Flush()
	if err := os.Rename(path, filepath.Join(dir, "moved")); err != nil {
		t.Fatal(err)
	}
	w.Reopen()
	_ = w.Flush()
	_ = w.Emit(seqEvent(2))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if seqs := readSeqs(t, []string{path}); len(seqs) != 1 || seqs[0] != 2 {
		t.Fatalf("new file holds %v", seqs)
	}
}

func TestTextChain(t *testing.T) {
	cases := []struct {
		name string
		anc  []string
		want string
	}{
		{"one", []string{"bash"}, "bash"},
		{"three", []string{"sh", "bash", "sshd"}, "sshd>bash>sh"},
		{"cut", []string{"a", "b", "c", "d", "e", "systemd"}, "…>d>c>b>a"},
		{"odd comm", []string{"my sh"}, `"my sh"`},
	}
	for _, c := range cases {
		var anc []event.Ancestor
		for _, n := range c.anc {
			anc = append(anc, event.Ancestor{Comm: n})
		}
		if got := ancestry(anc); got != c.want {
			t.Errorf("%s: ancestry = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestTextContainer(t *testing.T) {
	id := strings.Repeat("ab", 32)
	cases := []struct {
		name string
		c    *event.Container
		want string // suffix of the details, "" for none
	}{
		{"docker id cut to 12", &event.Container{ID: id, Runtime: event.RuntimeDocker}, " ctr=abababababab"},
		{"nspawn name whole", &event.Container{ID: "web", Runtime: event.RuntimeNspawn}, " ctr=web"},
		{"host", nil, ""},
	}
	for _, c := range cases {
		ev := &event.Event{Type: event.TypeExit, Process: event.Process{Container: c.c}, Exit: &event.Exit{}}
		got := details(ev)
		if c.want == "" && strings.Contains(got, "ctr=") || !strings.HasSuffix(got, c.want) {
			t.Errorf("%s: details = %q, want it to end in %q", c.name, got, c.want)
		}
	}
}
