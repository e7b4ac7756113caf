package sensor

import (
	"reflect"
	"testing"
	"unsafe"

	"github.com/vigil-sec/vigil/internal/bpfobj"
	"github.com/vigil-sec/vigil/internal/event"
)

func TestJoinPath(t *testing.T) {
	cases := []struct {
		name  string
		data  string
		flags uint32
		want  string
	}{
		{"leaf first", "ls\x00bin\x00usr\x00", 0, "/usr/bin/ls"},
		{"root", "", 0, "/"},
		{"memfd", "memfd:x\x00", fileInternal, "memfd:x"},
		{"unterminated last", "a\x00b", 0, "/b/a"},
		{"newline in a name", "a\nb\x00tmp\x00", 0, "/tmp/a\nb"},
	}
	for _, c := range cases {
		if got := joinPath([]byte(c.data), c.flags); got != c.want {
			t.Errorf("%s: joinPath = %q, want %q", c.name, got, c.want)
		}
	}
}

func TestSliceClamps(t *testing.T) {
	data := []byte("abcdef")
	if got := string(slice(data, 4, 10)); got != "ef" {
		t.Errorf("slice past the end = %q", got)
	}
	if got := slice(data, 10, 2); got != nil {
		t.Errorf("slice from past the end = %q", got)
	}
}

// TestDecodeExecRecord decodes a record built the way bpf/process.c
// builds one: the header, then the file name, the path components leaf
// first and argv, cut to the filled length.
func TestDecodeExecRecord(t *testing.T) {
	var rec bpfobj.ProcessExecEvent
	rec.Hdr.Type = kindExec
	rec.BaseAddr = 0x5555
	rec.FileFlags = fileUnlinked | argsTrunc
	data := "./x\x00x\x00dir\x00" + "x\x00-v\x00"
	copy(rec.Data[:], data)
	rec.FilenameLen = 4
	rec.PathLen = 6
	rec.ArgsLen = 5
	size := int(unsafe.Offsetof(rec.Data)) + len(data)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&rec)), size)

	var s processSensor
	var ev event.Event
	if err := s.decode(kindExec, append([]byte(nil), raw...), &ev); err != nil {
		t.Fatal(err)
	}
	want := &event.Exec{Filename: "./x", Path: "/dir/x", Args: []string{"x", "-v"}, Truncated: true, BaseAddr: 0x5555, Deleted: true}
	if !reflect.DeepEqual(ev.Exec, want) {
		t.Errorf("decoded %+v, want %+v", ev.Exec, want)
	}
}

// FuzzDecode feeds arbitrary records to every decoder: lengths in a
// record must never make one read out of bounds or panic.
func FuzzDecode(f *testing.F) {
	f.Add(uint32(kindExec), []byte("\x01\x02"))
	f.Add(uint32(kindOpen), make([]byte, 200))
	f.Add(uint32(kindModule), make([]byte, 120))
	f.Fuzz(func(t *testing.T, kind uint32, raw []byte) {
		var ev event.Event
		for _, s := range sensors() {
			_ = s.decode(kind%kindMax, raw, &ev)
		}
	})
}
