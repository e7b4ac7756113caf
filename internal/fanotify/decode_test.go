package fanotify

import (
	"encoding/binary"
	"testing"
)

// record builds one event record of evLen bytes (at least 24).
func record(evLen uint32, vers uint8, metaLen uint16, mask uint64, fd, pid int32) []byte {
	b := make([]byte, evLen)
	binary.NativeEndian.PutUint32(b[0:], evLen)
	b[4] = vers
	binary.NativeEndian.PutUint16(b[6:], metaLen)
	binary.NativeEndian.PutUint64(b[8:], mask)
	binary.NativeEndian.PutUint32(b[16:], uint32(fd))
	binary.NativeEndian.PutUint32(b[20:], uint32(pid))
	return b
}

func cat(bs ...[]byte) []byte {
	var out []byte
	for _, b := range bs {
		out = append(out, b...)
	}
	return out
}

func TestDecode(t *testing.T) {
	cases := []struct {
		desc  string
		buf   []byte
		want  []Event
		fails bool
	}{
		{"empty", nil, nil, false},
		{"one", record(24, 3, 24, 0x40000, 7, 100), []Event{{0x40000, 7, 100}}, false},
		{"several in one read", cat(record(24, 3, 24, 0x10000, 7, 100), record(24, 3, 24, 0x40000, 8, 101), record(24, 3, 24, 0x4000, -1, 0)),
			[]Event{{0x10000, 7, 100}, {0x40000, 8, 101}, {0x4000, -1, 0}}, false},
		{"info records are skipped", cat(record(40, 3, 24, 0x10000, 7, 100), record(24, 3, 24, 0x10000, 9, 5)),
			[]Event{{0x10000, 7, 100}, {0x10000, 9, 5}}, false},
		{"truncated header keeps what came before", cat(record(24, 3, 24, 1, 7, 1), make([]byte, 10)), []Event{{1, 7, 1}}, true},
		{"event_len past the buffer", record(24, 3, 24, 1, 7, 1)[:24:24], []Event{{1, 7, 1}}, false},
		{"wrong version", record(24, 2, 24, 1, 7, 1), nil, true},
		{"event_len below the header", func() []byte { b := record(24, 3, 24, 1, 7, 1); b[0] = 8; return b }(), nil, true},
		{"metadata_len above event_len", record(24, 3, 32, 1, 7, 1), nil, true},
	}
	for _, c := range cases {
		t.Run(c.desc, func(t *testing.T) {
			got, err := Decode(c.buf, nil)
			if (err != nil) != c.fails {
				t.Errorf("err = %v, want failure %v", err, c.fails)
			}
			if len(got) != len(c.want) {
				t.Fatalf("got %v, want %v", got, c.want)
			}
			for i := range got {
				if got[i] != c.want[i] {
					t.Errorf("event %d = %+v, want %+v", i, got[i], c.want[i])
				}
			}
		})
	}
}

// FuzzDecode checks that Decode never panics nor reads past buf.
func FuzzDecode(f *testing.F) {
	f.Add(record(24, 3, 24, 0x40000, 7, 100))
	f.Add(cat(record(40, 3, 24, 0x10000, 7, 100), record(24, 3, 24, 0x10000, 9, 5)))
	f.Fuzz(func(t *testing.T, buf []byte) {
		evs, _ := Decode(buf, nil)
		if len(evs)*metadataLen > len(buf) {
			t.Fatalf("%d events from %d bytes", len(evs), len(buf))
		}
	})
}
